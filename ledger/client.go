package ledger

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/mempool"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	jsonrpcclient "github.com/cometbft/cometbft/rpc/jsonrpc/client"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// Client sends transactions to a ledger node and reads its state, either
// in-process (Embedded.Client) or over CometBFT's RPC (Dial).
type Client struct {
	get   func(context.Context) (rpcclient.Client, error)
	close func()

	mu      sync.Mutex
	chainID string
	// signers serialises submissions per key so that nonces follow each
	// other.
	signers map[state.Address]*sync.Mutex
	// Poll is how often Submit checks whether its transaction is in a
	// block.
	Poll time.Duration
	// Window is how many blocks after the current height a transaction
	// Submit signs stays valid (DefaultTxWindow; at most the ledger's
	// MaxTxLifetime).
	Window uint64
}

// DefaultTxWindow is the validity of a transaction Submit signs: 60 blocks
// after the current height (2 hours on mainnet, a minute on a devnet).
const DefaultTxWindow = 60

// DutyTxWindow is the validity of a node duty (uptime proof, quorum vote)
// Submit signs. A duty that the next blocks do not take is stale (the
// proposer leaves out a vote for a quorum that closed, or a proof sent too
// soon, and the mempool drops it at its next recheck), and Submit waits for
// a transaction until its last valid height while it holds the signer's
// lock: with the user window, one dropped vote would keep the node's next
// uptime proofs waiting for 60 blocks, long enough on a devnet for the
// ledger to decommission a healthy node for missed proofs.
const DutyTxWindow = 3

func newClient(get func(context.Context) (rpcclient.Client, error)) *Client {
	return &Client{get: get, signers: make(map[state.Address]*sync.Mutex), Poll: 100 * time.Millisecond, Window: DefaultTxWindow}
}

// rpcIdleConns and rpcIdleTimeout bound the idle RPC connections a Client
// keeps to its ledger node.
const (
	rpcIdleConns   = 16
	rpcIdleTimeout = 90 * time.Second
)

// Dial returns a client of the ledger node whose CometBFT RPC listens at
// addr ("tcp://host:port" or "http://host:port"). Close it when done.
func Dial(addr string) (*Client, error) {
	hc, err := jsonrpcclient.DefaultHTTPClient(addr)
	if err != nil {
		return nil, fmt.Errorf("ledger: dial %s: %w", addr, err)
	}
	// CometBFT's client keeps net/http's default of two idle connections
	// per host; a node asks for its duties while its follower polls, so
	// every request beyond two opened a TCP connection and dropped it
	// after (TestRPCClientReusesConnections).
	if t, ok := hc.Transport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = rpcIdleConns
		t.IdleConnTimeout = rpcIdleTimeout
	}
	c, err := rpchttp.NewWithClient(addr, "/websocket", hc)
	if err != nil {
		return nil, fmt.Errorf("ledger: dial %s: %w", addr, err)
	}
	cl := newClient(func(context.Context) (rpcclient.Client, error) { return c, nil })
	cl.close = hc.CloseIdleConnections
	return cl, nil
}

// Close releases the client's idle connections. The client stays usable.
func (c *Client) Close() {
	if c.close != nil {
		c.close()
	}
}

// ErrNotFound is returned for a node, name or swarm the ledger does not
// hold.
var ErrNotFound = errors.New("ledger: not found")

func (c *Client) query(ctx context.Context, path string, data []byte, dst any) error {
	rpc, err := c.get(ctx)
	if err != nil {
		return err
	}
	res, err := rpc.ABCIQuery(ctx, path, data)
	if err != nil {
		return fmt.Errorf("ledger query %s: %w", path, err)
	}
	switch code := state.Code(res.Response.Code); code {
	case state.CodeOK:
	case state.CodeUnknownNode, state.CodeUnknownName:
		return fmt.Errorf("%w: %s", ErrNotFound, res.Response.Log)
	default:
		return &state.TxError{Code: code, Msg: res.Response.Log}
	}
	if err := json.Unmarshal(res.Response.Value, dst); err != nil {
		return fmt.Errorf("ledger query %s: %w", path, err)
	}
	return nil
}

// Status returns the ledger summary at the last committed block.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	if err := c.query(ctx, QueryStatus, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Account returns an account's balance and nonce.
func (c *Client) Account(ctx context.Context, a state.Address) (*AccountInfo, error) {
	var v AccountInfo
	if err := c.query(ctx, QueryAccount, a[:], &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Node returns a registration (ErrNotFound if there is none).
func (c *Client) Node(ctx context.Context, k key.NodePublic) (*NodeInfo, error) {
	var v NodeInfo
	if err := c.query(ctx, QueryNode, k[:], &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Nodes returns every registration, sorted by key.
func (c *Client) Nodes(ctx context.Context) ([]NodeInfo, error) {
	var v []NodeInfo
	err := c.query(ctx, QueryNodes, nil, &v)
	return v, err
}

// Swarm returns the members of swarm id.
func (c *Client) Swarm(ctx context.Context, id uint64) ([]NodeInfo, error) {
	var v []NodeInfo
	err := c.query(ctx, QuerySwarm, binary.BigEndian.AppendUint64(nil, id), &v)
	return v, err
}

// NodeSwarm returns a node's swarm id and the other members of its swarm.
func (c *Client) NodeSwarm(ctx context.Context, k key.NodePublic) (uint64, []NodeInfo, error) {
	n, err := c.Node(ctx, k)
	if err != nil {
		return 0, nil, err
	}
	if n.SwarmID == UnassignedSwarm {
		return n.SwarmID, nil, nil
	}
	members, err := c.Swarm(ctx, n.SwarmID)
	if err != nil {
		return 0, nil, err
	}
	peers := members[:0]
	for _, m := range members {
		if m.Ed25519 != n.Ed25519 {
			peers = append(peers, m)
		}
	}
	return n.SwarmID, peers, nil
}

// Name looks up an ONS name by its hash.
func (c *Client) Name(ctx context.Context, h state.NameHash) (*NameInfo, error) {
	var v NameInfo
	if err := c.query(ctx, QueryName, h[:], &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Quorums returns the open obligation quorums.
func (c *Client) Quorums(ctx context.Context) ([]QuorumInfo, error) {
	var v []QuorumInfo
	err := c.query(ctx, QueryQuorums, nil, &v)
	return v, err
}

// Snapshot returns the serving nodes as a View snapshot, with the height
// and state hash they belong to (one query, so one committed state).
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	var l NodeList
	if err := c.query(ctx, QueryNodeList, nil, &l); err != nil {
		return nil, err
	}
	s, err := snapshotFromInfos(l.Height, l.Nodes)
	if err != nil {
		return nil, err
	}
	if s.StateHash, err = state.ParseKey(l.StateHash); err != nil {
		return nil, fmt.Errorf("ledger: node list state hash: %w", err)
	}
	return s, nil
}

// ChainID returns the network's chain id.
func (c *Client) ChainID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.chainID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	st, err := c.Status(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.chainID = st.ChainID
	c.mu.Unlock()
	return st.ChainID, nil
}

// Height returns the last committed height.
func (c *Client) Height(ctx context.Context) (uint64, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return 0, err
	}
	return st.Height, nil
}

// WaitHeight waits until the ledger has committed height h.
func (c *Client) WaitHeight(ctx context.Context, h uint64) error {
	for {
		cur, err := c.Height(ctx)
		if err == nil && cur >= h {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.Poll):
		}
	}
}

// Result is the outcome of a submitted transaction.
type Result struct {
	Hash   [32]byte
	Height uint64
	// Fee is what the transaction paid into the reward pool (known for
	// transactions Submit signed).
	Fee uint64
	// LastValid is the transaction's last valid height.
	LastValid uint64
}

func (c *Client) signerLock(a state.Address) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.signers[a]
	if m == nil {
		m = new(sync.Mutex)
		c.signers[a] = m
	}
	return m
}

// Submit signs body with key, using the account's next nonce and a last
// valid height Window blocks ahead, broadcasts it and waits until it is in
// a block. A rejected transaction returns a *state.TxError with the
// ledger's code and reason; the Result, when not nil, still tells the fee
// it paid.
func (c *Client) Submit(ctx context.Context, key ed25519.PrivateKey, body state.Body) (*Result, error) {
	return c.SubmitWith(ctx, state.KeySigner(key), body)
}

// SubmitWith is Submit with a Signer.
func (c *Client) SubmitWith(ctx context.Context, s state.Signer, body state.Body) (*Result, error) {
	signer := state.Address(s.PublicKey())
	lock := c.signerLock(signer)
	lock.Lock()
	defer lock.Unlock()

	for attempt := 1; ; attempt++ {
		tx, fee, err := c.Prepare(ctx, signer, body)
		if err != nil {
			return nil, err
		}
		tx.SignWith(s)
		res, err := c.broadcast(ctx, tx, tx.Encode())
		if res != nil {
			res.Fee, res.LastValid = fee, tx.LastValid
		}
		// Another client of the same signer (a second process of one
		// operator) took the nonce first: this transaction is in no block
		// and never will be, so sign the body again with the next nonce.
		var te *state.TxError
		if attempt < nonceAttempts && errors.As(err, &te) && te.Code == state.CodeBadNonce {
			continue
		}
		return res, err
	}
}

// nonceAttempts bounds how often SubmitWith signs a body again after
// losing its nonce to another client of the same signer.
const nonceAttempts = 4

// Prepare returns the unsigned transaction Submit would send for signer,
// with its next nonce and last valid height, and the fee it will pay.
func (c *Client) Prepare(ctx context.Context, signer state.Address, body state.Body) (*state.Tx, uint64, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, 0, err
	}
	acc, err := c.Account(ctx, signer)
	if err != nil {
		return nil, 0, err
	}
	window := min(c.Window, st.Params.MaxTxLifetime)
	if window == 0 {
		window = min(DefaultTxWindow, st.Params.MaxTxLifetime)
	}
	if body.Type().Duty() {
		window = min(window, DutyTxWindow)
	}
	tx := &state.Tx{ChainID: st.ChainID, Signer: signer, Nonce: acc.Nonce, LastValid: st.Height + window, Body: body}
	fee := st.Params.TxFee(body.Type(), len(tx.Encode()))
	return tx, fee, nil
}

// Broadcast sends an already signed transaction and waits for its block.
func (c *Client) Broadcast(ctx context.Context, raw []byte) (*Result, error) {
	tx, err := state.DecodeTx(raw)
	if err != nil {
		return nil, &state.TxError{Code: state.CodeMalformed, Msg: err.Error()}
	}
	return c.broadcast(ctx, tx, raw)
}

// broadcast sends tx, already signed and encoded as raw, and waits for its
// block. It gives up when the chain passed the last valid height without
// it (state.CodeExpired), or when the signer's nonce moved past tx's
// without it: another transaction of the same signer took the nonce, so
// tx can never enter a block (state.CodeBadNonce).
func (c *Client) broadcast(ctx context.Context, tx *state.Tx, raw []byte) (*Result, error) {
	rpc, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	start, err := c.Height(ctx)
	if err != nil {
		return nil, err
	}
	res, err := rpc.BroadcastTxSync(ctx, raw)
	if err != nil && strings.Contains(err.Error(), mempool.ErrTxInCache.Error()) {
		// The same bytes are pending: another client of the signer
		// signed the same body with the same nonce at the same height.
		// That transaction is the other caller's; this one takes the
		// next nonce once it is used.
		return nil, c.waitNonceUsed(ctx, tx)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger broadcast: %w", err)
	}
	if res.Code != 0 {
		return nil, &state.TxError{Code: state.Code(res.Code), Msg: res.Log}
	}
	out := &Result{Hash: [32]byte(res.Hash)}
	for expired := false; ; {
		tr, err := rpc.Tx(ctx, res.Hash, false)
		if err == nil {
			out.Height = uint64(tr.Height)
			if tr.TxResult.Code != 0 {
				return out, &state.TxError{Code: state.Code(tr.TxResult.Code), Msg: tr.TxResult.Log}
			}
			return out, nil
		}
		if expired {
			return nil, &state.TxError{Code: state.CodeExpired, Msg: fmt.Sprintf("not in a block by its last valid height %d", tx.LastValid)}
		}
		// Once a block after lastValid is committed, the transaction can
		// no longer enter one: look once more (the indexer may lag), then
		// give up.
		if h, err := c.Height(ctx); err == nil && h > tx.LastValid {
			expired = true
			continue
		}
		if acc, err := c.Account(ctx, tx.Signer); err == nil && acc.Nonce > tx.Nonce {
			// The nonce is used. The indexer may lag behind the state, so
			// read the blocks themselves: tx is in one of them or in none.
			return c.findCommitted(ctx, rpc, out, start)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ledger: transaction %s not in a block yet: %w", hex.EncodeToString(res.Hash), ctx.Err())
		case <-time.After(c.Poll):
		}
	}
}

// waitNonceUsed waits until the signer's nonce has passed tx's and then
// reports it taken (state.CodeBadNonce), or until tx's last valid height
// has passed (state.CodeExpired).
func (c *Client) waitNonceUsed(ctx context.Context, tx *state.Tx) error {
	for {
		acc, err := c.Account(ctx, tx.Signer)
		if err == nil && acc.Nonce > tx.Nonce {
			return &state.TxError{Code: state.CodeBadNonce, Msg: "another transaction of the signer took this nonce"}
		}
		if h, err := c.Height(ctx); err == nil && h > tx.LastValid {
			return &state.TxError{Code: state.CodeExpired, Msg: fmt.Sprintf("nonce %d still unused at the last valid height %d", tx.Nonce, tx.LastValid)}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ledger: waiting for nonce %d to be used: %w", tx.Nonce, ctx.Err())
		case <-time.After(c.Poll):
		}
	}
}

// findCommitted reports the result of transaction out.Hash from the blocks
// after height start up to the current one, once the signer's nonce has
// passed it; state.CodeBadNonce when no block holds it.
func (c *Client) findCommitted(ctx context.Context, rpc rpcclient.Client, out *Result, start uint64) (*Result, error) {
	end, err := c.Height(ctx)
	if err != nil {
		return nil, err
	}
	for h := int64(start) + 1; h <= int64(end); h++ {
		b, err := rpc.Block(ctx, &h)
		if err != nil {
			return nil, fmt.Errorf("ledger: block %d: %w", h, err)
		}
		for i, raw := range b.Block.Data.Txs {
			if [32]byte(raw.Hash()) != out.Hash {
				continue
			}
			br, err := rpc.BlockResults(ctx, &h)
			if err != nil {
				return nil, fmt.Errorf("ledger: block %d results: %w", h, err)
			}
			if i >= len(br.TxsResults) {
				return nil, fmt.Errorf("ledger: block %d has %d results for %d transactions", h, len(br.TxsResults), len(b.Block.Data.Txs))
			}
			out.Height = uint64(h)
			if r := br.TxsResults[i]; r.Code != 0 {
				return out, &state.TxError{Code: state.Code(r.Code), Msg: r.Log}
			}
			return out, nil
		}
	}
	return nil, &state.TxError{Code: state.CodeBadNonce, Msg: "another transaction of the signer took this nonce"}
}

// snapshotFromInfos builds a View snapshot from node infos (the active,
// serving nodes only, as the App's view does).
func snapshotFromInfos(height uint64, infos []NodeInfo) (*Snapshot, error) {
	s := &Snapshot{Height: height}
	for _, ni := range infos {
		if !ni.Active {
			continue
		}
		ed, err := state.ParseKey(ni.Ed25519)
		if err != nil {
			return nil, err
		}
		x, err := state.ParseKey(ni.X25519)
		if err != nil {
			return nil, err
		}
		op, err := state.ParseKey(ni.OperatorAddress)
		if err != nil {
			return nil, fmt.Errorf("operator_address: %w", err)
		}
		n := Node{Ed25519: ed, X25519: x, PublicIP: ni.PublicIP, StoragePort: ni.StoragePort, SwarmID: ni.SwarmID,
			State: StateActive, RequestedUnlockHeight: ni.RequestedUnlockHeight, Version: ni.Version,
			Operator: state.Address(op), Caps: ni.Caps}
		if ni.RequestedUnlockHeight != 0 {
			n.State = StateUnlocking
		}
		s.Nodes = append(s.Nodes, n)
	}
	return s, nil
}

// AppHashAt returns the app hash the network agreed on after block h: the
// one recorded in the header of block h+1 (which must exist).
func (c *Client) AppHashAt(ctx context.Context, h uint64) ([]byte, error) {
	rpc, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	next := int64(h + 1)
	b, err := rpc.Block(ctx, &next)
	if err != nil {
		return nil, fmt.Errorf("ledger: block %d: %w", next, err)
	}
	return b.Block.Header.AppHash, nil
}

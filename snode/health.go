package snode

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
	"sotto.dev/onion"
	"sotto.dev/snode/relay"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// A node's ledger duties (docs/ledger.md "Health"): it registers itself
// when an operator key is at hand (devnets), sends its uptime proofs, and
// when the ledger draws it into an obligation quorum tests the quorum's
// nodes and votes. The tests are Session's (service-node-network.md §3.2,
// §5.7: an HTTPS ping_test whose answer names the node's key) plus two
// Session never enforced: that the node relays an onion request, and the
// storage test of §3.5 (the tester asks for a message it holds by hash and
// compares the data).

// pathStorageTest is the node-to-node endpoint of the storage test: a
// node that tests this one in an open quorum asks for a message by hash.
const pathStorageTest = "/sotto/v1/storage_test"

// LedgerConfig configures a node's ledger duties (Deps.Ledger, NewDuties).
type LedgerConfig struct {
	// Client reaches the ledger: Embedded.Client in-process or ledger.Dial
	// over CometBFT's RPC (required).
	Client *ledger.Client
	// Operator, if set, registers the node with the full stake when the
	// ledger holds no live registration for it (what a devnet node does at
	// start). Without it the operator registers the node with
	// `sottod ledger register`.
	Operator state.Signer
	// FeeBps is the operator fee of a registration made at start.
	FeeBps uint16
	// Poll is how often the ledger is checked for a due uptime proof and
	// for open quorums (default 1 s; a fraction of the block time is
	// plenty).
	Poll time.Duration
	// TestTimeout bounds each obligation test of one node (default 5 s,
	// Session's SN_PING_TIMEOUT).
	TestTimeout time.Duration
	// StorageTestMinAge: only messages stored at least this long ago are
	// asked for in a storage test, so that forwarding and anti-entropy
	// have put them on every member (default 30 s).
	StorageTestMinAge time.Duration
}

func (c *LedgerConfig) withDefaults() {
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.TestTimeout <= 0 {
		c.TestTimeout = 5 * time.Second
	}
	if c.StorageTestMinAge <= 0 {
		c.StorageTestMinAge = 30 * time.Second
	}
}

// LedgerSigner returns the node's identity key as a state.Signer: it signs
// the node's ledger transactions (registration consent, uptime proofs,
// votes). It formats and logs as the public key only.
func (k *Keys) LedgerSigner() state.Signer { return ledgerSigner{k} }

type ledgerSigner struct{ k *Keys }

func (s ledgerSigner) PublicKey() [32]byte      { return [32]byte(s.k.Ed25519Public()) }
func (s ledgerSigner) Sign(msg []byte) [64]byte { return s.k.Sign(msg) }
func (s ledgerSigner) LogValue() slog.Value     { return s.k.LogValue() }
func (s ledgerSigner) Format(f fmt.State, r rune) {
	s.k.Format(f, r)
}

// nodeVersion is the version the node announces in its uptime proofs: the
// storage RPC version it tracks, at least onion.SottoNodeVersion (the patch
// level that once told clients it relays the Sotto onion form; nodeCaps
// does now).
func nodeVersion() [3]uint16 {
	var v [3]uint16
	for i, x := range storageVersion {
		v[i] = uint16(x)
	}
	if slices.Compare(v[:], onion.SottoNodeVersion[:]) < 0 {
		v = onion.SottoNodeVersion
	}
	return v
}

// nodeCaps are the capability bits the node announces in its uptime
// proofs: it relays the Sotto onion form (onion.CapSottoOnion,
// docs/onion.md "Negotiation").
const nodeCaps = onion.CapSottoOnion

// Duties runs a node's ledger duties: registration at start (with an
// operator key), uptime proofs (ledger.Uptime) and the quorum duty
// (ledger.Prober with the node's Tester). Node.Serve runs one when
// Deps.Ledger is set; Serve it yourself otherwise.
type Duties struct {
	n   *Node
	c   LedgerConfig
	log *slog.Logger
}

// NewDuties returns the duties of node n; run them with Serve.
func NewDuties(n *Node, c LedgerConfig) (*Duties, error) {
	if c.Client == nil {
		return nil, errors.New("snode: ledger duties need a ledger client")
	}
	c.withDefaults()
	return &Duties{n: n, c: c, log: n.log.With("component", "ledger")}, nil
}

// Serve performs the duties until ctx ends.
func (d *Duties) Serve(ctx context.Context) error {
	ip, err := state.ParseIPv4(d.n.cfg.PublicIP)
	if err != nil {
		return fmt.Errorf("snode: ledger duties: public ip: %w", err)
	}
	signer := d.n.keys.LedgerSigner()
	var wg sync.WaitGroup
	defer wg.Wait()
	if d.c.Operator != nil {
		reg := ledger.Registration{
			Operator: d.c.Operator,
			NodeKey:  signer,
			X25519:   d.n.keys.X25519Public(),
			IP:       ip,
			Port:     d.n.publicPort,
			FeeBps:   d.c.FeeBps,
		}
		wg.Go(func() { d.register(ctx, reg) })
	}
	up := ledger.NewUptime(ledger.UptimeConfig{
		NodeKey: signer, Client: d.c.Client, IP: ip, Port: d.n.publicPort, Version: nodeVersion(), Caps: nodeCaps,
		Logger: d.log, Poll: d.c.Poll,
	})
	pr := ledger.NewProber(ledger.ProberConfig{
		Key: signer, Client: d.c.Client, Tester: NewTester(d.n, d.c.StorageTestMinAge), Logger: d.log,
		Timeout: d.c.TestTimeout, Poll: d.c.Poll,
	})
	wg.Go(func() { _ = up.Serve(ctx) })
	wg.Go(func() { _ = pr.Serve(ctx) })
	return nil
}

// register makes sure the ledger holds a registration for the node. It
// retries until it succeeds: the ledger may still be starting, and a
// refused registration (an unfunded operator, say) may succeed once the
// operator fixes it; each new reason is logged once.
func (d *Duties) register(ctx context.Context, reg ledger.Registration) {
	wait := d.c.Poll / 2
	var last string
	for {
		submitted, err := d.c.Client.EnsureRegistered(ctx, reg)
		var te *state.TxError
		switch {
		case err == nil:
			if submitted {
				d.log.Info("registered in the ledger", "node", d.n.me.String(), "operator", state.Address(reg.Operator.PublicKey()).String())
			}
			return
		case ctx.Err() != nil:
			return
		}
		refused := errors.As(err, &te) && te.Code != state.CodeWrongState
		switch {
		case err.Error() == last:
		case refused:
			d.log.Error("ledger refused the registration; retrying", "code", te.Code.String(), "reason", te.Msg)
		default:
			d.log.Warn("ledger registration not done yet; retrying", "err", err)
		}
		last = err.Error()
		// A ledger that is starting or unreachable is asked again soon; a
		// refusal needs the operator, so it is retried slowly.
		wait = min(2*wait, 2*time.Second)
		if refused {
			wait = 10 * time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Tester runs the ledger's obligation tests (ledger.Tester) from a node:
// requests go over node-to-node TLS with the tested node's certificate key
// pinned to its ledger key, so an answer always comes from the node the
// ledger lists.
type Tester struct {
	n      *Node
	minAge time.Duration
}

var _ ledger.Tester = (*Tester)(nil)

// NewTester returns the tester of node n; storage tests ask only for
// messages stored at least minAge ago.
func NewTester(n *Node, minAge time.Duration) *Tester { return &Tester{n: n, minAge: minAge} }

// TestError says why a node failed a test.
type TestError struct {
	Test   string // "storage", "onion" or "storage_test"
	Reason string
	// transport marks a failure to reach the node, which is tried again.
	transport bool
}

func (e *TestError) Error() string { return "snode: " + e.Test + " test: " + e.Reason }

// target is a tested node: its key and address.
type target struct {
	key  key.NodePublic
	x    key.OnionPublic
	addr netip.AddrPort
}

func parseTarget(test string, ni ledger.NodeInfo) (target, error) {
	var t target
	if err := decodeKey(ni.Ed25519, t.key[:]); err != nil {
		return t, &TestError{Test: test, Reason: "ledger lists a bad ed25519 key"}
	}
	if err := decodeKey(ni.X25519, t.x[:]); err != nil {
		return t, &TestError{Test: test, Reason: "ledger lists a bad x25519 key"}
	}
	ip, err := netip.ParseAddr(ni.PublicIP)
	if err != nil || !ip.Is4() || ip.IsUnspecified() || ni.StoragePort == 0 {
		return t, &TestError{Test: test, Reason: "no reachable address announced"}
	}
	t.addr = netip.AddrPortFrom(ip, ni.StoragePort)
	return t, nil
}

func decodeKey(s string, dst []byte) error {
	if len(s) != 2*len(dst) {
		return errors.New("bad length")
	}
	_, err := hex.Decode(dst, []byte(s))
	return err
}

func (t target) url(path string) string {
	return "https://" + net.JoinHostPort(t.addr.Addr().String(), strconv.Itoa(int(t.addr.Port()))) + path
}

// maxTestResponse bounds what a tested node may answer.
const maxTestResponse = 1 << 20

// post sends body to the tested node and returns the status, the
// response headers and at most maxLen bytes of body.
func (tt *Tester) post(ctx context.Context, t target, path, ctype string, body []byte, maxLen int64) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url(path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := tt.n.peers.client(t.key, false).Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxLen+1))
	if err != nil {
		return 0, nil, nil, err
	}
	if int64(len(out)) > maxLen {
		return 0, nil, nil, errors.New("answer too large")
	}
	return resp.StatusCode, resp.Header, out, nil
}

// unreachable is the failure of a test that got no answer.
func unreachable(test string, err error) error {
	return &TestError{Test: test, Reason: "unreachable: " + err.Error(), transport: true}
}

// retry runs f up to three times while ctx allows when it gets no answer:
// a pooled connection to a node that restarted fails once before a new
// one is dialled. An answer, good or bad, ends the test.
func retry(ctx context.Context, f func() error) error {
	var err error
	for i := range 3 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(i) * 100 * time.Millisecond):
			}
		}
		err = f()
		var te *TestError
		if err == nil || !errors.As(err, &te) || !te.transport {
			return err
		}
	}
	return err
}

// PingStorage implements ledger.Tester: Session's reachability test, a
// POST /ping_test/v1 answered with 200 and the node's Ed25519 key in
// X-Oxen-Snode-Pubkey (service-node-network.md §5.7), over TLS pinned to
// the same key.
func (tt *Tester) PingStorage(ctx context.Context, ni ledger.NodeInfo) error {
	t, err := parseTarget("storage", ni)
	if err != nil {
		return err
	}
	return retry(ctx, func() error {
		st, h, _, err := tt.post(ctx, t, "/ping_test/v1", "application/json", nil, 4096)
		switch {
		case err != nil:
			return unreachable("storage", err)
		case st != http.StatusOK:
			return &TestError{Test: "storage", Reason: "ping_test answered HTTP " + strconv.Itoa(st)}
		case h.Get("X-Oxen-Snode-Pubkey") != base64.StdEncoding.EncodeToString(t.key[:]):
			return &TestError{Test: "storage", Reason: "ping_test answered with another key"}
		}
		return nil
	})
}

// RelayOnion implements ledger.Tester: an onion request with the tested
// node as its only path hop and this node as the destination (an info
// request), so the node must decrypt its layer with its X25519 key and
// forward to the next hop. Without a relay of its own, this node makes
// the tested node the destination instead, which checks the decryption
// only.
func (tt *Tester) RelayOnion(ctx context.Context, ni ledger.NodeInfo) error {
	t, err := parseTarget("onion", ni)
	if err != nil {
		return err
	}
	hop := onion.Hop{Node: t.key, X25519: t.x}
	path, dest := []onion.Hop{hop}, onion.Hop{Node: tt.n.me, X25519: tt.n.keys.X25519Public()}
	if !tt.n.servesOnion() {
		path, dest = nil, hop
	}
	return retry(ctx, func() error {
		body, key, err := onion.BuildSnodeRequest(path, dest, []byte(`{"method":"info","params":{}}`), onion.CipherXChaCha20)
		if err != nil {
			return fmt.Errorf("%w: %v", ledger.ErrCannotTest, err)
		}
		defer key.Destroy()
		st, _, reply, err := tt.post(ctx, t, relay.Path, "application/octet-stream", body, maxTestResponse)
		if err != nil {
			return unreachable("onion", err)
		}
		resp, err := onion.DecodeSnodeResponse(key, st, reply)
		switch {
		case err != nil:
			return &TestError{Test: "onion", Reason: err.Error()}
		case resp.Status != http.StatusOK:
			return &TestError{Test: "onion", Reason: "destination answered " + strconv.Itoa(resp.Status)}
		}
		return nil
	})
}

// servesOnion reports whether an onion relay is mounted on this node.
func (n *Node) servesOnion() bool {
	req, err := http.NewRequest(http.MethodPost, "https://node"+relay.Path, nil)
	if err != nil {
		return false
	}
	_, pattern := n.mux.Handler(req)
	return pattern != "" && pattern != "/"
}

// storageTestReq and storageTestResp are the storage test's bodies.
type storageTestReq struct {
	Hash string `json:"hash"`
}

type storageTestResp struct {
	Data []byte `json:"data"` // base64 in JSON
}

// StorageTest implements ledger.Tester (the storage test of
// service-node-network.md §3.5, which Session never enabled): this node
// picks a message of its own swarm stored at least minAge ago and asks the
// tested node, a member of the same swarm, for it by hash; the data must
// match. A node of another swarm, or in none (decommissioned), is not
// tested this way (ErrCannotTest): this node holds nothing it must hold.
func (tt *Tester) StorageTest(ctx context.Context, ni ledger.NodeInfo) error {
	t, err := parseTarget("storage_test", ni)
	if err != nil {
		return err
	}
	m := tt.n.mem.Load()
	mine, in := m.mySwarm()
	if !in || ni.SwarmID != mine || ni.SwarmID == ledger.UnassignedSwarm || tt.n.Syncing() {
		return ledger.ErrCannotTest
	}
	rec, ok, err := tt.pick(ctx, m)
	if err != nil {
		return fmt.Errorf("%w: %v", ledger.ErrCannotTest, err)
	}
	if !ok {
		return ledger.ErrCannotTest
	}
	req, err := json.Marshal(storageTestReq{Hash: rec.Hash})
	if err != nil {
		return err
	}
	return retry(ctx, func() error {
		st, _, body, err := tt.post(ctx, t, pathStorageTest, "application/json", req, maxTestResponse+maxPeerBody)
		if err != nil {
			return unreachable("storage_test", err)
		}
		switch st {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			// Syncing (it just joined) or not yet aware of the swarm.
			return ledger.ErrCannotTest
		case http.StatusNotFound:
			return &TestError{Test: "storage_test", Reason: "does not hold a message its swarm stored"}
		default:
			return &TestError{Test: "storage_test", Reason: "answered HTTP " + strconv.Itoa(st)}
		}
		var resp storageTestResp
		if err := json.Unmarshal(body, &resp); err != nil {
			return &TestError{Test: "storage_test", Reason: "answer is not JSON"}
		}
		if !bytes.Equal(resp.Data, rec.Data) {
			return &TestError{Test: "storage_test", Reason: "returned other data"}
		}
		return nil
	})
}

// pick chooses a random live message of an account this node's swarm
// owns, stored at least minAge ago and not expiring within a minute.
func (tt *Tester) pick(ctx context.Context, m *membership) (store.Record, bool, error) {
	now := tt.n.now().UnixMilli()
	accounts := tt.n.store.Accounts()
	// Not a secret choice: math/rand is enough.
	rand.Shuffle(len(accounts), func(i, j int) { accounts[i], accounts[j] = accounts[j], accounts[i] })
	tried := 0
	for _, a := range accounts {
		if !owned(m, a) {
			continue
		}
		if tried++; tried > 16 {
			break
		}
		var keys []store.DigestKey
		for _, kd := range tt.n.store.KeyDigests([]uint8{store.BucketOf(a)}) {
			if kd.Key.Account == a && kd.Key.Kind == store.KindMessages {
				keys = append(keys, kd.Key)
			}
		}
		khs, err := tt.n.store.Headers(ctx, keys)
		if err != nil {
			return store.Record{}, false, err
		}
		var cands []string
		for _, kh := range khs {
			for _, h := range kh.Messages {
				if !h.Deleted && h.MTime <= now-tt.minAge.Milliseconds() && h.Expiry > now+time.Minute.Milliseconds() {
					cands = append(cands, h.Hash)
				}
			}
		}
		if len(cands) == 0 {
			continue
		}
		recs, err := tt.n.store.Fetch(ctx, []string{cands[rand.IntN(len(cands))]})
		if err != nil {
			return store.Record{}, false, err
		}
		if len(recs) == 1 && !recs[0].Deleted {
			return recs[0], true, nil
		}
	}
	return store.Record{}, false, nil
}

// maxTestHash bounds the hash of a storage test request (Session's hashes
// are 43 characters).
const maxTestHash = 128

// handleStorageTest answers a storage test from a node that tests this one
// now (a validator of an open quorum in which this node is a worker; 403
// for any other): the data of a message this node holds, 404 when it holds
// none by that hash, 503 while it is in no swarm or still pulling its
// swarm's data, or when the ledger cannot be asked about its quorums.
func (n *Node) handleStorageTest(ctx context.Context, peer key.NodePublic, body []byte) (int, any, error) {
	testing, err := n.quorums.tests(ctx, n.me, peer, n.now())
	if err != nil {
		return 0, nil, errNotReady("ledger unreachable")
	}
	if !testing {
		return 0, nil, storagerpc.Forbidden("not testing this node")
	}
	var req storageTestReq
	if err := json.Unmarshal(body, &req); err != nil || req.Hash == "" || len(req.Hash) > maxTestHash {
		return 0, nil, storagerpc.BadRequest("invalid storage test")
	}
	if _, in := n.mem.Load().mySwarm(); !in {
		return 0, nil, errNotReady("not in any swarm")
	}
	if n.Syncing() {
		return 0, nil, errNotReady("not done syncing")
	}
	recs, err := n.store.Fetch(ctx, []string{req.Hash})
	if err != nil {
		return 0, nil, err
	}
	if len(recs) != 1 || recs[0].Deleted || recs[0].Expiry <= n.now().UnixMilli() {
		return 0, nil, storagerpc.NotFound("no such message")
	}
	return http.StatusOK, &storageTestResp{Data: recs[0].Data}, nil
}

// quorumView answers whether a node tests this one now, from the ledger's
// open quorums (fetched at most every quorumRefresh, and again when a
// caller is not in the last list: it may have just been drawn).
type quorumView struct {
	get func(context.Context) ([]ledger.QuorumInfo, error) // nil: no ledger, no quorums

	mu sync.Mutex
	at time.Time
	qs []ledger.QuorumInfo
}

// quorumRefresh is the least time between two fetches of the quorums;
// quorumMaxAge how long a fetched list is trusted to admit a tester.
const (
	quorumRefresh = 250 * time.Millisecond
	quorumMaxAge  = 5 * time.Second
)

// tests reports whether peer is a validator of an open quorum in which me
// is a worker.
func (q *quorumView) tests(ctx context.Context, me, peer key.NodePublic, now time.Time) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.get == nil {
		return false, nil
	}
	age := now.Sub(q.at)
	if !q.at.IsZero() && age < quorumMaxAge && quorumsTest(q.qs, me.String(), peer.String()) {
		return true, nil
	}
	if !q.at.IsZero() && age < quorumRefresh {
		return false, nil
	}
	qs, err := q.get(ctx)
	if err != nil {
		return false, err
	}
	q.qs, q.at = qs, now
	return quorumsTest(qs, me.String(), peer.String()), nil
}

// set replaces the quorum source (tests).
func (q *quorumView) set(get func(context.Context) ([]ledger.QuorumInfo, error)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.get, q.qs, q.at = get, nil, time.Time{}
}

func quorumsTest(qs []ledger.QuorumInfo, me, peer string) bool {
	for _, q := range qs {
		if slices.Contains(q.Workers, me) && slices.Contains(q.Validators, peer) {
			return true
		}
	}
	return false
}

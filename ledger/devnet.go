package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"sotto.dev/ledger/state"
)

// DevnetLedgerConfig configures a DevnetLedger.
type DevnetLedgerConfig struct {
	// Dir is the ledger home (created; reused across restarts).
	Dir string
	// ChainID defaults to "sotto-devnet".
	ChainID string
	// Params default to state.DevnetParams().
	Params *state.Params
	// RPCListen, if set, serves CometBFT's RPC there (for `sottod ledger`
	// commands and followers).
	RPCListen string
	Logger    *slog.Logger
	// NodeKey returns the private key of a published node, if the caller
	// holds it. With keys the ledger sends the nodes' uptime proofs and can
	// register nodes published after the start; without them uptime proofs
	// are not required (ProofValidity is made practically infinite).
	NodeKey func(ed25519Pub [32]byte) state.Signer
}

// DevnetLedger is an embedded single-validator ledger for a local network,
// shaped for a test-network harness: Publish(node list) before Serve puts
// the nodes in the genesis (active, fully staked by a devnet operator),
// so the View lists them from the start, with swarms assigned by the
// ledger's own rules.
type DevnetLedger struct {
	c DevnetLedgerConfig

	mu       sync.Mutex
	e        *Embedded
	operator ed25519.PrivateKey
}

// NewDevnetLedger returns a devnet ledger; nothing runs until Serve.
func NewDevnetLedger(c DevnetLedgerConfig) *DevnetLedger {
	if c.ChainID == "" {
		c.ChainID = "sotto-devnet"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	seed := sha256.Sum256([]byte("sotto devnet operator " + c.ChainID))
	return &DevnetLedger{c: c, operator: ed25519.NewKeyFromSeed(seed[:])}
}

// Operator returns the devnet operator key: it stakes the genesis nodes and
// holds a large balance for tests.
func (d *DevnetLedger) Operator() ed25519.PrivateKey { return d.operator }

func (d *DevnetLedger) params() state.Params {
	p := state.DevnetParams()
	if d.c.Params != nil {
		p = *d.c.Params
	}
	if d.c.NodeKey == nil {
		// Nobody can sign proofs for the nodes: do not require them.
		p.ProofInterval, p.ProofValidity = 1<<40, 1<<41
	}
	return p
}

// Publish makes snap the node list. The first call (before Serve) writes
// the genesis; later calls register new nodes and announce changed
// addresses, which needs key.NodePublic.
func (d *DevnetLedger) Publish(ctx context.Context, snap *Snapshot) error {
	d.mu.Lock()
	e := d.e
	d.mu.Unlock()
	if e == nil {
		return d.genesis(snap)
	}
	if st := e.App().State(); st == nil {
		return errors.New("ledger devnet: publish while the ledger is starting")
	}
	c := e.Client()
	for _, n := range snap.Nodes {
		info, err := c.Node(ctx, n.Ed25519)
		ip, perr := state.ParseIPv4(n.PublicIP)
		if perr != nil {
			return perr
		}
		if err == nil && info.PublicIP == n.PublicIP && info.StoragePort == n.StoragePort {
			continue
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		key := d.key(n.Ed25519)
		if key == nil {
			return fmt.Errorf("ledger devnet: node %x changed after the start and no key is known for it", n.Ed25519[:8])
		}
		if err != nil { // not registered yet
			if _, err := c.Register(ctx, Registration{Operator: state.KeySigner(d.operator), NodeKey: key, X25519: n.X25519, IP: ip, Port: n.StoragePort}); err != nil {
				return err
			}
			continue
		}
		if _, err := c.SubmitWith(ctx, key, &state.UptimeProof{IP: ip, Port: n.StoragePort, Version: n.Version, Caps: n.Caps}); err != nil {
			return err
		}
	}
	return nil
}

func (d *DevnetLedger) key(pub [32]byte) state.Signer {
	if d.c.NodeKey == nil {
		return nil
	}
	return d.c.NodeKey(pub)
}

func (d *DevnetLedger) genesis(snap *Snapshot) error {
	p := d.params()
	g := &state.Genesis{
		Params: &p,
		Pool:   1_000_000 * state.Coin,
		Accounts: []state.GenesisAccount{{
			Address: hex.EncodeToString(d.operator.Public().(ed25519.PublicKey)),
			Balance: 1_000_000 * state.Coin,
		}},
	}
	for _, n := range snap.Nodes {
		op := hex.EncodeToString(d.operator.Public().(ed25519.PublicKey))
		if n.Operator != (state.Address{}) {
			op = n.Operator.String()
		}
		g.Nodes = append(g.Nodes, state.GenesisNode{
			Operator:    op,
			Ed25519:     hex.EncodeToString(n.Ed25519[:]),
			X25519:      hex.EncodeToString(n.X25519[:]),
			PublicIP:    n.PublicIP,
			StoragePort: n.StoragePort,
			Version:     n.Version,
			Caps:        n.Caps,
		})
	}
	e, err := NewEmbedded(EmbeddedConfig{Dir: d.c.Dir, ChainID: d.c.ChainID, Genesis: g, Logger: d.c.Logger,
		Home: HomeConfig{RPCListen: d.c.RPCListen}})
	if err != nil {
		return err
	}
	// Until the node runs, the view shows the state the ledger starts
	// from: the saved one after a restart, else the genesis, computed
	// exactly as InitChain will.
	if e.App().State() == nil {
		st, err := state.New(d.c.ChainID, g, 1)
		if err != nil {
			return err
		}
		e.View().publish(snapshotOf(st, st.StateHash()))
	}
	d.mu.Lock()
	d.e = e
	d.mu.Unlock()
	return nil
}

// View returns the ledger's view; nil before the first Publish.
func (d *DevnetLedger) View() View {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.e == nil {
		return nil
	}
	return d.e.View()
}

// GenesisPath returns "": child processes follow the ledger over RPC
// (NewFollower) rather than a file.
func (d *DevnetLedger) GenesisPath() string { return "" }

// Client returns an in-process client; nil before the first Publish.
func (d *DevnetLedger) Client() *Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.e == nil {
		return nil
	}
	return d.e.Client()
}

// Serve runs the ledger (and, when node keys are known, the nodes' uptime
// proofs) until ctx ends.
func (d *DevnetLedger) Serve(ctx context.Context) error {
	d.mu.Lock()
	e := d.e
	d.mu.Unlock()
	if e == nil {
		return errors.New("ledger devnet: served before the first Publish")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	if d.c.NodeKey != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.runProofs(ctx, e)
		}()
	}
	return e.Serve(ctx)
}

// runProofs keeps an Uptime sender running for every node whose key is
// known, starting new ones as nodes appear in the view.
func (d *DevnetLedger) runProofs(ctx context.Context, e *Embedded) {
	select {
	case <-e.Ready():
	case <-ctx.Done():
		return
	}
	c := e.Client()
	var wg sync.WaitGroup
	defer wg.Wait()
	running := map[[32]byte]bool{}
	for {
		ch := e.View().Changed()
		for _, n := range e.View().Current().Nodes {
			key := d.key(n.Ed25519)
			ip, err := state.ParseIPv4(n.PublicIP)
			if running[n.Ed25519] || key == nil || err != nil {
				continue
			}
			running[n.Ed25519] = true
			u := NewUptime(UptimeConfig{NodeKey: key, Client: c, IP: ip, Port: n.StoragePort, Version: n.Version, Caps: n.Caps,
				Logger: d.c.Logger, Poll: max(time.Second/2, d.params().BlockTime)})
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = u.Serve(ctx)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

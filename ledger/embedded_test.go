package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

func testPriv(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("ledger embedded test " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testPub(name string) state.Address {
	return state.Address(testPriv(name).Public().(ed25519.PublicKey))
}

// testParams are devnet rules with fast blocks.
func testParams() state.Params {
	p := state.DevnetParams()
	p.BlockTime = 150 * time.Millisecond
	return p
}

func testGenesis(p state.Params, balances map[string]uint64) *state.Genesis {
	g := &state.Genesis{Params: &p, Pool: 1_000_000 * state.Coin}
	for name, b := range balances {
		g.Accounts = append(g.Accounts, state.GenesisAccount{Address: testPub(name).String(), Balance: b})
	}
	return g
}

// startEmbedded creates an embedded node in dir and serves it.
func startEmbedded(t *testing.T, dir string, g *state.Genesis) (e *Embedded, stop func()) {
	t.Helper()
	e, err := NewEmbedded(EmbeddedConfig{Dir: dir, ChainID: "sotto-embedded-test", Genesis: g})
	if err != nil {
		t.Fatal(err)
	}
	return e, serveEmbedded(t, e)
}

// serveEmbedded runs e until the test ends (or stop is called) and waits
// for its first block.
func serveEmbedded(t *testing.T, e *Embedded) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("embedded node did not stop")
		}
	}
	t.Cleanup(stop)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := e.Client().WaitHeight(wctx, 1); err != nil {
		t.Fatalf("no first block: %v", err)
	}
	return stop
}

// registerNode registers node name with operator op, fully staked.
func registerNode(ctx context.Context, c *Client, p state.Params, op, name string, ip state.IPv4) error {
	nk := testPriv(name)
	x := key.OnionPublic(sha256.Sum256([]byte("x " + name)))
	b := &state.Register{
		Node:   key.NodePublic(nk.Public().(ed25519.PublicKey)),
		X25519: x,
		IP:     ip,
		Port:   22021,
		FeeBps: 500,
		Stake:  p.StakingRequirement,
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return err
	}
	b.NodeSig = state.SignRegistration(nk, chainID, testPub(op), x)
	_, err = c.Submit(ctx, testPriv(op), b)
	return err
}

// cometLeaks are goroutines CometBFT 0.38 and goleveldb leave behind after
// a node stopped: the WAL's autofile helpers are never stopped upstream, and
// goleveldb's pool drainer exits up to a second after Close.
var cometLeaks = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/cometbft/cometbft/libs/autofile.OpenAutoFile.func1"),
	goleak.IgnoreTopFunction("github.com/cometbft/cometbft/libs/autofile.(*AutoFile).closeFileRoutine"),
	goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	// CometBFT 0.38's tx indexer reads a block's "new block events" and
	// then waits for each of its transactions' events on a subscription
	// that is never closed (state/txindex/indexer_service.go: the wait has
	// no case for cancellation). Node.OnStop stops the event bus before
	// consensus, so a node stopped while it publishes a block with
	// transactions leaves that goroutine waiting forever (seen under CI
	// load in TestHealthUnderFlood, whose blocks are full). The indexer
	// cannot be turned off: the client finds its transactions through it.
	goleak.IgnoreTopFunction("github.com/cometbft/cometbft/state/txindex.(*IndexerService).OnStart.func1"),
}

func TestEmbeddedLedger(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, cometLeaks...) }) // after the nodes stopped
	p := testParams()
	p.ProofValidity, p.ProofInterval = 10_000, 5_000 // no health checks in this test
	g := testGenesis(p, map[string]uint64{"op": 10_000 * state.Coin, "alice": 50 * state.Coin})
	dir := t.TempDir()
	e, stop := startEmbedded(t, dir, g)
	c := e.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	changed := e.View().Changed()
	const n = 6
	for i := range n {
		if err := registerNode(ctx, c, p, "op", fmt.Sprintf("node%d", i), state.IPv4{127, 0, 0, byte(10 + i)}); err != nil {
			t.Fatalf("register node%d: %v", i, err)
		}
	}
	select {
	case <-changed:
	default:
		t.Fatal("view did not signal the new nodes")
	}
	snap := e.View().Current()
	if len(snap.Nodes) != n {
		t.Fatalf("view has %d nodes, want %d", len(snap.Nodes), n)
	}
	for _, nd := range snap.Nodes {
		if nd.State != StateActive || nd.SwarmID != 0 || nd.StoragePort != 22021 {
			t.Fatalf("view node %+v", nd)
		}
	}

	// The same through queries.
	infos, err := c.Nodes(ctx)
	if err != nil || len(infos) != n {
		t.Fatalf("Nodes: %d, %v", len(infos), err)
	}
	k0 := key.NodePublic(testPriv("node0").Public().(ed25519.PublicKey))
	id, peers, err := c.NodeSwarm(ctx, k0)
	if err != nil || id != 0 || len(peers) != n-1 {
		t.Fatalf("NodeSwarm: %d, %d peers, %v", id, len(peers), err)
	}
	remote, err := c.Snapshot(ctx)
	if err != nil || len(remote.Nodes) != n || remote.Nodes[0] != snap.Nodes[0] {
		t.Fatalf("Snapshot over queries differs: %v", err)
	}
	acc, err := c.Account(ctx, testPub("op"))
	if err != nil || acc.Nonce != n {
		t.Fatalf("operator account %+v, %v", acc, err)
	}

	// A rejected transaction comes back with its code.
	err = registerNode(ctx, c, p, "op", "node0", state.IPv4{127, 0, 0, 99})
	var te *state.TxError
	if !errors.As(err, &te) || te.Code != state.CodeDuplicate {
		t.Fatalf("duplicate registration: %v", err)
	}
	if _, err := c.Node(ctx, key.NodePublic(testPub("nobody"))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown node: %v", err)
	}

	// Names.
	nh := state.NameHash(sha256.Sum256([]byte("name")))
	if _, err := c.Submit(ctx, testPriv("alice"), &state.NameRegister{Name: nh, Value: []byte{1, 2, 3}, ValueNonce: [24]byte{4}, Terms: 1}); err != nil {
		t.Fatal(err)
	}
	ni, err := c.Name(ctx, nh)
	if err != nil || ni.EncryptedValue != "010203" || ni.Owner != testPub("alice").String() {
		t.Fatalf("name %+v, %v", ni, err)
	}

	// Restart: the node resumes at the same height and app hash.
	stop()
	last := e.App().State()
	e2, err := NewEmbedded(EmbeddedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if st := e2.App().State(); st == nil || st.Height() != last.Height() || st.Hash() != last.Hash() {
		t.Fatalf("reloaded state differs from the last committed one (height %d)", last.Height())
	}
	if got := len(e2.View().Current().Nodes); got != n {
		t.Fatalf("view after restart has %d nodes", got)
	}
	serveEmbedded(t, e2)
	c2 := e2.Client()
	if err := c2.WaitHeight(ctx, last.Height()+2); err != nil {
		t.Fatal(err)
	}
	acc2, err := c2.Account(ctx, testPub("alice"))
	if err != nil || acc2.Nonce != 1 {
		t.Fatalf("alice after restart %+v, %v", acc2, err)
	}
}

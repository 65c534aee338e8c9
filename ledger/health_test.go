package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// fakeTester fails the storage ping of the nodes marked down.
type fakeTester struct {
	mu   sync.Mutex
	down map[string]bool
}

func (f *fakeTester) set(key string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[key] = down
}

func (f *fakeTester) PingStorage(_ context.Context, n NodeInfo) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down[n.Ed25519] {
		return errors.New("connection refused")
	}
	return nil
}

func (f *fakeTester) RelayOnion(context.Context, NodeInfo) error { return nil }

func (f *fakeTester) StorageTest(context.Context, NodeInfo) error { return ErrCannotTest }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestHealthOnEmbeddedLedger runs eight nodes' duties (registration, uptime
// proofs, quorum votes with a fake Tester) against a real in-process
// CometBFT ledger: a node failing its tests is decommissioned and leaves
// the view, and is recommissioned once it passes again.
func TestHealthOnEmbeddedLedger(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, cometLeaks...) })
	p := testParams()
	p.ProofInterval, p.ProofValidity = 10, 40
	p.QuorumInterval = 2
	g := testGenesis(p, map[string]uint64{"op": 10_000 * state.Coin, "alice": 100 * state.Coin})
	e, _ := startEmbedded(t, t.TempDir(), g)
	c := e.Client()
	c.Poll = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	tester := &fakeTester{down: map[string]bool{}}
	var keys []ed25519.PrivateKey
	for i := range 8 {
		name := fmt.Sprintf("hnode%d", i)
		k := testPriv(name)
		keys = append(keys, k)
		r := Registration{Operator: state.KeySigner(testPriv("op")), NodeKey: state.KeySigner(k), X25519: key.OnionPublic(sha256.Sum256([]byte(name))),
			IP: state.IPv4{127, 0, 1, byte(i + 1)}, Port: 20000, FeeBps: 100}
		if sent, err := c.EnsureRegistered(ctx, r); err != nil || !sent {
			t.Fatalf("register %s: %v %v", name, sent, err)
		}
		if sent, err := c.EnsureRegistered(ctx, r); err != nil || sent {
			t.Fatalf("second EnsureRegistered of %s: %v %v", name, sent, err)
		}
	}

	// Run every node's duties until the test ends.
	dctx, stopDuties := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopDuties(); wg.Wait() }()
	for i, k := range keys {
		u := NewUptime(UptimeConfig{NodeKey: state.KeySigner(k), Client: c, IP: state.IPv4{127, 0, 1, byte(i + 1)}, Port: 20000, Version: [3]uint16{1, 0, 0},
			Caps: uint32(i % 2), Poll: 100 * time.Millisecond})
		pr := NewProber(ProberConfig{Key: state.KeySigner(k), Client: c, Tester: tester, Poll: 100 * time.Millisecond, Timeout: time.Second})
		wg.Add(2)
		go func() { defer wg.Done(); _ = u.Serve(dctx) }()
		go func() { defer wg.Done(); _ = pr.Serve(dctx) }()
	}
	// A follower over the same client sees what the embedded view sees.
	f := NewFollower(c, 100*time.Millisecond, nil)
	wg.Add(1)
	go func() { defer wg.Done(); _ = f.Serve(dctx) }()

	bad := key.NodePublic(keys[3].Public().(ed25519.PublicKey))
	node := func() *NodeInfo {
		n, err := c.Node(ctx, bad)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, ctx, "first uptime proofs", func() bool { return node().LastProofHeight != 0 })
	inView := func(v View) bool {
		for _, n := range v.Current().Nodes {
			if n.Ed25519 == bad {
				return true
			}
		}
		return false
	}
	if !inView(e.View()) {
		t.Fatal("node missing from the view")
	}
	// The views, the embedded one and the follower's over RPC, carry each
	// node's operator and the capability bits of its proofs.
	op := state.Address(testPriv("op").Public().(ed25519.PublicKey))
	wantCaps := map[key.NodePublic]uint32{}
	for i, k := range keys {
		wantCaps[key.NodePublic(k.Public().(ed25519.PublicKey))] = uint32(i % 2)
	}
	carried := func(v View) bool {
		nodes := v.Current().Nodes
		for _, n := range nodes {
			if n.Operator != op || n.Caps != wantCaps[n.Ed25519] {
				return false
			}
		}
		return len(nodes) == len(keys)
	}
	waitFor(t, ctx, "operators and capabilities in the view", func() bool { return carried(e.View()) })
	waitFor(t, ctx, "operators and capabilities in the follower's view", func() bool { return carried(f.View()) })

	tester.set(bad.String(), true)
	waitFor(t, ctx, "decommission", func() bool { return node().State == state.StatusDecommissioned.String() })
	if n := node(); n.DecommissionReason&state.FailStorage == 0 || n.SwarmID != UnassignedSwarm {
		t.Fatalf("decommissioned node %+v", n)
	}
	if inView(e.View()) {
		t.Fatal("decommissioned node still in the view")
	}
	waitFor(t, ctx, "follower catching up", func() bool { return !inView(f.View()) && len(f.View().Current().Nodes) == 7 })

	tester.set(bad.String(), false)
	waitFor(t, ctx, "recommission", func() bool { return node().State == state.StatusActive.String() })
	waitFor(t, ctx, "view update", func() bool { return inView(e.View()) })
	if n := node(); n.SwarmID == UnassignedSwarm {
		t.Fatalf("recommissioned node has no swarm: %+v", n)
	}

	// The oxend answers over the same client.
	res, err := c.OxendRequest(ctx, "get_service_nodes", json.RawMessage(`{"active_only":true,"fields":{"pubkey_ed25519":true,"swarm_id":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if states := res["service_node_states"].([]map[string]any); len(states) != 8 {
		t.Fatalf("%d active nodes listed", len(states))
	}
	nh := state.NameHash(sha256.Sum256([]byte("alice")))
	if _, err := c.Submit(ctx, testPriv("alice"), &state.NameRegister{Name: nh, Value: []byte{9, 9}, ValueNonce: [24]byte{1}, Terms: 1}); err != nil {
		t.Fatal(err)
	}
	res, err = c.OxendRequest(ctx, "ons_resolve", json.RawMessage(`{"type":0,"name_hash":"`+base64.StdEncoding.EncodeToString(nh[:])+`"}`))
	if err != nil || res["encrypted_value"] != "0909" {
		t.Fatalf("ons_resolve: %v %v", res, err)
	}
}

// flakyTester fails each test the first fails times it runs, then
// passes; the storage test cannot be run.
type flakyTester struct {
	mu           sync.Mutex
	fails        int
	pings, onion int
}

func (f *flakyTester) PingStorage(context.Context, NodeInfo) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pings++
	if f.pings <= f.fails {
		return errors.New("connection refused")
	}
	return nil
}

func (f *flakyTester) RelayOnion(context.Context, NodeInfo) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onion++
	return nil
}

func (f *flakyTester) StorageTest(context.Context, NodeInfo) error { return ErrCannotTest }

// TestProberRetests: a test a node fails counts only when every attempt
// fails; tests it passes are not run again; the retest window stays
// within half of the voting time.
func TestProberRetests(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		fails     int
		want      uint8
		wantPings int
	}{
		{0, 0, 1},
		{2, 0, 3},                  // passes at the last attempt
		{3, state.FailStorage, 3},  // never passes
		{10, state.FailStorage, 3}, // still three attempts
	} {
		ft := &flakyTester{fails: tc.fails}
		p := NewProber(ProberConfig{Key: state.KeySigner(testPriv("prober")), Tester: ft, Attempts: 3})
		if got := p.testOne(ctx, NodeInfo{}, time.Millisecond); got != tc.want || ft.pings != tc.wantPings || ft.onion != 1 {
			t.Errorf("%d failures: result %#x after %d pings and %d onion tests, want %#x after %d and 1", tc.fails, got, ft.pings, ft.onion, tc.want, tc.wantPings)
		}
	}
	p := NewProber(ProberConfig{Key: state.KeySigner(testPriv("prober")), Tester: &flakyTester{}})
	params := state.DevnetParams() // 1 s blocks, votes for 20 blocks
	if gap := p.retestGap(params); gap != 5*time.Second {
		t.Errorf("devnet gap %v, want 5s (10 s window, 3 attempts)", gap)
	}
	params.BlockTime = 100 * time.Millisecond // 2 s of voting: a 1 s window
	if gap := p.retestGap(params); gap != 500*time.Millisecond {
		t.Errorf("fast-chain gap %v, want 500ms", gap)
	}
}

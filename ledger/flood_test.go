package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// TestHealthUnderFlood floods a real in-process CometBFT ledger with far
// more paying user transactions than its blocks hold, while six nodes send
// their uptime proofs and vote in their quorums. The duties go first in
// every block: the healthy nodes stay active through several proof
// windows, and the one node that fails its tests is still voted out.
func TestHealthUnderFlood(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, cometLeaks...) })
	p := floodParams()
	g, keys := floodGenesis(p)
	e, _ := startEmbedded(t, t.TempDir(), g)
	c := e.Client()
	c.Poll = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	chainID, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}

	dctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()

	f := startFlood(t, ctx, dctx, &wg, c, chainID)
	bad := startDuties(dctx, &wg, c, keys)
	start, end := checkHealthyUnderFlood(t, ctx, c, keys[:5], 3*p.ProofValidity)
	checkFloodOutcome(t, ctx, c, p, bad, f, start, end)
}

// floodSpammers is how many accounts flood the mempool.
const floodSpammers = 30

// floodParams are the test parameters with small blocks (about 45
// transfers) and a proof window that a backlog of a few blocks would miss
// if the oldest transactions went first.
func floodParams() state.Params {
	p := testParams()
	p.BlockTime = 300 * time.Millisecond
	p.MaxBlockBytes = state.MaxTxSize
	p.ProofInterval, p.ProofValidity = 4, 10
	p.QuorumInterval, p.VoteLifetime = 2, 6
	return p
}

// floodGenesis funds the operator and the spammers and registers six
// nodes; it returns the genesis and the nodes' keys.
func floodGenesis(p state.Params) (*state.Genesis, []ed25519.PrivateKey) {
	balances := map[string]uint64{"op": 10_000 * state.Coin}
	for i := range floodSpammers {
		balances[fmt.Sprint("spam", i)] = 100 * state.Coin
	}
	g := testGenesis(p, balances)
	var keys []ed25519.PrivateKey
	for i := range 6 {
		name := fmt.Sprintf("fnode%d", i)
		k := testPriv(name)
		keys = append(keys, k)
		g.Nodes = append(g.Nodes, state.GenesisNode{Operator: testPub("op").String(),
			Ed25519: state.Address(k.Public().(ed25519.PublicKey)).String(), X25519: state.Address(sha256.Sum256([]byte(name))).String(),
			PublicIP: fmt.Sprintf("127.0.2.%d", i+1), StoragePort: 20000, Version: [3]uint16{1, 0, 0}})
	}
	return g, keys
}

// floodStats counts the spam transactions admitted to the mempool and the
// largest mempool backlog seen.
type floodStats struct {
	sent, backlog atomic.Int64
}

// startFlood starts the flood under dctx: every spammer keeps
// MaxPendingNonces transfers waiting, topped up after every block.
func startFlood(t *testing.T, ctx, dctx context.Context, wg *sync.WaitGroup, c *Client, chainID string) *floodStats {
	t.Helper()
	f := new(floodStats)
	rpc, err := c.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range floodSpammers {
		name := fmt.Sprint("spam", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var next uint64
			for h := uint64(1); ; h++ {
				if c.WaitHeight(dctx, h) != nil {
					return
				}
				acc, err := c.Account(dctx, testPub(name))
				if err != nil {
					return
				}
				next = max(next, acc.Nonce)
				for ; next < acc.Nonce+state.MaxPendingNonces; next++ {
					tx := &state.Tx{ChainID: chainID, Nonce: next, LastValid: h + 100,
						Body: &state.Transfer{To: testPub("sink"), Amount: 1}}
					tx.Sign(testPriv(name))
					if res, err := rpc.BroadcastTxSync(dctx, tx.Encode()); err == nil && res.Code == 0 {
						f.sent.Add(1)
					}
				}
				if n, err := rpc.NumUnconfirmedTxs(dctx); err == nil {
					for b := f.backlog.Load(); int64(n.Total) > b && !f.backlog.CompareAndSwap(b, int64(n.Total)); b = f.backlog.Load() {
					}
				}
			}
		}()
	}
	return f
}

// startDuties starts every node's uptime proofs and quorum votes under
// dctx, with the last node failing its storage test, and returns that
// node's key.
func startDuties(dctx context.Context, wg *sync.WaitGroup, c *Client, keys []ed25519.PrivateKey) key.NodePublic {
	tester := &fakeTester{down: map[string]bool{}}
	bad := key.NodePublic(keys[5].Public().(ed25519.PublicKey))
	tester.set(bad.String(), true)
	for i, k := range keys {
		u := NewUptime(UptimeConfig{NodeKey: state.KeySigner(k), Client: c, IP: state.IPv4{127, 0, 2, byte(i + 1)}, Port: 20000,
			Version: [3]uint16{1, 0, 0}, Poll: 50 * time.Millisecond})
		pr := NewProber(ProberConfig{Key: state.KeySigner(k), Client: c, Tester: tester, Poll: 50 * time.Millisecond,
			Timeout: time.Second, Attempts: 1})
		wg.Add(2)
		go func() { defer wg.Done(); _ = u.Serve(dctx) }()
		go func() { defer wg.Done(); _ = pr.Serve(dctx) }()
	}
	return bad
}

// checkHealthyUnderFlood waits for blocks blocks and checks after each that
// every healthy node is still active; it returns the first and last
// height.
func checkHealthyUnderFlood(t *testing.T, ctx context.Context, c *Client, healthy []ed25519.PrivateKey, blocks uint64) (start, end uint64) {
	t.Helper()
	start, err := c.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	end = start + blocks
	for h := start + 1; h <= end; h++ {
		if err := c.WaitHeight(ctx, h); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		for _, k := range healthy {
			n, err := c.Node(ctx, key.NodePublic(k.Public().(ed25519.PublicKey)))
			if err != nil {
				t.Fatal(err)
			}
			if n.State != state.StatusActive.String() {
				t.Fatalf("height %d: healthy node %s is %s (reason %#x) under the flood", h, n.Ed25519[:16], n.State, n.DecommissionReason)
			}
		}
	}
	return start, end
}

// checkFloodOutcome checks that the failing node was voted out and that
// the flood was real.
func checkFloodOutcome(t *testing.T, ctx context.Context, c *Client, p state.Params, bad key.NodePublic, f *floodStats, start, end uint64) {
	t.Helper()
	n, err := c.Node(ctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	// Decommissioned by its quorum's votes, then deregistered when its
	// credit ran out.
	if n.State == state.StatusActive.String() || n.DecommissionReason&state.FailStorage == 0 {
		t.Fatalf("failing node %+v: its quorum's votes did not land", n)
	}
	// The flood was real: many blocks' worth waited in the mempool, and
	// the spam that entered blocks paid its fees.
	perBlock := p.MaxBlockBytes / 180
	if b := f.backlog.Load(); b < 5*perBlock {
		t.Fatalf("mempool backlog of %d transactions, under five blocks' worth (%d)", b, 5*perBlock)
	}
	sink, err := c.Account(ctx, testPub("sink"))
	if err != nil {
		t.Fatal(err)
	}
	if sink.Balance < uint64(end-start) {
		t.Fatalf("only %d spam transfers entered %d blocks", sink.Balance, end-start)
	}
	t.Logf("%d spam transactions admitted, backlog up to %d, %d executed in %d blocks", f.sent.Load(), f.backlog.Load(), sink.Balance, end-start)
}

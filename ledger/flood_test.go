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
	p := testParams()
	p.BlockTime = 300 * time.Millisecond
	// Small blocks (about 45 transfers) and a proof window that a backlog
	// of a few blocks would miss if the oldest transactions went first.
	p.MaxBlockBytes = state.MaxTxSize
	p.ProofInterval, p.ProofValidity = 4, 10
	p.QuorumInterval, p.VoteLifetime = 2, 6
	const spammers = 30
	balances := map[string]uint64{"op": 10_000 * state.Coin}
	for i := range spammers {
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

	// The flood: every spammer keeps MaxPendingNonces transfers waiting,
	// topped up after every block.
	var sent, backlog atomic.Int64
	rpc, err := c.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range spammers {
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
						sent.Add(1)
					}
				}
				if n, err := rpc.NumUnconfirmedTxs(dctx); err == nil {
					for b := backlog.Load(); int64(n.Total) > b && !backlog.CompareAndSwap(b, int64(n.Total)); b = backlog.Load() {
					}
				}
			}
		}()
	}

	// The duties, with one node failing its storage test.
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

	// Run through three proof validity windows.
	start, err := c.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	end := start + 3*p.ProofValidity
	for h := start + 1; h <= end; h++ {
		if err := c.WaitHeight(ctx, h); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		for _, k := range keys[:5] {
			n, err := c.Node(ctx, key.NodePublic(k.Public().(ed25519.PublicKey)))
			if err != nil {
				t.Fatal(err)
			}
			if n.State != state.StatusActive.String() {
				t.Fatalf("height %d: healthy node %s is %s (reason %#x) under the flood", h, n.Ed25519[:16], n.State, n.DecommissionReason)
			}
		}
	}
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
	if b := backlog.Load(); b < 5*perBlock {
		t.Fatalf("mempool backlog of %d transactions, under five blocks' worth (%d)", b, 5*perBlock)
	}
	sink, err := c.Account(ctx, testPub("sink"))
	if err != nil {
		t.Fatal(err)
	}
	if sink.Balance < uint64(end-start) {
		t.Fatalf("only %d spam transfers entered %d blocks", sink.Balance, end-start)
	}
	t.Logf("%d spam transactions admitted, backlog up to %d, %d executed in %d blocks", sent.Load(), backlog.Load(), sink.Balance, end-start)
}

package ledger

import (
	"context"
	"sync"
	"testing"
	"time"

	"sotto.dev/ledger/state"
)

// TestSubmitFromTwoClientsOfOneSigner: two processes of one operator (two
// Clients, each with its own per-signer lock) submit at the same moment.
// Both read the same next nonce; the ledger takes one transaction and
// drops the other from the mempool without a block. The loser used to
// wait for its last valid height, 60 blocks; now it sees the nonce used
// without its transaction, signs again with the next one, and both
// transfers land exactly once.
func TestSubmitFromTwoClientsOfOneSigner(t *testing.T) {
	p := testParams()
	p.ProofValidity, p.ProofInterval = 10_000, 5_000 // no health checks in this test
	g := testGenesis(p, map[string]uint64{"alice": 50 * state.Coin})
	e, _ := startEmbedded(t, t.TempDir(), g)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // far below 60 blocks of 150 ms
	defer cancel()
	clients := []*Client{e.Client(), e.Client()}
	before, err := clients[0].Account(ctx, testPub("bob"))
	if err != nil {
		t.Fatal(err)
	}
	// Odd rounds send the same body from both clients (the same bytes:
	// CometBFT refuses the second as already in its cache), even rounds
	// different ones.
	const rounds, amount = 4, 1000
	var want uint64
	for r := range rounds {
		var wg sync.WaitGroup
		errs := make([]error, len(clients))
		for i, c := range clients {
			a := uint64(amount + i*(r%2))
			want += a
			wg.Go(func() {
				_, errs[i] = c.Submit(ctx, testPriv("alice"), &state.Transfer{To: testPub("bob"), Amount: a})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
		}
	}
	bob, err := clients[1].Account(ctx, testPub("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if got := bob.Balance - before.Balance; got != want {
		t.Errorf("bob received %d, want %d", got, want)
	}
	alice, err := clients[1].Account(ctx, testPub("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(rounds * len(clients)); alice.Nonce != want {
		t.Errorf("alice's nonce %d, want %d", alice.Nonce, want)
	}
}

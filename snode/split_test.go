package snode

import (
	"context"
	"testing"
	"time"

	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// TestExpireLongAfterStoreProves: an expiry change keeps the quantum of
// the row's store (store/writer.go, stampExpiry), so a row its owner
// extended to Session's cap (the operation time + 30 days) long after
// storing it carries an mtime far older than that operation. A peer must
// still take it (the swarm split of e2e TestSwarmSplitHeals extends rows
// a minute or more after their store), and still refuse one beyond
// the cap as of now.
func TestExpireLongAfterStoreProves(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, nil)
	n := tn.nodes[0].node
	u := newUser(t)
	now := time.Now()
	stored := now.Add(-20 * time.Minute).UnixMilli()
	data := []byte("kept for a month")
	sp := &storagerpc.StoreParams{Account: u.acct, Namespace: 1, Timestamp: stored, Expiry: stored + time.Hour.Milliseconds(), Data: data, SigTimestamp: stored}
	sp.Auth = u.auth(storagerpc.StoreSigMessage(1, stored))
	exp := []int64{now.Add(storagerpc.MaxTTLPrivate - time.Minute).UnixMilli()}
	ep := &storagerpc.ExpireParams{Account: u.acct, Messages: []string{sp.Hash()}, Expiries: exp, Mode: storagerpc.ExpireExtend,
		Auth: u.auth(storagerpc.ExpireSigMessage(storagerpc.ExpireExtend, exp, []string{sp.Hash()}))}
	rec := store.Record{
		Message: store.Message{Account: storeAccount(u.acct), Namespace: 1, Hash: sp.Hash(), Timestamp: stored, Expiry: exp[0], Data: data, StoreProof: makeProof(sp)},
		MTime:   quantumStart(stored) + 1, ChangeProof: makeProof(ep),
	}
	pc := n.newProofChecker(context.Background(), n.mem.Load(), now)
	if got := pc.record(&rec); got != "" {
		t.Errorf("a row extended to the cap 20 minutes after its store: refused (%s)", got)
	}
	beyond := rec
	beyond.Expiry = now.Add(storagerpc.MaxTTLPrivate + 10*time.Minute).UnixMilli()
	ep2 := *ep
	ep2.Expiries = []int64{beyond.Expiry}
	ep2.Auth = u.auth(storagerpc.ExpireSigMessage(storagerpc.ExpireExtend, ep2.Expiries, ep2.Messages))
	beyond.ChangeProof = makeProof(&ep2)
	if got := pc.record(&beyond); got != refusedTTL {
		t.Errorf("a row extended beyond the cap as of now: %q, want %q", got, refusedTTL)
	}
}

package snode

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
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

// TestLateForwardRefused replays what a healed partition delivers: a
// forwarded delete_all its entry node gave up on (its forward timed out)
// arrives long after its operation time, over a connection that stalled
// and then delivered what it held. Applied at its old operation time it
// would delete a message stored here after it (in the same mtime quantum),
// and the other members would take that delete from this one, losing a
// message every member acknowledged (e2e TestSwarmSplitHeals found it).
// The late change is refused and the message stays; the same change
// arriving in time is applied, and a late store is still taken.
func TestLateForwardRefused(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA}, nil, nil)
	a, b := tn.nodes[0], tn.nodes[1]
	u := newUser(t)
	late := b.node.cfg.Limits.ForwardTimeout.D() + lateForwardMargin + 5*time.Second
	sel := storagerpc.OneNamespace(1)
	forward := func(op int64, req storagerpc.Request) (int, []byte) {
		t.Helper()
		params, err := req.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(forwardEnvelope{Op: op, Method: req.Method(), Params: params})
		if err != nil {
			t.Fatal(err)
		}
		return peerPost(t, a, b, pathForward, body)
	}
	held := func() []string {
		t.Helper()
		hs, err := retrieveAll(t, b, u, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		return hs
	}

	// A message stored at b (and a) now; then the delete_all a client
	// sent before it, forwarded by a, reaching b late.
	m := u.store(1, []byte("stored after the delete_all"), time.Hour)
	if st, out := do(t, b, m); st != http.StatusOK {
		t.Fatalf("store: %d %s", st, out)
	}
	signed := time.Now().Add(-late).UnixMilli()
	del := &storagerpc.DeleteAllParams{Account: u.acct, Namespace: sel, Timestamp: signed, Auth: u.auth(storagerpc.DeleteAllSigMessage(sel, signed))}
	if st, out := forward(signed, del); st != http.StatusBadRequest {
		t.Fatalf("a delete_all forwarded %v after its operation time: %d %s, want 400", late, st, out)
	}
	if hs := held(); !slices.Equal(hs, []string{m.Hash()}) {
		t.Fatalf("after the late delete_all b holds %q, want the message stored since", hs)
	}
	if got := dropped(t, b, "late_forward"); got != 1 {
		t.Errorf("late forwards counted: %v, want 1", got)
	}

	// A late store is applied: it only adds what its owner asked for.
	s := u.store(1, []byte("a late store"), time.Hour)
	s.Timestamp, s.SigTimestamp = signed, signed
	s.Expiry = signed + time.Hour.Milliseconds()
	s.Auth = u.auth(storagerpc.StoreSigMessage(1, signed))
	if st, out := forward(signed, s); st != http.StatusOK {
		t.Fatalf("a store forwarded %v after its operation time: %d %s, want 200", late, st, out)
	}
	if hs := held(); len(hs) != 2 {
		t.Fatalf("after the late store b holds %d messages, want 2", len(hs))
	}

	// The same delete_all in time is applied.
	now := time.Now().UnixMilli()
	del = &storagerpc.DeleteAllParams{Account: u.acct, Namespace: sel, Timestamp: now, Auth: u.auth(storagerpc.DeleteAllSigMessage(sel, now))}
	if st, out := forward(now, del); st != http.StatusOK {
		t.Fatalf("a delete_all forwarded in time: %d %s", st, out)
	}
	if hs := held(); len(hs) != 0 {
		t.Fatalf("after the delete_all in time b holds %q", hs)
	}
}

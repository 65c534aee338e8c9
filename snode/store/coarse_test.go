package store

import (
	"testing"
	"time"
)

const quantum = time.Minute

// fetchOne returns the row of a hash.
func fetchOne(t *testing.T, s *Store, hash string) (Record, bool) {
	t.Helper()
	recs, err := s.Fetch(ctx, []string{hash})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		return Record{}, false
	}
	return recs[0], true
}

// TestCoarseMTimes follows one message through stores, an expiry change
// and a delete within one quantum: the row keeps the quantum's start plus
// a version count, never the operation's millisecond, and its changes stay
// ordered.
func TestCoarseMTimes(t *testing.T) {
	s := open(t, Options{TimeQuantum: quantum})
	a := acct(1)
	q := quantum.Milliseconds()
	start := 10 * q
	op := start + 12_345
	m := msg(a, 0, 1, op, op+time.Hour.Milliseconds())
	want := func(step string, mtime int64, deleted bool, expiry int64) {
		t.Helper()
		r, ok := fetchOne(t, s, m.Hash)
		if !ok || r.MTime != mtime || r.Deleted != deleted || r.Expiry != expiry {
			t.Fatalf("%s: row %v (found %v), want mtime %d deleted %v expiry %d", step, bare(r), ok, mtime, deleted, expiry)
		}
	}
	if res := mustStore(t, s, m, op); res != New {
		t.Fatalf("store: %v", res)
	}
	want("store", start, false, m.Expiry)
	// Read at once, shortened a second later: the change wins.
	short := op + 30_000
	if out, err := s.UpdateExpiry(ctx, a, []string{m.Hash}, []int64{short}, ExpiryShortenOnly, op+1000, nil); err != nil || len(out) != 1 {
		t.Fatalf("shorten: %v %v", out, err)
	}
	want("shorten", start+1, false, short)
	// An operation from an earlier quantum is older than the row.
	if out, err := s.UpdateExpiry(ctx, a, []string{m.Hash}, []int64{short + 1}, ExpiryAny, op-q, nil); err != nil || len(out) != 0 {
		t.Fatalf("older expire applied: %v %v", out, err)
	}
	if del, err := s.DeleteByHash(ctx, a, []string{m.Hash}, op+2000, nil); err != nil || len(del) != 1 {
		t.Fatalf("delete: %v %v", del, err)
	}
	// A tombstone takes the rest of its quantum.
	want("delete", start+q-1, true, short)
	// Stored again within the tombstone's quantum: the delete holds.
	if res := mustStore(t, s, m, op+3000); res != Exists {
		t.Fatalf("store after delete, same quantum: %v", res)
	}
	want("store again", start+q-1, true, short)
	// In the next quantum the message comes back, as a new row.
	if res := mustStore(t, s, m, op+q); res != New {
		t.Fatalf("store after delete, next quantum: %v", res)
	}
	want("next quantum", start+q, false, m.Expiry)
}

// TestCoarseReplicasConverge applies conflicting changes to one message on
// two replicas within one quantum (one shortens it, the other deletes it)
// and the same changes in different orders: reconciled, the replicas hold
// byte-identical rows, and the delete wins.
func TestCoarseReplicasConverge(t *testing.T) {
	x, y := open(t, Options{TimeQuantum: quantum}), open(t, Options{TimeQuantum: quantum})
	a := acct(3)
	op := 20*quantum.Milliseconds() + 777
	m := msg(a, 0, 1, op, op+time.Hour.Milliseconds())
	for _, s := range []*Store{x, y} {
		mustStore(t, s, m, op)
	}
	if _, err := x.UpdateExpiry(ctx, a, []string{m.Hash}, []int64{op + 60_000}, ExpiryAny, op+10, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := y.DeleteByHash(ctx, a, []string{m.Hash}, op+20, nil); err != nil {
		t.Fatal(err)
	}
	// The script's independent stores, in opposite orders.
	b := acct(4)
	for i := range 10 {
		if _, _, err := x.Store(ctx, msg(b, 0, i, op, op+100_000), op+int64(i)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := y.Store(ctx, msg(b, 0, 9-i, op, op+100_000), op+int64(100-i)); err != nil {
			t.Fatal(err)
		}
	}
	if x.BucketDigests() == y.BucketDigests() {
		t.Fatal("diverged replicas have the same digests")
	}
	reconcile(t, x, y, op)
	if x.BucketDigests() != y.BucketDigests() {
		t.Fatal("replicas differ after reconciling")
	}
	for _, s := range []*Store{x, y} {
		if r, ok := fetchOne(t, s, m.Hash); !ok || !r.Deleted {
			t.Fatalf("the delete did not win: %+v", bare(r))
		}
	}
}

// TestDeleteBeatsLaterExpiry is the swarm split of e2e
// TestSwarmSplitHeals on two replicas: x deletes messages that y, cut off
// from x, still holds and then changes the expiry of, in later quanta or
// in the delete's own. Reconciled, the deletes win (an expire changes only
// a message that exists); a message y stores again after the delete's
// quantum comes back, as a store after a delete does.
func TestDeleteBeatsLaterExpiry(t *testing.T) {
	x, y := open(t, Options{TimeQuantum: quantum}), open(t, Options{TimeQuantum: quantum})
	a := acct(6)
	q := quantum.Milliseconds()
	op := 40*q + 123
	long := op + 3*time.Hour.Milliseconds()
	extended, again, sameQ := msg(a, 0, 1, op, op+time.Hour.Milliseconds()), msg(a, 0, 2, op, op+time.Hour.Milliseconds()), msg(a, 0, 3, op, op+time.Hour.Milliseconds())
	for _, s := range []*Store{x, y} {
		for _, m := range []Message{extended, again, sameQ} {
			mustStore(t, s, m, op)
		}
	}
	if del, err := x.DeleteByHash(ctx, a, []string{extended.Hash, again.Hash}, op+q, nil); err != nil || len(del) != 2 {
		t.Fatalf("delete: %v %v", del, err)
	}
	if del, err := x.DeleteByHash(ctx, a, []string{sameQ.Hash}, op+10, nil); err != nil || len(del) != 1 {
		t.Fatalf("delete: %v %v", del, err)
	}
	// y extends, then shortens, after the delete's quantum; and changes
	// sameQ twice within the quantum it was deleted in.
	for i, exp := range []int64{long, long - 1000} {
		if up, err := y.UpdateExpiry(ctx, a, []string{extended.Hash}, []int64{exp}, ExpiryAny, op+int64(2+i)*q, nil); err != nil || len(up) != 1 {
			t.Fatalf("expire %d: %v %v", i, up, err)
		}
		if up, err := y.UpdateExpiry(ctx, a, []string{sameQ.Hash}, []int64{exp}, ExpiryAny, op+int64(20+i), nil); err != nil || len(up) != 1 {
			t.Fatalf("expire %d: %v %v", i, up, err)
		}
	}
	if n, err := y.UpdateAllExpiries(ctx, a, nil, long-2000, op+4*q, nil); err != nil || len(n) != 2 {
		t.Fatalf("expire_all: %v %v", n, err)
	}
	// again is stored anew on x after its delete's quantum.
	if res := mustStore(t, x, again, op+2*q); res != New {
		t.Fatalf("store after delete, later quantum: %v", res)
	}
	reconcile(t, x, y, op+4*q)
	if x.BucketDigests() != y.BucketDigests() {
		t.Fatal("replicas differ after reconciling")
	}
	for _, s := range []*Store{x, y} {
		for _, m := range []Message{extended, sameQ} {
			if r, ok := fetchOne(t, s, m.Hash); !ok || !r.Deleted {
				t.Errorf("%s: a later expiry change undid the delete: %+v", m.Hash, bare(r))
			}
		}
		if r, ok := fetchOne(t, s, again.Hash); !ok || r.Deleted {
			t.Errorf("%s: stored again after the delete, but %+v", again.Hash, bare(r))
		}
	}
}

// TestDropTombstones drops a tombstone in the state the node saw, and not
// one that changed since.
func TestDropTombstones(t *testing.T) {
	s := open(t, Options{TimeQuantum: quantum})
	a := acct(5)
	op := 30*quantum.Milliseconds() + 5
	m := msg(a, 2, 1, op, op+time.Hour.Milliseconds())
	mustStore(t, s, m, op)
	if ts, err := s.Tombstones(ctx); err != nil || len(ts) != 0 {
		t.Fatalf("tombstones of a live row: %v %v", ts, err)
	}
	if _, err := s.DeleteByHash(ctx, a, []string{m.Hash}, op+1, nil); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Tombstones(ctx)
	if err != nil || len(ts) != 1 {
		t.Fatalf("tombstones: %v %v", ts, err)
	}
	want := Tomb{Key: DigestKey{Account: a, Kind: KindMessages, Namespace: 2}, Hash: m.Hash, MTime: op - 5 + quantum.Milliseconds() - 1, Expiry: m.Expiry}
	if ts[0] != want {
		t.Fatalf("tombstone %+v, want %+v", ts[0], want)
	}
	stale := want
	stale.MTime--
	if n, err := s.DropTombstones(ctx, []Tomb{stale}); err != nil || n != 0 {
		t.Fatalf("dropped a tombstone in another state: %d %v", n, err)
	}
	if n, err := s.DropTombstones(ctx, ts); err != nil || n != 1 {
		t.Fatalf("drop: %d %v", n, err)
	}
	if _, ok := fetchOne(t, s, m.Hash); ok {
		t.Fatal("the tombstone is still there")
	}
	if s.BucketDigests() != ([Buckets]Digest{}) || len(s.Accounts()) != 0 {
		t.Fatal("digests or owners still count the dropped tombstone")
	}
}

// bare returns r for printing, without its data and proofs.
func bare(r Record) Record { r.Data, r.StoreProof, r.ChangeProof = nil, nil, nil; return r }

package store

import "testing"

// TestStoreManyOneCommit: a group of stores shares one commit, and each
// gets the result Store would give it.
func TestStoreManyOneCommit(t *testing.T) {
	s := open(t, Options{})
	a := acct(1)
	items := make([]StoreItem, 50)
	for i := range items {
		items[i] = StoreItem{Message: msg(a, 0, i, 1000, 100_000+int64(i)), Op: 1000 + int64(i)}
	}
	mustStore(t, s, items[7].Message, items[7].Op)
	before := s.Stats()
	outs := s.StoreMany(ctx, items)
	after := s.Stats()
	if c, ops := after.Commits-before.Commits, after.Ops-before.Ops; c != 1 || ops != 50 {
		t.Fatalf("%d commits of %d operations, want 1 of 50", c, ops)
	}
	if after.BusyTime <= before.BusyTime {
		t.Fatalf("busy time did not grow: %v, %v", before.BusyTime, after.BusyTime)
	}
	for i, o := range outs {
		want := New
		if i == 7 {
			want = Exists
		}
		if o.Err != nil || o.Result != want || o.Expiry != items[i].Message.Expiry {
			t.Fatalf("item %d: %+v, want %v", i, o, want)
		}
	}
	got, _, err := s.Retrieve(ctx, RetrieveQuery{Account: a, MaxCount: 100, MaxSize: 1 << 20, Now: 1000})
	if err != nil || len(got) != 50 {
		t.Fatalf("retrieved %d (%v), want 50", len(got), err)
	}
	// A later expiry extends; the same one is already there.
	longer := items[3]
	longer.Message.Expiry += 1000
	longer.Op += 100
	outs = s.StoreMany(ctx, []StoreItem{longer, items[4]})
	if outs[0].Result != Extended || outs[0].Expiry != longer.Message.Expiry || outs[1].Result != Exists {
		t.Fatalf("second group: %+v", outs)
	}
}

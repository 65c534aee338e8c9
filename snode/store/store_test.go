package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func open(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "store.db")
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func acct(b byte) Account {
	var a Account
	a[0] = 0x05
	for i := 1; i < AccountSize; i++ {
		a[i] = b
	}
	return a
}

func msg(a Account, ns int16, i int, ts, exp int64) Message {
	return Message{Account: a, Namespace: ns, Hash: fmt.Sprintf("h-%x-%d-%04d", a[1], ns, i), Timestamp: ts, Expiry: exp, Data: []byte(fmt.Sprintf("data %d", i))}
}

var ctx = context.Background()

func mustStore(t testing.TB, s *Store, m Message, op int64) StoreResult {
	t.Helper()
	res, _, err := s.Store(ctx, m, op)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func hashes(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Hash
	}
	return out
}

func TestStoreResults(t *testing.T) {
	s := open(t, Options{})
	a := acct(1)
	m := msg(a, 0, 1, 1000, 50_000)
	if r := mustStore(t, s, m, 1000); r != New {
		t.Fatalf("first store: %v", r)
	}
	if r, exp, _ := s.Store(ctx, m, 1001); r != Exists || exp != 50_000 {
		t.Fatalf("same store: %v %d", r, exp)
	}
	m2 := m
	m2.Expiry = 60_000
	if r, exp, _ := s.Store(ctx, m2, 1002); r != Extended || exp != 60_000 {
		t.Fatalf("later expiry: %v %d", r, exp)
	}
	m3 := m
	m3.Expiry = 55_000
	if r, exp, _ := s.Store(ctx, m3, 1003); r != Exists || exp != 60_000 {
		t.Fatalf("earlier expiry: %v %d", r, exp)
	}
	got, more, err := s.Retrieve(ctx, RetrieveQuery{Account: a, Now: 2000})
	if err != nil || more || len(got) != 1 || got[0].Expiry != 60_000 || string(got[0].Data) != "data 1" {
		t.Fatalf("retrieve: %+v %v %v", got, more, err)
	}
}

func TestRetrievePaging(t *testing.T) {
	s := open(t, Options{})
	a, b := acct(1), acct(2)
	var want []string
	for i := range 25 {
		m := msg(a, 3, i, 1000, 100_000)
		want = append(want, m.Hash)
		mustStore(t, s, m, int64(1000+i))
		mustStore(t, s, msg(a, 0, i, 1000, 100_000), int64(1000+i)) // other namespace
		mustStore(t, s, msg(b, 3, i, 1000, 100_000), int64(1000+i)) // other account
	}
	for _, tc := range []struct {
		name            string
		maxCount, maxSz int
		perPage         int
	}{
		{"count 7", 7, 0, 7},
		{"count 1", 1, 0, 1},
		{"size", 0, 3 * (RetrieveOverhead + 13 + 12), 3},
		{"tiny size returns one", 0, 1, 1},
		{"both", 4, 3 * (RetrieveOverhead + 13 + 12), 3},
		{"unbounded", 0, 0, 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			last := ""
			for pages := 0; ; pages++ {
				if pages > 30 {
					t.Fatal("paging does not end")
				}
				page, more, err := s.Retrieve(ctx, RetrieveQuery{Account: a, Namespace: 3, LastHash: last, MaxCount: tc.maxCount, MaxSize: tc.maxSz, Now: 2000})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 || len(page) > tc.perPage {
					t.Fatalf("page of %d, want 1..%d", len(page), tc.perPage)
				}
				got = append(got, hashes(page)...)
				last = page[len(page)-1].Hash
				if !more {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
		})
	}
	// unknown last_hash starts from the beginning (Session)
	page, _, err := s.Retrieve(ctx, RetrieveQuery{Account: a, Namespace: 3, LastHash: "nope", MaxCount: 2, Now: 2000})
	if err != nil || len(page) != 2 || page[0].Hash != want[0] {
		t.Fatalf("unknown last hash: %v %v", hashes(page), err)
	}
	// a hash of another namespace does not anchor
	page, _, _ = s.Retrieve(ctx, RetrieveQuery{Account: a, Namespace: 3, LastHash: msg(a, 0, 5, 0, 0).Hash, MaxCount: 1, Now: 2000})
	if len(page) != 1 || page[0].Hash != want[0] {
		t.Fatalf("foreign anchor: %v", hashes(page))
	}
}

func TestExpiryAndSweep(t *testing.T) {
	s := open(t, Options{})
	a := acct(1)
	mustStore(t, s, msg(a, 0, 1, 1000, 5000), 1000)
	mustStore(t, s, msg(a, 0, 2, 1000, 9000), 1000)
	if _, err := s.DeleteByHash(ctx, a, []string{msg(a, 0, 2, 0, 0).Hash}, 1500, nil); err != nil {
		t.Fatal(err)
	}
	page, _, _ := s.Retrieve(ctx, RetrieveQuery{Account: a, Now: 5000})
	if len(page) != 0 {
		t.Fatalf("expired or deleted returned: %v", hashes(page))
	}
	if n, err := s.Sweep(ctx, 5000, 100); err != nil || n != 1 {
		t.Fatalf("sweep at 5000: %d %v", n, err)
	}
	if len(s.Accounts()) != 1 {
		t.Fatal("tombstone swept before its expiry")
	}
	if n, err := s.Sweep(ctx, 9000, 100); err != nil || n != 1 {
		t.Fatalf("sweep at 9000: %d %v", n, err)
	}
	if len(s.Accounts()) != 0 || s.BucketDigests() != [Buckets]Digest{} {
		t.Fatal("rows left after sweeping everything")
	}
	// the owner row is gone, and storing again recreates it
	mustStore(t, s, msg(a, 0, 3, 1000, 50_000), 10_000)
	if page, _, _ := s.Retrieve(ctx, RetrieveQuery{Account: a, Now: 10_000}); len(page) != 1 {
		t.Fatal("store after owner drop failed")
	}
}

func TestDeletes(t *testing.T) {
	s := open(t, Options{})
	a := acct(1)
	for i := range 4 {
		mustStore(t, s, msg(a, 0, i, int64(1000+i), 100_000), 2000)
		mustStore(t, s, msg(a, 5, i, int64(1000+i), 100_000), 2000)
	}
	del, err := s.DeleteByHash(ctx, a, []string{msg(a, 0, 0, 0, 0).Hash, "unknown", msg(a, 0, 0, 0, 0).Hash}, 3000, nil)
	if err != nil || !slices.Equal(del, []string{msg(a, 0, 0, 0, 0).Hash}) {
		t.Fatalf("delete: %v %v", del, err)
	}
	// another account cannot delete a's messages
	if del, _ := s.DeleteByHash(ctx, acct(2), []string{msg(a, 0, 1, 0, 0).Hash}, 3000, nil); len(del) != 0 {
		t.Fatal("cross-account delete")
	}
	before, err := s.DeleteBefore(ctx, a, ptr(int16(5)), 1001, 3001, nil)
	if err != nil || len(before) != 2 {
		t.Fatalf("delete_before ns 5: %v %v", before, err)
	}
	all, err := s.DeleteAll(ctx, a, nil, 3002, nil)
	if err != nil || len(all) != 5 { // 3 left in ns 0, 2 in ns 5
		t.Fatalf("delete_all: %v %v", all, err)
	}
	// store again after delete: New, and visible again
	if r := mustStore(t, s, msg(a, 0, 0, 1000, 100_000), 4000); r != New {
		t.Fatalf("store after delete: %v", r)
	}
	page, _, _ := s.Retrieve(ctx, RetrieveQuery{Account: a, Now: 4000})
	if len(page) != 1 {
		t.Fatalf("after re-store: %v", hashes(page))
	}
	// a store older than the delete is not resurrected
	if r := mustStore(t, s, msg(a, 0, 1, 1000, 100_000), 2500); r != Exists {
		t.Fatalf("stale store after delete: %v", r)
	}
}

func ptr[T any](v T) *T { return &v }

func TestExpiryUpdates(t *testing.T) {
	s := open(t, Options{})
	a := acct(1)
	h := func(i int) string { return msg(a, 0, i, 0, 0).Hash }
	for i := range 3 {
		mustStore(t, s, msg(a, 0, i, 1000, 50_000), 1000)
	}
	up, err := s.UpdateExpiry(ctx, a, []string{h(0), h(1)}, []int64{40_000}, ExpiryExtendOnly, 2000, nil)
	if err != nil || len(up) != 0 {
		t.Fatalf("extend-only to earlier: %v %v", up, err)
	}
	up, _ = s.UpdateExpiry(ctx, a, []string{h(0), h(1)}, []int64{40_000, 60_000}, ExpiryShortenOnly, 2001, nil)
	if len(up) != 1 || up[0] != (HashExpiry{h(0), 40_000}) {
		t.Fatalf("shorten-only: %v", up)
	}
	up, _ = s.UpdateExpiry(ctx, a, []string{h(1)}, []int64{70_000}, ExpiryAny, 2002, nil)
	if len(up) != 1 {
		t.Fatalf("any: %v", up)
	}
	ex, _ := s.GetExpiries(ctx, a, nil, 2003)
	if ex[h(0)] != 40_000 || ex[h(1)] != 70_000 || ex[h(2)] != 50_000 || len(ex) != 3 {
		t.Fatalf("expiries: %v", ex)
	}
	all, _ := s.UpdateAllExpiries(ctx, a, ptr(int16(0)), 45_000, 2004, nil)
	if len(all) != 2 {
		t.Fatalf("expire_all: %v", all)
	}
	ex, _ = s.GetExpiries(ctx, a, []string{h(0), h(1), "x"}, 2005)
	if len(ex) != 2 || ex[h(0)] != 40_000 || ex[h(1)] != 45_000 {
		t.Fatalf("expiries after expire_all: %v", ex)
	}
}

func TestRevocations(t *testing.T) {
	s := open(t, Options{})
	a := acct(1)
	tok := func(i int) [TokenSize]byte {
		var tk [TokenSize]byte
		tk[0], tk[1], tk[4] = 3, 1, byte(i)
		tk[5] = byte(i >> 8)
		return tk
	}
	n, err := s.Revoke(ctx, a, [][TokenSize]byte{tok(1), tok(2), tok(1)}, 1000, nil)
	if err != nil || n != 2 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if r, _ := s.IsRevoked(ctx, a, tok(1)); !r {
		t.Fatal("not revoked")
	}
	if r, _ := s.IsRevoked(ctx, acct(2), tok(1)); r {
		t.Fatal("revoked for another account")
	}
	if n, _ := s.Unrevoke(ctx, a, [][TokenSize]byte{tok(1), tok(3)}, 1001, nil); n != 1 {
		t.Fatalf("unrevoke: %d", n)
	}
	if r, _ := s.IsRevoked(ctx, a, tok(1)); r {
		t.Fatal("still revoked")
	}
	for i := range 60 {
		if _, err := s.Revoke(ctx, a, [][TokenSize]byte{tok(100 + i)}, int64(2000+i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := s.IsRevoked(ctx, a, tok(100)); r {
		t.Fatal("oldest revocation kept past the cap")
	}
	if r, _ := s.IsRevoked(ctx, a, tok(159)); !r {
		t.Fatal("newest revocation dropped")
	}
	_, revs, _ := s.Export(ctx, a)
	live := 0
	for _, r := range revs {
		if r.Revoked {
			live++
		}
	}
	if live != maxRevoked {
		t.Fatalf("%d revocations kept, want %d", live, maxRevoked)
	}
}

func TestPublicOutbox(t *testing.T) {
	s := open(t, Options{})
	a := acct(1)
	mustStore(t, s, msg(a, -21, 1, 1000, 50_000), 1000)
	mustStore(t, s, msg(a, -21, 2, 1000, 50_000), 1001)
	page, _, _ := s.Retrieve(ctx, RetrieveQuery{Account: a, Namespace: -21, Now: 1002})
	if len(page) != 1 || page[0].Hash != msg(a, -21, 2, 0, 0).Hash {
		t.Fatalf("outbox holds %v", hashes(page))
	}
	if !IsPublicOutbox(-1) || !IsPublicOutbox(-21) || IsPublicOutbox(-11) || IsPublicOutbox(21) || IsPublicOutbox(-32768) {
		t.Fatal("IsPublicOutbox")
	}
}

func TestFull(t *testing.T) {
	s := open(t, Options{MaxBytes: 64 * 1024})
	a := acct(1)
	big := make([]byte, 8000)
	var full error
	for i := range 100 {
		m := msg(a, 0, i, 1000, 100_000)
		m.Data = big
		if _, _, err := s.Store(ctx, m, 1000); err != nil {
			full = err
			break
		}
	}
	if !errors.Is(full, ErrFull) {
		t.Fatalf("want ErrFull, got %v", full)
	}
	// Concurrent writers: the full ones fail, the store keeps working.
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Go(func() {
			m := msg(acct(2), 0, i, 1000, 100_000)
			m.Data = big
			_, _, errs[i] = s.Store(ctx, m, 1000)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, ErrFull) {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	// Deleting frees room.
	if _, err := s.DeleteAll(ctx, a, nil, 2000, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sweep(ctx, 200_000, 1000); err != nil {
		t.Fatal(err)
	}
	if r := mustStore(t, s, msg(a, 0, 1000, 1000, 300_000), 3000); r != New {
		t.Fatalf("after freeing: %v", r)
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	s := open(t, Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if _, _, err := s.Store(ctx, msg(acct(byte(g)), 0, i, 1000, 100_000), int64(1000+i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n, err := s.Count(ctx, 1000); err != nil || n != 400 {
		t.Fatalf("count %d %v", n, err)
	}
}

// Group commit with and without the busy writer's wait: every
// acknowledged store is in the database after a reopen, and a Close while
// the writer waits for more operations neither hangs nor loses one.
func TestGroupCommitWait(t *testing.T) {
	for _, wait := range []time.Duration{-1, 0, 20 * time.Millisecond} {
		t.Run(fmt.Sprint(wait), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			s, err := Open(ctx, Options{Path: path, CommitWait: wait})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			acked := map[string]bool{}
			for g := range 16 {
				wg.Go(func() {
					for i := range 20 {
						m := msg(acct(byte(g)), 0, i, 1000, 100_000)
						_, _, err := s.Store(ctx, m, int64(1000+i))
						if errors.Is(err, ErrClosed) {
							return
						}
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						acked[m.Hash] = true
						mu.Unlock()
						if g == 0 && i == 10 {
							go s.Close() // in the middle of the traffic
						}
					}
				})
			}
			wg.Wait()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			if int(st.Ops) != len(acked) {
				t.Errorf("%d operations committed, %d acknowledged", st.Ops, len(acked))
			}
			s = open(t, Options{Path: path})
			for g := range 16 {
				ms, _, err := s.Retrieve(ctx, RetrieveQuery{Account: acct(byte(g)), Now: 1000})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					delete(acked, m.Hash)
				}
			}
			if len(acked) > 0 {
				t.Fatalf("%d acknowledged stores lost, e.g. %v", len(acked), slices.Collect(maps.Keys(acked))[:1])
			}
		})
	}
}

// apply runs a scripted sequence of operations on a store.
type step func(s *Store) error

func script(a Account) []step {
	h := func(i int) string { return msg(a, 0, i, 0, 0).Hash }
	var st []step
	for i := range 10 {
		st = append(st, func(s *Store) error {
			_, _, err := s.Store(ctx, msg(a, 0, i, 1000, 100_000), int64(1000+i))
			return err
		})
	}
	st = append(st,
		func(s *Store) error { _, err := s.DeleteByHash(ctx, a, []string{h(1), h(2)}, 2000, nil); return err },
		func(s *Store) error {
			_, err := s.UpdateExpiry(ctx, a, []string{h(3)}, []int64{120_000}, ExpiryAny, 2001, nil)
			return err
		},
		func(s *Store) error { _, err := s.Revoke(ctx, a, [][TokenSize]byte{{3, 1}}, 2002, nil); return err },
		func(s *Store) error { _, _, err := s.Store(ctx, msg(a, 0, 1, 1000, 100_000), 2003); return err },
	)
	return st
}

func TestDigestsOrderIndependent(t *testing.T) {
	a := acct(7)
	s1, s2 := open(t, Options{}), open(t, Options{})
	st := script(a)
	for _, f := range st {
		if err := f(s1); err != nil {
			t.Fatal(err)
		}
	}
	// Independent steps in another order: the stores converge to the same
	// digests. (Steps 10..13 depend on earlier ones, so keep their order.)
	order := []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 10, 11, 12, 13}
	for _, i := range order {
		if err := st[i](s2); err != nil {
			t.Fatal(err)
		}
	}
	if s1.BucketDigests() != s2.BucketDigests() {
		t.Fatal("same operations, different digests")
	}
	// Reopening rebuilds the same digests from the database.
	path := filepath.Join(t.TempDir(), "re.db")
	s3 := open(t, Options{Path: path})
	for _, f := range st {
		if err := f(s3); err != nil {
			t.Fatal(err)
		}
	}
	before := s3.BucketDigests()
	s3.Close()
	s4 := open(t, Options{Path: path})
	if s4.BucketDigests() != before || before != s1.BucketDigests() {
		t.Fatal("digests differ after reopen")
	}
}

// reconcile runs the anti-entropy exchange between two stores in-process:
// compare buckets, keys, headers, then move what is newer each way.
func reconcile(t *testing.T, x, y *Store, now int64) {
	t.Helper()
	bx, by := x.BucketDigests(), y.BucketDigests()
	var diff []uint8
	for i := range Buckets {
		if bx[i] != by[i] {
			diff = append(diff, uint8(i))
		}
	}
	keys := map[DigestKey]bool{}
	for _, kd := range x.KeyDigests(diff) {
		keys[kd.Key] = true
	}
	for _, kd := range y.KeyDigests(diff) {
		keys[kd.Key] = true
	}
	var ks []DigestKey
	for k := range keys {
		ks = append(ks, k)
	}
	hx, err := x.Headers(ctx, ks)
	if err != nil {
		t.Fatal(err)
	}
	hy, err := y.Headers(ctx, ks)
	if err != nil {
		t.Fatal(err)
	}
	move := func(from, to []KeyHeaders, src, dst *Store) {
		have := map[string]Header{}
		for _, kh := range to {
			for _, h := range kh.Messages {
				have[h.Hash] = h
			}
		}
		var want []string
		var revs []Revocation
		for i, kh := range from {
			for _, h := range kh.Messages {
				o, ok := have[h.Hash]
				if !ok || Newer(h.MTime, h.Deleted, h.Expiry, o.MTime, o.Deleted, o.Expiry) {
					want = append(want, h.Hash)
				}
			}
			revs = append(revs, kh.Revocations...)
			_ = i
		}
		recs, err := src.Fetch(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dst.Merge(ctx, recs, revs, now); err != nil {
			t.Fatal(err)
		}
	}
	move(hx, hy, x, y)
	move(hy, hx, y, x)
}

func TestMergeConverges(t *testing.T) {
	a, b := acct(1), acct(2)
	x, y := open(t, Options{}), open(t, Options{})
	st := script(a)
	// x saw the first half, y the second half, plus their own traffic.
	for i, f := range st {
		target := x
		if i%2 == 1 {
			target = y
		}
		if err := f(target); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		mustStore(t, y, msg(b, 2, i, 1000, 100_000), 1500)
	}
	reconcile(t, x, y, 1600)
	if x.BucketDigests() != y.BucketDigests() {
		t.Fatal("not converged")
	}
	// Both hold the same live set.
	for _, s := range []*Store{x, y} {
		page, _, _ := s.Retrieve(ctx, RetrieveQuery{Account: b, Namespace: 2, Now: 1600})
		if len(page) != 5 {
			t.Fatalf("account b: %d messages", len(page))
		}
	}
	// A second round moves nothing.
	before := x.BucketDigests()
	reconcile(t, x, y, 1700)
	if x.BucketDigests() != before {
		t.Fatal("second round changed state")
	}
}

func TestPurge(t *testing.T) {
	s := open(t, Options{})
	a, b := acct(1), acct(2)
	mustStore(t, s, msg(a, 0, 1, 1000, 50_000), 1000)
	mustStore(t, s, msg(b, 0, 1, 1000, 50_000), 1000)
	if _, err := s.Revoke(ctx, a, [][TokenSize]byte{{3}}, 1000, nil); err != nil {
		t.Fatal(err)
	}
	n, err := s.Purge(ctx, a)
	if err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if acs := s.Accounts(); len(acs) != 1 || acs[0] != b {
		t.Fatalf("accounts after purge: %x", acs)
	}
	// the account can come back
	mustStore(t, s, msg(a, 0, 2, 1000, 50_000), 1001)
	if recs, _, _ := s.Export(ctx, a); len(recs) != 1 {
		t.Fatalf("after purge and store: %d", len(recs))
	}
}

// BenchmarkStore measures stores from 64 concurrent writers, whatever
// GOMAXPROCS is (-cpu), so that the curve over -cpu compares equal loads.
func BenchmarkStore(b *testing.B) {
	s := open(b, Options{})
	data := make([]byte, 500)
	b.SetParallelism(perProc(64))
	var n int64
	var mu sync.Mutex
	cpu := startCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			i := n
			mu.Unlock()
			m := Message{Account: acct(byte(i)), Hash: fmt.Sprintf("hash-%d", i), Timestamp: 1, Expiry: 1 << 50, Data: data}
			if _, _, err := s.Store(ctx, m, i); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	cpu.report(b)
	if st := s.Stats(); st.Commits > 0 {
		b.ReportMetric(float64(st.Ops)/float64(st.Commits), "ops/commit")
	}
}

func BenchmarkRetrieve(b *testing.B) {
	for _, conns := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprint("conns=", conns), func(b *testing.B) {
			s := open(b, Options{ReadConns: conns})
			for a := range 64 {
				for i := range 10 {
					mustStore(b, s, msg(acct(byte(a)), 0, i, 1000, 1<<50), 1000)
				}
			}
			var n int64
			var mu sync.Mutex
			b.SetParallelism(perProc(32))
			cpu := startCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					n++
					i := n
					mu.Unlock()
					got, _, err := s.Retrieve(ctx, RetrieveQuery{Account: acct(byte(i % 64)), Now: 2000})
					if err != nil || len(got) != 10 {
						b.Fatal(err, len(got))
					}
				}
			})
			b.StopTimer()
			cpu.report(b)
		})
	}
}

// perProc returns the SetParallelism that runs about n goroutines.
func perProc(n int) int { return max(1, n/runtime.GOMAXPROCS(0)) }

// cpuMeter measures the process's CPU time (user + system) over a
// benchmark: on a shared machine it is steadier than the wall-clock rate.
type cpuMeter struct{ start time.Duration }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuMeter { return cpuMeter{start: cpuTime()} }

func (m cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64((cpuTime()-m.start).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestGatherRunnable: on one P, a busy writer's batch takes the
// operations of the goroutines that were runnable when it gathered,
// including those that a goroutine it let run started in turn, and the
// gathering ends, with the batch unchanged, when nothing else runs.
//
// The scheduler takes a goroutine from the global run queue (where
// runtime.Gosched puts the writer) ahead of the local ones at one
// scheduling in 61, so a gathering can end early now and then (the
// writer then commits what it has and gathers the rest next time): the
// test asks for every operation in at least half of 20 trials, which a
// writer that does not yield never gathers.
func TestGatherRunnable(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s := &Store{ops: make(chan *writeOp), maxBatch: 512}
	if got := s.gatherRunnable(nil); len(got) != 0 {
		t.Fatalf("nothing runnable: %d operations gathered", len(got))
	}
	const trials, first, second = 20, 6, 5
	full := 0
	for range trials {
		var wg sync.WaitGroup
		for i := range first {
			wg.Go(func() {
				if i < second { // writes after starting one more writer
					wg.Go(func() { s.ops <- &writeOp{} })
				}
				s.ops <- &writeOp{}
			})
		}
		got := len(s.gatherRunnable(nil))
		if got == first+second {
			full++
		}
		for ; got < first+second; got++ { // the rest, gathered late
			<-s.ops
		}
		wg.Wait()
	}
	if full < trials/2 {
		t.Fatalf("every operation gathered at once in %d of %d trials", full, trials)
	}
}

// TestStoreWhile: the work given to StoreWhile runs once per store, on
// the caller's goroutine, before the store returns, for stores that share
// commits; a store refused before the writer took it does not run it.
//
// On one P the writer usually commits and answers before a caller it woke
// runs again, so an answer that could overtake the work shows there.
func TestStoreWhile(t *testing.T) {
	t.Run("P=1", func(t *testing.T) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		testStoreWhile(t)
	})
	t.Run("P=all", testStoreWhile)
}

func testStoreWhile(t *testing.T) {
	s := open(t, Options{Path: filepath.Join(t.TempDir(), "store.db")})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				ran := 0
				res, _, err := s.StoreWhile(ctx, msg(acct(byte(g)), 0, i, 1000, 100_000), int64(1000+i), func() { ran++ })
				if err != nil || res != New || ran != 1 {
					t.Errorf("store %d/%d: %v %v, the work ran %d times", g, i, res, err, ran)
				}
			}
		})
	}
	wg.Wait()
	if st := s.Stats(); st.Ops != 200 {
		t.Errorf("%d operations committed, want 200", st.Ops)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ran := false
	if _, _, err := s.StoreWhile(ctx, msg(acct(9), 0, 0, 1000, 100_000), 1000, func() { ran = true }); !errors.Is(err, ErrClosed) || ran {
		t.Fatalf("closed store: %v, the work ran: %v", err, ran)
	}
}

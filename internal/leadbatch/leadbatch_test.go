package leadbatch

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestTakeChain queues jobs 1..queued behind a leader with job 0 and
// follows the lead from owner to owner: the batches are 0..queued in
// order, cut every maxBatch jobs, each next is the oldest job left and is
// out of the queue, and the leader's slot is free at the end.
func TestTakeChain(t *testing.T) {
	for maxBatch := 1; maxBatch <= 5; maxBatch++ {
		for queued := 0; queued <= 12; queued++ {
			q := New[int](1, maxBatch)
			if !q.Join(0) {
				t.Fatalf("max %d: the first caller does not lead", maxBatch)
			}
			for j := 1; j <= queued; j++ {
				if q.Join(j) {
					t.Fatalf("max %d: job %d leads next to a running leader", maxBatch, j)
				}
			}
			own, first := 0, 0 // the leader's job, the first of its batch
			for {
				batch, next, handOff := q.Take(own, nil)
				var want []int
				for j := first; j <= queued && len(want) < maxBatch; j++ {
					want = append(want, j)
				}
				if !slices.Equal(batch, want) {
					t.Fatalf("max %d, %d queued: batch %v, want %v", maxBatch, queued, batch, want)
				}
				first += len(batch)
				left := queued + 1 - first
				if handOff != (left > 0) {
					t.Fatalf("max %d, %d queued: hand-off %v with %d jobs left", maxBatch, queued, handOff, left)
				}
				if !handOff {
					break
				}
				if next != first {
					t.Fatalf("max %d, %d queued: lead handed to %d, want the oldest, %d", maxBatch, queued, next, first)
				}
				if n := q.Queued(); n != left-1 {
					t.Fatalf("max %d, %d queued: %d queued after the hand-off, want %d", maxBatch, queued, n, left-1)
				}
				if n := q.Leaders(); n != 1 {
					t.Fatalf("max %d, %d queued: %d leaders during the hand-off, want 1", maxBatch, queued, n)
				}
				own = next
			}
			if first != queued+1 {
				t.Fatalf("max %d, %d queued: %d jobs in batches, want %d", maxBatch, queued, first, queued+1)
			}
			if l, n := q.Leaders(), q.Queued(); l != 0 || n != 0 {
				t.Fatalf("max %d, %d queued: %d leaders, %d queued at the end", maxBatch, queued, l, n)
			}
		}
	}
}

// TestJoinLeaders: up to maxLeaders callers lead at once, the others
// queue, and a leader that leaves the queue empty frees its slot.
func TestJoinLeaders(t *testing.T) {
	q := New[string](2, 4)
	if !q.Join("a") || !q.Join("b") {
		t.Fatal("the first two callers do not both lead")
	}
	if q.Join("c") {
		t.Fatal("a third caller leads next to two leaders")
	}
	if batch, _, handOff := q.Take("a", nil); !slices.Equal(batch, []string{"a", "c"}) || handOff {
		t.Fatalf("batch %q, hand-off %v; want [a c] and none", batch, handOff)
	}
	if l := q.Leaders(); l != 1 {
		t.Fatalf("%d leaders, want 1", l)
	}
	if !q.Join("d") {
		t.Fatal("a caller does not lead with a slot free")
	}
	for _, own := range []string{"b", "d"} {
		if batch, _, handOff := q.Take(own, nil); !slices.Equal(batch, []string{own}) || handOff {
			t.Fatalf("batch %q, hand-off %v; want [%s] and none", batch, handOff, own)
		}
	}
	if l, n := q.Leaders(), q.Queued(); l != 0 || n != 0 {
		t.Fatalf("%d leaders, %d queued at the end", l, n)
	}
}

// TestHold: held slots make callers queue until released, and Release
// starts no leader.
func TestHold(t *testing.T) {
	q := New[int](3, 8)
	if !q.Join(0) {
		t.Fatal("the first caller does not lead")
	}
	if held := q.Hold(); held != 2 {
		t.Fatalf("Hold took %d slots, want 2", held)
	}
	if q.Join(1) {
		t.Fatal("a caller leads with every slot held")
	}
	q.Release(1)
	if l, n := q.Leaders(), q.Queued(); l != 2 || n != 1 {
		t.Fatalf("after Release: %d leaders, %d queued; want 2, 1", l, n)
	}
	if !q.Join(2) {
		t.Fatal("a caller does not lead with a released slot")
	}
	if batch, _, handOff := q.Take(2, nil); !slices.Equal(batch, []int{2, 1}) || handOff {
		t.Fatalf("batch %v, hand-off %v; want [2 1] and none", batch, handOff)
	}
	q.Release(1)
	if batch, _, _ := q.Take(0, nil); !slices.Equal(batch, []int{0}) {
		t.Fatalf("batch %v, want [0]", batch)
	}
	if l, n := q.Leaders(), q.Queued(); l != 0 || n != 0 {
		t.Fatalf("%d leaders, %d queued at the end", l, n)
	}
}

func TestNewBadLimits(t *testing.T) {
	for _, c := range []struct{ leaders, batch int }{{0, 1}, {1, 0}, {-1, 4}, {4, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d, %d) does not panic", c.leaders, c.batch)
				}
			}()
			New[int](c.leaders, c.batch)
		}()
	}
}

// TestTakeIntoBuffer: a buffer with room for a whole batch is used as is,
// and a steady stream of batches allocates nothing.
func TestTakeIntoBuffer(t *testing.T) {
	const maxBatch = 4
	q := New[*int](1, maxBatch)
	jobs := make([]*int, maxBatch)
	for i := range jobs {
		jobs[i] = new(int)
	}
	var buf [maxBatch]*int
	round := func() {
		if !q.Join(jobs[0]) {
			t.Fatal("the only caller does not lead")
		}
		for _, j := range jobs[1:] {
			q.Join(j)
		}
		batch, _, handOff := q.Take(jobs[0], buf[:0])
		if len(batch) != maxBatch || &batch[0] != &buf[0] || handOff {
			t.Fatalf("batch of %d, in buf %v, hand-off %v", len(batch), &batch[0] == &buf[0], handOff)
		}
	}
	round() // the queue grows to its size
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Errorf("%v allocations a batch, want 0", n)
	}
}

// testJob is a job of testBatcher.
type testJob struct {
	id   int
	done chan bool // true: done; false: lead the next batch
	runs int       // times a batch included the job, written by leaders
}

// testBatcher "processes" jobs in batches the way snode's signer and
// storagerpc.SigBatcher do, and checks what it can as it goes.
type testBatcher struct {
	t        *testing.T
	q        *Queue[*testJob]
	maxBatch int

	leaders    atomic.Int32 // see leading
	maxLeaders int32
	batches    atomic.Int64
}

func (b *testBatcher) do(j *testJob) {
	if !b.q.Join(j) && <-j.done {
		return
	}
	b.lead(j)
}

func (b *testBatcher) lead(own *testJob) {
	b.leading(+1)
	b.leading(-1) // before Take: it may free the slot
	var buf [8]*testJob
	batch, next, handOff := b.q.Take(own, buf[:0])
	if handOff {
		b.leading(+1) // the slot is still ours, until next's owner is told
	}
	if len(batch) > b.maxBatch || batch[0] != own {
		b.t.Errorf("batch of %d led by job %d, first %d", len(batch), own.id, batch[0].id)
	}
	b.batches.Add(1)
	for _, j := range batch {
		j.runs++
	}
	for _, j := range batch[1:] {
		j.done <- true
	}
	if handOff {
		b.leading(-1)
		next.done <- false
	}
}

// leading counts leaders up or down and checks their number. It counts
// a leader only while the Queue does (from Join or the hand-off to Take,
// and from a Take that hands off to the hand-off), so it never counts
// more than the Queue.
func (b *testBatcher) leading(d int32) {
	if n := b.leaders.Add(d); n > b.maxLeaders {
		b.t.Errorf("%d leaders at once, at most %d allowed", n, b.maxLeaders)
	}
}

// TestConcurrent runs many goroutines through a small Queue at once under
// the race detector: every job is in exactly one batch, batches stay
// within the cap, and nothing is left leading or queued at the end.
func TestConcurrent(t *testing.T) {
	const (
		maxLeaders = 3
		maxBatch   = 5
		workers    = 64
		rounds     = 50
	)
	b := &testBatcher{t: t, q: New[*testJob](maxLeaders, maxBatch), maxBatch: maxBatch, maxLeaders: maxLeaders}
	jobs := make([][]testJob, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		jobs[w] = make([]testJob, rounds)
		wg.Go(func() {
			<-start
			for r := range jobs[w] {
				j := &jobs[w][r]
				j.id, j.done = w*rounds+r, make(chan bool, 1)
				b.do(j)
			}
		})
	}
	close(start)
	wg.Wait()
	for w := range jobs {
		for r, j := range jobs[w] {
			if j.runs != 1 {
				t.Fatalf("job %d of worker %d in %d batches", r, w, j.runs)
			}
		}
	}
	if l, n := b.q.Leaders(), b.q.Queued(); l != 0 || n != 0 {
		t.Fatalf("after all calls returned: %d leaders, %d queued", l, n)
	}
	t.Logf("%d jobs in %d batches", workers*rounds, b.batches.Load())
}

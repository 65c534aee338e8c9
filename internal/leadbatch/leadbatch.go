// Package leadbatch forms batches of concurrent requests without waiting
// for them: the caller that finds a leader slot free leads a batch, the
// others queue their jobs, and a leader takes its own job and the oldest
// queued ones. It is the mechanics that the node's answer signer
// (snode) and the request signature checker (storagerpc.SigBatcher)
// share; each of them does its own work on a batch and tells the owners
// of its jobs, over channels of its own, that their job is done or that
// they are to lead the next batch.
//
// The rules:
//
//   - At most maxLeaders leaders run at a time. A caller of Join leads
//     when fewer run; it first lets the other runnable goroutines run
//     (runtime.Gosched), so that callers woken at the same moment (a
//     group commit answering a dozen requests) can queue theirs. A lone
//     caller therefore leads a batch of one at once.
//   - Otherwise its job is queued, oldest first, and its owner waits to
//     be told.
//   - A leader's batch (Take) is its own job and up to maxBatch−1 queued
//     jobs, oldest first. If jobs are still queued after that, the leader
//     hands its lead on: the oldest of them is taken out of the queue, so
//     that no other leader takes it meanwhile, and its owner is to lead
//     the next batch with it. Otherwise the leader gives up its slot.
//
// A leader gives up its slot only when it leaves the queue empty, so
// queued jobs never wait for a new caller to come and lead them.
package leadbatch

import (
	"runtime"
	"sync"
)

// Queue holds the queued jobs of one kind and counts their leaders. Its
// zero value is not usable; New makes one. A Queue is safe for
// concurrent use.
type Queue[J any] struct {
	maxLeaders int
	maxBatch   int

	mu      sync.Mutex
	queue   []J // oldest first
	leaders int
}

// New returns a Queue that lets at most maxLeaders leaders run at a time
// and makes batches of at most maxBatch jobs. It panics if either is
// less than 1.
func New[J any](maxLeaders, maxBatch int) *Queue[J] {
	if maxLeaders < 1 || maxBatch < 1 {
		panic("leadbatch: maxLeaders and maxBatch must be at least 1")
	}
	return &Queue[J]{maxLeaders: maxLeaders, maxBatch: maxBatch}
}

// Join reports whether the caller leads a batch with j. If so, it has
// taken a leader slot and, before returning, let the other runnable
// goroutines run; the caller is to call Take. If not, j is queued and its
// owner is to wait until a leader says that j is done or that j's owner
// leads next (a Take that returned j as next). Whatever a leader needs to
// tell j's owner, such as a channel, must be in j before Join.
func (q *Queue[J]) Join(j J) (lead bool) {
	q.mu.Lock()
	lead = q.leaders < q.maxLeaders
	if lead {
		q.leaders++
	} else {
		q.queue = append(q.queue, j)
	}
	q.mu.Unlock()
	if lead {
		runtime.Gosched()
	}
	return lead
}

// Take makes a leader's batch: own, then up to maxBatch−1 queued jobs,
// oldest first, appended to buf[:0] (a buf with room for maxBatch jobs
// saves an allocation) and taken out of the queue. If jobs are still
// queued, next is the oldest of them, also taken out of the queue, and
// handOff is true: once done with the batch, the caller tells next's
// owner to lead, and its leader slot passes to that owner. Otherwise the
// caller's slot is free again and it no longer leads.
func (q *Queue[J]) Take(own J, buf []J) (batch []J, next J, handOff bool) {
	batch = append(buf[:0], own)
	q.mu.Lock()
	n := min(len(q.queue), q.maxBatch-1)
	batch = append(batch, q.queue[:n]...)
	taken := n
	if len(q.queue) > n {
		next, handOff = q.queue[n], true
		taken++
	} else {
		q.leaders--
	}
	rest := copy(q.queue, q.queue[taken:])
	clear(q.queue[rest:]) // let taken jobs be collected
	q.queue = q.queue[:rest]
	q.mu.Unlock()
	return batch, next, handOff
}

// Leaders returns how many leaders run, with those Hold counts.
func (q *Queue[J]) Leaders() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.leaders
}

// Queued returns how many jobs are queued.
func (q *Queue[J]) Queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// Hold is for tests that need jobs to queue: it takes every free leader
// slot, as leaders that never finish would, and returns how many it took.
func (q *Queue[J]) Hold() (held int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	held = q.maxLeaders - q.leaders
	q.leaders = q.maxLeaders
	return held
}

// Release gives back n leader slots taken by Hold. It starts no leader:
// jobs queued meanwhile wait for the next caller of Join to lead.
func (q *Queue[J]) Release(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n < 0 || n > q.leaders {
		panic("leadbatch: Release of more slots than are held")
	}
	q.leaders -= n
}

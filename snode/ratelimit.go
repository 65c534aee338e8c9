package snode

import (
	"sync"
	"time"
)

// buckets is a set of token buckets keyed by client (an IPv4 address or a
// peer key), as Session's rate limiter (service-node-network.md §5.6): each
// key holds up to burst tokens refilled at rate per second; a request
// takes one. At most max keys are tracked; a new key beyond that is
// refused until sweep drops full buckets. A rate of 0 allows everything.
type buckets[K comparable] struct {
	rate, burst float64
	max         int

	mu sync.Mutex
	m  map[K]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newBuckets[K comparable](rate, burst float64, max int) *buckets[K] {
	return &buckets[K]{rate: rate, burst: burst, max: max, m: make(map[K]*bucket)}
}

// allow takes a token for k at time now.
func (b *buckets[K]) allow(k K, now time.Time) bool { return b.allowN(k, 1, now) }

// allowN takes n tokens for k at time now, or none.
func (b *buckets[K]) allowN(k K, n int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		return true
	}
	bk := b.m[k]
	if bk == nil {
		if b.max > 0 && len(b.m) >= b.max {
			return false
		}
		bk = &bucket{tokens: b.burst, last: now}
		b.m[k] = bk
	}
	if dt := now.Sub(bk.last).Seconds(); dt > 0 {
		bk.tokens = min(b.burst, bk.tokens+dt*b.rate)
		bk.last = now
	}
	if bk.tokens < float64(n) {
		return false
	}
	bk.tokens -= float64(n)
	return true
}

// setRate changes the rate and burst of every bucket from now on.
func (b *buckets[K]) setRate(rate, burst float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rate, b.burst = rate, burst
}

// sweep forgets buckets that are full again at now.
func (b *buckets[K]) sweep(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		clear(b.m)
		return
	}
	for k, bk := range b.m {
		if bk.tokens+now.Sub(bk.last).Seconds()*b.rate >= b.burst {
			delete(b.m, k)
		}
	}
}

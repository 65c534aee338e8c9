package community

import (
	"sync"
	"time"
)

// maxTracked bounds the per-user entries of postLimiter and touchCache;
// beyond it they forget everything (memory stays bounded under a flood of
// new keys, at the cost of a burst of allowed posts or activity writes).
const maxTracked = 1 << 16

type roomUser struct{ room, user int64 }

// postLimiter allows limit posts per interval to one user in one room
// (pysogs rate_limit_size / rate_limit_interval; admins are exempt).
type postLimiter struct {
	limit    int
	interval time.Duration

	mu     sync.Mutex
	recent map[roomUser][]time.Time
}

func newPostLimiter(limit int, interval time.Duration) *postLimiter {
	return &postLimiter{limit: limit, interval: interval, recent: map[roomUser][]time.Time{}}
}

// allow records a post at now and reports whether it is within the limit.
func (p *postLimiter) allow(k roomUser, now time.Time) bool {
	if p.limit <= 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.recent) >= maxTracked {
		clear(p.recent)
	}
	ts := p.recent[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= p.interval {
		i++
	}
	ts = ts[i:]
	if len(ts) >= p.limit {
		p.recent[k] = ts
		return false
	}
	p.recent[k] = append(ts, now)
	return true
}

// touchEvery is how often a user's activity in a room is written.
const touchEvery = 5 * time.Minute

// touchCache says when a user's room activity is due to be written, so a
// poll is not a database write each time.
type touchCache struct {
	mu   sync.Mutex
	last map[roomUser]time.Time
}

func newTouchCache() *touchCache { return &touchCache{last: map[roomUser]time.Time{}} }

func (t *touchCache) due(k roomUser, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l, ok := t.last[k]; ok && now.Sub(l) < touchEvery && now.Sub(l) >= 0 {
		return false
	}
	if len(t.last) >= maxTracked {
		clear(t.last)
	}
	t.last[k] = now
	return true
}

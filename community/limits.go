package community

import (
	"net/netip"
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

// slowMode remembers each user's last post in each room with a slow
// mode.
type slowMode struct {
	mu   sync.Mutex
	last map[roomUser]time.Time
}

func newSlowMode() *slowMode { return &slowMode{last: map[roomUser]time.Time{}} }

// allow records a post at now unless the previous one is less than gap
// ago.
func (s *slowMode) allow(k roomUser, gap time.Duration, now time.Time) bool {
	if gap <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.last[k]; ok && now.Sub(l) < gap && now.Sub(l) >= 0 {
		return false
	}
	if len(s.last) >= maxTracked {
		clear(s.last)
	}
	s.last[k] = now
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

// maxAddrs bounds the per-address buckets; beyond it, new addresses share
// one bucket, so a flood of source addresses cannot grow memory.
const maxAddrs = 8192

// bucket is a token bucket: rate tokens a second up to burst.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate float64, burst int) bool {
	if b.last.IsZero() {
		b.tokens, b.last = float64(burst), now
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(burst), b.tokens+d.Seconds()*rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// reqLimiter applies the request rate limits: over all requests, and per
// source address (a client's, or for onion requests the exit node's,
// which carries many clients).
type reqLimiter struct {
	rate, addrRate   float64
	burst, addrBurst int

	mu       sync.Mutex
	global   bucket
	addrs    map[netip.Addr]*bucket
	overflow bucket
}

func newReqLimiter(cfg Config) *reqLimiter {
	return &reqLimiter{rate: cfg.Rate, burst: cfg.Burst, addrRate: cfg.AddrRate, addrBurst: cfg.AddrBurst, addrs: map[netip.Addr]*bucket{}}
}

// allow takes a token for a request from a, or returns the limit that
// refused ("addr" or "global").
func (l *reqLimiter) allow(a netip.Addr, now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addrRate > 0 {
		b := l.addrs[a]
		if b == nil {
			if len(l.addrs) >= maxAddrs {
				for k, v := range l.addrs {
					if now.Sub(v.last).Seconds()*l.addrRate >= float64(l.addrBurst) {
						delete(l.addrs, k)
					}
				}
			}
			if len(l.addrs) >= maxAddrs {
				b = &l.overflow
			} else {
				b = &bucket{}
				l.addrs[a] = b
			}
		}
		if !b.take(now, l.addrRate, l.addrBurst) {
			return "addr"
		}
	}
	if l.rate > 0 && !l.global.take(now, l.rate, l.burst) {
		return "global"
	}
	return ""
}

package fileserver

import (
	"net/netip"
	"sync"
	"time"
)

// Limits are the rate limits. Requests reach the file server only through
// onion requests, so the address a request comes from is the exit node of
// its path (or whoever posts directly to the onion endpoint), never the
// client: the limits are per exit address and global, never per client.
// A zero field disables that limit.
type Limits struct {
	// Requests per second (sustained) and burst, over all exits.
	Rate  float64
	Burst int
	// Requests per second and burst from one exit address.
	ExitRate  float64
	ExitBurst int
	// Upload bytes per minute over all exits and from one exit address;
	// each is also its burst, so it must be at least the file size limit.
	UploadBytesPerMinute     int64
	ExitUploadBytesPerMinute int64
}

// DefaultLimits suit one server on two cores: 200 requests/s (burst 400)
// in all, 20/s (burst 60) from one exit, 1 GB of uploads a minute in all
// and 200 MB a minute from one exit.
func DefaultLimits() Limits {
	return Limits{
		Rate: 200, Burst: 400,
		ExitRate: 20, ExitBurst: 60,
		UploadBytesPerMinute: 1 << 30, ExitUploadBytesPerMinute: 200 << 20,
	}
}

// maxExits bounds the per-exit buckets kept; beyond it, addresses share
// one bucket (so a flood of new source addresses cannot grow memory).
const maxExits = 8192

// bucket is a token bucket: rate tokens a second up to burst.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) refill(now time.Time, rate, burst float64) {
	if b.last.IsZero() {
		b.tokens, b.last = burst, now
		return
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*rate)
		b.last = now
	}
}

type exitBuckets struct {
	req, bytes bucket
}

// limiter applies Limits; reasons are the values of the rate-limited
// metric's "limit" label.
type limiter struct {
	l Limits

	mu          sync.Mutex
	global      bucket
	globalBytes bucket
	exits       map[netip.Addr]*exitBuckets
	overflow    exitBuckets
}

func newLimiter(l Limits) *limiter {
	return &limiter{l: l, exits: map[netip.Addr]*exitBuckets{}}
}

func (lm *limiter) exit(a netip.Addr, now time.Time) *exitBuckets {
	if e := lm.exits[a]; e != nil {
		return e
	}
	if len(lm.exits) >= maxExits {
		// Drop the buckets that have refilled: their addresses are idle.
		for k, e := range lm.exits {
			e.req.refill(now, lm.l.ExitRate, float64(lm.l.ExitBurst))
			e.bytes.refill(now, float64(lm.l.ExitUploadBytesPerMinute)/60, float64(lm.l.ExitUploadBytesPerMinute))
			if (lm.l.ExitRate <= 0 || e.req.tokens >= float64(lm.l.ExitBurst)) &&
				(lm.l.ExitUploadBytesPerMinute <= 0 || e.bytes.tokens >= float64(lm.l.ExitUploadBytesPerMinute)) {
				delete(lm.exits, k)
			}
		}
		if len(lm.exits) >= maxExits {
			return &lm.overflow
		}
	}
	e := &exitBuckets{}
	lm.exits[a] = e
	return e
}

// request takes one request token from exit's bucket and the global one,
// or none; it returns "" or the limit that refused.
func (lm *limiter) request(a netip.Addr, now time.Time) string {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	var e *bucket
	if lm.l.ExitRate > 0 {
		e = &lm.exit(a.Unmap(), now).req
		e.refill(now, lm.l.ExitRate, float64(lm.l.ExitBurst))
		if e.tokens < 1 {
			return "exit_requests"
		}
	}
	if lm.l.Rate > 0 {
		lm.global.refill(now, lm.l.Rate, float64(lm.l.Burst))
		if lm.global.tokens < 1 {
			return "requests"
		}
		lm.global.tokens--
	}
	if e != nil {
		e.tokens--
	}
	return ""
}

// upload takes n upload-byte tokens from exit's bucket and the global one,
// or none; it returns "" or the limit that refused.
func (lm *limiter) upload(a netip.Addr, n int64, now time.Time) string {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	var e *bucket
	if per := lm.l.ExitUploadBytesPerMinute; per > 0 {
		e = &lm.exit(a.Unmap(), now).bytes
		e.refill(now, float64(per)/60, float64(per))
		if e.tokens < float64(n) {
			return "exit_upload_bytes"
		}
	}
	if per := lm.l.UploadBytesPerMinute; per > 0 {
		lm.globalBytes.refill(now, float64(per)/60, float64(per))
		if lm.globalBytes.tokens < float64(n) {
			return "upload_bytes"
		}
		lm.globalBytes.tokens -= float64(n)
	}
	if e != nil {
		e.tokens -= float64(n)
	}
	return ""
}

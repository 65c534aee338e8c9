package fileserver

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// An attacker floods the server from the exit it controls (or posts
// directly: the server cannot tell): that exit is cut off at its burst
// while another exit is still served, until the global limit stops
// everyone; time refills both.
func TestRequestRateLimits(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Limits = Limits{Rate: 1, Burst: 8, ExitRate: 1, ExitBurst: 5}
	})
	id, _ := h.upload(payload(30, 100), nil) // 1 token from each bucket
	get := func(src string) int {
		r, err := h.call(src, "GET", "/file/"+string(id), nil, nil)
		if err != nil {
			return pathStatus(err)
		}
		return r.Code
	}
	for i := range 4 {
		if c := get("127.0.0.1"); c != 200 {
			t.Fatalf("attacker request %d: %d", i, c)
		}
	}
	for range 3 {
		if c := get("127.0.0.1"); c != 429 {
			t.Fatalf("attacker past its burst: %d", c)
		}
	}
	for i := range 3 {
		if c := get("127.0.0.2"); c != 200 {
			t.Fatalf("other exit request %d: %d", i, c)
		}
	}
	if c := get("127.0.0.3"); c != 429 {
		t.Fatalf("past the global burst: %d", c)
	}
	if got := value(t, h.srv.m.rateLimited.WithLabelValues("exit_requests")); got != 3 {
		t.Fatalf("exit refusals counted %v", got)
	}
	if got := value(t, h.srv.m.rateLimited.WithLabelValues("requests")); got != 1 {
		t.Fatalf("global refusals counted %v", got)
	}
	h.clock.Add(3 * time.Second)
	for i := range 3 {
		if c := get("127.0.0.1"); c != 200 {
			t.Fatalf("after refill %d: %d", i, c)
		}
	}
	if c := get("127.0.0.1"); c != 429 {
		t.Fatalf("refill beyond its rate: %d", c)
	}
}

// Upload bytes per minute, per exit and in all.
func TestUploadByteLimits(t *testing.T) {
	const mb = 1 << 20
	h := newHarness(t, func(c *Config) {
		c.MaxFileSize = mb
		c.Limits = Limits{ExitUploadBytesPerMinute: 3 * mb, UploadBytesPerMinute: 5 * mb}
	})
	up := func(src string, tag int) int {
		r, err := h.call(src, "POST", "/file", nil, payload(tag, mb))
		if err != nil {
			t.Fatal(err)
		}
		return r.Code
	}
	for i := range 3 {
		if c := up("127.0.0.1", 40+i); c != 200 {
			t.Fatalf("upload %d: %d", i, c)
		}
	}
	if c := up("127.0.0.1", 43); c != 429 {
		t.Fatalf("4th MB from one exit in a minute: %d", c)
	}
	for i := range 2 {
		if c := up("127.0.0.2", 50+i); c != 200 {
			t.Fatalf("other exit upload %d: %d", i, c)
		}
	}
	if c := up("127.0.0.3", 60); c != 429 {
		t.Fatalf("6th MB in all: %d", c)
	}
	if _, n := h.srv.Usage(); n != 5 {
		t.Fatalf("%d files stored", n)
	}
	h.clock.Add(time.Minute)
	if c := up("127.0.0.1", 43); c != 200 {
		t.Fatalf("after a minute: %d", c)
	}
	if got := value(t, h.srv.m.rateLimited.WithLabelValues("exit_upload_bytes")); got != 1 {
		t.Fatalf("exit byte refusals %v", got)
	}
}

// Limits below the file size are refused at New (such an upload could
// never pass).
func TestLimitsValidated(t *testing.T) {
	keys, _ := KeysFromSeed(testSeed)
	cfg := testConfig(t.TempDir())
	cfg.Limits.ExitUploadBytesPerMinute = cfg.MaxFileSize - 1
	if s, err := New(cfg, Deps{Keys: keys}); err == nil {
		s.Close()
		t.Fatal("accepted")
	}
}

// A flood from ever new source addresses cannot grow the per-exit table
// past maxExits: idle buckets are dropped and the rest share one bucket.
func TestLimiterBoundsExits(t *testing.T) {
	lm := newLimiter(Limits{ExitRate: 1, ExitBurst: 2})
	now := time.Unix(0, 0)
	for i := range maxExits + 100 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if why := lm.request(a, now); why != "" && i < maxExits {
			t.Fatalf("address %d refused: %s", i, why)
		}
	}
	if len(lm.exits) > maxExits {
		t.Fatalf("%d exits kept", len(lm.exits))
	}
	// The overflow addresses share a bucket of ExitBurst.
	refused := 0
	for i := range 10 {
		if lm.request(netip.AddrFrom4([4]byte{11, 0, 0, byte(i)}), now) != "" {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("overflow bucket unlimited")
	}
	// Once the buckets refill, new addresses get their own again.
	later := now.Add(time.Hour)
	if why := lm.request(netip.MustParseAddr("192.0.2.1"), later); why != "" {
		t.Fatalf("after refill: %s", why)
	}
	if len(lm.exits) != 1 {
		t.Fatalf("idle buckets kept: %d", len(lm.exits))
	}
}

// 100 MB of 10 MB uploads (a chunked 100 MB file) fit a quota that holds
// them; the next new file is refused with 507 while a re-upload of a
// stored one still succeeds, and space freed by expiry is reused.
func TestQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 110 MB")
	}
	const chunk = 10_000_000
	h := newHarness(t, func(c *Config) { c.Quota = 100_000_000 + 5_000_000 })
	var ids []FileID
	for i := range 10 {
		id, _ := h.upload(payload(100+i, chunk), map[string]string{"X-FS-TTL": fmt.Sprint(3600 + i)})
		ids = append(ids, id)
	}
	if b, n := h.srv.Usage(); b != 10*chunk || n != 10 {
		t.Fatalf("usage %d/%d", b, n)
	}
	wantStatus(t, "over quota", h.do("POST", "/file", nil, payload(200, chunk)), 507)
	h.upload(payload(201, 1000), nil) // a small file still fits
	if id, _ := h.upload(payload(100, chunk), nil); id != ids[0] {
		t.Fatal("dedup id")
	}
	for i, id := range ids {
		r := h.do("GET", "/file/"+string(id), nil, nil)
		if r.Code != 200 || len(r.Body) != chunk || ContentID(r.Body) != id {
			t.Fatalf("chunk %d: %d", i, r.Code)
		}
	}
	h.clock.Add(time.Hour + 5*time.Second) // chunks 1..5 expire (0 was re-uploaded)
	if n, err := h.srv.Sweep(t.Context()); err != nil || n != 5 {
		t.Fatalf("sweep %d %v", n, err)
	}
	h.upload(payload(200, chunk), nil)
}

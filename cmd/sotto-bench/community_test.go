package main

import (
	"context"
	"io"
	"os"
	"testing"
)

// TestBenchCommunity runs every community test, directly and through onion
// v4, against an in-process server: each request answered with the status
// it expects (poll10 checks its ten messages), and the server's CPU time
// reported for this process.
func TestBenchCommunity(t *testing.T) {
	cfg := communityConfig{Room: "lobby", Clients: 4, Concurrency: 4, Count: 40, V4: true, PID: os.Getpid(),
		Tests: []string{"poll0", "poll10", "post"}}
	rs, err := benchCommunity(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 6 {
		t.Fatalf("%d results, want 6", len(rs))
	}
	for _, r := range rs {
		want := cfg.Count
		if r.Test == "poll10" {
			want-- // the first request checked the ten messages
		}
		if r.Requests != want || r.Errors != 0 || r.Rate <= 0 || r.P50 <= 0 || r.Max < r.P99 {
			t.Errorf("%s (%s): %+v", r.Test, r.Via, r)
		}
	}
}

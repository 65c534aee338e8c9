package client

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkDeliveryLatency measures the time from Send on Alice's client to
// the message event on Bob's running client, on a 10-node loopback devnet
// with Alice and Bob in different swarms, with the default receive
// settings (long poll, falling back to polling every PollInterval). It
// reports p50 and p99 (DESIGN.md goal: p50 ≤ 100 ms, p99 ≤ 500 ms).
//
//	go test -run '^$' -bench DeliveryLatency -benchtime 100x ./client/
func BenchmarkDeliveryLatency(b *testing.B) {
	nw, alice, bob := pair(b)
	ctx := context.Background()
	cfg := func(home string) Config {
		return Config{Home: home, NetworkFile: nw.NetworkFile(), Logger: slog.New(slog.DiscardHandler)}
	}
	ac, err := Open(cfg(b.TempDir()), alice.kf)
	if err != nil {
		b.Fatal(err)
	}
	defer ac.Close()
	bc, err := Open(cfg(b.TempDir()), bob.kf)
	if err != nil {
		b.Fatal(err)
	}
	defer bc.Close()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = bc.Serve(sctx) }()
	defer func() { cancel(); <-done }()

	// Warm up: paths built, swarms known, Bob accepted Alice, and Bob's
	// receive loop settled (long poll or polling).
	if _, err := bc.Send(ctx, alice.id(), "hi", SendOptions{}); err != nil {
		b.Fatal(err)
	}
	wait := func(body string) time.Time {
		deadline := time.After(30 * time.Second)
		for {
			select {
			case ev := <-bc.Events():
				if ev.Kind == EventMessage && ev.Message.Body == body {
					return time.Now()
				}
			case <-deadline:
				b.Fatalf("message %q not delivered within 30 s", body)
			}
		}
	}
	for i := range 3 {
		body := fmt.Sprintf("warm-up %d", i)
		if _, err := ac.Send(ctx, bob.id(), body, SendOptions{}); err != nil {
			b.Fatal(err)
		}
		wait(body)
	}
	time.Sleep(time.Second)

	// Messages are sent at random moments (a pause uniform in [0, 2 s)
	// before each), so that a polling receiver is not phase-locked with
	// the sender.
	rnd := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		time.Sleep(time.Duration(rnd.Int64N(int64(DefaultPollInterval))))
		body := fmt.Sprintf("bench %d", i)
		start := time.Now()
		if _, err := ac.Send(ctx, bob.id(), body, SendOptions{}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, wait(body).Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
}

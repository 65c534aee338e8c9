package client

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sotto.dev/attachment"
	"sotto.dev/fileserver"
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

// BenchmarkAttachmentTransfer measures the client's upload (encrypt,
// keep the local copy, POST /file) and download (GET /file, verify, keep)
// of an 8 MiB file, one part, against a real file server on a 10-node
// loopback devnet, through onion paths of 3 hops and of 1 (the shortest
// a client can use: the nearest to a direct request, which file servers
// refuse).
//
//	go test -run '^$' -bench AttachmentTransfer -benchtime 10x ./client/
func BenchmarkAttachmentTransfer(b *testing.B) {
	nw, alice, _ := pair(b)
	// Without rate limits: every request comes from the one loopback
	// address, and the benchmark uploads more than one exit may.
	fileServer(b, nw, func(c *fileserver.Config) { c.Limits = fileserver.Limits{} })
	ctx := context.Background()
	data := randomBytes(b, attachment.PartSize)
	path := writeFile(b, b.TempDir(), "bench.bin", data)
	for _, hops := range []int{3, 1} {
		c, err := Open(Config{Home: b.TempDir(), NetworkFile: nw.NetworkFile(), PathLength: hops, Logger: slog.New(slog.DiscardHandler)}, alice.kf)
		if err != nil {
			b.Fatal(err)
		}
		// Warm up: paths built, the file server known.
		up, err := c.uploadFiles(ctx, []OutgoingFile{{Path: path}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		row := up[0].row
		b.Run(fmt.Sprintf("upload/hops=%d", hops), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for range b.N {
				o, err := c.uploadFiles(ctx, []OutgoingFile{{Path: path}}, nil)
				if err != nil {
					b.Fatal(err)
				}
				c.removeLocal(o)
			}
		})
		b.Run(fmt.Sprintf("download/hops=%d", hops), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for range b.N {
				res, err := c.download(ctx, row, func(int64, int64) {})
				if err != nil {
					b.Fatal(err)
				}
				if res.size != int64(len(data)) {
					b.Fatalf("downloaded %d bytes", res.size)
				}
				_ = os.RemoveAll(filepath.Join(c.attachmentsDir(), res.local))
			}
		})
		c.removeLocal(up)
		c.Close()
	}
}

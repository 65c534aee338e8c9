package client

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"sotto.dev/config/groups"
	"sotto.dev/identity"
	"sotto.dev/key"
)

// BenchmarkGroupRekey measures an admin's rekey of a group of n members
// (every member's copy of the new key, junk padding, the signature) and
// reports the key message's size.
//
//	go test -run '^$' -bench GroupRekey ./client/
func BenchmarkGroupRekey(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			ids := make([]key.SessionID, n)
			for i := range ids {
				k, seed, err := identity.NewKeys()
				if err != nil {
					b.Fatal(err)
				}
				clear(seed)
				ids[i] = k.SessionID()
			}
			admin, _, err := identity.NewKeys()
			if err != nil {
				b.Fatal(err)
			}
			g, err := groups.Open(newGroupOptions(b, admin))
			if err != nil {
				b.Fatal(err)
			}
			var size int
			b.ResetTimer()
			for range b.N {
				msg, err := g.Keys.Rekey(ids)
				if err != nil {
					b.Fatal(err)
				}
				size = len(msg)
			}
			b.ReportMetric(float64(size), "bytes/keymsg")
		})
	}
}

// newGroupOptions makes a new group key for admin.
func newGroupOptions(b *testing.B, admin *identity.Keys) groups.Options {
	b.Helper()
	pub, secret, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	return groups.Options{User: admin.Ed25519Private(), Public: pub, Secret: secret}
}

// BenchmarkGroupDelivery measures the time from Send on one member's
// client to the message shown by every other member's running client
// (long-polling the group's swarm), in groups of 10 and 100 on a 10-node
// loopback devnet, through 3-hop paths. The sender changes every
// message. It reports p50 and p99 of the time until the last member shows
// it.
//
//	go test -run '^$' -bench GroupDelivery -benchtime 20x ./client/
func BenchmarkGroupDelivery(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) { benchGroupDelivery(b, n) })
	}
}

// benchClient is a running client whose message events are counted.
type benchClient struct {
	c    *Client
	mu   sync.Mutex
	seen map[string]time.Time // body → when shown
	cond chan struct{}
}

func benchGroupDelivery(b *testing.B, n int) {
	nw := devnetTuned(b, 10, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	cs := make([]*benchClient, n)
	ids := make([]key.SessionID, n)
	for i := range cs {
		a := newAccount(b, fmt.Sprintf("m%d", i))
		c, err := Open(Config{Home: b.TempDir(), NetworkFile: nw.NetworkFile(), Logger: slog.New(slog.DiscardHandler)}, a.kf)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		bc := &benchClient{c: c, seen: map[string]time.Time{}, cond: make(chan struct{})}
		cs[i], ids[i] = bc, a.id()
		wg.Go(func() { _ = c.Serve(ctx) })
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-c.Events():
					if ev.Kind == EventMessage || ev.Kind == EventRequest {
						bc.mu.Lock()
						body := "request"
						if ev.Message != nil {
							body = ev.Message.Body
						}
						bc.seen[body] = time.Now()
						close(bc.cond)
						bc.cond = make(chan struct{})
						bc.mu.Unlock()
					}
				}
			}
		})
	}
	shown := func(bc *benchClient, body string) time.Time {
		deadline := time.After(2 * time.Minute)
		for {
			bc.mu.Lock()
			at, ok := bc.seen[body]
			ch := bc.cond
			bc.mu.Unlock()
			if ok {
				return at
			}
			select {
			case <-ch:
			case <-deadline:
				b.Fatalf("%q not shown within 2 minutes", body)
			}
		}
	}
	gid, err := cs[0].c.CreateGroup(ctx, "Bench", ids[1:])
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range cs[1:] {
		shown(bc, "request")
		if err := bc.c.Accept(ctx, gid); err != nil {
			b.Fatal(err)
		}
	}
	round := func(i int, body string) time.Duration {
		start := time.Now()
		if _, err := cs[i%n].c.Send(ctx, gid, body, SendOptions{}); err != nil {
			b.Fatal(err)
		}
		var last time.Time
		for j, bc := range cs {
			if j != i%n {
				if at := shown(bc, body); at.After(last) {
					last = at
				}
			}
		}
		return last.Sub(start)
	}
	for i := range 3 {
		round(i, fmt.Sprintf("warm-up %d", i))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		lat = append(lat, round(i, fmt.Sprintf("bench %d", i)))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
}

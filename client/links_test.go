package client

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto.dev/internal/linkem"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/snode"
	"sotto.dev/swarm"
)

// linkSeed is the seed of the emulated links in this file's tests; change
// it to replay another run (the tests log it).
const linkSeed = 17

// linksTrace makes delivery log, for each measured message, its latency
// in one-way delays, the connections opened meanwhile and Bob's polls:
//
//	go test -run '^$' -bench DeliveryLinks/delay=25ms -benchtime 30x ./client/ -args -links.trace
var linksTrace = flag.Bool("links.trace", false, "log where each measured delivery's time went")

// linkedPair starts a 10-node network (two swarms of 5) whose every link
// has profile p, and two accounts in different swarms.
func linkedPair(t testing.TB, p linkem.Profile) (*testnet.Network, *account, *account) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a network")
	}
	nw := testnet.StartT(t, testnet.Options{
		Nodes: 10, Swarm: swarm.AssignParams{MinSize: 3, IdealSize: 5},
		Link: linkem.New(linkSeed, p),
		// Every client comes from 127.0.0.1: no per-address limit.
		Tune: func(_ int, c *snode.Config) { c.Limits.ClientRate = 0 },
	})
	var ids []uint64
	for id := range nw.Swarms() {
		ids = append(ids, id)
	}
	if len(ids) < 2 {
		t.Fatalf("want 2 swarms, got %d", len(ids))
	}
	slices.Sort(ids)
	return nw, accountInSwarm(t, nw, "alice", ids[0]), accountInSwarm(t, nw, "bob", ids[1])
}

// linkedClient opens a client that is endpoint name of nw's links.
func linkedClient(t testing.TB, nw *testnet.Network, a *account, name string) *Client {
	t.Helper()
	c, err := Open(Config{
		Home: t.TempDir(), NetworkFile: nw.NetworkFile(), Dial: nw.Dialer(name),
		Logger: slog.New(slog.DiscardHandler), DelayMax: -1,
	}, a.kf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// delivery measures Send on Alice's client until Bob's running client
// reports the message, count times, a random pause in [0, pause) before
// each; it returns the sorted latencies.
func delivery(t testing.TB, nw *testnet.Network, alice, bob *account, count int, pause time.Duration) []time.Duration {
	t.Helper()
	ctx := context.Background()
	ac := linkedClient(t, nw, alice, "alice")
	bc := linkedClient(t, nw, bob, "bob")
	var polls pollLog
	bc.onPoll = polls.add
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = bc.Serve(sctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// Bob's events are taken as they come, so that each is timed when
	// Bob's client reports it, not when Alice's Send has returned.
	arrived := make(chan received, 64)
	go func() {
		for {
			select {
			case ev := <-bc.Events():
				if ev.Kind == EventMessage {
					arrived <- received{ev.Message.Body, time.Now()}
				}
			case <-sctx.Done():
				return
			}
		}
	}()
	wait := func(body string) time.Time {
		deadline := time.After(60 * time.Second)
		for {
			select {
			case r := <-arrived:
				if r.body == body {
					return r.at
				}
			case <-deadline:
				t.Fatalf("message %q not delivered within 60 s", body)
			}
		}
	}
	// Warm up: paths built, swarms known, Bob accepted Alice.
	if _, err := bc.Send(ctx, alice.id(), "hi", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		body := fmt.Sprintf("warm-up %d", i)
		if _, err := ac.Send(ctx, bob.id(), body, SendOptions{}); err != nil {
			t.Fatal(err)
		}
		wait(body)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, count)
	prev := time.Now()
	if *linksTrace {
		t.Logf("paths: alice %s; bob %s", tracePaths(nw, ac), tracePaths(nw, bc))
	}
	for i := range count {
		time.Sleep(time.Duration(rnd.Int64N(int64(pause))))
		body := fmt.Sprintf("measured %d", i)
		opened := nw.Link().Opened()
		start := time.Now()
		if _, err := ac.Send(ctx, bob.id(), body, SendOptions{}); err != nil {
			t.Fatal(err)
		}
		at := wait(body)
		lat = append(lat, at.Sub(start))
		if *linksTrace {
			t.Logf("%s: %s", body, traceDelivery(nw, opened, &polls, prev, start, at))
		}
		prev = at
	}
	slices.Sort(lat)
	return lat
}

// pollLog records Bob's polls (Client.onPoll).
type pollLog struct {
	mu     sync.Mutex
	polls  []pollTrace
	starts []pollStart // of the loop's polls, not bridges
}

func (l *pollLog) start(p pollStart) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.starts = append(l.starts, p)
}

// settled reports whether the receive loop's poll in progress is one it
// takes to be held (its member fresh), and nothing reached us since it
// began (gen, the freshness state now): the loop is waiting for the next
// message.
func (l *pollLog) settled(gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ended := 0
	for _, p := range l.polls {
		if !p.bridge {
			ended++
		}
	}
	if len(l.starts) != ended+1 {
		return false // no poll in progress
	}
	last := l.starts[len(l.starts)-1]
	return last.held && last.gen == gen
}

func (l *pollLog) add(p pollTrace) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.polls = append(l.polls, p)
}

// traceDelivery describes one delivery from start to at in units of the
// links' delay: its latency, the connections opened since opened, and the
// polls that ended since the previous delivery at prev (node, kind,
// start and end relative to start, messages returned and new).
func traceDelivery(nw *testnet.Network, opened map[string]uint64, polls *pollLog, prev, start, at time.Time) string {
	d := max(nw.Link().Default().Delay, time.Millisecond)
	units := func(x time.Duration) string { return fmt.Sprintf("%.1f", float64(x)/float64(d)) }
	var b strings.Builder
	fmt.Fprintf(&b, "%s delays", units(at.Sub(start)))
	for l, c := range nw.Link().Opened() {
		if c > opened[l] {
			fmt.Fprintf(&b, "; opened %s ×%d", l, c-opened[l])
		}
	}
	polls.mu.Lock()
	defer polls.mu.Unlock()
	for _, p := range polls.polls {
		if p.end.Before(prev.Add(time.Millisecond)) || p.end.After(at.Add(time.Millisecond)) {
			continue
		}
		kind := "poll"
		switch {
		case p.bridge:
			kind = "bridge"
		case p.wait > 0:
			kind = "held"
		}
		fmt.Fprintf(&b, "; %s %s at %s→%s returned %d new %d", kind, nodeName(nw, p.res.node),
			units(p.start.Sub(start)), units(p.end.Sub(start)), p.res.returned, p.res.count)
		if p.err != nil {
			fmt.Fprintf(&b, " error %v", p.err)
		}
	}
	return b.String()
}

// tracePaths names the nodes of c's paths.
func tracePaths(nw *testnet.Network, c *Client) string {
	var out []string
	if m := c.net.paths.Load(); m != nil {
		for _, p := range m.Paths() {
			var hops []string
			for _, h := range p.Hops {
				hops = append(hops, nodeName(nw, h.Ed25519))
			}
			out = append(out, strings.Join(hops, "→"))
		}
	}
	return strings.Join(out, ", ")
}

// nodeName is the endpoint name of the node with key id.
func nodeName(nw *testnet.Network, id key.NodePublic) string {
	for _, n := range nw.Nodes() {
		if n.Ed25519 == id {
			return testnet.NodeEndpoint(n.Index)
		}
	}
	return id.String()[:6]
}

type received struct {
	body string
	at   time.Time
}

func percentile(lat []time.Duration, p float64) time.Duration {
	return lat[min(len(lat)-1, int(p*float64(len(lat))))]
}

// deliveryLinks is the number of links a message crosses from Alice's
// client to Bob's running client (docs/PERFORMANCE.md, "Delivery over
// emulated links"): four on the way in (client → guard → middle → exit →
// swarm node), four back on the answer to Bob's held long poll (swarm node
// → exit → middle → guard → client).
const deliveryLinks = 8

// BenchmarkDeliveryLinks is BenchmarkDeliveryLatency over emulated links
// of 0, 25 and 100 ms one way (jitter a fifth of that), reporting p50,
// p99, the bound (deliveryLinks one-way delays) and p50's ratio to it.
//
//	go test -run '^$' -bench DeliveryLinks -benchtime 30x ./client/
func BenchmarkDeliveryLinks(b *testing.B) {
	for _, d := range []time.Duration{0, 25 * time.Millisecond, 100 * time.Millisecond} {
		b.Run(fmt.Sprintf("delay=%v", d), func(b *testing.B) {
			nw, alice, bob := linkedPair(b, linkem.Profile{Delay: d, Jitter: d / 5})
			b.ResetTimer()
			lat := delivery(b, nw, alice, bob, b.N, 500*time.Millisecond)
			b.StopTimer()
			bound := deliveryLinks * d
			b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(bound.Microseconds())/1000, "bound-ms")
			if bound > 0 {
				b.ReportMetric(float64(percentile(lat, 0.50))/float64(bound), "p50/bound")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestDeliveryUnderLoss sends messages over links on which 1 % of
// connections fail (reset or stalled at a random point): every message
// must reach Bob's running client, through retries on other paths and
// nodes. The p99 is reported, not asserted.
func TestDeliveryUnderLoss(t *testing.T) {
	const count = 40
	nw, alice, bob := linkedPair(t, linkem.Profile{Delay: 2 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.01})
	lat := delivery(t, nw, alice, bob, count, 50*time.Millisecond)
	if len(lat) != count {
		t.Fatalf("%d of %d messages delivered", len(lat), count)
	}
	var opened uint64
	for _, c := range nw.Link().Opened() {
		opened += c
	}
	t.Logf("%d messages over links losing 1%% of %d connections: p50 %v, p99 %v, max %v",
		count, opened, percentile(lat, 0.5), percentile(lat, 0.99), lat[len(lat)-1])
}

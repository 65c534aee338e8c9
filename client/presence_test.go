package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto.dev/internal/testnet"
	"sotto.dev/snode"
)

// observedNet is a devnet whose nodes serve their metrics, so that a test
// sees at the nodes what a client does.
type observedNet struct {
	*testnet.Network
	admin []string // node i's metrics address
}

func observedDevnet(t *testing.T, n int) *observedNet {
	t.Helper()
	admin := make([]string, n)
	for i := range admin {
		admin[i] = fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	}
	nw := devnetTuned(t, n, func(i int, c *snode.Config) { c.AdminAddr = admin[i] })
	return &observedNet{Network: nw, admin: admin}
}

// metric reads the sum of the samples of name at node i whose labels
// contain every one of labels.
func (o *observedNet) metric(t *testing.T, i int, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + o.admin[i] + "/metrics")
	if err != nil {
		t.Fatalf("metrics of node %d: %v", i, err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(line, l)
		}
		if !match {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += f
	}
	return sum
}

// holders returns the nodes among idx that hold a long poll now.
func (o *observedNet) holders(t *testing.T, idx []int) []int {
	t.Helper()
	var out []int
	for _, i := range idx {
		if o.metric(t, i, "snode_held_retrieves") > 0 {
			out = append(out, i)
		}
	}
	return out
}

// TestLongPollRotates: successive long polls of a client are held by
// different members of its swarm, as the nodes themselves report, not by
// one node all the time.
func TestLongPollRotates(t *testing.T) {
	o := observedDevnet(t, 5)
	bob := newAccount(t, "bob")
	_, swarmNodes := o.SwarmOf(bob.id().Key())
	if len(swarmNodes) < 3 {
		t.Fatalf("swarm of %d nodes", len(swarmNodes))
	}
	bob.open(t, o.Network, "", devOpts{longPoll: time.Second})

	// Record each node seen holding a poll when it is not the one seen
	// last: without rotation there is never a second.
	var seq []int
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	for len(seq) < 5 {
		select {
		case <-deadline:
			t.Fatalf("after 60 s the long polls were held by %v only", seq)
		case <-tick.C:
		}
		// Two holders in one sample is the hand-over: a node counts a
		// poll as held until its handler has returned, which can be
		// after the client got the answer and sent the next poll to
		// another member (and the nodes are read one after the other).
		// Such samples say nothing about the order, so they are skipped.
		h := o.holders(t, swarmNodes)
		if len(h) == 1 && (len(seq) == 0 || seq[len(seq)-1] != h[0]) {
			seq = append(seq, h[0])
		}
	}
	distinct := map[int]bool{}
	for _, i := range seq {
		distinct[i] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("holders %v", seq)
	}
	t.Logf("successive long polls held by nodes %v", seq)
}

// TestCoverTrafficKeepsRate: in cover mode the client never long-polls
// (no node ever holds its request), polls several members, and draws
// every period from the same bounds whether messages arrived or not;
// messages still arrive.
func TestCoverTrafficKeepsRate(t *testing.T) {
	o := observedDevnet(t, 5)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	_, swarmNodes := o.SwarmOf(bob.id().Key())

	const interval = 200 * time.Millisecond
	var mu sync.Mutex
	var polls []coverPoll
	a := alice.open(t, o.Network, "", devOpts{noServe: true})
	b := bob.open(t, o.Network, "", devOpts{noServe: true})
	b.c.cfg.CoverTraffic = interval
	b.c.onCoverPoll = func(p coverPoll) {
		mu.Lock()
		polls = append(polls, p)
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = b.c.Serve(ctx)
	}()
	defer func() { cancel(); <-served }()

	count := func() int { mu.Lock(); defer mu.Unlock(); return len(polls) }
	before := map[int]float64{}
	for _, i := range swarmNodes {
		before[i] = o.metric(t, i, "snode_requests_total", `method="batch"`) + o.metric(t, i, "snode_requests_total", `method="retrieve"`)
	}
	for i := range 3 {
		if _, err := a.c.Send(context.Background(), bob.id(), fmt.Sprintf("covered %d", i), SendOptions{}); err != nil {
			t.Fatal(err)
		}
		if h := o.holders(t, swarmNodes); len(h) > 0 {
			t.Fatalf("nodes %v hold a poll in cover mode", h)
		}
	}
	b.waitFor("the messages", 60*time.Second, func() bool { return len(b.history(alice.id())) == 3 })
	n := count() + 10
	b.waitFor("ten more polls", 60*time.Second, func() bool {
		if h := o.holders(t, swarmNodes); len(h) > 0 {
			t.Fatalf("nodes %v hold a poll in cover mode", h)
		}
		return count() >= n
	})

	mu.Lock()
	got := append([]coverPoll(nil), polls...)
	mu.Unlock()
	lo, hi := time.Duration(float64(interval)*(1-coverJitter)), time.Duration(float64(interval)*(1+coverJitter))
	withMessages := 0
	for _, p := range got {
		if p.period < lo || p.period > hi {
			t.Fatalf("period %v outside [%v, %v]", p.period, lo, hi)
		}
		if p.returned > 0 {
			withMessages++
		}
	}
	if withMessages == 0 {
		t.Fatal("no poll returned the messages")
	}
	asked := 0
	for _, i := range swarmNodes {
		after := o.metric(t, i, "snode_requests_total", `method="batch"`) + o.metric(t, i, "snode_requests_total", `method="retrieve"`)
		if after > before[i] {
			asked++
		}
	}
	if asked < 2 {
		t.Fatalf("cover polls reached %d members of the swarm", asked)
	}
}

// TestCoverPeriod: the periods are uniform around the mean, so the rate
// is the configured one.
func TestCoverPeriod(t *testing.T) {
	n := &network{rnd: rand.New(rand.NewPCG(1, 2))}
	const mean = 10 * time.Second
	var sum time.Duration
	lo, hi := mean, mean
	const draws = 20_000
	for range draws {
		d := n.coverPeriod(mean)
		sum += d
		lo, hi = min(lo, d), max(hi, d)
	}
	avg := sum / draws
	if avg < mean*99/100 || avg > mean*101/100 {
		t.Errorf("mean period %v, want %v", avg, mean)
	}
	if lo < mean*3/4 || hi > mean*5/4 || lo > mean*76/100 || hi < mean*124/100 {
		t.Errorf("periods from %v to %v, want the whole of [%v, %v]", lo, hi, mean*3/4, mean*5/4)
	}
}

// TestLongPollBridge: each member keeps its own last_hash, so after a
// message every member but the one that delivered it holds a message we
// already have and answers the next poll at once. The receive loop then
// polls that member again (that poll is held), and while it catches up
// the member that answered last holds a bridge poll, so that a message
// stored meanwhile does not wait for the next held poll
// (docs/PERFORMANCE.md, "Delivery over emulated links"). Rotation stays:
// a member gets a second poll in a row only after a catch-up or an answer
// with more, and a bridge only right after it answered.
func TestLongPollBridge(t *testing.T) {
	nw := devnetTuned(t, 5, nil)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	a := alice.open(t, nw, "", devOpts{noServe: true})
	// Bob's first start pushes this device's record, which each member
	// then returns once: catch-ups of their own. They happen in a first
	// run; the measured run starts from the same home and pushes nothing.
	home := t.TempDir()
	first := bob.open(t, nw, home, devOpts{longPoll: 20 * time.Second})
	first.waitFor("the config pushes", 60*time.Second, func() bool {
		st, err := first.c.SyncStatus()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range st {
			if !o.Fetched || o.State != "clean" {
				return false
			}
		}
		return len(st) > 0
	})
	first.stop()
	b := bob.open(t, nw, home, devOpts{noServe: true, longPoll: 20 * time.Second})
	var log pollLog
	b.c.onPoll, b.c.onPollStart = log.add, log.start
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = b.c.Serve(ctx)
	}()
	defer func() { cancel(); <-served }()

	// Each message is sent once the loop waits for it: a poll it takes to
	// be held is in progress. Sent earlier, a message would reach the
	// member catching up first, and its answer would carry the message
	// rather than catch the member up.
	// A first message, not counted, lets the loop learn which members
	// are fresh: on a start it knows none, and a poll at a member with
	// nothing new is held for the whole wait.
	settled := func() bool { return log.settled(b.c.fresh.begin()) }
	const count = 5
	for i := range count + 1 {
		if _, err := a.c.Send(context.Background(), bob.id(), fmt.Sprintf("bridged %d", i), SendOptions{}); err != nil {
			t.Fatal(err)
		}
		b.waitFor("the message", 60*time.Second, func() bool { return len(b.history(alice.id())) == i+1 })
		b.waitFor("a held poll after the message", 60*time.Second, settled)
	}
	cancel()
	<-served // the receive loop and its bridges have returned

	var main, bridges []pollTrace
	all := slices.Clone(log.polls)
	slices.SortStableFunc(all, func(x, y pollTrace) int { return x.start.Compare(y.start) })
	defer func() {
		if t.Failed() {
			for i, p := range all {
				t.Logf("%d: bridge %v node %s %v→%v wait %v returned %d new %d more %v err %v", i, p.bridge, p.res.node.String()[:6],
					p.start.Sub(all[0].start), p.end.Sub(all[0].start), p.wait, p.res.returned, p.res.count, p.res.more, p.err)
			}
		}
	}()
	for _, p := range log.polls {
		if p.bridge {
			bridges = append(bridges, p)
		} else if p.err == nil && p.wait > 0 {
			main = append(main, p)
		}
	}
	// Rotation: two long polls in a row (held until a message or the
	// wait's end: neither a catch-up nor an answer with more) never go
	// to one member, and a member polled again at once was caught up or
	// had more.
	var long []pollTrace
	for i, p := range main {
		if !p.res.caughtUp() && !p.res.more {
			if len(long) > 0 && long[len(long)-1].res.node == p.res.node {
				t.Errorf("poll %d: two long polls in a row to one member", i)
			}
			long = append(long, p)
		}
		if i > 0 && p.res.node == main[i-1].res.node && !main[i-1].res.caughtUp() && !main[i-1].res.more {
			t.Errorf("poll %d: a second poll in a row to a member whose last answer was neither a catch-up nor more", i)
		}
	}
	caughtUp := 0
	for i := 1; i < len(main); i++ {
		prev, p := main[i-1], main[i]
		if !p.res.caughtUp() || prev.res.node == p.res.node {
			continue
		}
		caughtUp++
		if i+1 < len(main) && main[i+1].res.node != p.res.node {
			t.Errorf("poll %d caught its member up, but the next poll went to another member, which answers at once in turn", i)
		}
		// A bridge at the member that answered last, started after its
		// answer and before p, and held until the loop stopped it (after
		// p) or a message came through it (new, or one p had just
		// fetched: the two polls race for it).
		bridged := false
		for _, br := range bridges {
			if br.res.node == prev.res.node && !br.start.Before(prev.end) && !br.start.After(p.start) &&
				(errors.Is(br.err, context.Canceled) || br.res.returned > 0) {
				bridged = true
			}
		}
		if !bridged {
			t.Errorf("poll %d caught its member up with no bridge poll held at the member that answered before it", i)
		}
	}
	if caughtUp < count {
		// The loop was waiting at a fresh member for each message.
		t.Fatalf("%d catch-up polls at another member than the last for %d messages (%d polls)", caughtUp, count, len(main))
	}
	// A bridge goes only to the member whose answer came last.
	held := append(slices.Clone(main), bridges...)
	slices.SortStableFunc(held, func(x, y pollTrace) int { return x.start.Compare(y.start) })
	for i, p := range held {
		if p.bridge && (i == 0 || held[i-1].bridge || held[i-1].res.node != p.res.node) {
			t.Errorf("poll at %v: a bridge to a member other than the one that answered last", p.start.Sub(held[0].start))
		}
	}
	t.Logf("%d messages: %d held polls, %d catch-ups, %d bridges", count+1, len(main), caughtUp, len(bridges))
}

package snode

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// frozenClock is a clock that never moves: token buckets never refill.
type frozenClock struct{ t time.Time }

func (c frozenClock) Now() time.Time { return c.t }

// stepClock is a clock that the test moves: the load loop advances it by
// a fixed step per request, so that rates are rates of requests, whatever
// the speed of the machine.
type stepClock struct{ ns atomic.Int64 }

func (c *stepClock) Now() time.Time       { return time.Unix(0, c.ns.Load()) }
func (c *stepClock) step(d time.Duration) { c.ns.Add(int64(d)) }

// peerOf is n's ledger entry for the node k.
func peerOf(t testing.TB, n *testNode, k key.NodePublic) *ledger.Node {
	t.Helper()
	p := n.node.mem.Load().byKey[k]
	if p == nil {
		t.Fatalf("%s not in the view", k)
	}
	return p
}

// postStores sends a batch from one node to another as the batcher does.
func postStores(t testing.TB, from, to *testNode, items []fwdStore) (int, []byte) {
	t.Helper()
	st, out, err := from.node.postBinary(t.Context(), peerOf(t, from, to.keys.Ed25519Public()), pathForwardStores, appendFwdStores(nil, items))
	if err != nil {
		t.Fatal(err)
	}
	return st, out
}

func dropped(t *testing.T, n *testNode, kind string) float64 {
	return counter(t, n, "snode_dropped_requests_total", "kind", kind)
}

// counter reads a counter of n's with the given label pairs (0 when it
// has not been counted yet).
func counter(t *testing.T, n *testNode, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := n.node.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// storeAll sends count stores to n from workers goroutines and checks that
// every answer is 200 with every member's entry stored. before, if set,
// runs before each store is sent.
func storeAll(t *testing.T, n *testNode, members, count, workers int, req func(i int) storagerpc.Request, before func()) {
	t.Helper()
	bodies := make([][]byte, count)
	for i := range bodies {
		b, err := storagerpc.EncodeRequest(req(i))
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = b
	}
	var next, bad atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(count) {
					return
				}
				if before != nil {
					before()
				}
				st, body := rpc(t, n, bodies[i])
				var resp storagerpc.SwarmResponse[storagerpc.StoreResult]
				if st != 200 || json.Unmarshal(body, &resp) != nil || len(resp.Swarm) != members {
					if bad.Add(1) <= 3 {
						t.Errorf("store %d: %d %.300s", i, st, body)
					}
					continue
				}
				for k, r := range resp.Swarm {
					if r.OK == nil || r.OK.Hash != resp.Hash {
						if bad.Add(1) <= 3 {
							t.Errorf("store %d: member %s: %.300s", i, k, body)
						}
					}
				}
			}
		})
	}
	wg.Wait()
}

// batchStats reads snode_forward_batch_stores: batches sent and the
// stores in them.
func batchStats(t *testing.T, n *testNode) (batches uint64, stores float64) {
	t.Helper()
	mfs, err := n.node.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "snode_forward_batch_stores" {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatal("no snode_forward_batch_stores")
	return 0, 0
}

// TestHotSwarmNoRefusedForwards drives a five-node swarm with the default
// peer limits at 1,000 stores a second, past the ~660 a second at which
// the old per-peer request bucket (600/s, burst 600) refused forwards, and
// checks that no member refused one. The nodes' clock advances 1 ms per
// store sent, so the rate is the same on any machine: with the old limit
// about 200 of the 2,000 stores' forwards to each peer would be refused.
func TestHotSwarmNoRefusedForwards(t *testing.T) {
	clk := &stepClock{}
	clk.ns.Store(time.Now().UnixNano())
	tn := newTestNetWith(t, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA}, nil,
		func(c *Config) {
			c.Limits.MaxConcurrentRequests = 0
			// A loaded test machine (-race, other tests) can hold a batch
			// for seconds; what is tested is refusals, not speed.
			c.Limits.ForwardTimeout = Duration(30 * time.Second)
		}, func(n *Node) { n.clock = clk })
	if tn.nodes[0].node.cfg.Limits.PeerRate != DefaultConfig().Limits.PeerRate {
		t.Fatal("the test must run with the default peer limits")
	}
	users := make([]*user, 64)
	for i := range users {
		users[i] = newUser(t)
	}
	const count = 2000
	start := time.Now()
	clk.ns.Store(start.UnixNano())
	storeAll(t, tn.nodes[0], 5, count, 64, func(i int) storagerpc.Request {
		ns := storagerpc.Namespace(0)
		if i%4 == 0 {
			ns = 2 // signed: each peer checks the signature
		}
		return users[i%len(users)].store(ns, randomData(t, 100), time.Hour)
	}, func() { clk.step(time.Millisecond) })
	el := time.Since(start)
	batches, inBatches := batchStats(t, tn.nodes[0])
	t.Logf("%d stores in %v of the nodes' clock (%v real, %.0f/s); %d batches to 4 peers, %.1f stores each",
		count, clk.Now().Sub(start), el.Round(time.Millisecond), count/el.Seconds(), batches, inBatches/float64(batches))
	for i, n := range tn.nodes {
		for _, kind := range []string{"peer", "peer_stores", "peer_busy"} {
			if d := dropped(t, n, kind); d != 0 {
				t.Errorf("node %d dropped %v %s requests", i, d, kind)
			}
		}
	}
	fw := func(result string) float64 { return counter(t, tn.nodes[0], "snode_forwards_total", "result", result) }
	if ok, failed, timeout := fw("ok"), fw("failed"), fw("timeout"); ok != 4*count || failed != 0 || timeout != 0 {
		t.Errorf("forwards: ok %v failed %v timeout %v, want %d ok", ok, failed, timeout, 4*count)
	}
	if inBatches != 4*count {
		t.Errorf("%v stores in batches, want %d", inBatches, 4*count)
	}
}

// randomFwdStores is count forwarded stores of 16 bytes to new accounts,
// at the time ms.
func randomFwdStores(t testing.TB, count int, ms int64) []fwdStore {
	items := make([]fwdStore, count)
	for i := range items {
		var k [32]byte
		rand.Read(k[:])
		acct := storagerpc.NewAccount(key.PrefixStandard, k)
		items[i] = fwdStore{Op: ms, Params: &storagerpc.StoreParams{Account: acct, Timestamp: ms, Expiry: ms + 3600_000, Data: randomData(t, 16)}}
	}
	return items
}

// TestFwdLimitStopsFlood floods one node with batches from one peer: the
// peer is refused once it has sent a second's worth of the node's
// capacity (the clock is frozen, so no token comes back), and another
// peer is still served.
func TestFwdLimitStopsFlood(t *testing.T) {
	frozen := frozenClock{time.Now()}
	tn := newTestNetWith(t, []uint64{swarmA, swarmA, swarmA}, nil, nil, func(n *Node) { n.clock = frozen })
	flooder, victim, other := tn.nodes[0], tn.nodes[1], tn.nodes[2]
	ms := frozen.t.UnixMilli()
	batch := func() []fwdStore { return randomFwdStores(t, fwdMaxItems, ms) }
	burst := int(victim.node.fwdLimit.rateFor(fwdLimitFloor))
	accepted := 0
	for k := range burst/fwdMaxItems + 1 {
		st, out := postStores(t, flooder, victim, batch())
		if k < burst/fwdMaxItems {
			if st != http.StatusOK {
				t.Fatalf("batch %d: %d %s", k, st, out)
			}
			accepted++
			continue
		}
		if st != http.StatusTooManyRequests {
			t.Fatalf("batch %d past the burst of %d stores: %d, want 429", k, burst, st)
		}
	}
	if d := dropped(t, victim, "peer_stores"); d != 1 {
		t.Fatalf("dropped peer_stores %v, want 1", d)
	}
	if st, out := postStores(t, other, victim, batch()[:10]); st != http.StatusOK {
		t.Fatalf("other peer: %d %s", st, out)
	}
	t.Logf("%d batches of %d accepted, then refused (burst %d)", accepted, fwdMaxItems, burst)
}

// TestFwdBatchPerItemResults sends a batch with one bad store among good
// ones: the bad one fails alone with the answer a single forward gets.
func TestFwdBatchPerItemResults(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA}, nil, nil)
	a, b := tn.nodes[0], tn.nodes[1]
	u := newUser(t)
	good1, good2 := u.store(0, []byte("one"), time.Hour), u.store(2, []byte("two"), time.Hour)
	bad := u.store(2, []byte("bad"), time.Hour)
	sig := *bad.Auth.Signature
	sig[0] ^= 1
	bad.Auth.Signature = &sig
	op := nowMs()
	st, out := postStores(t, a, b, []fwdStore{{Op: op, Params: good1}, {Op: op, Params: bad}, {Op: op, Params: good2}})
	if st != http.StatusOK {
		t.Fatalf("%d %s", st, out)
	}
	as, err := parseFwdAnswers(out, 3)
	if err != nil {
		t.Fatal(err)
	}
	if f := as[1].Failure; f == nil || f.Code != 401 || f.Reason != "store signature verification failed" {
		t.Fatalf("bad store: %+v %+v", as[1].OK, as[1].Failure)
	}
	for i, p := range []*storagerpc.StoreParams{good1, nil, good2} {
		if p == nil {
			continue
		}
		if as[i].OK == nil || as[i].OK.Expiry != p.Expiry || as[i].OK.Already ||
			!storagerpc.VerifyResult(b.keys.Ed25519Public(), storagerpc.StoreResultSigMessage(p.Hash()), as[i].OK.Signature) {
			t.Fatalf("store %d: %+v %+v", i, as[i].OK, as[i].Failure)
		}
	}
	// Sent again: stored already, and the signed one keeps its proof.
	st, out = postStores(t, a, b, []fwdStore{{Op: op + 1, Params: good2}})
	if as, err := parseFwdAnswers(out, 1); st != http.StatusOK || err != nil || as[0].OK == nil || !as[0].OK.Already {
		t.Fatalf("again: %d %v %x", st, err, out)
	}
	recs, err := b.node.store.Fetch(t.Context(), []string{good1.Hash(), good2.Hash(), bad.Hash()})
	if err != nil || len(recs) != 2 {
		t.Fatalf("stored %d records (%v), want 2", len(recs), err)
	}
	for _, r := range recs {
		if want := r.Hash == good2.Hash(); (r.StoreProof != nil) != want {
			t.Errorf("record %s: proof %q", r.Hash, r.StoreProof)
		}
	}
}

// TestForwardToOldPeer runs a swarm in which one member is of a version
// without the batch endpoint (it answers 404 there, as any older node
// does): it gets each store in the old form, and every store still
// reaches every member.
func TestForwardToOldPeer(t *testing.T) {
	var built atomic.Int32
	tn := newTestNetWith(t, []uint64{swarmA, swarmA, swarmA}, nil, nil, func(n *Node) {
		if built.Add(1) != 3 {
			return
		}
		n.forwardStores = func(context.Context, key.NodePublic, []byte) (int, []byte) {
			return http.StatusNotFound, []byte("POST " + pathForwardStores + " Not Found")
		}
	})
	old := tn.nodes[2]
	users := []*user{newUser(t), newUser(t)}
	for _, entry := range []*testNode{tn.nodes[0], old} {
		storeAll(t, entry, 3, 40, 8, func(i int) storagerpc.Request {
			return users[i%2].store(storagerpc.Namespace(2*(i%2)), randomData(t, 50), time.Hour)
		}, nil)
	}
	q := tn.nodes[0].node.fwd.queue(old.keys.Ed25519Public())
	q.mu.Lock()
	legacy := !q.legacyUntil.IsZero()
	q.mu.Unlock()
	if !legacy {
		t.Fatal("the entry node did not fall back to the old form for the old peer")
	}
	if n := counter(t, old, "snode_requests_total", "method", "peer_forward", "status", "200"); n < 40 {
		t.Fatalf("old peer took %v stores in the old form, want at least 40", n)
	}
	if n := counter(t, tn.nodes[1], "snode_requests_total", "method", "peer_forward_stores", "status", "200"); n == 0 {
		t.Fatal("the new peer got no batches")
	}
}

// TestFwdLimitFollowsCapacity checks the derivation of the per-peer limit
// from the writer's measured rate.
func TestFwdLimitFollowsCapacity(t *testing.T) {
	var st store.Stats
	l := newFwdLimit(DefaultConfig().Limits, func() store.Stats { return st })
	var peer key.NodePublic
	t0 := time.Unix(1_760_000_000, 0)
	// Until a measurement: twice the floor, a second's burst.
	if !l.allow(peer, 2*fwdLimitFloor, t0) || l.allow(peer, 1, t0) {
		t.Fatal("burst before any measurement is not 2 × the floor")
	}
	// The writer took 9,000 operations in 300 ms of busy time over the
	// next second: 30,000/s when busy, so peers may send 60,000/s.
	st = store.Stats{Ops: 9000, BusyTime: 300 * time.Millisecond}
	t1 := t0.Add(time.Second)
	if !l.allow(peer, 1, t1) {
		t.Fatal("refused after the refill")
	}
	if l.capacity != 30000 {
		t.Fatalf("capacity %v, want 30000", l.capacity)
	}
	// A peer forwarding as much as the writer took in total is never
	// refused: 9,000 a second for ten seconds.
	for s := range 10 {
		st.Ops += 9000
		st.BusyTime += 300 * time.Millisecond
		now := t1.Add(time.Duration(s+1) * time.Second)
		for k := range 9 {
			if !l.allow(peer, 1000, now.Add(time.Duration(k)*100*time.Millisecond)) {
				t.Fatalf("healthy peer refused at second %d", s)
			}
		}
	}
	// One that sends more than twice the capacity in a second is.
	now := t1.Add(20 * time.Second)
	if l.allow(peer, 60001, now) {
		t.Fatal("flood allowed")
	}
	// A quiet window (too little busy time) keeps the last measurement.
	st.Ops++
	if l.allow(peer, 1, now.Add(2*time.Second)); l.capacity != 30000 {
		t.Fatalf("capacity %v after a quiet second", l.capacity)
	}
	// PeerRate 0 turns it off.
	lim := DefaultConfig().Limits
	lim.PeerRate = 0
	if off := newFwdLimit(lim, func() store.Stats { return st }); !off.allow(peer, 1<<30, t0) {
		t.Fatal("limit applied with peer_rate 0")
	}
}

// TestFwdBatchQueueing holds the peer's answer to a first batch: the
// stores that arrive meanwhile wait, one whose client goes away leaves the
// queue, and the others go together in one batch when the first is
// answered.
func TestFwdBatchQueueing(t *testing.T) {
	release := make(chan struct{})
	var held atomic.Bool
	var built atomic.Int32
	tn := newTestNetWith(t, []uint64{swarmA, swarmA}, nil, func(c *Config) { c.Limits.ForwardTimeout = Duration(time.Minute) }, func(n *Node) {
		if built.Add(1) != 2 {
			return
		}
		n.forwardStores = func(ctx context.Context, peer key.NodePublic, body []byte) (int, []byte) {
			if held.CompareAndSwap(false, true) {
				<-release
			}
			return n.handleForwardStores(ctx, peer, body)
		}
	})
	entry, peer := tn.nodes[0], tn.nodes[1]
	q := entry.node.fwd.queue(peer.keys.Ed25519Public())
	pending := func(want int) func() error {
		return func() error {
			q.mu.Lock()
			defer q.mu.Unlock()
			if len(q.pending) != want {
				return errNotYet
			}
			return nil
		}
	}
	u := newUser(t)
	type answer struct {
		st   int
		body []byte
	}
	send := func(ctx context.Context, p *storagerpc.StoreParams) chan answer {
		ch := make(chan answer, 1)
		body, err := storagerpc.EncodeRequest(p)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			st, out := entry.node.HandleRPC(ctx, body)
			ch <- answer{st, out}
		}()
		return ch
	}
	stores := make([]*storagerpc.StoreParams, 5)
	for i := range stores {
		stores[i] = u.store(storagerpc.Namespace(2*(i%2)), randomData(t, 40), time.Hour)
	}
	answers := []chan answer{send(t.Context(), stores[0])}
	eventually(t, 10*time.Second, func() error {
		if !held.Load() {
			return errNotYet
		}
		return nil
	})
	for _, p := range stores[1:4] {
		answers = append(answers, send(t.Context(), p))
	}
	gone, cancel := context.WithCancel(t.Context())
	answers = append(answers, send(gone, stores[4]))
	eventually(t, 10*time.Second, pending(4))
	cancel()
	eventually(t, 10*time.Second, pending(3))
	close(release)

	me := peer.keys.Ed25519Public().String()
	for i, ch := range answers {
		a := <-ch
		var resp storagerpc.SwarmResponse[storagerpc.StoreResult]
		if err := json.Unmarshal(a.body, &resp); err != nil {
			t.Fatalf("store %d: %d %s", i, a.st, a.body)
		}
		r := resp.Swarm[me]
		if i == 4 {
			if r.Failure == nil || r.Failure.Reason != "request canceled" {
				t.Fatalf("store %d (client gone): %s", i, a.body)
			}
			continue
		}
		if a.st != 200 || r.OK == nil || r.OK.Hash != stores[i].Hash() {
			t.Fatalf("store %d: %d %s", i, a.st, a.body)
		}
	}
	if batches, inBatches := batchStats(t, entry); batches != 2 || inBatches != 4 {
		t.Fatalf("%d batches of %v stores, want 2 of 4 (1, then 3)", batches, inBatches)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inFlight != 0 || len(q.pending) != 0 {
		t.Fatalf("queue left with %d in flight, %d pending", q.inFlight, len(q.pending))
	}
}

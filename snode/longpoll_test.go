package snode

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// withWait adds wait_ms to a retrieve body, as the client does.
func withWait(t *testing.T, p *storagerpc.RetrieveParams, wait string) []byte {
	t.Helper()
	params, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(params, &m); err != nil {
		t.Fatal(err)
	}
	m["wait_ms"] = json.RawMessage(wait)
	b, _ := json.Marshal(map[string]any{"method": "retrieve", "params": m})
	return b
}

// TestLongPoll holds a retrieve on one member until a store reaches it
// through another member's forwarding.
func TestLongPoll(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA}, nil, nil)
	u := newUser(t)
	type answer struct {
		st   int
		body []byte
	}
	got := make(chan answer, 1)
	go func() {
		st, body := rpc(t, tn.nodes[2], withWait(t, u.retrieve(0, "", 0, 0), "25000"))
		got <- answer{st, body}
	}()
	eventually(t, 10*time.Second, func() error {
		if h := tn.nodes[2].node.waiters.held(); h != 1 {
			return fmt.Errorf("%d retrieves held", h)
		}
		return nil
	})
	p := u.store(0, []byte("wake up"), time.Hour)
	if st, body := do(t, tn.nodes[0], p); st != 200 {
		t.Fatalf("store: %d %s", st, body)
	}
	select {
	case a := <-got:
		var r storagerpc.RetrieveResponse
		if a.st != 200 || json.Unmarshal(a.body, &r) != nil || len(r.Messages) != 1 || r.Messages[0].Hash != p.Hash() {
			t.Fatalf("held retrieve: %d %s", a.st, a.body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the held retrieve was not woken by the store")
	}
	// A retrieve with messages to return is never held.
	st, body := rpc(t, tn.nodes[1], withWait(t, u.retrieve(0, "", 0, 0), "25000"))
	if st != 200 || !strings.Contains(string(body), p.Hash()) {
		t.Fatalf("retrieve with messages: %d %s", st, body)
	}
	// Bad values are refused; a short wait ends empty.
	for _, bad := range []string{"-1", `"10"`, "1.5"} {
		if st, body := rpc(t, tn.nodes[1], withWait(t, u.retrieve(0, "", 0, 0), bad)); st != 400 || !strings.Contains(string(body), "wait_ms") {
			t.Errorf("wait_ms %s: %d %s", bad, st, body)
		}
	}
	last := p.Hash()
	st, body = rpc(t, tn.nodes[1], withWait(t, u.retrieve(0, last, 0, 0), "50"))
	var r storagerpc.RetrieveResponse
	if st != 200 || json.Unmarshal(body, &r) != nil || len(r.Messages) != 0 {
		t.Fatalf("empty wait: %d %s", st, body)
	}
	if h := tn.nodes[1].node.waiters.held(); h != 0 {
		t.Fatalf("%d retrieves still held", h)
	}
}

func TestWaitersBounds(t *testing.T) {
	w := newWaiters(3)
	k := waitKey{ns: 1}
	var rel []func()
	for range 3 {
		_, r, ok := w.hold(k)
		if !ok {
			t.Fatal("refused under the bound")
		}
		rel = append(rel, r)
	}
	if _, _, ok := w.hold(waitKey{ns: 2}); ok {
		t.Fatal("held past the node bound")
	}
	for _, r := range rel {
		r()
	}
	w2 := newWaiters(100)
	for range maxHeldPerKey {
		w2.hold(k)
	}
	if _, _, ok := w2.hold(k); ok {
		t.Fatal("held past the per-key bound")
	}
	// A closed group's account holds one retrieve per member up to its
	// own, larger bound.
	var g waitKey
	g.acct[0], g.ns = byte(key.PrefixGroup), 11
	w4 := newWaiters(maxHeldPerGroup + 1)
	for i := range maxHeldPerGroup {
		if _, _, ok := w4.hold(g); !ok {
			t.Fatalf("group retrieve %d refused under the group bound", i)
		}
	}
	if _, _, ok := w4.hold(g); ok {
		t.Fatal("held past the per-group bound")
	}
	w3 := newWaiters(10)
	ch, release, _ := w3.hold(k)
	w3.wake(k.acct, 2)
	select {
	case <-ch:
		t.Fatal("woken by another namespace")
	default:
	}
	w3.wake(k.acct, k.ns)
	select {
	case <-ch:
	default:
		t.Fatal("not woken")
	}
	release()
	if w3.held() != 0 {
		t.Fatal("release did not count")
	}
}

// batchWithWait is a batch of retrieves with wait_ms, as a Sotto client
// retrieving its messages and config namespaces sends it.
func batchWithWait(t *testing.T, wait string, reqs ...storagerpc.Request) []byte {
	t.Helper()
	params, err := (&storagerpc.BatchParams{Requests: reqs}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(params, &m); err != nil {
		t.Fatal(err)
	}
	m["wait_ms"] = json.RawMessage(wait)
	b, _ := json.Marshal(map[string]any{"method": "batch", "params": m})
	return b
}

// TestBatchLongPoll holds a batch of retrieves of several namespaces
// until a store in any one of them reaches the node, and answers a batch
// with something to return at once.
func TestBatchLongPoll(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA}, nil, nil)
	u := newUser(t)
	type answer struct {
		st   int
		body []byte
	}
	got := make(chan answer, 1)
	go func() {
		st, body := rpc(t, tn.nodes[2], batchWithWait(t, "25000", u.retrieve(0, "", 0, 0), u.retrieve(3, "", 0, 0), u.retrieve(4, "", 0, 0)))
		got <- answer{st, body}
	}()
	eventually(t, 10*time.Second, func() error {
		if h := tn.nodes[2].node.waiters.held(); h != 3 {
			return fmt.Errorf("%d retrieves held", h)
		}
		return nil
	})
	p := u.store(4, []byte("config"), time.Hour)
	if st, body := do(t, tn.nodes[0], p); st != 200 {
		t.Fatalf("store: %d %s", st, body)
	}
	var a answer
	select {
	case a = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the held batch was not woken by the store")
	}
	var br storagerpc.BatchResponse
	if a.st != 200 || json.Unmarshal(a.body, &br) != nil || len(br.Results) != 3 {
		t.Fatalf("held batch: %d %s", a.st, a.body)
	}
	for i, want := range []int{0, 0, 1} {
		var r storagerpc.RetrieveResponse
		if br.Results[i].Code != 200 || json.Unmarshal(br.Results[i].Body, &r) != nil || len(r.Messages) != want {
			t.Fatalf("result %d: %d %s", i, br.Results[i].Code, br.Results[i].Body)
		}
		if want == 1 && r.Messages[0].Hash != p.Hash() {
			t.Fatalf("result %d: %s, want %s", i, r.Messages[0].Hash, p.Hash())
		}
	}
	if h := tn.nodes[2].node.waiters.held(); h != 0 {
		t.Fatalf("%d retrieves still held", h)
	}
	// Something to return: answered at once, whatever the wait.
	st, body := rpc(t, tn.nodes[1], batchWithWait(t, "25000", u.retrieve(0, "", 0, 0), u.retrieve(4, "", 0, 0)))
	if st != 200 || !strings.Contains(string(body), p.Hash()) {
		t.Fatalf("batch with messages: %d %s", st, body)
	}
	// A short wait ends empty; a bad wait is refused.
	st, body = rpc(t, tn.nodes[1], batchWithWait(t, "50", u.retrieve(0, "", 0, 0), u.retrieve(4, p.Hash(), 0, 0)))
	if st != 200 || json.Unmarshal(body, &br) != nil || len(br.Results) != 2 || strings.Contains(string(body), p.Hash()) {
		t.Fatalf("empty wait: %d %s", st, body)
	}
	if st, body := rpc(t, tn.nodes[1], batchWithWait(t, "-1", u.retrieve(0, "", 0, 0))); st != 400 || !strings.Contains(string(body), "wait_ms") {
		t.Errorf("wait_ms -1: %d %s", st, body)
	}
}

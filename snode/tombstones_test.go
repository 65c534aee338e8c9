package snode

import (
	"context"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// okRounds is the number of anti-entropy rounds n finished.
func okRounds(n *Node) float64 {
	var m dto.Metric
	if err := n.met.aeRounds.WithLabelValues("ok").Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// rowOf returns a node's row of a message, if any.
func rowOf(t *testing.T, n *testNode, hash string) (store.Record, bool) {
	t.Helper()
	recs, err := n.node.store.Fetch(context.Background(), []string{hash})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		return store.Record{}, false
	}
	return recs[0], true
}

// waitRounds waits until each node finished k more anti-entropy rounds.
func waitRounds(t *testing.T, nodes []*testNode, k float64) {
	t.Helper()
	start := make([]float64, len(nodes))
	for i, n := range nodes {
		start[i] = okRounds(n.node)
	}
	eventually(t, 30*time.Second, func() error {
		for i, n := range nodes {
			if got := okRounds(n.node); got < start[i]+k {
				return fmt.Errorf("node %d: %v rounds, want %v", i, got-start[i], k)
			}
		}
		return nil
	})
}

// storeAndDelete stores a message through the first node, waits until
// every node in have holds it, then deletes it through the first node.
func storeAndDelete(t *testing.T, tn *testNet, u *user, have, down []*testNode) string {
	t.Helper()
	p := u.store(0, []byte("unsent soon"), time.Hour)
	if st, body := do(t, tn.nodes[0], p); st != 200 {
		t.Fatalf("store: %d %s", st, body)
	}
	h := p.Hash()
	eventually(t, 20*time.Second, func() error {
		for i, n := range have {
			if r, ok := rowOf(t, n, h); !ok || r.Deleted {
				return fmt.Errorf("node %d lacks the message", i)
			}
		}
		return nil
	})
	// Every member keeps the same mtime: the minute of the store, not
	// its millisecond.
	first, _ := rowOf(t, have[0], h)
	if first.MTime != quantumStart(first.MTime) {
		t.Errorf("stored with mtime %d, not the start of its minute", first.MTime)
	}
	for i, n := range have[1:] {
		if r, _ := rowOf(t, n, h); r.MTime != first.MTime {
			t.Errorf("node %d keeps mtime %d, node 0 %d", i+1, r.MTime, first.MTime)
		}
	}
	for _, n := range down {
		tn.stop(n)
	}
	del := []string{h}
	if st, body := do(t, tn.nodes[0], &storagerpc.DeleteParams{Account: u.acct, Messages: del, Auth: u.auth(storagerpc.DeleteSigMessage(del))}); st != 200 {
		t.Fatalf("delete: %d %s", st, body)
	}
	return h
}

// noneHolds waits until no node holds a row of the message and no node
// serves it.
func noneHolds(t *testing.T, tn *testNet, u *user, h string) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		for i, n := range tn.nodes {
			if r, ok := rowOf(t, n, h); ok {
				return fmt.Errorf("node %d still holds the row (deleted %v)", i, r.Deleted)
			}
		}
		return nil
	})
	for i, n := range tn.nodes {
		if got, err := retrieveAll(t, n, u, 0, 0); err != nil || len(got) != 0 {
			t.Errorf("node %d serves %v (%v)", i, got, err)
		}
	}
}

// TestTombstoneDroppedOnceEveryMemberHasIt deletes a message in a swarm of
// three: each member drops the tombstone once it learnt that the two
// others hold it, long before the message's expiry, and nothing of the
// message is left anywhere.
func TestTombstoneDroppedOnceEveryMemberHasIt(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA}, nil, nil)
	u := newUser(t)
	h := storeAndDelete(t, tn, u, tn.nodes, nil)
	noneHolds(t, tn, u, h)
	for i, n := range tn.nodes {
		var m dto.Metric
		if err := n.node.met.tombsDropped.Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
			t.Errorf("node %d dropped %v tombstones, want 1", i, m.GetCounter().GetValue())
		}
	}
	// It stays gone: more rounds bring nothing back.
	waitRounds(t, tn.nodes, 3)
	noneHolds(t, tn, u, h)
}

// TestDownMemberConvergesAfterDelete stops a member that holds a message,
// deletes the message, and starts the member again with its live copy.
// While it is down the others keep the tombstone (it is not held by every
// member); once it is back it takes the tombstone, the delete wins, and
// then every member drops it: the message never comes back.
func TestDownMemberConvergesAfterDelete(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA}, nil, nil)
	u := newUser(t)
	down := tn.nodes[2]
	h := storeAndDelete(t, tn, u, tn.nodes, []*testNode{down})
	up := tn.nodes[:2]
	eventually(t, 20*time.Second, func() error {
		for i, n := range up {
			if r, ok := rowOf(t, n, h); !ok || !r.Deleted {
				return fmt.Errorf("node %d has no tombstone", i)
			}
		}
		return nil
	})
	// Rounds between the two live members show each holds it; the
	// stopped member confirms nothing, so the tombstone stays.
	waitRounds(t, up, 4)
	for i, n := range up {
		if r, ok := rowOf(t, n, h); !ok || !r.Deleted {
			t.Fatalf("node %d dropped the tombstone while a member was down (row %v)", i, ok)
		}
	}

	tn.restart(down)
	tn.waitReady()
	noneHolds(t, tn, u, h)
	waitRounds(t, tn.nodes, 3)
	noneHolds(t, tn, u, h)
	for _, n := range tn.nodes[1:] {
		if n.node.store.BucketDigests() != tn.nodes[0].node.store.BucketDigests() {
			t.Error("members' digests differ")
		}
	}
}

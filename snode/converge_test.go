package snode

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sotto.dev/storagerpc"
)

// digestsEqual reports whether every running node holds the same rows.
func digestsEqual(nodes []*testNode) error {
	ref := nodes[0].node.store.BucketDigests()
	for _, n := range nodes[1:] {
		if n.node.store.BucketDigests() != ref {
			return fmt.Errorf("node %s differs from node %s", n.keys.Ed25519Public(), nodes[0].keys.Ed25519Public())
		}
	}
	return nil
}

// TestStoppedNodeConverges stops one member of a swarm of five during
// 1,000 stores (and deletes and expiry changes), restarts it, and waits
// for it to hold exactly what its peers hold.
func TestStoppedNodeConverges(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA}, nil, nil)
	down := tn.nodes[4]
	users := make([]*user, 10)
	for i := range users {
		users[i] = newUser(t)
	}
	const total = 1000
	var next atomic.Int64
	hashes := make([][]string, len(users))
	var mu sync.Mutex
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				if i == 200 {
					tn.stop(down)
					close(stopped)
				}
				if i > 200 {
					<-stopped
				}
				u := users[i%int64(len(users))]
				p := u.store(0, randomData(t, 64+int(i%500)), time.Hour)
				st, body := do(t, tn.nodes[i%4], p)
				if st != 200 {
					t.Errorf("store %d: %d %.300s", i, st, body)
					return
				}
				mu.Lock()
				hashes[i%int64(len(users))] = append(hashes[i%int64(len(users))], p.Hash())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// While it is down: deletes and expiry changes, which must reach it
	// as tombstones and new expiries.
	for ui, u := range users[:3] {
		del := hashes[ui][:5]
		req := &storagerpc.DeleteParams{Account: u.acct, Messages: del, Auth: u.auth(storagerpc.DeleteSigMessage(del))}
		if st, body := do(t, tn.nodes[0], req); st != 200 {
			t.Fatalf("delete: %d %s", st, body)
		}
		ext := hashes[ui][5:10]
		exp := []int64{nowMs() + 2*3_600_000}
		ereq := &storagerpc.ExpireParams{Account: u.acct, Messages: ext, Expiries: exp, Auth: u.auth(storagerpc.ExpireSigMessage(0, exp, ext))}
		if st, body := do(t, tn.nodes[1], ereq); st != 200 {
			t.Fatalf("expire: %d %s", st, body)
		}
	}
	start := time.Now()
	tn.restart(down)
	eventually(t, 30*time.Second, func() error { return digestsEqual(tn.nodes[:5]) })
	t.Logf("restarted node converged in %v", time.Since(start).Round(time.Millisecond))
	// And it serves the same messages, over the API.
	eventually(t, 30*time.Second, func() error {
		for _, u := range users {
			want, err := retrieveAll(t, tn.nodes[0], u, 0, 0)
			if err != nil {
				return err
			}
			got, err := retrieveAll(t, down, u, 0, 0)
			if err != nil {
				return err
			}
			if !sameSet(got, want) {
				return fmt.Errorf("restarted node has %d messages, peers %d", len(got), len(want))
			}
		}
		return nil
	})
	n := 0
	for _, h := range hashes {
		n += len(h)
	}
	if n != total {
		t.Fatalf("%d stores acknowledged, want %d", n, total)
	}
}

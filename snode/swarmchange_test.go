package snode

import (
	"fmt"
	"testing"
	"time"

	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"
)

// TestSwarmChange splits a swarm of six into two: each node ends up
// holding only the accounts of its new swarm (handed over, then purged
// elsewhere), with their namespaces. Then a new node joins one swarm and
// serves its data after pulling it.
func TestSwarmChange(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA, swarmA}, nil, nil)
	type stored struct {
		u      *user
		hashes map[storagerpc.Namespace][]string
	}
	ids := []uint64{swarmA, swarmB}
	owner := func(u *user) uint64 {
		s, _ := swarm.SelectKey(ids, u.acct.Key())
		return s
	}
	// Eight accounts that the split puts in each swarm.
	var users []*user
	for perSwarm := map[uint64]int{}; len(users) < 16; {
		u := newUser(t)
		if perSwarm[owner(u)] < 8 {
			perSwarm[owner(u)]++
			users = append(users, u)
		}
	}
	var data []stored
	for i, u := range users {
		s := stored{u: u, hashes: map[storagerpc.Namespace][]string{}}
		for _, ns := range []storagerpc.Namespace{0, 2} {
			for j := range 3 {
				p := s.u.store(ns, randomData(t, 50+j), time.Hour)
				if st, body := do(t, tn.nodes[i%6], p); st != 200 {
					t.Fatalf("store: %d %s", st, body)
				}
				s.hashes[ns] = append(s.hashes[ns], p.Hash())
			}
		}
		data = append(data, s)
	}
	tn.nodes[4].swarm, tn.nodes[5].swarm = swarmB, swarmB
	tn.update()

	check := func(nodes []*testNode) error {
		for _, s := range data {
			acct := store.Account(s.u.acct.Bytes())
			for _, n := range nodes {
				has := false
				for _, a := range n.node.store.Accounts() {
					if a == acct {
						has = true
					}
				}
				if mine := n.swarm == owner(s.u); has != mine {
					return fmt.Errorf("node in swarm %x holds=%v an account of swarm %x", n.swarm, has, owner(s.u))
				}
				if n.swarm != owner(s.u) {
					continue
				}
				for ns, want := range s.hashes {
					got, err := retrieveAll(t, n, s.u, ns, 0)
					if err != nil {
						return err
					}
					if !sameSet(got, want) {
						return fmt.Errorf("namespace %d: %d messages, want %d", ns, len(got), len(want))
					}
				}
			}
		}
		return nil
	}
	eventually(t, 30*time.Second, func() error { return check(tn.live()) })

	// A new member of swarm B pulls B's data before serving it.
	nn := tn.newNodeDir(swarmB, false)
	tn.nodes = append(tn.nodes, nn)
	tn.build(nn, "127.0.0.1:0")
	tn.serve(nn)
	tn.update()
	eventually(t, 30*time.Second, func() error { return check(tn.live()) })
}

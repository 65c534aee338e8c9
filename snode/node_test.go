package snode

import (
	"encoding/json"
	"testing"
	"time"

	"sotto.dev/storagerpc"
)

func TestStoreRetrievableFromAllFive(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA}, []uint64{swarmB}, nil)
	u := userIn(t, []uint64{swarmA, swarmB}, swarmA)
	data := randomData(t, 300)
	st, body := do(t, tn.nodes[0], u.store(0, data, time.Hour))
	if st != 200 {
		t.Fatalf("store: %d %s", st, body)
	}
	var resp storagerpc.SwarmResponse[storagerpc.StoreResult]
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	hash := storagerpc.MessageHash(u.acct, 0, data)
	if resp.Hash != hash || len(resp.Swarm) != 5 {
		t.Fatalf("store response: %s", body)
	}
	for _, n := range tn.nodes[:5] {
		r, ok := resp.Swarm[n.keys.Ed25519Public().String()]
		if !ok || r.OK == nil || r.OK.Hash != hash {
			t.Fatalf("node %s missing or failed in %s", n.keys.Ed25519Public(), body)
		}
		if !storagerpc.VerifyResult(n.keys.Ed25519Public(), storagerpc.StoreResultSigMessage(hash), r.OK.Signature) {
			t.Fatalf("bad node signature from %s", n.keys.Ed25519Public())
		}
	}
	for _, n := range tn.nodes[:5] {
		got, err := retrieveAll(t, n, u, 0, 0)
		if err != nil || len(got) != 1 || got[0] != hash {
			t.Fatalf("node %s: %v %v", n.keys.Ed25519Public(), got, err)
		}
	}
}

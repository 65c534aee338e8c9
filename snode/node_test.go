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

func TestMisdirected(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA}, []uint64{swarmB, swarmB}, nil)
	u := userIn(t, []uint64{swarmA, swarmB}, swarmB)
	for _, req := range []storagerpc.Request{u.store(0, []byte("hi"), time.Hour), u.retrieve(0, "", 0, 0)} {
		st, body := do(t, tn.nodes[2], req)
		if st != 421 {
			t.Fatalf("%s: %d %s", req.Method(), st, body)
		}
		var sw storagerpc.GetSwarmResponse
		if err := json.Unmarshal(body, &sw); err != nil {
			t.Fatal(err)
		}
		if id, _ := sw.SwarmID(); id != swarmB || len(sw.Snodes) != 2 || sw.T == 0 {
			t.Fatalf("421 body: %s", body)
		}
		want := map[string]bool{tn.nodes[5].keys.Ed25519Public().String(): true, tn.nodes[6].keys.Ed25519Public().String(): true}
		for _, s := range sw.Snodes {
			if !want[s.PubkeyEd25519] || s.IP == "" || s.PortHTTPS == 0 {
				t.Fatalf("421 lists %+v", s)
			}
		}
	}
	// get_swarm answers for any account, with the same shape.
	st, body := do(t, tn.nodes[0], &storagerpc.GetSwarmParams{Account: u.acct})
	var sw storagerpc.GetSwarmResponse
	if st != 200 || json.Unmarshal(body, &sw) != nil || len(sw.Snodes) != 2 {
		t.Fatalf("get_swarm: %d %s", st, body)
	}
	// Inside a batch, the 421 is the subrequest's result.
	mine := userIn(t, []uint64{swarmA, swarmB}, swarmA)
	st, body = do(t, tn.nodes[0], &storagerpc.BatchParams{Requests: []storagerpc.Request{u.retrieve(0, "", 0, 0), mine.retrieve(0, "", 0, 0), &storagerpc.InfoParams{}}})
	var br storagerpc.BatchResponse
	if st != 200 || json.Unmarshal(body, &br) != nil || len(br.Results) != 3 || br.Results[0].Code != 421 || br.Results[1].Code != 200 || br.Results[2].Code != 200 {
		t.Fatalf("batch: %d %s", st, body)
	}
	// A sequence stops at the first failure.
	st, body = do(t, tn.nodes[0], &storagerpc.BatchParams{Sequence: true, Requests: []storagerpc.Request{mine.retrieve(0, "", 0, 0), u.retrieve(0, "", 0, 0), &storagerpc.InfoParams{}}})
	if st != 200 || json.Unmarshal(body, &br) != nil || len(br.Results) != 2 || br.Results[1].Code != 421 {
		t.Fatalf("sequence: %d %s", st, body)
	}
}

func TestPagingEveryMessageOnce(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA}, nil, nil)
	u := newUser(t)
	var want []string
	for i := range 60 {
		p := u.store(0, randomData(t, 100+i*37), time.Hour)
		if st, body := do(t, tn.nodes[i%5], p); st != 200 {
			t.Fatalf("store %d: %d %s", i, st, body)
		}
		want = append(want, p.Hash())
	}
	for _, n := range tn.nodes {
		for _, maxCount := range []int{1, 7, 60, 0} {
			got, err := retrieveAll(t, n, u, 0, maxCount)
			if err != nil {
				t.Fatal(err)
			}
			if !sameSet(got, want) || len(got) != len(want) {
				t.Fatalf("max_count %d on %s: %d messages, want %d once each", maxCount, n.keys.Ed25519Public(), len(got), len(want))
			}
		}
	}
	// max_size pages by the size estimate and still returns everything once.
	var got []string
	last := ""
	for {
		st, body := do(t, tn.nodes[3], u.retrieve(0, last, 0, 3*storagerpc.RetrieveSize(want[0], 2000)))
		var r storagerpc.RetrieveResponse
		if st != 200 || json.Unmarshal(body, &r) != nil || len(r.Messages) == 0 {
			t.Fatalf("retrieve by size: %d %s", st, body)
		}
		for _, m := range r.Messages {
			got = append(got, m.Hash)
		}
		if !r.More {
			break
		}
		last = r.Messages[len(r.Messages)-1].Hash
	}
	if !sameSet(got, want) || len(got) != len(want) {
		t.Fatalf("by size: %d messages", len(got))
	}
}

func sameSet(a, b []string) bool {
	m := make(map[string]int)
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestIfElse: the branch follows the node's hard fork, version and
// height; the branch's own status (a 421 here) is its result, and an
// empty branch gives no result.
func TestIfElse(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA}, []uint64{swarmB, swarmB}, nil)
	mine := userIn(t, []uint64{swarmA, swarmB}, swarmA)
	other := userIn(t, []uint64{swarmA, swarmB}, swarmB)
	i64 := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name       string
		p          *storagerpc.IfElseParams
		condition  bool
		resultCode int // 0: no result
	}{
		{"then", &storagerpc.IfElseParams{If: storagerpc.Condition{HFAtLeast: &[2]int{19, 1}, HeightAtLeast: i64(0)},
			Then: mine.retrieve(0, "", 0, 0), Else: other.retrieve(0, "", 0, 0)}, true, 200},
		{"else", &storagerpc.IfElseParams{If: storagerpc.Condition{VBefore: &[3]int{2, 0, 0}},
			Then: mine.retrieve(0, "", 0, 0), Else: other.retrieve(0, "", 0, 0)}, false, 421},
		{"empty branch", &storagerpc.IfElseParams{If: storagerpc.Condition{HFBefore: &[2]int{19, 0}},
			Then: &storagerpc.InfoParams{}}, false, 0},
		{"nested", &storagerpc.IfElseParams{If: storagerpc.Condition{HeightBefore: i64(1 << 40)},
			Then: &storagerpc.IfElseParams{If: storagerpc.Condition{VAtLeast: &[3]int{2, 11, 0}}, Then: &storagerpc.InfoParams{}}}, true, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := do(t, tn.nodes[0], tc.p)
			var resp storagerpc.IfElseResponse
			if st != 200 || json.Unmarshal(body, &resp) != nil {
				t.Fatalf("%d %s", st, body)
			}
			if resp.HF != [2]int{21, 0} || resp.V[0] != 2 || resp.Condition != tc.condition {
				t.Fatalf("answer %s", body)
			}
			switch {
			case tc.resultCode == 0 && resp.Result != nil:
				t.Fatalf("result for an empty branch: %s", body)
			case tc.resultCode != 0 && (resp.Result == nil || resp.Result.Code != tc.resultCode):
				t.Fatalf("result %s, want code %d", body, tc.resultCode)
			}
		})
	}
}

package snode

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"sotto.dev/ledger"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// The attacks of issue 11 ("Anti-entropy and handoff carry proof, not
// word"): a listed node pushes, over real node-to-node TLS, rows it cannot
// prove — a tombstone dated a minute ahead that deletes a user's message,
// a row in signed namespace 2 that expires in 2100, and the unrevocation
// of a revoked subaccount. From a node of another swarm, from a
// decommissioned node and from a member of the account's own swarm, every
// push must leave the victim's data as it was.

// year2100 is an expiry far beyond any namespace's maximum TTL.
const year2100 = 4102444800000

// attackNet is a swarm A of two nodes, a node of swarm B and a node
// decommissioned from swarm B; u's account belongs to swarm A, which holds
// one of u's messages and a revoked subaccount token of u's.
type attackNet struct {
	tn            *testNet
	victim, peer  *testNode // members of swarm A
	other, decomm *testNode // a live node of swarm B; a decommissioned one
	u             *user
	msg           *storagerpc.StoreParams
	token         storagerpc.SubaccountToken
}

func newAttackNet(t *testing.T) *attackNet {
	t.Helper()
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmB, swarmB}, nil, nil)
	an := &attackNet{tn: tn, victim: tn.nodes[0], peer: tn.nodes[1], other: tn.nodes[2], decomm: tn.nodes[3]}
	an.decomm.state = ledger.StateDecommissioned
	tn.update()
	eventually(t, 10*time.Second, func() error {
		for _, n := range tn.live() {
			if p := n.node.mem.Load().byKey[an.decomm.keys.Ed25519Public()]; p == nil || p.State != ledger.StateDecommissioned {
				return errNotYet
			}
		}
		return nil
	})
	an.u = userIn(t, []uint64{swarmA, swarmB}, swarmA)
	an.msg = an.u.store(1, []byte("a message its owner keeps"), time.Hour)
	if st, body := do(t, an.victim, an.msg); st != 200 {
		t.Fatalf("store: %d %s", st, body)
	}
	sub := newUser(t)
	an.token = storagerpc.NewSubaccountToken(an.u.acct.Prefix(), storagerpc.SubaccountRead|storagerpc.SubaccountWrite|storagerpc.SubaccountDelete, sub.keys.Ed25519Public())
	ts := nowMs()
	toks := []storagerpc.SubaccountToken{an.token}
	rev := &storagerpc.RevokeSubaccountParams{Account: an.u.acct, Tokens: toks, Timestamp: ts,
		Auth: an.u.auth(storagerpc.RevokeSubaccountSigMessage(ts, toks))}
	if st, body := do(t, an.victim, rev); st != 200 {
		t.Fatalf("revoke: %d %s", st, body)
	}
	an.checkIntact(t)
	return an
}

// forgedRows are the three changes no owner signed.
func (an *attackNet) forgedRows() aeRecords {
	acct := storeAccount(an.u.acct)
	now := nowMs()
	data := []byte("planted by a node")
	return aeRecords{
		Records: []aeRecord{
			{Account: acct.Hex(), NS: 1, Hash: an.msg.Hash(), Timestamp: an.msg.Timestamp, Expiry: an.msg.Expiry, MTime: now + 60_000, Deleted: true},
			{Account: acct.Hex(), NS: 2, Hash: storagerpc.MessageHash(an.u.acct, 2, data), Timestamp: now, Expiry: year2100, MTime: now, Data: data},
		},
		Revocations: []aeRevocation{{Account: acct.Hex(), Token: an.token[:], Revoked: false, MTime: now + 60_000}},
	}
}

// checkIntact reports whether the victim still holds the message, holds
// nothing in namespace 2 and keeps the token revoked.
func (an *attackNet) intact(ctx context.Context) error {
	st := an.victim.node.store
	recs, err := st.Fetch(ctx, []string{an.msg.Hash()})
	if err != nil {
		return err
	}
	if len(recs) != 1 || recs[0].Deleted {
		return fmt.Errorf("the user's message was deleted")
	}
	data := []byte("planted by a node")
	if recs, err := st.Fetch(ctx, []string{storagerpc.MessageHash(an.u.acct, 2, data)}); err != nil || len(recs) != 0 {
		return fmt.Errorf("a row was planted in namespace 2 (%v)", err)
	}
	revoked, err := st.IsRevoked(ctx, storeAccount(an.u.acct), [store.TokenSize]byte(an.token))
	if err != nil || !revoked {
		return fmt.Errorf("the subaccount was unrevoked (%v)", err)
	}
	return nil
}

func (an *attackNet) checkIntact(t *testing.T) {
	t.Helper()
	if err := an.intact(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestAttackPushFromOtherSwarm: nodes that are not members of the
// account's swarm push forged rows to a member, on the anti-entropy push
// and on the handoff endpoint; they are refused.
func TestAttackPushFromOtherSwarm(t *testing.T) {
	an := newAttackNet(t)
	body, err := json.Marshal(an.forgedRows())
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []*testNode{an.other, an.decomm} {
		for _, path := range []string{pathAEPush, pathHandoff} {
			st, out := peerPost(t, from, an.victim, path, body)
			if st == 200 {
				var pr aePushResp
				_ = json.Unmarshal(out, &pr)
				if pr.Applied > 0 {
					t.Errorf("%s from %s: applied %d rows", path, from.keys.Ed25519Public(), pr.Applied)
				}
			}
			an.checkIntact(t)
		}
	}
	// The other anti-entropy endpoints are refused too: a node of another
	// swarm may not read a swarm's headers or rows.
	for _, path := range []string{pathAEBuckets, pathAEHeaders, pathAEFetch} {
		if st, _ := peerPost(t, an.other, an.victim, path, []byte(`{}`)); st != 403 {
			t.Errorf("%s from another swarm: %d, want 403", path, st)
		}
	}
}

// TestAttackPushFromSwarmPeer: a member of the account's own swarm pushes
// the forged rows; without the owner's signed requests they are refused
// and counted.
func TestAttackPushFromSwarmPeer(t *testing.T) {
	an := newAttackNet(t)
	body, err := json.Marshal(an.forgedRows())
	if err != nil {
		t.Fatal(err)
	}
	st, out := peerPost(t, an.peer, an.victim, pathAEPush, body)
	if st != 200 {
		t.Fatalf("push from a swarm peer: %d %s", st, out)
	}
	var pr aePushResp
	if err := json.Unmarshal(out, &pr); err != nil {
		t.Fatal(err)
	}
	if pr.Applied != 0 || pr.Rejected != 3 {
		t.Errorf("push answered %+v, want 3 rejected, none applied", pr)
	}
	an.checkIntact(t)
	if got := refusedTotal(an.victim.node); got < 3 {
		t.Errorf("refused rows counted: %v, want at least 3", got)
	}
}

// refusedTotal sums snode_antientropy_refused_total over its reasons.
func refusedTotal(n *Node) float64 {
	var sum float64
	for _, r := range []string{refusedAccount, refusedHash, refusedTime, refusedTTL, refusedNoProof, refusedProof} {
		var m dto.Metric
		if err := n.met.aeRefused.WithLabelValues(r).Write(&m); err == nil {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// TestStorageTestOnlyForTesters: the storage test answers the validators of
// an open quorum in which the node is a worker, and no other listed node.
func TestStorageTestOnlyForTesters(t *testing.T) {
	tn := healthNet(t)
	target, tester, other := tn.nodes[1], tn.nodes[0], tn.nodes[2]
	quorum := ledger.QuorumInfo{
		Validators: []string{tester.keys.Ed25519Public().String(), target.keys.Ed25519Public().String()},
		Workers:    []string{target.keys.Ed25519Public().String(), other.keys.Ed25519Public().String()},
	}
	target.node.quorums.set(func(context.Context) ([]ledger.QuorumInfo, error) { return []ledger.QuorumInfo{quorum}, nil })
	u := userIn(t, []uint64{swarmA, swarmB}, swarmA)
	p := u.store(0, []byte("kept"), time.Hour)
	if st, body := do(t, tester, p); st != 200 {
		t.Fatalf("store: %d %s", st, body)
	}
	body := []byte(`{"hash":"` + p.Hash() + `"}`)
	if st, out := peerPost(t, tester, target, pathStorageTest, body); st != 200 {
		t.Errorf("a tester of the node: %d %s", st, out)
	}
	// other is a worker of the same quorum, not a validator; the fourth
	// node is in none.
	for _, from := range []*testNode{other, tn.nodes[3]} {
		if st, out := peerPost(t, from, target, pathStorageTest, body); st != 403 {
			t.Errorf("a listed node not testing it: %d %s", st, out)
		}
	}
	// Without a ledger client the node knows no quorum and answers nobody.
	target.node.quorums.set(nil)
	if st, _ := peerPost(t, tester, target, pathStorageTest, body); st != 403 {
		t.Errorf("without quorums: %d", st)
	}
}

// TestProvenChangesConverge: every kind of change a client makes reaches a
// member that was down through anti-entropy, with its proof, and nothing
// is refused; the same proofs, bent to another row, are refused.
func TestProvenChangesConverge(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA}, nil, nil)
	entry, down := tn.nodes[0], tn.nodes[2]
	u := userIn(t, []uint64{swarmA}, swarmA)
	tn.stop(down)

	ok := func(what string, req storagerpc.Request) {
		t.Helper()
		if st, body := do(t, entry, req); st != 200 {
			t.Fatalf("%s: %d %s", what, st, body)
		}
	}
	m1, m2, m3 := u.store(1, []byte("one"), time.Hour), u.store(1, []byte("two"), time.Hour), u.store(1, []byte("three"), time.Hour)
	m4, m5 := u.store(0, []byte("public"), time.Hour), u.store(5, []byte("five"), time.Hour)
	for _, m := range []*storagerpc.StoreParams{m1, m2, m3, m4, m5} {
		ok("store", m)
	}
	del := []string{m1.Hash()}
	ok("delete", &storagerpc.DeleteParams{Account: u.acct, Messages: del, Auth: u.auth(storagerpc.DeleteSigMessage(del))})
	exp := []int64{nowMs() + 30*time.Minute.Milliseconds()}
	ok("expire", &storagerpc.ExpireParams{Account: u.acct, Messages: []string{m2.Hash()}, Expiries: exp,
		Auth: u.auth(storagerpc.ExpireSigMessage(storagerpc.ExpireAny, exp, []string{m2.Hash()}))})
	sel, ts := storagerpc.OneNamespace(5), nowMs()
	ok("delete_all", &storagerpc.DeleteAllParams{Account: u.acct, Namespace: sel, Timestamp: ts, Auth: u.auth(storagerpc.DeleteAllSigMessage(sel, ts))})
	tokA := storagerpc.NewSubaccountToken(u.acct.Prefix(), storagerpc.SubaccountRead, newUser(t).keys.Ed25519Public())
	tokB := storagerpc.NewSubaccountToken(u.acct.Prefix(), storagerpc.SubaccountRead, newUser(t).keys.Ed25519Public())
	both := []storagerpc.SubaccountToken{tokA, tokB}
	ts = nowMs()
	ok("revoke", &storagerpc.RevokeSubaccountParams{Account: u.acct, Tokens: both, Timestamp: ts, Auth: u.auth(storagerpc.RevokeSubaccountSigMessage(ts, both))})
	ts++
	onlyB := []storagerpc.SubaccountToken{tokB}
	ok("unrevoke", &storagerpc.UnrevokeSubaccountParams{Account: u.acct, Tokens: onlyB, Timestamp: ts, Auth: u.auth(storagerpc.UnrevokeSubaccountSigMessage(ts, onlyB))})

	// The rows as the entry holds them before the stopped member is back:
	// once every member holds a tombstone it is dropped (tombstones.go),
	// so the restarted member may keep m1's and m5's only for a moment.
	ctx := context.Background()
	hashes := []string{m1.Hash(), m2.Hash(), m3.Hash(), m4.Hash(), m5.Hash()}
	recs, err := entry.node.store.Fetch(ctx, hashes)
	if err != nil || len(recs) != 5 {
		t.Fatalf("fetch from the entry: %d rows, %v", len(recs), err)
	}
	if !recs[0].Deleted || recs[1].Expiry != exp[0] || recs[2].Deleted || recs[3].Deleted || !recs[4].Deleted {
		t.Errorf("the entry holds %+v", recs)
	}

	tn.restart(down)
	eventually(t, 30*time.Second, func() error { return digestsEqual(tn.live()) })
	for _, n := range tn.live() {
		if got := refusedTotal(n.node); got != 0 {
			t.Errorf("node %s refused %v proven changes", n.keys.Ed25519Public(), got)
		}
	}
	st := down.node.store
	held, err := st.Fetch(ctx, hashes)
	if err != nil {
		t.Fatal(err)
	}
	byHash := map[string]store.Record{}
	for _, r := range held {
		byHash[r.Hash] = r
	}
	for i, want := range recs {
		r, ok := byHash[want.Hash]
		switch {
		case want.Deleted && (!ok || r.Deleted):
			// deleted, its tombstone kept or already dropped
		case !ok:
			t.Errorf("the restarted node lacks m%d", i+1)
		case r.Deleted != want.Deleted || r.Expiry != want.Expiry:
			t.Errorf("the restarted node holds m%d as %+v, want %+v", i+1, r, want)
		}
	}
	acct := storeAccount(u.acct)
	if r, _ := st.IsRevoked(ctx, acct, [store.TokenSize]byte(tokA)); !r {
		t.Error("token A not revoked")
	}
	if r, _ := st.IsRevoked(ctx, acct, [store.TokenSize]byte(tokB)); r {
		t.Error("token B still revoked")
	}

	// The owner's real requests, attached to rows they do not explain.
	pc := down.node.newProofChecker(ctx, down.node.mem.Load(), time.Now())
	bend := func(r store.Record, f func(*store.Record)) *store.Record { f(&r); return &r }
	_, revs, err := st.Export(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	var revA store.Revocation
	for _, r := range revs {
		if r.Token == [store.TokenSize]byte(tokA) {
			revA = r
		}
	}
	for _, c := range []struct {
		name string
		rec  *store.Record
		want string
	}{
		{"the delete of m1 deletes m3", bend(recs[0], func(r *store.Record) { r.Hash, r.Namespace = m3.Hash(), 1 }), refusedProof},
		{"the delete_all of namespace 5 deletes m3", bend(recs[4], func(r *store.Record) { r.Hash, r.Namespace = m3.Hash(), 1 }), refusedProof},
		{"a tombstone dated ahead", bend(recs[0], func(r *store.Record) { r.MTime += 10 * time.Minute.Milliseconds() }), refusedTime},
		{"a tombstone long after its delete", bend(recs[4], func(r *store.Record) { r.MTime += 5*time.Minute.Milliseconds() - time.Hour.Milliseconds() }), refusedProof},
		{"m3 lives longer", bend(recs[2], func(r *store.Record) { r.Expiry += time.Minute.Milliseconds() }), refusedProof},
		{"m3 lives until 2100", bend(recs[2], func(r *store.Record) { r.Expiry = year2100 }), refusedTTL},
		{"m3 without its store", bend(recs[2], func(r *store.Record) { r.StoreProof = nil }), refusedNoProof},
		{"m2 expires later than asked", bend(recs[1], func(r *store.Record) { r.Expiry += time.Minute.Milliseconds() }), refusedProof},
		{"m3 as it is", &recs[2], ""},
		{"m4 in the public inbox, no signature", &recs[3], ""},
	} {
		if got := pc.record(c.rec); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	unrevA := revA
	unrevA.Revoked = false
	if got := pc.revocation(&unrevA); got != refusedProof {
		t.Errorf("token A unrevoked with its revoke request: %q", got)
	}
	if got := pc.revocation(&revA); got != "" {
		t.Errorf("token A's revocation: %q", got)
	}

	// Session's store signature covers neither expiry nor data: a peer can
	// rewrite the expiry in m3's store request and the proof still
	// verifies, but a store never shortens a live message (only a signed
	// expire does), so the push changes nothing.
	req, _ := parseProof(recs[2].StoreProof)
	sp := *req.(*storagerpc.StoreParams)
	sp.Expiry = nowMs() + time.Minute.Milliseconds()
	short := toAERecord(recs[2])
	short.Expiry, short.MTime, short.StoreProof = sp.Expiry, recs[2].MTime+1, makeProof(&sp)
	body, err := json.Marshal(aeRecords{Records: []aeRecord{short}})
	if err != nil {
		t.Fatal(err)
	}
	if code, out := peerPost(t, tn.nodes[1], down, pathAEPush, body); code != 200 || !strings.Contains(string(out), `"applied":0`) {
		t.Errorf("shortening push: %d %s", code, out)
	}
	if got, err := st.Fetch(ctx, []string{m3.Hash()}); err != nil || len(got) != 1 || got[0].Expiry != m3.Expiry {
		t.Errorf("m3 after the shortening push: %+v %v", got, err)
	}
}

// TestPeerBounds: a peer's body is cut at 8 MiB, and a peer holds at most
// its slots of requests in progress on an endpoint.
func TestPeerBounds(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA}, nil, nil)
	big := []byte(`{"records":[{"data":"` + strings.Repeat("A", maxPeerBody) + `"}]}`)
	if st, _ := peerPost(t, tn.nodes[1], tn.nodes[0], pathAEPush, big); st != 413 {
		t.Errorf("a push over 8 MiB: %d, want 413", st)
	}

	s := newPeerSlots(peerAESlots)
	a, b := tn.nodes[0].keys.Ed25519Public(), tn.nodes[1].keys.Ed25519Public()
	for i := range peerAESlots {
		if !s.acquire(a) {
			t.Fatalf("slot %d refused", i)
		}
	}
	if s.acquire(a) {
		t.Error("a request beyond the peer's slots was admitted")
	}
	if !s.acquire(b) {
		t.Error("another peer was refused")
	}
	s.release(a)
	if !s.acquire(a) {
		t.Error("a released slot was not given again")
	}
	for range peerAESlots {
		s.release(a)
	}
	s.release(b)
	if len(s.m) != 0 {
		t.Errorf("%d peers left in the map", len(s.m))
	}
}

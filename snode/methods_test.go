package snode

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"
)

// actor signs requests for an account: its owner, or a subaccount.
type actor struct {
	acct storagerpc.Account
	sign func(msg []byte) storagerpc.Auth
}

func newGroup(t testing.TB) *identity.Keys {
	t.Helper()
	k, err := identity.KeysFromSeed(randomData(t, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func groupAccount(g *identity.Keys) storagerpc.Account {
	return storagerpc.NewAccount(key.PrefixGroup, g.Ed25519Public())
}

func groupActor(g *identity.Keys) actor {
	return actor{acct: groupAccount(g), sign: func(msg []byte) storagerpc.Auth {
		sig := storagerpc.Signature(g.Sign(msg))
		return storagerpc.Auth{Signature: &sig}
	}}
}

func subToken(g, sub *identity.Keys, flags storagerpc.SubaccountFlags) storagerpc.SubaccountToken {
	return storagerpc.NewSubaccountToken(key.PrefixGroup, flags, sub.Ed25519Public())
}

func subActor(g, sub *identity.Keys, flags storagerpc.SubaccountFlags) actor {
	tok := subToken(g, sub, flags)
	tokSig := storagerpc.Signature(g.Sign(tok[:]))
	return actor{acct: groupAccount(g), sign: func(msg []byte) storagerpc.Auth {
		sig := storagerpc.Signature(sub.Sign(msg))
		return storagerpc.Auth{Signature: &sig, Subaccount: &storagerpc.SignedSubaccount{Token: tok, Sig: tokSig}}
	}}
}

// corrupt flips a bit of the request signature.
func corrupt(a storagerpc.Auth) storagerpc.Auth {
	sig := *a.Signature
	sig[10] ^= 1
	a.Signature = &sig
	return a
}

// build makes a request for actor a at time ts (ms); bad corrupts its
// signature. setup returns a hash stored beforehand when the method needs
// one.
type build func(a actor, ts int64, bad bool, hash string) storagerpc.Request

func signed(a actor, bad bool, msg []byte) storagerpc.Auth {
	auth := a.sign(msg)
	if bad {
		auth = corrupt(auth)
	}
	return auth
}

var builders = map[string]build{
	"store": func(a actor, ts int64, bad bool, _ string) storagerpc.Request {
		return &storagerpc.StoreParams{Account: a.acct, Namespace: 11, Timestamp: ts, Expiry: ts + 3_600_000,
			Data: []byte("group message " + time.Now().String()), SigTimestamp: ts, Auth: signed(a, bad, storagerpc.StoreSigMessage(11, ts))}
	},
	"retrieve": func(a actor, ts int64, bad bool, _ string) storagerpc.Request {
		return &storagerpc.RetrieveParams{Account: a.acct, Namespace: 11, Timestamp: ts, Auth: signed(a, bad, storagerpc.RetrieveSigMessage(11, ts))}
	},
	"delete": func(a actor, _ int64, bad bool, h string) storagerpc.Request {
		return &storagerpc.DeleteParams{Account: a.acct, Messages: []string{h}, Auth: signed(a, bad, storagerpc.DeleteSigMessage([]string{h}))}
	},
	"delete_all": func(a actor, ts int64, bad bool, _ string) storagerpc.Request {
		sel := storagerpc.OneNamespace(11)
		return &storagerpc.DeleteAllParams{Account: a.acct, Namespace: sel, Timestamp: ts, Auth: signed(a, bad, storagerpc.DeleteAllSigMessage(sel, ts))}
	},
	"delete_before": func(a actor, ts int64, bad bool, _ string) storagerpc.Request {
		sel := storagerpc.AllNamespaces
		return &storagerpc.DeleteBeforeParams{Account: a.acct, Namespace: sel, Before: ts, Auth: signed(a, bad, storagerpc.DeleteBeforeSigMessage(sel, ts))}
	},
	"expire": func(a actor, ts int64, bad bool, h string) storagerpc.Request {
		exp := []int64{ts + 7_200_000}
		return &storagerpc.ExpireParams{Account: a.acct, Messages: []string{h}, Expiries: exp, Auth: signed(a, bad, storagerpc.ExpireSigMessage(0, exp, []string{h}))}
	},
	"expire_all": func(a actor, ts int64, bad bool, _ string) storagerpc.Request {
		sel := storagerpc.OneNamespace(11)
		exp := ts + 1_800_000
		return &storagerpc.ExpireAllParams{Account: a.acct, Namespace: sel, Expiry: exp, Auth: signed(a, bad, storagerpc.ExpireAllSigMessage(sel, exp))}
	},
	"get_expiries": func(a actor, ts int64, bad bool, h string) storagerpc.Request {
		return &storagerpc.GetExpiriesParams{Account: a.acct, Messages: []string{h}, Timestamp: ts, Auth: signed(a, bad, storagerpc.GetExpiriesSigMessage(ts, []string{h}))}
	},
	"revoke_subaccount": func(a actor, ts int64, bad bool, _ string) storagerpc.Request {
		toks := []storagerpc.SubaccountToken{{3, 1}}
		return &storagerpc.RevokeSubaccountParams{Account: a.acct, Tokens: toks, Timestamp: ts, Auth: signed(a, bad, storagerpc.RevokeSubaccountSigMessage(ts, toks))}
	},
	"unrevoke_subaccount": func(a actor, ts int64, bad bool, _ string) storagerpc.Request {
		toks := []storagerpc.SubaccountToken{{3, 1}}
		return &storagerpc.UnrevokeSubaccountParams{Account: a.acct, Tokens: toks, Timestamp: ts, Auth: signed(a, bad, storagerpc.UnrevokeSubaccountSigMessage(ts, toks))}
	},
}

// TestSignedMethods runs every signed method against a swarm of five:
// accepted when valid; rejected with Session's status for a bad
// signature, a stale timestamp, and a subaccount without the permission.
func TestSignedMethods(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA}, []uint64{swarmB}, nil)
	var g *identity.Keys
	for {
		g = newGroup(t)
		if id, _ := swarm.SelectKey([]uint64{swarmA, swarmB}, g.Ed25519Public()); id == swarmA {
			break
		}
	}
	owner := groupActor(g)
	sub := newGroup(t)
	readOnly := subActor(g, sub, storagerpc.SubaccountRead)
	writeOnly := subActor(g, sub, storagerpc.SubaccountWrite)
	entry := tn.nodes[1]

	storeOne := func() string {
		t.Helper()
		p := builders["store"](owner, nowMs(), false, "").(*storagerpc.StoreParams)
		if st, body := do(t, entry, p); st != 200 {
			t.Fatalf("setup store: %d %s", st, body)
		}
		return p.Hash()
	}
	// stale: for most methods a timestamp 2 min old; for expire-type
	// methods the new expiry is in the past; for delete_before the cut-off
	// is in the future.
	stale := map[string]int64{
		"store": -120_000, "retrieve": -120_000, "delete_all": -120_000, "get_expiries": -120_000,
		"revoke_subaccount": -120_000, "unrevoke_subaccount": 120_000,
		"expire": -10_000_000, "expire_all": -1_900_000, "delete_before": 120_000,
	}
	staleStatus := map[string]int{"expire": 401, "delete_before": 401}
	// permission: an actor that lacks the right, and the status.
	type perm struct {
		a      actor
		status int
	}
	perms := map[string]perm{
		"store":         {readOnly, 401},
		"retrieve":      {writeOnly, 401},
		"delete":        {writeOnly, 401},
		"delete_all":    {writeOnly, 401},
		"delete_before": {readOnly, 401},
		"expire":        {readOnly, 401},
		"expire_all":    {writeOnly, 401},
		"get_expiries":  {writeOnly, 401},
		// revocations accept the account key only, never a subaccount
		"revoke_subaccount":   {readOnly, 401},
		"unrevoke_subaccount": {writeOnly, 401},
	}
	for name, b := range builders {
		t.Run(name, func(t *testing.T) {
			h := storeOne()
			st, body := do(t, entry, b(owner, nowMs(), false, h))
			if st != 200 {
				t.Fatalf("valid: %d %s", st, body)
			}
			if st, body := do(t, entry, b(owner, nowMs(), true, h)); st != 401 {
				t.Errorf("bad signature: %d %s", st, body)
			}
			if off, ok := stale[name]; ok {
				want := 406
				if s, ok := staleStatus[name]; ok {
					want = s
				}
				if st, body := do(t, entry, b(owner, nowMs()+off, false, h)); st != want {
					t.Errorf("stale timestamp: %d %s, want %d", st, body, want)
				}
			}
			p := perms[name]
			if st, body := do(t, entry, b(p.a, nowMs(), false, storeOne())); st != p.status {
				t.Errorf("missing permission: %d %s, want %d", st, body, p.status)
			}
		})
	}

	checkUnsignedAndLimits(t, entry)
	checkRevocation(t, tn, entry, g, sub, owner)
}

// checkUnsignedAndLimits checks namespace permission without subaccounts
// (storing to a private namespace needs a signature, reading any
// namespace needs one), TTL limits and message and body size limits.
func checkUnsignedAndLimits(t *testing.T, entry *testNode) {
	t.Helper()
	u := userIn(t, []uint64{swarmA, swarmB}, swarmA)
	p := u.store(2, []byte("config"), time.Hour)
	p.Auth = storagerpc.Auth{}
	if st, body := do(t, entry, p); st != 401 || !strings.Contains(string(body), "signature required") {
		t.Errorf("unsigned store to namespace 2: %d %s", st, body)
	}
	if st, body := do(t, entry, &storagerpc.RetrieveParams{Account: u.acct}); st != 401 {
		t.Errorf("unsigned retrieve: %d %s", st, body)
	}
	// The public inbox takes unsigned stores.
	if st, body := do(t, entry, u.store(0, []byte("dm"), time.Hour)); st != 200 {
		t.Errorf("unsigned store to namespace 0: %d %s", st, body)
	}
	// Bad TTLs: 403.
	for _, ttl := range []time.Duration{5 * time.Second, 15 * 24 * time.Hour} {
		if st, body := do(t, entry, u.store(0, []byte("x"), ttl)); st != 403 {
			t.Errorf("ttl %v: %d %s", ttl, st, body)
		}
	}
	if st, body := do(t, entry, u.store(2, []byte("x"), 31*24*time.Hour)); st != 403 {
		t.Errorf("ttl 31 days in a private namespace: %d %s", st, body)
	}
	// Oversize message: 400 with Session's text; oversize body: 413.
	if st, body := do(t, entry, u.store(0, make([]byte, storagerpc.MaxMessageSize+3), time.Hour)); st != 400 || !strings.Contains(string(body), "exceeds maximum") {
		t.Errorf("oversize message: %d %s", st, body)
	}
	if st, body := do(t, entry, u.store(0, make([]byte, storagerpc.MaxMessageSize), time.Hour)); st != 200 {
		t.Errorf("largest message: %d %.200s", st, body)
	}
	huge := bytes.Repeat([]byte(" "), 10<<20+1)
	if st, body := rpc(t, entry, huge); st != 413 {
		t.Errorf("oversize body: %d %s", st, body)
	}
}

// checkRevocation checks that a revoked subaccount is refused on every
// member and, unrevoked, accepted again.
func checkRevocation(t *testing.T, tn *testNet, entry *testNode, g, sub *identity.Keys, owner actor) {
	t.Helper()
	rw := subActor(g, sub, storagerpc.SubaccountRead|storagerpc.SubaccountWrite)
	if st, body := do(t, entry, builders["retrieve"](rw, nowMs(), false, "")); st != 200 {
		t.Fatalf("subaccount retrieve: %d %s", st, body)
	}
	tok := subToken(g, sub, storagerpc.SubaccountRead|storagerpc.SubaccountWrite)
	ts := nowMs()
	rev := &storagerpc.RevokeSubaccountParams{Account: owner.acct, Tokens: []storagerpc.SubaccountToken{tok}, Timestamp: ts,
		Auth: owner.sign(storagerpc.RevokeSubaccountSigMessage(ts, []storagerpc.SubaccountToken{tok}))}
	if st, body := do(t, entry, rev); st != 200 {
		t.Fatalf("revoke: %d %s", st, body)
	}
	for _, n := range tn.nodes[:5] {
		if st, body := do(t, n, builders["retrieve"](rw, nowMs(), false, "")); st != 401 {
			t.Errorf("revoked subaccount on %s: %d %s", n.keys.Ed25519Public(), st, body)
		}
	}
	unrev := &storagerpc.UnrevokeSubaccountParams{Account: owner.acct, Tokens: []storagerpc.SubaccountToken{tok}, Timestamp: ts + 1,
		Auth: owner.sign(storagerpc.UnrevokeSubaccountSigMessage(ts+1, []storagerpc.SubaccountToken{tok}))}
	st, body := do(t, entry, unrev)
	if st != 200 {
		t.Fatalf("unrevoke: %d %s", st, body)
	}
	var ur storagerpc.SwarmResponse[storagerpc.SubaccountResult]
	if err := json.Unmarshal(body, &ur); err != nil || len(ur.Swarm) != 5 {
		t.Fatalf("unrevoke response: %s %v", body, err)
	}
	for k, r := range ur.Swarm {
		if r.OK == nil || r.OK.Count == nil || *r.OK.Count != 1 {
			t.Errorf("unrevoke on %s: %s", k, body)
		}
	}
	if st, body := do(t, entry, builders["retrieve"](rw, nowMs(), false, "")); st != 200 {
		t.Errorf("unrevoked subaccount: %d %s", st, body)
	}
}

package storagerpc

import (
	"crypto/ed25519"
	"testing"
	"time"
)

// checkCase is a parsed request checked at testNow.
type checkCase struct {
	name   string
	req    Request
	opt    CheckOptions
	status int
	msg    string
}

func runChecks(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Check(testNow, tc.opt)
			st, msg := StatusOf(err)
			if st != tc.status || (tc.msg != "" && msg != tc.msg) {
				t.Fatalf("Check = %d %q, want %d %q", st, msg, tc.status, tc.msg)
			}
		})
	}
}

func ms(d time.Duration) int64 { return testNow.Add(d).UnixMilli() }

func TestCheckStore(t *testing.T) {
	u := newUser(t, 1)
	g := newGroup(2)
	now := testNow.UnixMilli()
	store := func(ns Namespace, ts, exp int64, signed bool) *StoreParams {
		p := &StoreParams{Account: u.acct, Namespace: ns, Timestamp: ts, Expiry: exp, Data: []byte("x"), SigTimestamp: ts}
		if signed {
			p.Auth = u.auth(p.SigMessage())
		}
		return p
	}
	day := 24 * time.Hour
	badSig := store(2, now, ms(day), true)
	badSig.SigTimestamp++
	sigStale := store(2, now, ms(day), false)
	sigStale.SigTimestamp = ms(-61 * time.Second)
	sigStale.Auth = u.auth(sigStale.SigMessage())

	member := ed25519.NewKeyFromSeed(make([]byte, 32))
	groupStore := func(ns Namespace, flags SubaccountFlags) *StoreParams {
		p := &StoreParams{Account: g.acct, Namespace: ns, Timestamp: now, Expiry: ms(day), SigTimestamp: now}
		sig := Signature(ed25519.Sign(member, p.SigMessage()))
		p.Auth = Auth{Signature: &sig, Subaccount: g.subaccount(member, flags)}
		return p
	}
	revokedAll := CheckOptions{Revoked: func(Account, SubaccountToken) bool { return true }}

	runChecks(t, []checkCase{
		{"public inbox, no auth", store(0, now, ms(day), false), CheckOptions{}, 200, ""},
		{"public inbox, bad signature ignored", func() *StoreParams { p := store(0, now, ms(day), true); p.SigTimestamp++; return p }(), CheckOptions{}, 200, ""},
		{"ttl too short", store(0, now, ms(9*time.Second), false), CheckOptions{}, 403, "Provided expiry/TTL is not valid."},
		{"ttl minimum", store(0, now, ms(10*time.Second), false), CheckOptions{}, 200, ""},
		{"public ttl 14d", store(0, now, ms(14*day), false), CheckOptions{}, 200, ""},
		{"public ttl over 14d", store(0, now, ms(14*day)+1, false), CheckOptions{}, 403, "Provided expiry/TTL is not valid."},
		{"private ttl 30d", store(2, now, ms(30*day), true), CheckOptions{}, 200, ""},
		{"private ttl over 30d", store(2, now, ms(30*day)+1, true), CheckOptions{}, 403, ""},
		{"future timestamp", store(0, ms(11*time.Second), ms(day), false), CheckOptions{}, 406, "Timestamp error: check your clock"},
		{"expired", store(0, ms(-time.Hour), ms(-11*time.Second), false), CheckOptions{}, 406, "Timestamp error: check your clock"},
		{"private, no signature", store(2, now, ms(day), false), CheckOptions{}, 401, "store: signature required to store to namespace 2"},
		{"private, negative ns", store(-11, now, ms(day), false), CheckOptions{}, 401, "store: signature required to store to namespace -11"},
		{"private, signed", store(2, now, ms(day), true), CheckOptions{}, 200, ""},
		{"private, bad signature", badSig, CheckOptions{}, 401, "store signature verification failed"},
		{"private, stale signature time", sigStale, CheckOptions{}, 406, "store signature timestamp too far from current time"},
		{"group write subaccount", groupStore(11, SubaccountWrite), CheckOptions{}, 200, ""},
		{"group read-only subaccount", groupStore(11, SubaccountRead), CheckOptions{}, 401, "store signature verification failed"},
		{"group revoked subaccount", groupStore(11, SubaccountWrite), revokedAll, 401, ""},
		{"outbox needs delete too", groupStore(-1, SubaccountWrite), CheckOptions{}, 401, ""},
		{"outbox write+delete", groupStore(-1, SubaccountWrite|SubaccountDelete), CheckOptions{}, 200, ""},
	})
}

func TestCheckRetrieve(t *testing.T) {
	u := newUser(t, 1)
	g := newGroup(2)
	now := testNow.UnixMilli()
	retrieve := func(ns Namespace, ts int64) *RetrieveParams {
		p := &RetrieveParams{Account: u.acct, Namespace: ns, Timestamp: ts}
		p.Auth = u.auth(p.SigMessage())
		return p
	}
	member := ed25519.NewKeyFromSeed(make([]byte, 32))
	groupRetrieve := func(ns Namespace) *RetrieveParams {
		p := &RetrieveParams{Account: g.acct, Namespace: ns, Timestamp: now}
		sig := Signature(ed25519.Sign(member, p.SigMessage()))
		p.Auth = Auth{Signature: &sig, Subaccount: g.subaccount(member, SubaccountRead)}
		return p
	}
	revokedAll := CheckOptions{Revoked: func(Account, SubaccountToken) bool { return true }}
	wrong := retrieve(0, now)
	wrong.Namespace = 2
	runChecks(t, []checkCase{
		{"unauthenticated inbox", &RetrieveParams{Account: u.acct}, CheckOptions{}, 401, "retrieve: request signature required"},
		{"unauthenticated legacy closed", &RetrieveParams{Account: u.acct, Namespace: -10}, CheckOptions{}, 200, ""},
		{"unauthenticated outbox", &RetrieveParams{Account: u.acct, Namespace: -21}, CheckOptions{}, 200, ""},
		{"signed", retrieve(0, now), CheckOptions{}, 200, ""},
		{"signed ns 2", retrieve(2, now), CheckOptions{}, 200, ""},
		{"signature for another namespace", wrong, CheckOptions{}, 401, "retrieve signature verification failed"},
		{"stale", retrieve(0, ms(-61*time.Second)), CheckOptions{}, 406, "retrieve timestamp too far from current time"},
		{"stale even forwarded", retrieve(0, ms(-65*time.Second)), CheckOptions{Forwarded: true}, 406, ""},
		{"future", retrieve(0, ms(61*time.Second)), CheckOptions{}, 406, ""},
		{"group subaccount", groupRetrieve(11), CheckOptions{}, 200, ""},
		{"group revoked", groupRetrieve(11), revokedAll, 401, ""},
		{"group revoked, unrevocable ns", groupRetrieve(-11), revokedAll, 200, ""},
	})
}

func TestCheckOthers(t *testing.T) {
	u := newUser(t, 1)
	g := newGroup(2)
	now := testNow.UnixMilli()
	hashes := []string{tHash}

	del := &DeleteParams{Account: u.acct, Messages: hashes}
	del.Auth = u.auth(del.SigMessage())
	delBad := *del
	delBad.Messages = []string{"4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHA"}

	delAll := func(ts int64, sel NamespaceSel) *DeleteAllParams {
		p := &DeleteAllParams{Account: u.acct, Namespace: sel, Timestamp: ts}
		p.Auth = u.auth(p.SigMessage())
		return p
	}
	delBefore := func(before int64) *DeleteBeforeParams {
		p := &DeleteBeforeParams{Account: u.acct, Namespace: AllNamespaces, Before: before}
		p.Auth = u.auth(p.SigMessage())
		return p
	}
	expAll := func(exp int64) *ExpireAllParams {
		p := &ExpireAllParams{Account: u.acct, Namespace: OneNamespace(2), Expiry: exp}
		p.Auth = u.auth(p.SigMessage())
		return p
	}
	expire := func(mode ExpireMode, exps ...int64) *ExpireParams {
		p := &ExpireParams{Account: u.acct, Messages: hashes, Expiries: exps, Mode: mode}
		p.Auth = u.auth(p.SigMessage())
		return p
	}
	member := ed25519.NewKeyFromSeed(make([]byte, 32))
	groupExpire := func(mode ExpireMode, flags SubaccountFlags) *ExpireParams {
		p := &ExpireParams{Account: g.acct, Messages: hashes, Expiries: []int64{ms(time.Hour)}, Mode: mode}
		sig := Signature(ed25519.Sign(member, p.SigMessage()))
		p.Auth = Auth{Signature: &sig, Subaccount: g.subaccount(member, flags)}
		return p
	}
	getExp := func(ts int64) *GetExpiriesParams {
		p := &GetExpiriesParams{Account: u.acct, Messages: hashes, Timestamp: ts}
		p.Auth = u.auth(p.SigMessage())
		return p
	}
	tok := g.subaccount(member, SubaccountRead).Token
	revoke := &RevokeSubaccountParams{Account: g.acct, Tokens: []SubaccountToken{tok}, Timestamp: now}
	revoke.Auth = Auth{Signature: g.sign(revoke.SigMessage())}
	revokeAsMember := &RevokeSubaccountParams{Account: g.acct, Tokens: []SubaccountToken{tok}, Timestamp: now}
	memberSig := Signature(ed25519.Sign(member, revokeAsMember.SigMessage()))
	revokeAsMember.Auth = Auth{Signature: &memberSig, Subaccount: g.subaccount(member, 0xff)}
	unrevoke := &UnrevokeSubaccountParams{Account: g.acct, Tokens: []SubaccountToken{tok}, Timestamp: ms(-2 * time.Minute)}
	unrevoke.Auth = Auth{Signature: g.sign(unrevoke.SigMessage())}
	// A revoke signature does not authorise an unrevoke.
	crossed := &UnrevokeSubaccountParams{Account: g.acct, Tokens: revoke.Tokens, Timestamp: now, Auth: revoke.Auth}

	runChecks(t, []checkCase{
		{"delete", del, CheckOptions{}, 200, ""},
		{"delete other hash", &delBad, CheckOptions{}, 401, "delete_msgs signature verification failed"},
		{"delete_all", delAll(now, AllNamespaces), CheckOptions{}, 200, ""},
		{"delete_all ns", delAll(now, OneNamespace(5)), CheckOptions{}, 200, ""},
		{"delete_all stale", delAll(ms(-65*time.Second), NamespaceSel{}), CheckOptions{}, 406, "delete_all timestamp too far from current time"},
		{"delete_all stale forwarded", delAll(ms(-65*time.Second), NamespaceSel{}), CheckOptions{Forwarded: true}, 200, ""},
		{"delete_all very stale forwarded", delAll(ms(-71*time.Second), NamespaceSel{}), CheckOptions{Forwarded: true}, 406, ""},
		{"delete_before", delBefore(ms(time.Minute)), CheckOptions{}, 200, ""},
		{"delete_before future", delBefore(ms(time.Minute) + 1), CheckOptions{}, 401, "delete_before timestamp too far in the future"},
		{"expire_all", expAll(ms(-60 * time.Second)), CheckOptions{}, 200, ""},
		{"expire_all past", expAll(ms(-61 * time.Second)), CheckOptions{}, 406, "expire_all timestamp should be >= current time"},
		{"expire_all past forwarded", expAll(ms(-61 * time.Second)), CheckOptions{Forwarded: true}, 200, ""},
		{"expire", expire(ExpireAny, ms(time.Hour)), CheckOptions{}, 200, ""},
		{"expire multi", expire(ExpireExtend, ms(time.Hour), ms(2*time.Hour)), CheckOptions{}, 200, ""},
		{"expire past", expire(ExpireShorten, ms(-61*time.Second)), CheckOptions{}, 401, "expire: timestamp should be >= current time"},
		{"group expire write", groupExpire(ExpireAny, SubaccountWrite), CheckOptions{}, 200, ""},
		{"group expire shorten without delete", groupExpire(ExpireShorten, SubaccountWrite), CheckOptions{}, 400, "expire: shorten parameter cannot be used with this subaccount token (missing delete access)"},
		{"group expire shorten with delete", groupExpire(ExpireShorten, SubaccountWrite|SubaccountDelete), CheckOptions{}, 200, ""},
		{"group expire read only", groupExpire(ExpireExtend, SubaccountRead), CheckOptions{}, 401, "expire: signature verification failed"},
		{"get_expiries", getExp(now), CheckOptions{}, 200, ""},
		{"get_expiries stale", getExp(ms(-2 * time.Minute)), CheckOptions{}, 406, "get_expiries timestamp too far from current time"},
		{"revoke", revoke, CheckOptions{}, 200, ""},
		{"revoke by a subaccount", revokeAsMember, CheckOptions{}, 401, "revoke_subaccount signature verification failed"},
		{"unrevoke stale", unrevoke, CheckOptions{}, 406, "unrevoke_subaccount timestamp too far from current time"},
		{"unrevoke with a revoke signature", crossed, CheckOptions{}, 401, "unrevoke_subaccount signature verification failed"},
		{"info", &InfoParams{}, CheckOptions{}, 200, ""},
		{"get_swarm", &GetSwarmParams{Account: u.acct}, CheckOptions{}, 200, ""},
		{"oxend", &OxendRequestParams{Endpoint: OxendONSResolve}, CheckOptions{}, 200, ""},
		{"batch", &BatchParams{Requests: []Request{&InfoParams{}}}, CheckOptions{}, 200, ""},
	})

	// ExtendOnly and AppliedExpiries.
	if !groupExpire(ExpireAny, SubaccountWrite).ExtendOnly() || groupExpire(ExpireAny, SubaccountWrite|SubaccountDelete).ExtendOnly() ||
		!expire(ExpireExtend, 1).ExtendOnly() || expire(ExpireShorten, 1).ExtendOnly() {
		t.Error("ExtendOnly")
	}
	got := expire(ExpireAny, ms(time.Hour), ms(40*24*time.Hour)).AppliedExpiries(testNow)
	if got[0] != ms(time.Hour) || got[1] != ms(MaxTTLPrivate) {
		t.Errorf("AppliedExpiries = %v", got)
	}
}

// A whole request made by a client, through the wire, checked by a node.
func TestSignedStoreEndToEnd(t *testing.T) {
	u := newUser(t, 5)
	req := &StoreParams{Account: u.acct, Namespace: NamespaceUserProfile, Timestamp: testNow.UnixMilli(),
		Expiry: ms(time.Hour), Data: []byte("config"), SigTimestamp: testNow.UnixMilli()}
	req.Auth = u.auth(req.SigMessage())
	body, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	m, params, err := DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseParams(m, params)
	if err != nil {
		t.Fatal(err)
	}
	keys := NewKeyCache(4)
	for i := range 2 {
		if err := got.Check(testNow, CheckOptions{Keys: keys}); err != nil {
			t.Fatalf("Check %d: %v (body %s)", i, err, body)
		}
	}
	if st := keys.Stats(); st.Len != 1 || st.Hits != 1 || st.Misses != 1 {
		t.Fatalf("key cache after two checks: %+v, want 1 entry, 1 hit, 1 miss", st)
	}
	// The cache is consulted: a wrong cached image refuses the key.
	lying := NewKeyCache(4)
	lying.add(&u.ed, [32]byte{})
	if st, _ := StatusOf(got.Check(testNow, CheckOptions{Keys: lying})); st != StatusUnauthorized {
		t.Fatalf("Check with a wrong cached conversion: %d", st)
	}
	if acct, ok := got.Owner(); !ok || acct != u.acct {
		t.Fatal("Owner")
	}
	if got.(*StoreParams).Hash() != MessageHash(u.acct, NamespaceUserProfile, []byte("config")) {
		t.Fatal("Hash")
	}
}

package storagerpc

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"sotto.dev/internal/vectors"
	"sotto.dev/key"
)

// The derived.storage_signature.* vectors give a signed message and its
// signature by a 05 account; the builders must produce the same message.
func TestStorageSignatureVectors(t *testing.T) {
	const ts = 1700000000000
	hashes := []string{"hash1", "hash2"}
	builders := map[string][]byte{
		"derived.storage_signature.retrieve ns0":                      RetrieveSigMessage(NamespaceDefault, ts),
		"derived.storage_signature.retrieve ns2 (UserProfile config)": RetrieveSigMessage(NamespaceUserProfile, ts),
		"derived.storage_signature.store ns2":                         StoreSigMessage(NamespaceUserProfile, ts),
		"derived.storage_signature.delete_all all namespaces":         DeleteAllSigMessage(AllNamespaces, ts),
		"derived.storage_signature.delete two hashes":                 DeleteSigMessage(hashes),
		"derived.storage_signature.expire extend":                     ExpireSigMessage(ExpireExtend, []int64{ts}, hashes),
		"derived.storage_signature.get_expiries":                      GetExpiriesSigMessage(ts, hashes),
	}
	vs := vectors.WithPrefix(t, "derived.storage_signature.")
	if len(vs) != len(builders) {
		t.Errorf("%d vectors, %d builders", len(vs), len(builders))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			msg, ok := builders[v.Name]
			if !ok {
				t.Fatalf("no builder for %s", v.Name)
			}
			if want := v.InString(t, "message_utf8"); string(msg) != want {
				t.Fatalf("message = %q, want %q", msg, want)
			}
			priv := ed25519.NewKeyFromSeed(v.InHex(t, "ed25519_seed"))
			want, err := base64.StdEncoding.DecodeString(v.OutString(t, "signature_b64"))
			if err != nil {
				t.Fatal(err)
			}
			sig := Signature(ed25519.Sign(priv, msg))
			if string(sig[:]) != string(want) {
				t.Fatalf("signature mismatch")
			}
			acct, err := ParseAccount(v.InString(t, "pubkey"))
			if err != nil {
				t.Fatal(err)
			}
			ed := key.AccountPublic(v.InHex(t, "pubkey_ed25519"))
			auth := Auth{Signature: &sig, PubkeyEd25519: &ed}
			if err := VerifyAuth(acct, auth, msg, 0, nil); err != nil {
				t.Fatalf("VerifyAuth: %v", err)
			}
			bad := append([]byte{}, msg...)
			bad[len(bad)-1] ^= 1
			if VerifyAuth(acct, auth, bad, 0, nil) == nil {
				t.Fatal("VerifyAuth accepted a changed message")
			}
		})
	}
}

// groups.subaccount_auth: a group member's subaccount retrieve.
func TestSubaccountVector(t *testing.T) {
	v := vectors.Get(t, "groups.subaccount_auth")
	acct, err := ParseAccount(v.OutString(t, "group_id"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseSubaccountToken(v.OutString(t, "subaccount_b64"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Prefix() != key.PrefixGroup || tok.Flags() != SubaccountRead|SubaccountWrite {
		t.Fatalf("token prefix %02x flags %d", tok.Prefix(), tok.Flags())
	}
	var subSig, sig Signature
	if err := subSig.UnmarshalText([]byte(v.OutString(t, "subaccount_sig_b64"))); err != nil {
		t.Fatal(err)
	}
	if err := sig.UnmarshalText([]byte(v.OutString(t, "signature_b64"))); err != nil {
		t.Fatal(err)
	}
	msg := RetrieveSigMessage(999, 1693340111000)
	if want := v.InString(t, "message_utf8"); string(msg) != want {
		t.Fatalf("message %q, want %q", msg, want)
	}
	auth := Auth{Signature: &sig, Subaccount: &SignedSubaccount{Token: tok, Sig: subSig}}
	if err := VerifyAuth(acct, auth, msg, SubaccountRead, nil); err != nil {
		t.Fatalf("VerifyAuth: %v", err)
	}
	notRevoked := func(SubaccountToken) bool { return false }
	if err := VerifyAuth(acct, auth, msg, SubaccountWrite, notRevoked); err != nil {
		t.Fatalf("VerifyAuth write: %v", err)
	}

	var ae *AuthError
	check := func(name string, err error, reason string) {
		t.Helper()
		if !errors.As(err, &ae) || ae.Reason != reason {
			t.Errorf("%s: %v, want %q", name, err, reason)
		}
	}
	check("delete flag", VerifyAuth(acct, auth, msg, SubaccountDelete, nil), reasonSubFlags)
	check("revoked", VerifyAuth(acct, auth, msg, SubaccountRead, func(t SubaccountToken) bool { return t == tok }), reasonRevoked)
	other := NewAccount(0x04, acct.Key())
	check("other prefix", VerifyAuth(other, auth, msg, SubaccountRead, nil), reasonSubPrefix)
	wrongSub := auth
	wrongSub.Subaccount = &SignedSubaccount{Token: tok, Sig: sig}
	check("token signature", VerifyAuth(acct, wrongSub, msg, SubaccountRead, nil), reasonSubSignature)
	check("request signature", VerifyAuth(acct, auth, RetrieveSigMessage(999, 1693340111001), SubaccountRead, nil), reasonBadSignature)
	// With AnyPrefix the token also works under another prefix, but then
	// the owner's signature of the token must cover the new flags.
	anyTok := tok
	anyTok[1] |= byte(SubaccountAnyPrefix)
	anyAuth := Auth{Signature: &sig, Subaccount: &SignedSubaccount{Token: anyTok, Sig: subSig}}
	check("any prefix, old token signature", VerifyAuth(other, anyAuth, msg, SubaccountRead, nil), reasonSubSignature)
}

func TestVerifyAuthRules(t *testing.T) {
	u := newUser(t, 1)
	g := newGroup(7)
	msg := StoreSigMessage(NamespaceUserProfile, testNow.UnixMilli())
	var ae *AuthError
	reason := func(err error) string {
		if err == nil {
			return ""
		}
		if !errors.As(err, &ae) {
			t.Fatalf("not an AuthError: %v", err)
		}
		return ae.Reason
	}

	good := u.auth(msg)
	noEd := good
	noEd.PubkeyEd25519 = nil
	other := newUser(t, 9)
	wrongEd := good
	wrongEd.PubkeyEd25519 = &other.ed
	smallOrder := key.AccountPublic{1} // the identity point
	tiny := good
	tiny.PubkeyEd25519 = &smallOrder
	// −A has the account's X25519 image too, but did not sign.
	negated := u.ed
	negated[31] ^= 0x80
	negEd := good
	negEd.PubkeyEd25519 = &negated

	member := ed25519.NewKeyFromSeed(make([]byte, 32))
	sub := g.subaccount(member, SubaccountRead|SubaccountWrite)
	memberSig := Signature(ed25519.Sign(member, msg))
	// A group cannot use a 05 account's pubkey_ed25519 path; the key
	// in pubkey_ed25519 is ignored for it by VerifyAuth, as by Session.
	groupAuth := Auth{Signature: g.sign(msg)}
	// A 05 account whose 32 bytes happen to be an Ed25519 key its holder
	// can sign with (a tool that signs the way Session's server accepts).
	rawKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	rawAcct := NewAccount(key.PrefixStandard, [32]byte(rawKey.Public().(ed25519.PublicKey)))
	rawSig := Signature(ed25519.Sign(rawKey, msg))
	rawAuth := Auth{Signature: &rawSig}

	for _, tc := range []struct {
		name string
		acct Account
		auth Auth
		need SubaccountFlags
		want string
	}{
		{"05 good", u.acct, good, 0, ""},
		// Without pubkey_ed25519 the account's own bytes verify, as in
		// Session: a real 05 account's X25519 key signs nothing.
		{"05 without pubkey_ed25519", u.acct, noEd, 0, reasonBadSignature},
		{"05 signed by its own bytes as an Ed25519 key", rawAcct, rawAuth, 0, ""},
		{"05 with another key", u.acct, wrongEd, 0, reasonEdMismatch},
		{"05 with a small-order key", u.acct, tiny, 0, reasonEdMismatch},
		{"05 with the negated key", u.acct, negEd, 0, reasonBadSignature},
		{"no signature", u.acct, Auth{}, 0, reasonNoSignature},
		{"03 good", g.acct, groupAuth, 0, ""},
		{"03 signed by a user", g.acct, Auth{Signature: good.Signature}, 0, reasonBadSignature},
		{"03 subaccount", g.acct, Auth{Signature: &memberSig, Subaccount: sub}, SubaccountWrite, ""},
		{"03 subaccount lacks delete", g.acct, Auth{Signature: &memberSig, Subaccount: sub}, SubaccountWrite | SubaccountDelete, reasonSubFlags},
		{"03 subaccount signed by the group", g.acct, Auth{Signature: groupAuth.Signature, Subaccount: sub}, SubaccountRead, reasonBadSignature},
		{"small-order account key", NewAccount(key.PrefixGroup, [32]byte{1}), groupAuth, 0, reasonBadKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reason(VerifyAuth(tc.acct, tc.auth, msg, tc.need, nil)); got != tc.want {
				t.Errorf("VerifyAuth = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseSubaccountToken(t *testing.T) {
	tok := NewSubaccountToken(key.PrefixGroup, SubaccountRead|SubaccountDelete, key.AccountPublic{9, 8, 7})
	b64s := tok.String()
	hexs := ""
	for _, c := range tok {
		hexs += string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
	}
	for _, s := range []string{b64s, hexs} {
		got, err := ParseSubaccountToken(s)
		if err != nil || got != tok {
			t.Errorf("ParseSubaccountToken(%q) = %x, %v", s, got, err)
		}
	}
	if tok.PublicKey() != (key.AccountPublic{9, 8, 7}) || !tok.Has(SubaccountDelete) || tok.Has(SubaccountWrite) {
		t.Error("token accessors")
	}
	for _, bad := range []string{"", b64s[:47], b64s + "A", hexs[:70], "zz" + hexs[2:], b64s[:46] + "=="} {
		if _, err := ParseSubaccountToken(bad); !errors.Is(err, ErrSubaccountToken) {
			t.Errorf("ParseSubaccountToken(%q) err = %v", bad, err)
		}
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := testNow
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{
		{0, true},
		{60 * time.Second, true},
		{-60 * time.Second, true},
		{60*time.Second + time.Millisecond, false},
		{-60*time.Second - time.Millisecond, false},
	} {
		err := CheckTimestamp("retrieve", now.Add(tc.offset).UnixMilli(), now, SignatureTolerance)
		if (err == nil) != tc.ok {
			t.Errorf("offset %v: %v", tc.offset, err)
		}
		if err != nil {
			st, msg := StatusOf(err)
			if st != StatusNotAcceptable || msg != "retrieve timestamp too far from current time" {
				t.Errorf("offset %v: %d %q", tc.offset, st, msg)
			}
		}
	}
}

func TestSignedMessages(t *testing.T) {
	acctTok := NewSubaccountToken(key.PrefixGroup, SubaccountRead, key.AccountPublic{})
	for _, tc := range []struct {
		got  []byte
		want string
	}{
		{StoreSigMessage(NamespaceDefault, 1700000000000), "store1700000000000"},
		{StoreSigMessage(NamespaceGroupMessages, 1700000000000), "store111700000000000"},
		{StoreSigMessage(-21, 5), "store-215"},
		{RetrieveSigMessage(13, 1700000000000), "retrieve131700000000000"},
		{DeleteSigMessage(nil), "delete"},
		{DeleteAllSigMessage(NamespaceSel{}, 1), "delete_all1"},
		{DeleteAllSigMessage(OneNamespace(-10), 1), "delete_all-101"},
		{DeleteBeforeSigMessage(AllNamespaces, 7), "delete_beforeall7"},
		{ExpireSigMessage(ExpireAny, []int64{1, 2}, []string{"a"}), "expire12a"},
		{ExpireSigMessage(ExpireShorten, []int64{9}, []string{"a", "b"}), "expireshorten9ab"},
		{ExpireAllSigMessage(OneNamespace(3), 9), "expire_all39"},
		{RevokeSubaccountSigMessage(5, []SubaccountToken{acctTok}), "revoke_subaccount5" + string(acctTok[:])},
		{UnrevokeSubaccountSigMessage(5, nil), "unrevoke_subaccount5"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func BenchmarkVerifyAuth(b *testing.B) {
	u := newUser(b, 1)
	msg := StoreSigMessage(NamespaceUserProfile, testNow.UnixMilli())
	auth := u.auth(msg)
	for b.Loop() {
		if err := VerifyAuth(u.acct, auth, msg, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// A cached subaccount grant spares the token's signature check, and
// nothing else: revocation, flags, the request signature and a grant
// signed by someone else are still refused.
func TestGrantCache(t *testing.T) {
	v := vectors.Get(t, "groups.subaccount_auth")
	acct, err := ParseAccount(v.OutString(t, "group_id"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseSubaccountToken(v.OutString(t, "subaccount_b64"))
	if err != nil {
		t.Fatal(err)
	}
	var subSig, sig Signature
	if err := subSig.UnmarshalText([]byte(v.OutString(t, "subaccount_sig_b64"))); err != nil {
		t.Fatal(err)
	}
	if err := sig.UnmarshalText([]byte(v.OutString(t, "signature_b64"))); err != nil {
		t.Fatal(err)
	}
	msg := RetrieveSigMessage(999, 1693340111000)
	auth := Auth{Signature: &sig, Subaccount: &SignedSubaccount{Token: tok, Sig: subSig}}
	grants := NewGrantCache(4)
	c := authCaches{grants: grants}
	badMsg := RetrieveSigMessage(999, 1693340111001)
	if verifyAuth(acct, auth, badMsg, SubaccountRead, nil, c) == nil {
		t.Fatal("bad request signature accepted")
	}
	if grants.Stats().Len != 0 {
		t.Fatal("a grant whose request failed was cached")
	}
	for range 2 {
		if err := verifyAuth(acct, auth, msg, SubaccountRead, nil, c); err != nil {
			t.Fatal(err)
		}
	}
	if st := grants.Stats(); st.Len != 1 || st.Hits != 1 {
		t.Fatalf("stats %+v", st)
	}
	var ae *AuthError
	check := func(name string, err error, reason string) {
		t.Helper()
		if !errors.As(err, &ae) || ae.Reason != reason {
			t.Errorf("%s: %v, want %q", name, err, reason)
		}
	}
	check("revoked", verifyAuth(acct, auth, msg, SubaccountRead, func(SubaccountToken) bool { return true }, c), reasonRevoked)
	check("delete flag", verifyAuth(acct, auth, msg, SubaccountDelete, nil, c), reasonSubFlags)
	check("request signature", verifyAuth(acct, auth, badMsg, SubaccountRead, nil, c), reasonBadSignature)
	wrong := auth
	wrong.Subaccount = &SignedSubaccount{Token: tok, Sig: sig}
	check("token signature", verifyAuth(acct, wrong, msg, SubaccountRead, nil, c), reasonSubSignature)
	otherKey := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	other := NewAccount(key.PrefixGroup, [32]byte(otherKey))
	check("other account", verifyAuth(other, auth, msg, SubaccountRead, nil, c), reasonSubSignature)
}

package storagerpc

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// loadTestdata decodes testdata/name into dst.
func loadTestdata(t testing.TB, name string, dst any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// testNow is the clock of the request tests.
var testNow = time.UnixMilli(1_700_000_000_000)

// user is a 05 account with its keys.
type user struct {
	keys *identity.Keys
	acct Account
	ed   key.AccountPublic
}

func newUser(t testing.TB, seedByte byte) *user {
	t.Helper()
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = seedByte + byte(i)
	}
	k, err := identity.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return &user{keys: k, acct: AccountFromSessionID(k.SessionID()), ed: k.Ed25519Public()}
}

// auth signs msg as the user.
func (u *user) auth(msg []byte) Auth {
	sig := Signature(ed25519.Sign(u.keys.Ed25519Private(), msg))
	ed := u.ed
	return Auth{Signature: &sig, PubkeyEd25519: &ed}
}

// group is an 03 account (the group key signs directly).
type group struct {
	priv ed25519.PrivateKey
	acct Account
}

func newGroup(seedByte byte) *group {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = seedByte ^ byte(3*i)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &group{priv: priv, acct: NewAccount(key.PrefixGroup, [32]byte(priv.Public().(ed25519.PublicKey)))}
}

func (g *group) sign(msg []byte) *Signature {
	s := Signature(ed25519.Sign(g.priv, msg))
	return &s
}

// subaccount makes a token for member key priv with flags, signed by g.
func (g *group) subaccount(member ed25519.PrivateKey, flags SubaccountFlags) *SignedSubaccount {
	tok := NewSubaccountToken(key.PrefixGroup, flags, key.AccountPublic(member.Public().(ed25519.PublicKey)))
	return &SignedSubaccount{Token: tok, Sig: Signature(ed25519.Sign(g.priv, tok[:]))}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package groups

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

type testUser struct {
	sk ed25519.PrivateKey
	id key.SessionID
}

func newTestUser(t testing.TB, tag string) testUser {
	t.Helper()
	seed := sha256.Sum256([]byte("groups-test:" + tag))
	k, err := identity.KeysFromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return testUser{sk: k.Ed25519Private(), id: k.SessionID()}
}

func testGroup(t testing.TB) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("groups-test:group"))
	return ed25519.NewKeyFromSeed(seed[:])
}

func newTestKeys(t testing.TB, u testUser, group ed25519.PrivateKey, admin bool) *Keys {
	t.Helper()
	o := KeysOptions{User: u.sk, GroupPublic: group.Public().(ed25519.PublicKey)}
	if admin {
		o.GroupSecret = group
	}
	k, err := NewKeys(o)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSubaccountStorageAuth checks that what SubaccountSign makes passes
// the storage server's verification (storagerpc.VerifyAuth) of a request
// to the group's swarm, for members whose Ed25519 key has either sign,
// and that the server enforces the token's flags and prefix.
func TestSubaccountStorageAuth(t *testing.T) {
	group := testGroup(t)
	admin := newTestKeys(t, newTestUser(t, "admin"), group, true)
	acct := storagerpc.AccountFromSessionID(admin.GroupID())
	ns := storagerpc.Namespace(11)
	signs := map[bool]bool{}
	for i := range 8 {
		m := newTestUser(t, fmt.Sprint("member", i))
		signs[m.sk[63]&0x80 != 0] = true
		for _, tc := range []struct {
			write, del bool
			need       storagerpc.SubaccountFlags
			ok         bool
		}{
			{true, false, storagerpc.SubaccountRead | storagerpc.SubaccountWrite, true},
			{false, false, storagerpc.SubaccountRead, true},
			{false, false, storagerpc.SubaccountWrite, false},
			{true, false, storagerpc.SubaccountDelete, false},
			{true, true, storagerpc.SubaccountDelete, true},
		} {
			auth, err := admin.MakeSubaccount(m.id, tc.write, tc.del)
			if err != nil {
				t.Fatal(err)
			}
			if !VerifySubaccount(group.Public().(ed25519.PublicKey), m.sk, auth, tc.write, tc.del) {
				t.Errorf("VerifySubaccount rejects the member's own grant (write %v, del %v)", tc.write, tc.del)
			}
			msg := storagerpc.StoreSigMessage(ns, 1_700_000_000_000+int64(i))
			sig, err := SubaccountSign(m.sk, auth, msg)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := admin.SubaccountToken(m.id, tc.write, tc.del)
			if err != nil {
				t.Fatal(err)
			}
			if string(tok) != string(sig.Token[:]) {
				t.Errorf("SubaccountToken %x, member's token %x", tok, sig.Token)
			}
			err = storagerpc.VerifyAuth(acct, storagerpc.Auth{
				Signature: (*storagerpc.Signature)(&sig.Signature),
				Subaccount: &storagerpc.SignedSubaccount{
					Token: storagerpc.SubaccountToken(sig.Token),
					Sig:   storagerpc.Signature(sig.TokenSig),
				},
			}, msg, tc.need, nil)
			if (err == nil) != tc.ok {
				t.Errorf("member %d, write %v del %v need %v: VerifyAuth = %v, want ok %v", i, tc.write, tc.del, tc.need, err, tc.ok)
			}
			// Another message under the same signature fails.
			if tc.ok {
				err = storagerpc.VerifyAuth(acct, storagerpc.Auth{
					Signature: (*storagerpc.Signature)(&sig.Signature),
					Subaccount: &storagerpc.SignedSubaccount{
						Token: storagerpc.SubaccountToken(sig.Token),
						Sig:   storagerpc.Signature(sig.TokenSig),
					},
				}, append(msg, '0'), tc.need, nil)
				if err == nil {
					t.Error("VerifyAuth accepts the signature for another message")
				}
			}
		}
	}
	if len(signs) < 2 {
		t.Fatal("the test users do not cover both signs of the Ed25519 key")
	}
}

// TestSubaccountForeignMember checks that a member cannot use another
// member's grant, nor a grant of another group.
func TestSubaccountForeignMember(t *testing.T) {
	group := testGroup(t)
	admin := newTestKeys(t, newTestUser(t, "admin"), group, true)
	a, b := newTestUser(t, "a"), newTestUser(t, "b")
	auth, err := admin.MakeSubaccount(a.id, true, false)
	if err != nil {
		t.Fatal(err)
	}
	pub := group.Public().(ed25519.PublicKey)
	if VerifySubaccount(pub, b.sk, auth, false, false) {
		t.Error("b verifies a's grant")
	}
	other := ed25519.NewKeyFromSeed(make([]byte, 32))
	if VerifySubaccount(other.Public().(ed25519.PublicKey), a.sk, auth, false, false) {
		t.Error("a's grant verifies for another group")
	}
	msg := []byte("retrieve111700000000000")
	sig, err := SubaccountSign(b.sk, auth, msg)
	if err != nil {
		t.Fatal(err)
	}
	err = storagerpc.VerifyAuth(storagerpc.AccountFromSessionID(admin.GroupID()), storagerpc.Auth{
		Signature:  (*storagerpc.Signature)(&sig.Signature),
		Subaccount: &storagerpc.SignedSubaccount{Token: storagerpc.SubaccountToken(sig.Token), Sig: storagerpc.Signature(sig.TokenSig)},
	}, msg, storagerpc.SubaccountRead, nil)
	if err == nil {
		t.Error("the swarm accepts b signing with a's grant")
	}
}

func TestSubaccountErrors(t *testing.T) {
	group := testGroup(t)
	u := newTestUser(t, "m")
	member := newTestKeys(t, u, group, false)
	if _, err := member.MakeSubaccount(u.id, true, false); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("member MakeSubaccount: %v, want ErrNotAdmin", err)
	}
	if _, err := member.SubaccountToken(u.id, true, false); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("member SubaccountToken: %v, want ErrNotAdmin", err)
	}
	admin := newTestKeys(t, newTestUser(t, "admin"), group, true)
	if _, err := admin.MakeSubaccount(admin.GroupID(), true, false); !errors.Is(err, ErrBadKey) {
		t.Errorf("MakeSubaccount(03 id): %v, want ErrBadKey", err)
	}
	for _, n := range []int{0, 99, 101} {
		if _, err := SubaccountSign(u.sk, make([]byte, n), nil); !errors.Is(err, ErrBadKey) {
			t.Errorf("SubaccountSign with %d-byte auth data: %v, want ErrBadKey", n, err)
		}
		if VerifySubaccount(group.Public().(ed25519.PublicKey), u.sk, make([]byte, n), false, false) {
			t.Errorf("VerifySubaccount accepts %d bytes", n)
		}
	}
	if _, err := SubaccountSign(u.sk[:32], make([]byte, SubaccountAuthSize), nil); !errors.Is(err, ErrBadKey) {
		t.Errorf("SubaccountSign with a 32-byte key: %v, want ErrBadKey", err)
	}
}

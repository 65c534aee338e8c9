package groups

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"sotto.dev/identity"
	"sotto.dev/key"
)

func kickUser(t testing.TB, tag string) *identity.Keys {
	t.Helper()
	k, err := identity.KeysFromSeed(testGroupKey("kick:" + tag).Seed())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Every removed member reads its own entry of a kick notice with the
// generation; a member still in the group, and a notice from another
// group, read nothing.
func TestKickNotice(t *testing.T) {
	gsk := testGroupKey("kick")
	pub := gsk.Public().(ed25519.PublicKey)
	a, b, stay := kickUser(t, "a"), kickUser(t, "b"), kickUser(t, "stay")
	notice, err := KickNotice(gsk, []key.SessionID{a.SessionID(), b.SessionID()}, 7, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*identity.Keys{a, b} {
		gen, err := OpenKickNotice(u, pub, notice)
		if err != nil || gen != 7 {
			t.Fatalf("removed member read gen %d, %v", gen, err)
		}
	}
	if _, err := OpenKickNotice(stay, pub, notice); !errors.Is(err, ErrKickNotice) {
		t.Fatalf("a remaining member read the notice: %v", err)
	}
	other := testGroupKey("other").Public().(ed25519.PublicKey)
	if _, err := OpenKickNotice(a, other, notice); !errors.Is(err, ErrKickNotice) {
		t.Fatalf("a notice read under another group's key: %v", err)
	}
	if _, err := OpenKickNotice(a, pub[:31], notice); err == nil {
		t.Fatal("a short group key accepted")
	}
	if _, err := KickNotice(gsk, []key.SessionID{key.SessionID{}}, 1, rand.Reader); err == nil {
		t.Fatal("a notice for a zero ID")
	}
}

func FuzzOpenKickNotice(f *testing.F) {
	gsk := testGroupKey("kick")
	a := kickUser(f, "a")
	notice, err := KickNotice(gsk, []key.SessionID{a.SessionID()}, 3, rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(notice)
	f.Add([]byte("d1:#24:000000000000000000000000e"))
	pub := gsk.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		if gen, err := OpenKickNotice(a, pub, data); err == nil && gen < 0 {
			t.Fatalf("negative generation %d", gen)
		}
	})
}

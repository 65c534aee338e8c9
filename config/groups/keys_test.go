package groups

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"sotto.dev/key"
)

func ids(us ...testUser) []key.SessionID {
	out := make([]key.SessionID, len(us))
	for i, u := range us {
		out[i] = u.id
	}
	return out
}

func TestNewKeysBadInput(t *testing.T) {
	group := testGroup(t)
	pub := group.Public().(ed25519.PublicKey)
	u := newTestUser(t, "u")
	other := ed25519.NewKeyFromSeed(make([]byte, 32))
	for _, tc := range []struct {
		name string
		o    KeysOptions
	}{
		{"no user key", KeysOptions{GroupPublic: pub}},
		{"short user key", KeysOptions{User: u.sk[:63], GroupPublic: pub}},
		{"seed as user key", KeysOptions{User: u.sk[:32], GroupPublic: pub}},
		{"no group key", KeysOptions{User: u.sk}},
		{"short group key", KeysOptions{User: u.sk, GroupPublic: pub[:31]}},
		{"short group secret", KeysOptions{User: u.sk, GroupPublic: pub, GroupSecret: group[:63]}},
		{"group secret of another key", KeysOptions{User: u.sk, GroupPublic: pub, GroupSecret: other}},
		{"garbage dump", KeysOptions{User: u.sk, GroupPublic: pub, Dump: []byte("garbage")}},
		{"dump without keys", KeysOptions{User: u.sk, GroupPublic: pub, Dump: []byte("d1:Alee")}},
		{"dump with a short key", KeysOptions{User: u.sk, GroupPublic: pub, Dump: []byte("d1:Ale1:Lld1:gi0e1:k3:abc1:ti0eeee")}},
		{"dump with unsorted keys", KeysOptions{User: u.sk, GroupPublic: pub,
			Dump: []byte("d1:Ale1:Lld1:gi1e1:k32:" + string(make([]byte, 32)) + "1:ti0eed1:gi0e1:k32:" + string(make([]byte, 32)) + "1:ti0eeee")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewKeys(tc.o); err == nil {
				t.Fatal("NewKeys succeeded")
			}
		})
	}
}

// TestRekeyLoadRoundTrip runs a group's key life: an admin rekeys, members
// load in any order, a member is removed, a new member gets a supplement.
func TestRekeyLoadRoundTrip(t *testing.T) {
	group := testGroup(t)
	au, m0, m1, m2 := newTestUser(t, "admin"), newTestUser(t, "m0"), newTestUser(t, "m1"), newTestUser(t, "m2")
	admin := newTestKeys(t, au, group, true)
	k0, k1, k2 := newTestKeys(t, m0, group, false), newTestKeys(t, m1, group, false), newTestKeys(t, m2, group, false)

	if _, ok := admin.Generation(); ok {
		t.Fatal("a new Keys has a generation")
	}
	msg0, err := admin.Rekey(ids(m1, au, m0, m1)) // any order, duplicates
	if err != nil {
		t.Fatal(err)
	}
	again, err := admin.Rekey(ids(au, m0, m1))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg0, again) {
		t.Fatal("Rekey depends on the order of the members")
	}
	pk, pmsg, ok := admin.Pending()
	if !ok || !bytes.Equal(pmsg, msg0) {
		t.Fatal("no pending key after Rekey")
	}
	if got := admin.EncryptionKeys(); len(got) != 1 || got[0] != pk {
		t.Fatalf("EncryptionKeys = %x, want the pending key", got)
	}
	if found, err := admin.Load("h0", msg0, 1000); err != nil || !found {
		t.Fatalf("admin Load own message: %v, %v", found, err)
	}
	if _, _, ok := admin.Pending(); ok {
		t.Fatal("pending key after loading it")
	}
	for _, k := range []*Keys{k0, k1} {
		if found, err := k.Load("h0", msg0, 1000); err != nil || !found {
			t.Fatalf("member Load: %v, %v", found, err)
		}
		if !slices.Equal(k.EncryptionKeys(), admin.EncryptionKeys()) {
			t.Fatal("member and admin keys differ")
		}
	}
	if found, err := k2.Load("h0", msg0, 1000); err != nil || found {
		t.Fatalf("outsider Load: %v, %v", found, err)
	}
	// libsession keeps no hashes for a user without any key.
	if got := k2.CurrentHashes(); len(got) != 0 {
		t.Fatalf("outsider CurrentHashes = %q, want none", got)
	}

	// m1 is removed; m2 joins by supplement later.
	msg1, err := admin.Rekey(ids(au, m0))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Keys{admin, k0, k1} {
		if _, err := k.Load("h1", msg1, 2000); err != nil {
			t.Fatal(err)
		}
	}
	if g, _ := k0.Generation(); g != 1 {
		t.Fatalf("m0 generation %d, want 1", g)
	}
	if g, _ := k1.Generation(); g != 0 {
		t.Fatalf("removed member generation %d, want 0", g)
	}
	if !slices.Equal(k1.CurrentHashes(), []string{"h0", "h1"}) {
		t.Fatalf("removed member hashes %q", k1.CurrentHashes())
	}
	supp, err := admin.Supplement(ids(m2))
	if err != nil {
		t.Fatal(err)
	}
	if found, err := k2.Load("hs", supp, 3000); err != nil || !found {
		t.Fatalf("supplement Load: %v, %v", found, err)
	}
	if !slices.Equal(k2.EncryptionKeys(), admin.EncryptionKeys()) {
		t.Fatal("the supplement did not give every key")
	}
	if found, err := k0.Load("hs", supp, 3000); err != nil || found {
		t.Fatalf("supplement for another member: %v, %v", found, err)
	}

	// Dump and restore.
	for _, k := range []*Keys{admin, k0, k1, k2} {
		if !k.NeedsDump() {
			t.Fatal("NeedsDump false after changes")
		}
		d := k.Dump()
		if k.NeedsDump() {
			t.Fatal("NeedsDump true after Dump")
		}
		r, err := NewKeys(KeysOptions{User: k.user, GroupPublic: k.groupPublic, GroupSecret: k.groupSecret, Dump: d})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.EncryptionKeys(), k.EncryptionKeys()) || !slices.Equal(r.CurrentHashes(), k.CurrentHashes()) {
			t.Fatal("restored Keys differs")
		}
	}
}

func TestKeysErrors(t *testing.T) {
	group := testGroup(t)
	u := newTestUser(t, "m")
	member := newTestKeys(t, u, group, false)
	if _, err := member.Rekey(ids(u)); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("member Rekey: %v", err)
	}
	if _, err := member.Supplement(ids(u)); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("member Supplement: %v", err)
	}
	admin := newTestKeys(t, newTestUser(t, "admin"), group, true)
	if _, err := admin.Supplement(ids(u)); !errors.Is(err, ErrNoKeys) {
		t.Errorf("Supplement without keys: %v", err)
	}
	if _, err := admin.Rekey([]key.SessionID{admin.GroupID()}); !errors.Is(err, ErrBadKey) {
		t.Errorf("Rekey with a 03 id: %v", err)
	}
	if _, err := member.EncryptMessage([]byte("x"), true, DefaultPadding); !errors.Is(err, ErrNoKeys) {
		t.Errorf("EncryptMessage without keys: %v", err)
	}

	// A bad message changes nothing.
	msg, err := admin.Rekey(ids(u))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := member.Load("h", msg, 1); err != nil {
		t.Fatal(err)
	}
	before := member.Dump()
	bad := bytes.Clone(msg)
	bad[len(bad)-2] ^= 1
	for _, m := range [][]byte{nil, []byte("garbage"), bad, msg[:len(msg)-1]} {
		if _, err := member.Load("bad", m, 2); !errors.Is(err, ErrKeyMessage) {
			t.Errorf("Load(%.20x…): %v, want ErrKeyMessage", m, err)
		}
	}
	if member.NeedsDump() || !bytes.Equal(member.Dump(), before) {
		t.Error("a rejected message changed the Keys")
	}
	other := newTestKeys(t, u, ed25519.NewKeyFromSeed(make([]byte, 32)), false)
	if _, err := other.Load("h", msg, 1); !errors.Is(err, ErrKeyMessage) {
		t.Errorf("Load of another group's message: %v", err)
	}
}

func TestLoadAdminKey(t *testing.T) {
	group := testGroup(t)
	k := newTestKeys(t, newTestUser(t, "m"), group, false)
	if k.Admin() {
		t.Fatal("member is admin")
	}
	for _, bad := range [][]byte{nil, make([]byte, 31), make([]byte, 32), make([]byte, 64), group[:63]} {
		if err := k.LoadAdminKey(bad); !errors.Is(err, ErrBadKey) || k.Admin() {
			t.Errorf("LoadAdminKey(%d bytes) = %v", len(bad), err)
		}
	}
	if err := k.LoadAdminKey(group.Seed()); err != nil || !k.Admin() {
		t.Fatalf("LoadAdminKey(seed) = %v", err)
	}
	k = newTestKeys(t, newTestUser(t, "m"), group, false)
	if err := k.LoadAdminKey(group); err != nil || !k.Admin() {
		t.Fatalf("LoadAdminKey(64 bytes) = %v", err)
	}
	if _, err := k.Rekey(nil); err != nil {
		t.Fatalf("promoted admin cannot rekey: %v", err)
	}
}

// TestNeedsRekey: two admins rekey the same generation.
func TestNeedsRekey(t *testing.T) {
	group := testGroup(t)
	a, b, m := newTestUser(t, "a"), newTestUser(t, "b"), newTestUser(t, "m")
	ka, kb := newTestKeys(t, a, group, true), newTestKeys(t, b, group, true)
	x, err := ka.Rekey(ids(a, b, m))
	if err != nil {
		t.Fatal(err)
	}
	y, err := kb.Rekey(ids(a, b))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Keys{ka, kb} {
		if _, err := k.Load("x", x, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Load("y", y, 2); err != nil {
			t.Fatal(err)
		}
		if !k.NeedsRekey() {
			t.Error("no NeedsRekey after a conflict")
		}
	}
	z, err := ka.Rekey(ids(a, b, m))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ka.Load("z", z, 3); err != nil {
		t.Fatal(err)
	}
	if ka.NeedsRekey() {
		t.Error("NeedsRekey after the next rekey")
	}
	if g, _ := ka.Generation(); g != 1 {
		t.Errorf("generation %d, want 1", g)
	}
}

func TestKeysConcurrent(t *testing.T) {
	group := testGroup(t)
	a, m := newTestUser(t, "a"), newTestUser(t, "m")
	admin, member := newTestKeys(t, a, group, true), newTestKeys(t, m, group, false)
	msg, err := admin.Rekey(ids(a, m))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := member.Load("h", msg, 1); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			ct, err := member.EncryptMessage(fmt.Appendf(nil, "message %d", i), true, DefaultPadding)
			if err != nil {
				t.Error(err)
				return
			}
			if _, _, err := admin.DecryptMessage(ct); err != nil {
				t.Error(err)
			}
			if _, err := member.Load(fmt.Sprint("h", i), msg, int64(i)); err != nil {
				t.Error(err)
			}
			_ = member.Dump()
			_ = member.CurrentHashes()
		})
	}
	wg.Wait()
}

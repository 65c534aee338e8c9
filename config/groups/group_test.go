package groups

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"sotto.dev/config"
	"sotto.dev/identity"
	"sotto.dev/key"
)

// lifecycleUser returns a user's Ed25519 key and Session ID.
func lifecycleUser(t *testing.T, tag string) (ed25519.PrivateKey, key.SessionID) {
	t.Helper()
	k, err := identity.KeysFromSeed(testGroupKey("user:" + tag).Seed())
	if err != nil {
		t.Fatal(err)
	}
	return k.Ed25519Private(), k.SessionID()
}

// TestGroupLifecycle follows one group through its key changes: an admin
// creates it and rekeys, a member reads it, the admin removes a member and
// rekeys (the configs are re-pushed under the new key, which the removed
// member cannot read), the member is promoted and changes the group, and
// every object comes back from its dump.
func TestGroupLifecycle(t *testing.T) {
	gsk := testGroupKey("life")
	admKey, admID := lifecycleUser(t, "adm")
	m0Key, m0ID := lifecycleUser(t, "m0")
	m1Key, m1ID := lifecycleUser(t, "m1")

	adm, err := Open(Options{User: admKey, Secret: gsk})
	if err != nil {
		t.Fatal(err)
	}
	pub := gsk.Public().(ed25519.PublicKey)
	if _, err := Open(Options{User: admKey, Public: testGroupKey("x").Public().(ed25519.PublicKey), Secret: gsk}); !errors.Is(err, ErrGroupKeyMismatch) {
		t.Fatalf("mismatched keys: %v", err)
	}
	m0, err := Open(Options{User: m0Key, Public: pub})
	if err != nil {
		t.Fatal(err)
	}
	m1, err := Open(Options{User: m1Key, Public: pub})
	if err != nil {
		t.Fatal(err)
	}
	if !adm.Admin() || m0.Admin() || adm.ID() != m0.ID() || adm.ID().Prefix() != key.PrefixGroup {
		t.Fatalf("ids %s %s, admin %v %v", adm.ID(), m0.ID(), adm.Admin(), m0.Admin())
	}

	must(t, adm.Members.Set(Member{ID: admID, Name: "Adm", Admin: true}))
	must(t, adm.Members.Set(Member{ID: m0ID, Name: "M0", Invite: InviteSent}))
	must(t, adm.Members.Set(Member{ID: m1ID, Name: "M1", Invite: InviteSent}))
	must(t, adm.Info.SetName("life"))
	if _, err := adm.Info.Push(); !errors.Is(err, config.ErrNoKeys) {
		t.Fatalf("push before the first rekey: %v", err)
	}
	k0, err := adm.Rekey()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Group{adm, m0, m1} {
		if found, err := g.LoadKeyMessage("k0", k0, 1_700_000_000_000); err != nil || !found {
			t.Fatalf("load k0: %v, %v", found, err)
		}
	}
	i1 := push(t, adm.Info.Config, "i1")
	mm1 := push(t, adm.Members.Config, "mm1")
	for _, g := range []*Group{m0, m1} {
		if _, err := g.Info.Merge([]config.Incoming{{Hash: "i1", Data: i1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Members.Merge([]config.Incoming{{Hash: "mm1", Data: mm1}}); err != nil {
			t.Fatal(err)
		}
		if g.Info.Name() != "life" || g.Members.Len() != 3 {
			t.Fatalf("member view: name %q, %d members", g.Info.Name(), g.Members.Len())
		}
	}

	// Remove m1 and rekey: the configs become dirty at the next seqno.
	if ok, err := adm.Members.Erase(m1ID); !ok || err != nil {
		t.Fatalf("erase: %v %v", ok, err)
	}
	infoSeqno := adm.Info.Seqno()
	k1, err := adm.Rekey()
	if err != nil {
		t.Fatal(err)
	}
	if !adm.Info.NeedsPush() || adm.Info.Seqno() != infoSeqno+1 {
		t.Fatalf("after a rekey info needs push %v at seqno %d", adm.Info.NeedsPush(), adm.Info.Seqno())
	}
	if _, err := adm.LoadKeyMessage("k1", k1, 1_700_000_060_000); err != nil {
		t.Fatal(err)
	}
	must(t, adm.Info.SetDescription("after removal"))
	i2 := push(t, adm.Info.Config, "i2")
	if found, err := m1.LoadKeyMessage("k1", k1, 1_700_000_060_000); err != nil || found {
		t.Fatalf("removed member found a key: %v, %v", found, err)
	}
	if acc, _ := m1.Info.Merge([]config.Incoming{{Hash: "i2", Data: i2}}); len(acc) != 0 || m1.Info.Description() != "" {
		t.Fatalf("removed member read the new info: %v %q", acc, m1.Info.Description())
	}
	if found, err := m0.LoadKeyMessage("k1", k1, 1_700_000_060_000); err != nil || !found {
		t.Fatalf("m0 load k1: %v, %v", found, err)
	}
	if m0.Info.NeedsPush() {
		t.Fatal("loading a key message made a member's info dirty")
	}
	if _, err := m0.Info.Merge([]config.Incoming{{Hash: "i2", Data: i2}}); err != nil || m0.Info.Description() != "after removal" {
		t.Fatalf("m0 merge i2: %v, %q", err, m0.Info.Description())
	}

	// Promotion: m0 cannot change the group until it has the group key.
	if err := m0.Info.SetName("m0's"); !errors.Is(err, config.ErrReadOnly) {
		t.Fatalf("member SetName: %v", err)
	}
	if err := m0.LoadAdminKey(testGroupKey("x").Seed()); err == nil {
		t.Fatal("LoadAdminKey took another group's key")
	}
	if err := m0.LoadAdminKey(gsk.Seed()); err != nil {
		t.Fatal(err)
	}
	if !m0.Admin() || m0.Info.ReadOnly() || m0.Members.ReadOnly() {
		t.Fatal("promotion did not make m0 an admin that signs")
	}
	must(t, m0.Info.SetName("m0's"))
	i3 := push(t, m0.Info.Config, "i3")
	if _, err := adm.Info.Merge([]config.Incoming{{Hash: "i3", Data: i3}}); err != nil || adm.Info.Name() != "m0's" {
		t.Fatalf("admin merge of the promoted member's info: %v, %q", err, adm.Info.Name())
	}

	// Dumps.
	if !m0.NeedsDump() {
		t.Fatal("m0 has changes to dump")
	}
	back, err := Open(Options{User: m0Key, Public: pub, Secret: gsk,
		InfoDump: m0.Info.Dump(), MembersDump: m0.Members.Dump(), KeysDump: m0.Keys.Dump()})
	if err != nil {
		t.Fatal(err)
	}
	if back.NeedsDump() {
		t.Fatal("a group just restored needs a dump")
	}
	if back.Info.Name() != "m0's" || back.Members.Len() != 3 || len(back.Info.Keys()) != 2 {
		t.Fatalf("restored: name %q, %d members, %d keys", back.Info.Name(), back.Members.Len(), len(back.Info.Keys()))
	}
	if !bytes.Equal(back.Info.Serialized(), m0.Info.Serialized()) {
		t.Fatal("restored info differs")
	}
}

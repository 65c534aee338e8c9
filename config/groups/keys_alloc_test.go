package groups

import (
	"testing"

	"sotto.dev/key"
)

// TestRekeyAllocsPerMember: each member of a rekey costs the allocations
// of its X25519 (crypto/ecdh) and of its XChaCha20-Poly1305 cipher, and
// no more: the member key hash is reused and the entries share one
// buffer.
func TestRekeyAllocsPerMember(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	admin := newTestKeys(t, newTestUser(t, "admin"), testGroup(t), true)
	members := make([]key.SessionID, 1000)
	for i := range members {
		var x [32]byte
		x[0], x[1], x[2] = byte(i), byte(i>>8), 9
		members[i] = key.NewSessionID(key.PrefixStandard, x)
	}
	allocs := func(n int) float64 {
		return testing.AllocsPerRun(2, func() {
			if _, err := admin.Rekey(members[:n]); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(100), allocs(1000)
	if per := (large - small) / 900; per > 5 {
		t.Errorf("%.2f allocations per member of a rekey (%v for 100 members, %v for 1000), want at most 5", per, small, large)
	}
}

// TestMemberIDsAllocs: the member list of a rekey of 1,000 members is read
// without loading each member's fields, in the order of All.
func TestMemberIDsAllocs(t *testing.T) {
	ms, err := NewMembers(adminOpts(testGroupKey("ids")))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		var x [32]byte
		x[0], x[1] = byte(i*7), byte(i>>8)
		m := NewMember(key.NewSessionID(key.PrefixStandard, x))
		m.Name, m.PicURL, m.PicKey = "member", "http://pic", make([]byte, 32)
		if err := ms.Set(m); err != nil {
			t.Fatal(err)
		}
	}
	ids := ms.IDs()
	all := ms.All()
	if len(ids) != len(all) || len(ids) != 1000 {
		t.Fatalf("%d IDs, %d members", len(ids), len(all))
	}
	for i := range ids {
		if ids[i] != all[i].ID {
			t.Fatalf("IDs()[%d] = %v, All()[%d].ID = %v", i, ids[i], i, all[i].ID)
		}
	}
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	if allocs := testing.AllocsPerRun(5, func() { ms.IDs() }); allocs > 2 {
		t.Errorf("IDs of 1000 members: %v allocations, want at most 2", allocs)
	}
}

// TestLoadSupplementAllocs: a member trying the entries of a supplement to
// 1,000 members allocates nothing per entry that is not its own.
func TestLoadSupplementAllocs(t *testing.T) {
	group := testGroup(t)
	a, m := newTestUser(t, "admin"), newTestUser(t, "m")
	admin := newTestKeys(t, a, group, true)
	msg, err := admin.Rekey(ids(a))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Load("h0", msg, 1); err != nil {
		t.Fatal(err)
	}
	others := make([]key.SessionID, 1000)
	for i := range others {
		var x [32]byte
		x[0], x[1], x[2] = byte(i), byte(i>>8), 7
		others[i] = key.NewSessionID(key.PrefixStandard, x)
	}
	allocs := func(n int) float64 {
		supp, err := admin.Supplement(append(others[:n:n], m.id)) // m's entry is the last
		if err != nil {
			t.Fatal(err)
		}
		member := newTestKeys(t, m, group, false)
		if found, err := member.Load("hs", supp, 2); err != nil || !found {
			t.Fatal(found, err)
		}
		return testing.AllocsPerRun(3, func() {
			if _, err := member.Load("hs", supp, 2); err != nil {
				t.Fatal(err)
			}
		})
	}
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	small, large := allocs(100), allocs(1000)
	if large > small+1 {
		t.Errorf("loading a supplement: %v allocations behind 100 entries, %v behind 1000", small, large)
	}
}

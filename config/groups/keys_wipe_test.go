package groups

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// heldKey returns the index of the first key of ks that is not all zero,
// or -1.
func heldKey(ks []keyInfo) int {
	for i := range ks {
		if ks[i].key != [32]byte{} {
			return i
		}
	}
	return -1
}

// TestKeyCopiesWiped: the arrays a member's keys leave when they grow, the
// room that expired generations leave, and, after Wipe, the whole array
// hold no key.
func TestKeyCopiesWiped(t *testing.T) {
	group := testGroup(t)
	a, m := newTestUser(t, "admin"), newTestUser(t, "m")
	admin := newTestKeys(t, a, group, true)
	member := newTestKeys(t, m, group, false)
	day := KeyExpiry.Milliseconds() / 60
	for i, ts := range []int64{1, 2, 3, 4, 5, 70 * day} {
		msg, err := admin.Rekey(ids(a, m))
		if err != nil {
			t.Fatal(err)
		}
		h := fmt.Sprint("h", i)
		if _, err := admin.Load(h, msg, ts); err != nil {
			t.Fatal(err)
		}
		before := member.keys[:cap(member.keys)]
		if found, err := member.Load(h, msg, ts); err != nil || !found {
			t.Fatalf("load %d: %v %v", i, found, err)
		}
		if cap(member.keys) != cap(before) {
			if j := heldKey(before); j >= 0 {
				t.Errorf("load %d: the array the keys grew out of still holds key %d", i, j)
			}
		}
	}
	if len(member.keys) != 2 {
		t.Fatalf("%d keys after expiry, want 2", len(member.keys))
	}
	if j := heldKey(member.keys[len(member.keys):cap(member.keys)]); j >= 0 {
		t.Errorf("the room expired keys left holds a key at %d", len(member.keys)+j)
	}
	all := member.keys[:cap(member.keys)]
	member.Wipe()
	if j := heldKey(all); j >= 0 {
		t.Errorf("key %d not wiped", j)
	}
}

// TestFailedDumpWiped: a dump that fails after its keys were read leaves
// no key in the Keys that NewKeys drops.
func TestFailedDumpWiped(t *testing.T) {
	k := newTestKeys(t, newTestUser(t, "m"), testGroup(t), false)
	key := strings.Repeat("K", 32)
	dump := "d1:Ale1:Lld1:gi0e1:k32:" + key + "1:ti1eed1:gi1e1:k32:" + key + "1:ti2eee" +
		"1:Pd1:c3:msg1:gi2e1:k3:abcee"
	if err := k.loadDump([]byte(dump)); err == nil {
		t.Fatal("loadDump accepted a pending key of 3 bytes")
	}
	if j := heldKey(k.keys[:cap(k.keys)]); j >= 0 {
		t.Errorf("key %d not wiped", j)
	}
	if !bytes.Equal(k.user, make([]byte, len(k.user))) {
		t.Error("user key not wiped")
	}
}

// TestFailedSupplementWiped: a supplement whose key list turns out bad
// leaves none of the keys read before the bad one.
func TestFailedSupplementWiped(t *testing.T) {
	key := strings.Repeat("K", 32)
	entry := "d1:gi0e1:k32:" + key + "1:ti1ee"
	buf := make([]keyInfo, 0, 4)
	for _, pt := range []string{
		"l" + entry + entry + "d1:gi1ee" + "e", // no k
		"l" + entry + entry,                    // unterminated
	} {
		if _, err := parseSupplement([]byte(pt), buf); err == nil {
			t.Fatalf("parseSupplement(%q) succeeded", pt)
		}
		if j := heldKey(buf[:cap(buf)]); j >= 0 {
			t.Errorf("parseSupplement(%.30q…): key %d not wiped", pt, j)
		}
	}
}

package groups

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math"
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

// TestDumpSizedOnce: Dump writes into one buffer sized in advance, so no
// regrown copy of the keys is left behind, whatever its integers and
// hashes.
func TestDumpSizedOnce(t *testing.T) {
	extreme := keyInfo{gen: math.MinInt64, ts: math.MinInt64}
	if n := len(appendKeyInfo(nil, &extreme)); n > maxKeyInfoSize {
		t.Fatalf("a key info of %d bytes, over maxKeyInfoSize %d", n, maxKeyInfoSize)
	}
	group := testGroup(t)
	a, m := newTestUser(t, "admin"), newTestUser(t, "m")
	key, minInt := strings.Repeat("K", 32), "i-9223372036854775808e"
	restored, err := NewKeys(KeysOptions{User: m.sk, GroupPublic: group.Public().(ed25519.PublicKey),
		Dump: []byte("d1:All" + minInt + "3:abc0:el" + "i9223372036854775807e" + "100:" + strings.Repeat("h", 100) + "ee" +
			"1:Lld1:g" + minInt + "1:k32:" + key + "1:t" + minInt + "ee" +
			"1:Pd1:c3:msg1:g" + minInt + "1:k32:" + key + "ee")})
	if err != nil {
		t.Fatal(err)
	}
	admin, member := newTestKeys(t, a, group, true), newTestKeys(t, m, group, false)
	msg, err := admin.Rekey(ids(a, m)) // a pending key
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := member.Load(fmt.Sprint("hash", i), msg, 1); err != nil {
			t.Fatal(err)
		}
	}
	for name, k := range map[string]*Keys{"restored": restored, "admin": admin, "member": member} {
		d := k.Dump()
		k.mu.Lock()
		size := k.dumpSize()
		k.mu.Unlock()
		if cap(d) != size {
			t.Errorf("%s: Dump of %d bytes regrew its buffer of %d", name, len(d), size)
		}
	}
}

package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// devicesSeed is the account seed both test devices share.
var devicesSeed = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

func newTestDevices(t *testing.T) *Devices {
	t.Helper()
	d, err := NewDevices(Options{Keys: [][32]byte{devicesSeed}})
	if err != nil {
		t.Fatalf("NewDevices: %v", err)
	}
	return d
}

func devID(b byte) DeviceID {
	var id DeviceID
	for i := range id {
		id[i] = b
	}
	return id
}

// devTime is a whole-second time, so that round trips through unix seconds
// compare equal.
func devTime(s int64) time.Time { return time.Unix(1_760_000_000+s, 0) }

func mustUpsert(t *testing.T, d *Devices, dev Device) {
	t.Helper()
	if _, err := d.Upsert(dev); err != nil {
		t.Fatalf("Upsert(%s): %v", dev.ID, err)
	}
}

func TestParseDeviceID(t *testing.T) {
	id := DeviceID{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"00112233445566778899aabbccddeeff", true},
		{"00112233445566778899AABBCCDDEEFF", true},
		{"", false},
		{"00112233445566778899aabbccddeef", false},
		{"00112233445566778899aabbccddeeff00", false},
		{"00112233445566778899aabbccddeefg", false},
		{" 0112233445566778899aabbccddeeff", false},
	} {
		got, err := ParseDeviceID(tc.in)
		if !tc.ok {
			if !errors.Is(err, ErrDeviceID) {
				t.Errorf("ParseDeviceID(%q) = %v, %v; want ErrDeviceID", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != id {
			t.Errorf("ParseDeviceID(%q) = %v, %v; want %v", tc.in, got, err, id)
		}
	}
	if s := id.String(); s != "00112233445566778899aabbccddeeff" {
		t.Errorf("String() = %q", s)
	}
}

func TestNewDeviceID(t *testing.T) {
	a, err := NewDeviceID(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewDeviceID(nil)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two random device IDs are equal: %s", a)
	}
	fixed, err := NewDeviceID(bytes.NewReader(bytes.Repeat([]byte{7}, 16)))
	if err != nil || fixed != devID(7) {
		t.Errorf("NewDeviceID(reader of 7s) = %s, %v", fixed, err)
	}
	if _, err := NewDeviceID(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Error("NewDeviceID from 15 bytes: no error")
	}
}

func FuzzParseDeviceID(f *testing.F) {
	f.Add("00112233445566778899aabbccddeeff")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseDeviceID(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(id.String(), s) {
			t.Fatalf("ParseDeviceID(%q).String() = %q", s, id.String())
		}
	})
}

func TestDevicesUpsert(t *testing.T) {
	d := newTestDevices(t)
	a, b := devID(0xa), devID(0xb)
	if got := d.List(); len(got) != 0 {
		t.Fatalf("new list = %v", got)
	}
	if _, ok := d.Get(a); ok {
		t.Fatal("Get on an empty list found a device")
	}

	changed, err := d.Upsert(Device{ID: a, Name: "laptop", Platform: "sotto-cli linux/amd64", FirstSeen: devTime(100), LastSeen: devTime(100)})
	if err != nil || !changed {
		t.Fatalf("first Upsert = %v, %v", changed, err)
	}
	if !d.NeedsPush() {
		t.Error("no push needed after an upsert")
	}
	want := Device{ID: a, Name: "laptop", Platform: "sotto-cli linux/amd64", FirstSeen: devTime(100), LastSeen: devTime(100)}
	if got, ok := d.Get(a); !ok || got != want {
		t.Fatalf("Get = %+v, %v; want %+v", got, ok, want)
	}

	// The same record again changes nothing.
	if changed, err := d.Upsert(want); err != nil || changed {
		t.Errorf("repeated Upsert = %v, %v; want no change", changed, err)
	}
	// An empty name or platform keeps the stored one; a later first seen
	// and an earlier last seen do not move the stored times.
	if changed, err := d.Upsert(Device{ID: a, FirstSeen: devTime(200), LastSeen: devTime(50)}); err != nil || changed {
		t.Errorf("Upsert of older facts = %v, %v; want no change", changed, err)
	}
	if got, _ := d.Get(a); got != want {
		t.Errorf("after Upsert of older facts: %+v, want %+v", got, want)
	}
	// Later last seen, earlier first seen, new name.
	if changed, err := d.Upsert(Device{ID: a, Name: "work laptop", FirstSeen: devTime(90), LastSeen: devTime(300)}); err != nil || !changed {
		t.Errorf("Upsert of newer facts = %v, %v", changed, err)
	}
	want = Device{ID: a, Name: "work laptop", Platform: "sotto-cli linux/amd64", FirstSeen: devTime(90), LastSeen: devTime(300)}
	if got, _ := d.Get(a); got != want {
		t.Errorf("after Upsert of newer facts: %+v, want %+v", got, want)
	}

	// A record given only its last seen time takes it as first seen.
	mustUpsert(t, d, Device{ID: b, Name: "phone", LastSeen: devTime(10)})
	if got, _ := d.Get(b); got.FirstSeen != devTime(10) || got.LastSeen != devTime(10) {
		t.Errorf("device with only a last seen: %+v", got)
	}
	// List is oldest first.
	list := d.List()
	if len(list) != 2 || list[0].ID != b || list[1].ID != a {
		t.Errorf("List = %+v, want b then a", list)
	}
}

func TestDevicesUpsertRejects(t *testing.T) {
	d := newTestDevices(t)
	id := devID(1)
	for _, tc := range []struct {
		name string
		dev  Device
		err  error
	}{
		{"no time", Device{ID: id, Name: "x"}, ErrDeviceTime},
		{"long name", Device{ID: id, Name: strings.Repeat("n", MaxDeviceNameLen+1), LastSeen: devTime(1)}, ErrDeviceName},
		{"newline in name", Device{ID: id, Name: "a\nb", LastSeen: devTime(1)}, ErrDeviceName},
		{"bad utf-8 name", Device{ID: id, Name: "\xff", LastSeen: devTime(1)}, ErrDeviceName},
		{"long platform", Device{ID: id, Platform: strings.Repeat("p", MaxDevicePlatformLen+1), LastSeen: devTime(1)}, ErrDevicePlatform},
	} {
		changed, err := d.Upsert(tc.dev)
		if !errors.Is(err, tc.err) || changed {
			t.Errorf("%s: Upsert = %v, %v; want %v", tc.name, changed, err, tc.err)
		}
	}
	if d.NeedsPush() || len(d.List()) != 0 {
		t.Errorf("rejected upserts left data: %v", d.List())
	}
	// The limits themselves are accepted.
	mustUpsert(t, d, Device{ID: id, Name: strings.Repeat("é", MaxDeviceNameLen/2), Platform: strings.Repeat("p", MaxDevicePlatformLen), LastSeen: devTime(1)})
}

func TestDevicesRemove(t *testing.T) {
	d := newTestDevices(t)
	a, b := devID(0xa), devID(0xb)
	mustUpsert(t, d, Device{ID: a, Name: "a", LastSeen: devTime(1)})
	mustUpsert(t, d, Device{ID: b, Name: "b", LastSeen: devTime(2)})

	if d.Remove(devID(0xc), devTime(5)) {
		t.Error("Remove of an unknown device reported a change")
	}
	if !d.Remove(b, devTime(5)) {
		t.Fatal("Remove(b) reported no change")
	}
	got, ok := d.Get(b)
	if !ok || !got.IsRemoved() || got.Removed != devTime(5) || got.Name != "b" {
		t.Fatalf("after Remove: %+v, %v", got, ok)
	}
	if d.Remove(b, devTime(9)) {
		t.Error("a second Remove reported a change")
	}
	if got, _ := d.Get(b); got.Removed != devTime(5) {
		t.Errorf("a second Remove moved the removal time to %v", got.Removed)
	}
	// A removed device that still reports itself stays removed.
	mustUpsert(t, d, Device{ID: b, Name: "b again", LastSeen: devTime(10)})
	if got, _ := d.Get(b); !got.IsRemoved() || got.LastSeen != devTime(10) {
		t.Errorf("Upsert after Remove: %+v", got)
	}
	if got, _ := d.Get(a); got.IsRemoved() {
		t.Errorf("a is removed too: %+v", got)
	}
	if n := len(d.List()); n != 2 {
		t.Errorf("List has %d devices, want 2 (removed ones stay listed)", n)
	}
}

func TestDevicesSkipsMalformed(t *testing.T) {
	d := newTestDevices(t)
	id := devID(3)
	mustUpsert(t, d, Device{ID: id, Name: "ok", LastSeen: devTime(1)})
	d.Mutate(func(data Dict) bool {
		all := data.SubDict(devicesKey)
		all["short"] = Dict{deviceName: "bad key", deviceLastSeen: int64(1)}
		all[strings.Repeat("x", DeviceIDSize)] = "not a dict"
		rec := all[string(id[:])].(Dict)
		rec[devicePlatform] = int64(5) // wrong type: reads as absent
		rec[deviceRemoved] = "soon"    // wrong type: not removed
		return true
	})
	list := d.List()
	if len(list) != 1 {
		t.Fatalf("List = %+v, want only the well-formed record", list)
	}
	if got := list[0]; got.ID != id || got.Name != "ok" || got.Platform != "" || got.IsRemoved() {
		t.Errorf("record with mistyped fields = %+v", got)
	}
}

// devPush pushes d and confirms it under hash, returning the stored message.
func devPush(t *testing.T, d *Devices, hash string) Incoming {
	t.Helper()
	p, err := d.Push()
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if len(p.Messages) != 1 {
		t.Fatalf("Push gave %d messages, want 1", len(p.Messages))
	}
	d.ConfirmPushed(p.Seqno, hash)
	return Incoming{Hash: hash, Data: p.Messages[0]}
}

func devMerge(t *testing.T, d *Devices, msgs ...Incoming) {
	t.Helper()
	if _, err := d.Merge(msgs); err != nil {
		t.Fatalf("Merge: %v", err)
	}
}

func TestDevicesPushIsNotWrapped(t *testing.T) {
	d := newTestDevices(t)
	mustUpsert(t, d, Device{ID: devID(1), Name: "a", LastSeen: devTime(1)})
	msg := devPush(t, d, "h1")
	// Not protobuf-wrapped: the stored bytes are the config ciphertext.
	if _, err := Decrypt(msg.Data, devicesSeed, DevicesDomain); err != nil {
		t.Fatalf("Decrypt of the pushed message: %v", err)
	}
	o, err := Open(msg.Data, DevicesKind, [][32]byte{devicesSeed}, nil)
	if err != nil {
		t.Fatalf("Open of the pushed message: %v", err)
	}
	if !bytes.Contains(o.Plain, []byte("1:dd16:")) {
		t.Errorf("opened push has no devices dict: %q", o.Plain)
	}
	// Another domain does not open it.
	if _, err := Decrypt(msg.Data, devicesSeed, "UserProfile"); err == nil {
		t.Error("the push decrypts in the UserProfile domain")
	}
}

func TestDevicesMergeTwoDevices(t *testing.T) {
	devA, devB := newTestDevices(t), newTestDevices(t)
	a, b := devID(0xa), devID(0xb)
	mustUpsert(t, devA, Device{ID: a, Name: "laptop", Platform: "sotto-cli linux/amd64", LastSeen: devTime(10)})
	mA := devPush(t, devA, "a1")

	// B starts from what A pushed, then adds itself.
	devMerge(t, devB, mA)
	mustUpsert(t, devB, Device{ID: b, Name: "desktop", Platform: "sotto-cli linux/arm64", LastSeen: devTime(20)})
	mB := devPush(t, devB, "b1")
	devMerge(t, devA, mB)

	for name, d := range map[string]*Devices{"A": devA, "B": devB} {
		list := d.List()
		if len(list) != 2 || list[0].ID != a || list[1].ID != b {
			t.Errorf("device %s lists %+v, want a then b", name, list)
			continue
		}
		if list[1].Name != "desktop" || list[1].Platform != "sotto-cli linux/arm64" || list[1].FirstSeen != devTime(20) {
			t.Errorf("device %s has b as %+v", name, list[1])
		}
	}
	if !devA.Data().Equal(devB.Data()) {
		t.Errorf("A and B differ:\nA %v\nB %v", devA.Data(), devB.Data())
	}

	// A removes B; B learns it.
	devA.Remove(b, devTime(30))
	devMerge(t, devB, devPush(t, devA, "a2"))
	if got, _ := devB.Get(b); !got.IsRemoved() || got.Removed != devTime(30) {
		t.Errorf("B after merging its removal: %+v", got)
	}
}

func TestDevicesConcurrentUpdatesConverge(t *testing.T) {
	devA, devB := newTestDevices(t), newTestDevices(t)
	a, b := devID(0xa), devID(0xb)
	mustUpsert(t, devA, Device{ID: a, Name: "a", LastSeen: devTime(1)})
	mustUpsert(t, devA, Device{ID: b, Name: "b", LastSeen: devTime(2)})
	devMerge(t, devB, devPush(t, devA, "base"))
	if devA.Seqno() != devB.Seqno() {
		t.Fatalf("seqnos differ after the first merge: %d, %d", devA.Seqno(), devB.Seqno())
	}

	// At the same time: A removes B and names itself; B refreshes its
	// last seen and renames A.
	devA.Remove(b, devTime(50))
	mustUpsert(t, devA, Device{ID: a, Name: "a by a", LastSeen: devTime(50)})
	mustUpsert(t, devB, Device{ID: b, LastSeen: devTime(60)})
	mustUpsert(t, devB, Device{ID: a, Name: "a by b"})
	mA := devPush(t, devA, "a-concurrent")
	mB := devPush(t, devB, "b-concurrent")

	devMerge(t, devA, mB)
	devMerge(t, devB, mA)
	if devA.Seqno() != devB.Seqno() {
		t.Errorf("seqnos differ after the concurrent merge: %d, %d", devA.Seqno(), devB.Seqno())
	}
	if !devA.Data().Equal(devB.Data()) {
		t.Fatalf("A and B did not converge:\nA %v\nB %v", devA.Data(), devB.Data())
	}
	// Different fields of one record both survive: the removal by A and
	// the last seen refresh by B.
	gotB, _ := devA.Get(b)
	if !gotB.IsRemoved() || gotB.LastSeen != devTime(60) {
		t.Errorf("b after the merge: %+v, want removed at 50 and last seen 60", gotB)
	}
	// The same field changed on both sides takes one of the two values.
	gotA, _ := devA.Get(a)
	if gotA.Name != "a by a" && gotA.Name != "a by b" {
		t.Errorf("a's name after the merge = %q", gotA.Name)
	}

	// Each pushes its merge result; the two messages are the same state,
	// and merging them both keeps it.
	want := devA.Data().Clone()
	mA2 := devPush(t, devA, "a-merged")
	mB2 := devPush(t, devB, "b-merged")
	devMerge(t, devA, mB2)
	devMerge(t, devB, mA2)
	if !devA.Data().Equal(want) || !devB.Data().Equal(want) {
		t.Errorf("state changed after exchanging the merge results:\nA %v\nB %v\nwant %v", devA.Data(), devB.Data(), want)
	}
}

func TestDevicesDump(t *testing.T) {
	d := newTestDevices(t)
	mustUpsert(t, d, Device{ID: devID(1), Name: "a", Platform: "p", LastSeen: devTime(1)})
	d.Remove(devID(1), devTime(2))
	dump := d.Dump()
	e, err := NewDevices(Options{Keys: [][32]byte{devicesSeed}, Dump: dump})
	if err != nil {
		t.Fatalf("NewDevices from a dump: %v", err)
	}
	if got, want := e.List(), d.List(); len(got) != 1 || got[0] != want[0] {
		t.Errorf("restored list = %+v, want %+v", got, want)
	}
	if !e.NeedsPush() {
		t.Error("a restored dirty object does not need a push")
	}
}

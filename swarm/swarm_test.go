package swarm

import (
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"testing"

	"sotto.dev/internal/vectors"
)

// key decodes a 66-hex account id into its 32 key bytes (prefix dropped).
func key(t *testing.T, s string) [KeySize]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 1+KeySize {
		t.Fatalf("bad test pubkey %q: %v", s, err)
	}
	return [KeySize]byte(b[1:])
}

func TestPositionVectors(t *testing.T) {
	v := vectors.Get(t, "storage.swarm_space")
	var pks, want []string
	v.In(t, "pubkeys", &pks)
	v.Out(t, "swarm_space_u64_decimal", &want)
	if len(pks) != len(want) || len(pks) == 0 {
		t.Fatalf("vector sizes %d/%d", len(pks), len(want))
	}
	for i, pk := range pks {
		w, err := strconv.ParseUint(want[i], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := Position(key(t, pk)); got != w {
			t.Errorf("Position(%s) = %d, want %d", pk, got, w)
		}
	}
}

func TestPositionTable(t *testing.T) {
	// Further cases named in session-protocol.md §3.6 and Session's
	// storage-server unit tests (unit_test/swarm.cpp).
	for _, tc := range []struct {
		pk   string
		want uint64
	}{
		{"05cf27da303a50ac8c4b2d43d27259505c9bcd73fc21cf2a57902c3d050730b604", 10370619079776428163},
		{"ff0f06693428fca9102a451e3f28d9cc743d8ea60a89ab6aa69eb119470c11cbd3", 9690840703409570833},
		{"05eeeeeeeeeeeeeeee777777777777777711111111111111118888888888888888", 0},
		{"05fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe", 1},
		{"05000000000000000000000000000000000000000000000000ffffffffffffffff", math.MaxUint64},
	} {
		if got := Position(key(t, tc.pk)); got != tc.want {
			t.Errorf("Position(%s) = %d, want %d", tc.pk, got, tc.want)
		}
	}
}

func TestSelectVectors(t *testing.T) {
	v := vectors.Get(t, "storage.swarm_select")
	var ids, want []uint64
	var pks []string
	v.In(t, "swarm_ids", &ids)
	v.In(t, "pubkeys", &pks)
	v.Out(t, "selected_swarm", &want)
	if err := Validate(ids); err != nil {
		t.Fatal(err)
	}
	if len(pks) != len(want) || len(pks) == 0 {
		t.Fatalf("vector sizes %d/%d", len(pks), len(want))
	}
	for i, pk := range pks {
		got, ok := SelectKey(ids, key(t, pk))
		if !ok || got != want[i] {
			t.Errorf("SelectKey(%s) = %d,%v, want %d", pk, got, ok, want[i])
		}
	}
}

func TestSelectTable(t *testing.T) {
	base := []uint64{100, 200, 300, 399, 498, 596, 694}
	withTop := append(append([]uint64{}, base...), math.MaxUint64-19)
	withZero := append([]uint64{0}, withTop...)
	for _, tc := range []struct {
		name string
		ids  []uint64
		pos  uint64
		want uint64
	}{
		{"exact", base, 200, 200},
		{"zero", base, 0, 100},
		{"midpoint goes left", base, 150, 100},
		{"past midpoint goes right", base, 151, 200},
		{"top half to last", base, 1 << 63, 694},
		{"wrap to first", base, 0xa000000000000000, 100},
		{"max u64 to first", base, math.MaxUint64, 100},
		{"long-way midpoint goes left", base, 0x800000000000018d, 694},
		{"long-way past midpoint", base, 0x800000000000018e, 100},
		{"low tie goes to last", withTop, 0x28, math.MaxUint64 - 19},
		{"low past tie", withTop, 0x29, 100},
		{"zero swarm wraps", withZero, math.MaxUint64, 0},
		{"zero swarm near top", withZero, math.MaxUint64 - 1, 0},
		{"single", []uint64{42}, 1 << 62, 42},
		{"two", []uint64{10, 20}, 16, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Select(tc.ids, tc.pos)
			if !ok || got != tc.want {
				t.Errorf("Select(%d) = %d,%v, want %d", tc.pos, got, ok, tc.want)
			}
		})
	}
	if _, ok := Select(nil, 5); ok {
		t.Error("Select on empty list reported a swarm")
	}
}

func TestValidate(t *testing.T) {
	var idErr *IDError
	for _, tc := range []struct {
		ids    []uint64
		reason string
	}{
		{[]uint64{1, 2, 3}, ""},
		{[]uint64{0, MaxID}, ""},
		{nil, "empty"},
		{[]uint64{1, 1}, "duplicate"},
		{[]uint64{2, 1}, "not sorted"},
		{[]uint64{1, UnassignedID}, "unassigned id"},
	} {
		err := Validate(tc.ids)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("Validate(%v) = %v", tc.ids, err)
		case tc.reason == "empty" && !errors.Is(err, ErrEmpty):
			t.Errorf("Validate(%v) = %v, want ErrEmpty", tc.ids, err)
		case tc.reason != "" && tc.reason != "empty" && (!errors.As(err, &idErr) || idErr.Reason != tc.reason):
			t.Errorf("Validate(%v) = %v, want %s", tc.ids, err, tc.reason)
		}
	}
}

func TestSortedIDs(t *testing.T) {
	got := SortedIDs([]uint64{7, UnassignedID, 3, 7, 1})
	want := []uint64{1, 3, 7}
	if len(got) != len(want) {
		t.Fatalf("SortedIDs = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("SortedIDs = %v, want %v", got, want)
		}
	}
	if err := Validate(got); err != nil {
		t.Fatal(err)
	}
}

// FuzzSelect checks that Select always returns a member of the list that is
// at least as close (wrapping) as every other member.
func FuzzSelect(f *testing.F) {
	f.Add(uint64(150), uint64(100), uint64(200), uint64(300))
	f.Add(uint64(math.MaxUint64), uint64(0), uint64(1<<63), uint64(math.MaxUint64-1))
	f.Fuzz(func(t *testing.T, pos, a, b, c uint64) {
		ids := SortedIDs([]uint64{a, b, c})
		if len(ids) == 0 {
			return
		}
		got, ok := Select(ids, pos)
		if !ok {
			t.Fatal("no swarm")
		}
		dist := func(id uint64) uint64 { return min(id-pos, pos-id) }
		found := false
		for _, id := range ids {
			found = found || id == got
			if dist(id) < dist(got) {
				t.Fatalf("Select(%v, %d) = %d, but %d is closer", ids, pos, got, id)
			}
		}
		if !found {
			t.Fatalf("Select returned %d not in %v", got, ids)
		}
	})
}

func BenchmarkSelect(b *testing.B) {
	ids := make([]uint64, 300)
	for i := range ids {
		ids[i] = uint64(i) * (math.MaxUint64 / 300)
	}
	var k [KeySize]byte
	for i := 0; b.Loop(); i++ {
		k[0] = byte(i)
		k[9] = byte(i >> 8)
		SelectKey(ids, k)
	}
}

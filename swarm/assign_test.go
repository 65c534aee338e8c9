package swarm

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// asgKey returns a distinct test node key for i.
func asgKey(i int) [32]byte {
	var k [32]byte
	binary.BigEndian.PutUint64(k[:8], uint64(i)*0x9e3779b97f4a7c15+1)
	binary.BigEndian.PutUint32(k[8:12], uint32(i))
	return k
}

func asgFresh(from, to int) []Member {
	var ms []Member
	for i := from; i < to; i++ {
		ms = append(ms, Member{Key: asgKey(i), Swarm: UnassignedID})
	}
	return ms
}

func asgRand(seed uint64) Rand { return rand.New(rand.NewPCG(seed, seed^0xabcdef)) }

func asgSizes(ms []Member) map[uint64]int {
	s := make(map[uint64]int)
	for _, m := range ms {
		s[m.Swarm]++
	}
	return s
}

// asgCheck verifies the invariants every assignment must hold.
func asgCheck(t *testing.T, in, out []Member, p AssignParams) {
	t.Helper()
	if len(in) != len(out) {
		t.Fatalf("got %d members, want %d", len(out), len(in))
	}
	keys := func(ms []Member) [][32]byte {
		var ks [][32]byte
		for _, m := range ms {
			ks = append(ks, m.Key)
		}
		slices.SortFunc(ks, func(a, b [32]byte) int { return slices.Compare(a[:], b[:]) })
		return ks
	}
	if !slices.Equal(keys(in), keys(out)) {
		t.Fatal("member set changed")
	}
	sizes := asgSizes(out)
	if _, ok := sizes[UnassignedID]; ok {
		t.Fatal("a node was left unassigned")
	}
	spare := 0
	for id, n := range sizes {
		if len(sizes) > 1 && n < p.MinSize {
			t.Errorf("swarm %d has %d nodes, under the minimum %d", id, n, p.MinSize)
		}
		if n > p.MinSize {
			spare += n - p.MinSize
		}
	}
	if spare >= p.IdealSize+2*len(sizes) {
		t.Errorf("%d spare nodes over %d swarms should have made a new swarm", spare, len(sizes))
	}
}

// asgMoves counts nodes that were in a swarm before and are in another one now.
func asgMoves(in, out []Member) int {
	before := make(map[[32]byte]uint64)
	for _, m := range in {
		before[m.Key] = m.Swarm
	}
	n := 0
	for _, m := range out {
		if b := before[m.Key]; b != UnassignedID && b != m.Swarm {
			n++
		}
	}
	return n
}

func TestAssignBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		ms   []Member
		p    AssignParams
	}{
		{"zero min", asgFresh(0, 3), AssignParams{MinSize: 0, IdealSize: 7}},
		{"ideal under min", asgFresh(0, 3), AssignParams{MinSize: 5, IdealSize: 4}},
		{"duplicate key", append(asgFresh(0, 3), Member{Key: asgKey(1), Swarm: 5}), DefaultAssignParams()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Assign(tc.ms, asgRand(1), tc.p)
			if !errors.Is(err, ErrAssignInput) {
				t.Fatalf("err = %v, want ErrAssignInput", err)
			}
		})
	}
}

func TestAssignTable(t *testing.T) {
	p := DefaultAssignParams()
	for _, tc := range []struct {
		name       string
		in         []Member
		wantSwarms int
		maxMoves   int
	}{
		{"empty", nil, 0, 0},
		{"three nodes share swarm 0", asgFresh(0, 3), 1, 0},
		{"twenty fresh nodes", asgFresh(0, 20), 2, 0},
		{"fifty fresh nodes", asgFresh(0, 50), 7, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Assign(tc.in, asgRand(7), p)
			if err != nil {
				t.Fatal(err)
			}
			asgCheck(t, tc.in, out, p)
			if got := len(asgSizes(out)); got != tc.wantSwarms {
				t.Errorf("%d swarms, want %d (sizes %v)", got, tc.wantSwarms, asgSizes(out))
			}
			if m := asgMoves(tc.in, out); m > tc.maxMoves {
				t.Errorf("%d moves, want at most %d", m, tc.maxMoves)
			}
		})
	}
}

func TestAssignSingleSwarmIsZero(t *testing.T) {
	out, err := Assign(asgFresh(0, 4), asgRand(3), DefaultAssignParams())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out {
		if m.Swarm != 0 {
			t.Fatalf("node in swarm %d, want 0", m.Swarm)
		}
	}
}

func TestAssignStableWithoutChanges(t *testing.T) {
	p := DefaultAssignParams()
	first, err := Assign(asgFresh(0, 61), asgRand(11), p)
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(20) {
		again, err := Assign(first, asgRand(seed), p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(first, again) {
			t.Fatalf("seed %d: an unchanged network was reassigned", seed)
		}
	}
}

func TestAssignDeterministic(t *testing.T) {
	p := DefaultAssignParams()
	in := asgFresh(0, 40)
	a, _ := Assign(in, asgRand(5), p)
	rev := slices.Clone(in)
	slices.Reverse(rev)
	b, _ := Assign(rev, asgRand(5), p)
	if !slices.Equal(a, b) {
		t.Fatal("same input and randomness gave different swarms")
	}
}

func TestAssignRefillMovesOnlyTheDeficit(t *testing.T) {
	p := DefaultAssignParams()
	// Three swarms: 5, 8, 8 nodes. One node of the first swarm leaves: the
	// starving swarm gets exactly one node from a larger one.
	var in []Member
	k := 0
	for _, s := range []struct {
		id uint64
		n  int
	}{{100, 5}, {1 << 62, 8}, {1 << 63, 8}} {
		for range s.n {
			in = append(in, Member{Key: asgKey(k), Swarm: s.id})
			k++
		}
	}
	in = in[1:]
	out, err := Assign(in, asgRand(9), p)
	if err != nil {
		t.Fatal(err)
	}
	asgCheck(t, in, out, p)
	if m := asgMoves(in, out); m != 1 {
		t.Fatalf("%d moves, want 1", m)
	}
	if s := asgSizes(out); s[100] != 5 {
		t.Fatalf("sizes %v: swarm 100 not refilled", s)
	}
}

func TestAssignDissolvesWhenNoSpare(t *testing.T) {
	p := DefaultAssignParams()
	// Two swarms of 5: one loses a node and nobody has spare nodes, so the
	// starving swarm is dissolved into the other.
	var in []Member
	for i := range 10 {
		id := uint64(0)
		if i >= 5 {
			id = 1 << 63
		}
		in = append(in, Member{Key: asgKey(i), Swarm: id})
	}
	in = in[1:]
	out, err := Assign(in, asgRand(2), p)
	if err != nil {
		t.Fatal(err)
	}
	asgCheck(t, in, out, p)
	if s := asgSizes(out); len(s) != 1 || s[1<<63] != 9 {
		t.Fatalf("sizes %v, want one swarm %d of 9", s, uint64(1<<63))
	}
}

// TestAssignChurn joins and removes nodes at random for many rounds and
// checks the invariants after each one, and that an unchanged round moves
// nobody.
func TestAssignChurn(t *testing.T) {
	for _, p := range []AssignParams{DefaultAssignParams(), {MinSize: 2, IdealSize: 3}} {
		r := rand.New(rand.NewPCG(42, uint64(p.MinSize)))
		var cur []Member
		next := 0
		for round := range 300 {
			in := slices.Clone(cur)
			switch op := r.IntN(10); {
			case op < 6: // join 1-4
				for range 1 + r.IntN(4) {
					in = append(in, Member{Key: asgKey(next), Swarm: UnassignedID})
					next++
				}
			case op < 9 && len(in) > 0: // leave 1-3
				for range 1 + r.IntN(3) {
					if len(in) == 0 {
						break
					}
					i := r.IntN(len(in))
					in = slices.Delete(in, i, i+1)
				}
			}
			out, err := Assign(in, asgRand(uint64(round)), p)
			if err != nil {
				t.Fatal(err)
			}
			asgCheck(t, in, out, p)
			cur = out
		}
		if len(asgSizes(cur)) < 2 {
			t.Fatalf("params %+v: churn ended with %d swarms", p, len(asgSizes(cur)))
		}
	}
}

func TestNewSwarmID(t *testing.T) {
	for _, tc := range []struct {
		ids  []uint64
		want uint64
	}{
		{nil, 0},
		{[]uint64{0}, 1 << 63},
		{[]uint64{MaxID}, 1<<63 - 2},
		{[]uint64{1<<63 - 1}, MaxID}, // half way round is UnassignedID
		{[]uint64{0, 1 << 63}, 1 << 62},
		{[]uint64{100, 200, 300, 399, 498, 596, 694}, 1<<63 + 397},
		{[]uint64{0, 1 << 62, 1 << 63}, 1<<63 + 1<<62},
	} {
		if got := NewSwarmID(tc.ids); got != tc.want {
			t.Errorf("NewSwarmID(%v) = %d, want %d", tc.ids, got, tc.want)
		}
	}
}

func BenchmarkAssign2000(b *testing.B) {
	p := DefaultAssignParams()
	base, _ := Assign(asgFresh(0, 2000), asgRand(1), p)
	in := append(slices.Clone(base[10:]), asgFresh(5000, 5010)...)
	b.ResetTimer()
	for i := range b.N {
		if _, err := Assign(in, asgRand(uint64(i)), p); err != nil {
			b.Fatal(err)
		}
	}
}

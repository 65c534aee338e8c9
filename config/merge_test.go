package config

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// chain builds serialized messages of one device, seqno 1…n, each
// setting "n" to its seqno.
func chain(t *testing.T, n int) [][]byte {
	t.Helper()
	m := emptyMessage(DefaultLag, nil, nil)
	var out [][]byte
	for i := 1; i <= n; i++ {
		m = m.increment(m.data.Clone())
		m.data["n"] = int64(i)
		b := m.serialize(true)
		out = append(out, b)
		p, err := parseMessage(b, nil, nil, DefaultLag, false)
		if err != nil {
			t.Fatal(err)
		}
		m = p
	}
	return out
}

func hashLess(a, b []byte) bool {
	ha, hb := hashBytes(a), hashBytes(b)
	return bytes.Compare(ha[:], hb[:]) < 0
}

func TestMergeRedundancy(t *testing.T) {
	msgs := chain(t, 9)
	tests := []struct {
		name   string
		inputs []int // seqnos, 1-based
		want   int   // the input index adopted, -1 for a merge
	}{
		{"single", []int{3}, 0},
		{"newer lists older", []int{2, 3, 4}, 2},
		{"order does not matter", []int{4, 2, 3}, 0},
		{"duplicates", []int{5, 5, 5}, 0},
		{"lag or more behind", []int{1, 6}, 1},
		{"exactly lag behind", []int{9, 4}, 0},
		{"in the newest's lagged list", []int{5, 9}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in [][]byte
			for _, s := range tt.inputs {
				in = append(in, msgs[s-1])
			}
			m, bad, err := mergeMessages(in, nil, nil, DefaultLag)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(bad, true) {
				t.Fatalf("bad inputs %v", bad)
			}
			if m.unmerged != tt.want {
				t.Errorf("adopted %d, want %d", m.unmerged, tt.want)
			}
		})
	}
}

func TestMergeConflictTieBreak(t *testing.T) {
	base := emptyMessage(DefaultLag, nil, nil).increment(Dict{"n": "base", "k": int64(1)})
	baseB := base.serialize(true)
	parsed, err := parseMessage(baseB, nil, nil, DefaultLag, false)
	if err != nil {
		t.Fatal(err)
	}
	a := parsed.increment(Dict{"n": "from A", "k": int64(1)})
	b := parsed.increment(Dict{"n": "from B", "k": int64(1), "x": Set{int64(1): {}}})
	ab, bb := a.serialize(true), b.serialize(true)
	hi, lo := ab, bb
	if hashLess(ab, bb) {
		hi, lo = bb, ab
	}
	hiData := dataOf(t, hi)
	for _, order := range [][][]byte{{ab, bb}, {bb, ab}, {lo, baseB, hi}} {
		m, _, err := mergeMessages(order, nil, nil, DefaultLag)
		if err != nil {
			t.Fatal(err)
		}
		if m.unmerged != -1 || m.seqno != 3 {
			t.Fatalf("unmerged %d, seqno %d", m.unmerged, m.seqno)
		}
		if m.data.String("n") != hiData.String("n") {
			t.Errorf("name %q, want the larger hash's %q", m.data.String("n"), hiData.String("n"))
		}
		if !m.data.Set("x").Has(int64(1)) {
			t.Error("B's set lost")
		}
		// Both diffs and the base's are now lagged diffs of the merge.
		if len(m.lagged) != 4 {
			t.Errorf("%d lagged diffs, want 4 (seqnos 0, 1, 2, 2)", len(m.lagged))
		}
	}
}

func TestMergeNothingValid(t *testing.T) {
	_, bad, err := mergeMessages([][]byte{[]byte("junk"), nil}, nil, nil, DefaultLag)
	if !errors.Is(err, ErrNoValidConfig) || !slices.Equal(bad, []bool{true, true}) {
		t.Errorf("err %v, bad %v", err, bad)
	}
	if err.Error() != "Config initialization failed: no valid config messages given" {
		t.Errorf("error text %q", err)
	}
}

func TestMergeSkipsBadInput(t *testing.T) {
	msgs := chain(t, 3)
	m, bad, err := mergeMessages([][]byte{msgs[1], []byte("d1:#i9ee"), msgs[2]}, nil, nil, DefaultLag)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bad, []bool{false, true, false}) || m.unmerged != 2 {
		t.Errorf("bad %v, adopted %d; want input 2", bad, m.unmerged)
	}
}

// Group configs: admins sign; a member who can only verify adopts the
// highest (seqno, hash) instead of merging (config.cpp:634-648).
func TestMergeSigned(t *testing.T) {
	sk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	pk := sk.Public().(ed25519.PublicKey)
	base := emptyMessage(DefaultLag, pk, sk).increment(Dict{"n": "g"})
	baseB := base.serialize(true)
	p, err := parseMessage(baseB, pk, sk, DefaultLag, false)
	if err != nil {
		t.Fatal(err)
	}
	a := p.increment(Dict{"n": "g", "a": int64(1)}).serialize(true)
	b := p.increment(Dict{"n": "g", "b": int64(1)}).serialize(true)
	best := a
	if hashLess(a, b) {
		best = b
	}

	m, _, err := mergeMessages([][]byte{a, b}, pk, nil, DefaultLag)
	if err != nil {
		t.Fatal(err)
	}
	if m.unmerged == -1 || !bytes.Equal(m.serialize(true), best) {
		t.Errorf("member adopted %d, want the highest hash as is", m.unmerged)
	}

	m, _, err = mergeMessages([][]byte{a, b}, pk, sk, DefaultLag)
	if err != nil {
		t.Fatal(err)
	}
	if m.unmerged != -1 || m.data.Int("a") != 1 || m.data.Int("b") != 1 {
		t.Fatalf("admin did not merge: %v", m.data)
	}
	merged := m.serialize(true)
	if _, err := parseMessage(merged, pk, nil, DefaultLag, false); err != nil {
		t.Errorf("the admin's merge does not verify: %v", err)
	}
	if m.hash != hashBytes(merged) {
		t.Error("a merge's hash is not the hash of its signed serialization")
	}

	// Unsigned and foreign-signed messages do not count.
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	po, _ := parseMessage(baseB, nil, nil, DefaultLag, false)
	po.signer = other
	forged := po.increment(Dict{"n": "evil"}).serialize(true)
	unsigned := p.increment(Dict{"n": "unsigned"}).serialize(false)
	_, bad, err := mergeMessages([][]byte{forged, unsigned, a}, pk, nil, DefaultLag)
	if err != nil || !slices.Equal(bad, []bool{true, true, false}) {
		t.Errorf("bad %v, err %v", bad, err)
	}
}

// FuzzMerge feeds mutated messages to a merge: it must never panic, and a
// merge result must serialize to a message that parses.
func FuzzMerge(f *testing.F) {
	seed := [][]byte{
		[]byte("d1:#i1e1:&d1:ai1e1:sli1eee1:<lli0e" + h32 + "deee1:=d1:a0:1:sll1:xeleeee"),
		[]byte("d1:#i2e1:&d1:bd1:c1:xee1:<le1:=d1:bd1:c0:eee"),
	}
	f.Add(seed[0], seed[1], uint64(1))
	f.Fuzz(func(t *testing.T, a, b []byte, r uint64) {
		rng := rand.New(rand.NewPCG(r, r>>7))
		inputs := [][]byte{a, b, seed[0], seed[1]}
		rng.Shuffle(len(inputs), func(i, j int) { inputs[i], inputs[j] = inputs[j], inputs[i] })
		m, _, err := mergeMessages(inputs, nil, nil, DefaultLag)
		if err != nil {
			return
		}
		out := m.serialize(true)
		if _, err := parseMessage(out, nil, nil, DefaultLag, false); err != nil {
			t.Fatalf("merge result %q does not parse: %v", out, err)
		}
		// The same through a Config, which also increments and dumps.
		c, err := New(Options{Kind: testKinds["contacts"], Keys: [][32]byte{{1}}})
		if err != nil {
			t.Fatal(err)
		}
		c.Mutate(func(d Dict) bool { return d.SetInt("z", 1) })
		var hashes [][]string
		for i := range inputs {
			hashes = append(hashes, []string{string(rune('a' + i))})
		}
		if _, err := c.mergeOpened(hashes, inputs); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Options{Kind: c.opts.Kind, Keys: c.opts.Keys, Dump: c.Dump()}); err != nil {
			t.Fatalf("dump after merge does not load: %v", err)
		}
	})
}

package storagerpc

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"

	"filippo.io/edwards25519"
)

// sigCase is a signature to check and what crypto/ed25519 says of it.
type sigCase struct {
	name string
	pub  [32]byte
	msg  []byte
	sig  [64]byte
	want bool
}

func newSigCase(rng *mrand.Rand, name string) sigCase {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(rng.Uint32())
	}
	priv := ed25519.NewKeyFromSeed(seed[:])
	msg := make([]byte, rng.IntN(200))
	for i := range msg {
		msg[i] = byte(rng.Uint32())
	}
	c := sigCase{name: name, msg: msg}
	copy(c.pub[:], priv.Public().(ed25519.PublicKey))
	copy(c.sig[:], ed25519.Sign(priv, msg))
	c.want = true
	return c
}

// spoil changes c in one of the ways a bad request can, and records what
// crypto/ed25519 says of the result.
func (c sigCase) spoil(rng *mrand.Rand) sigCase {
	c.msg = append([]byte(nil), c.msg...)
	switch k := rng.IntN(7); k {
	case 0:
		c.name += "/msg-bit"
		if len(c.msg) == 0 {
			c.msg = []byte{0}
		} else {
			c.msg[rng.IntN(len(c.msg))] ^= 1 << rng.IntN(8)
		}
	case 1:
		c.name += "/R-bit"
		c.sig[rng.IntN(32)] ^= 1 << rng.IntN(8)
	case 2:
		c.name += "/S-bit"
		c.sig[32+rng.IntN(31)] ^= 1 << rng.IntN(8)
	case 3:
		c.name += "/S+l" // the same S, not reduced: refused
		addL(c.sig[32:])
	case 4:
		c.name += "/key-bit"
		c.pub[rng.IntN(32)] ^= 1 << rng.IntN(8)
	case 5:
		c.name += "/other-key"
		o := newSigCase(rng, "")
		c.pub = o.pub
	case 6:
		c.name += "/high-S-bits"
		c.sig[63] |= 0x80
	}
	c.want = ed25519.Verify(c.pub[:], c.msg, c.sig[:])
	return c
}

// addL adds the group order l to the little-endian scalar s in place.
func addL(s []byte) {
	l := [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	carry := 0
	for i := range 32 {
		v := int(s[i]) + int(l[i]) + carry
		s[i], carry = byte(v), v>>8
	}
}

func TestSigBatchMatchesEd25519(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(19, 1))
	b := NewSigBatcher(64)
	var cases []sigCase
	for i := range 400 {
		c := newSigCase(rng, fmt.Sprint(i))
		if i%3 == 0 {
			c = c.spoil(rng)
		}
		cases = append(cases, c)
	}
	// One at a time (a lone request checks at once).
	for _, c := range cases {
		if got := b.Verify(&c.pub, c.msg, &c.sig); got != c.want {
			t.Errorf("%s alone: got %v, crypto/ed25519 says %v", c.name, got, c.want)
		}
	}
	// In batches of every size, good and bad mixed.
	for size := 2; size <= sigBatchMax; size = size*2 + 1 {
		for start := 0; start+size <= len(cases); start += size {
			jobs := cases[start : start+size]
			got := checkDirect(t, NewSigBatcher(64), jobs)
			for i, c := range jobs {
				if got[i] != c.want {
					t.Errorf("%s in a batch of %d: got %v, crypto/ed25519 says %v", c.name, size, got[i], c.want)
				}
			}
		}
	}
}

// checkDirect runs one batch through check and returns its outcomes.
func checkDirect(t testing.TB, b *SigBatcher, cases []sigCase) []bool {
	t.Helper()
	var batch []*sigJob
	out := make([]bool, len(cases))
	idx := map[*sigJob]int{}
	for i, c := range cases {
		j := &sigJob{pub: c.pub, done: make(chan sigOutcome, 1)}
		if !j.prepare(c.msg, &c.sig) {
			continue // refused before any arithmetic
		}
		if a, ok := b.keys.get(c.pub); ok {
			j.a = a // as Verify does
		}
		batch = append(batch, j)
		idx[j] = i
	}
	if len(batch) == 0 {
		return out
	}
	b.check(batch)
	for _, j := range batch {
		out[idx[j]] = <-j.done == sigOK
	}
	return out
}

// TestSigBatchConcurrent checks many signatures from many goroutines at
// once, so that batches form and leads pass between goroutines; every
// outcome must be crypto/ed25519's.
func TestSigBatchConcurrent(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(19, 2))
	var cases []sigCase
	for i := range 256 {
		c := newSigCase(rng, fmt.Sprint(i))
		if i%5 == 0 {
			c = c.spoil(rng)
		}
		cases = append(cases, c)
	}
	b := NewSigBatcher(32) // smaller than the keys in use: entries come and go
	const workers = 48
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 4*len(cases); i += workers {
				c := cases[i%len(cases)]
				if got := b.Verify(&c.pub, c.msg, &c.sig); got != c.want {
					t.Errorf("%s: got %v, crypto/ed25519 says %v", c.name, got, c.want)
				}
			}
		}()
	}
	wg.Wait()
	if l, q := b.jobs.Leaders(), b.jobs.Queued(); l != 0 || q != 0 {
		t.Fatalf("after all calls returned: %d leaders, %d queued", l, q)
	}
}

// torsion8 returns a point of order 8.
func torsion8(t testing.TB) *edwards25519.Point {
	t.Helper()
	// A point of order 8 from the list libsodium blocks (y encoded
	// little-endian).
	enc := [32]byte{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05}
	p, err := new(edwards25519.Point).SetBytes(enc[:])
	if err != nil {
		t.Fatal(err)
	}
	var q edwards25519.Point
	q.Set(p)
	for range 3 {
		q.Add(&q, &q)
	}
	if q.Equal(edwards25519.NewIdentityPoint()) != 1 {
		t.Fatal("the point is not of order dividing 8")
	}
	return p
}

// TestSigBatchTorsionR is the one case where a batch and crypto/ed25519
// may differ: a signature made with the secret key whose R is off by a
// point of order 8 (R = r·B + T, k = H(R‖A‖M), S = r + k·a). It is
// refused alone; in a batch it passes only when z is a multiple of 8, so
// about one time in eight, and never changes another signature's outcome.
func TestSigBatchTorsionR(t *testing.T) {
	T := torsion8(t)
	var seed [32]byte
	rand.Read(seed[:])
	priv := ed25519.NewKeyFromSeed(seed[:])
	a := expandedScalar(priv)
	pub := [32]byte(priv.Public().(ed25519.PublicKey))
	msg := []byte("retrieve1733443200000")

	var r edwards25519.Scalar
	var rb [64]byte
	rand.Read(rb[:])
	r.SetUniformBytes(rb[:])
	R := new(edwards25519.Point).ScalarBaseMult(&r)
	R.Add(R, T)
	var sig [64]byte
	copy(sig[:32], R.Bytes())
	k := hramScalar(sig[:32], pub[:], msg)
	var s edwards25519.Scalar
	s.MultiplyAdd(k, a, &r)
	copy(sig[32:], s.Bytes())
	if ed25519.Verify(pub[:], msg, sig[:]) {
		t.Fatal("crypto/ed25519 accepts a signature with a torsion R")
	}
	b := NewSigBatcher(8)
	if b.Verify(&pub, msg, &sig) {
		t.Fatal("a lone torsion-R signature passed")
	}

	rng := mrand.New(mrand.NewPCG(19, 3))
	const trials = 400
	passed := 0
	for range trials {
		b.failedAt.Store(0) // a failed batch pauses batching: not here
		good := newSigCase(rng, "good")
		got := checkDirect(t, b, []sigCase{good, {name: "torsion", pub: pub, msg: msg, sig: sig}})
		if !got[0] {
			t.Fatal("a valid signature was refused next to a torsion-R one")
		}
		if got[1] {
			passed++
		}
	}
	// Expected trials/8 = 50; the bound is 7 standard deviations away.
	if passed == 0 || passed > 100 {
		t.Fatalf("torsion-R signature passed %d of %d batches, want about one in eight", passed, trials)
	}
	t.Logf("torsion-R signature passed %d of %d batches", passed, trials)
}

func expandedScalar(priv ed25519.PrivateKey) *edwards25519.Scalar {
	h := sha512Sum(priv.Seed())
	s, err := new(edwards25519.Scalar).SetBytesWithClamping(h[:32])
	if err != nil {
		panic(err)
	}
	return s
}

func hramScalar(r, pub, msg []byte) *edwards25519.Scalar {
	h := sha512Sum(r, pub, msg)
	k, err := new(edwards25519.Scalar).SetUniformBytes(h[:])
	if err != nil {
		panic(err)
	}
	return k
}

func FuzzSigBatch(f *testing.F) {
	rng := mrand.New(mrand.NewPCG(19, 4))
	for range 8 {
		c := newSigCase(rng, "")
		f.Add(c.pub[:], c.msg, c.sig[:], uint64(rng.Uint64()))
		d := c.spoil(rng)
		f.Add(d.pub[:], d.msg, d.sig[:], uint64(rng.Uint64()))
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte, seed uint64) {
		if len(pub) != 32 || len(sig) != 64 {
			return
		}
		c := sigCase{name: "fuzzed", pub: [32]byte(pub), msg: msg, sig: [64]byte(sig)}
		c.want = ed25519.Verify(pub, msg, sig)
		b := NewSigBatcher(4)
		if got := b.Verify(&c.pub, c.msg, &c.sig); got != c.want {
			t.Fatalf("alone: got %v, crypto/ed25519 says %v", got, c.want)
		}
		good := newSigCase(mrand.New(mrand.NewPCG(seed, 5)), "good")
		got := checkDirect(t, b, []sigCase{good, c})
		if !got[0] {
			t.Fatal("a valid signature was refused next to the fuzzed one")
		}
		if got[1] && !c.want && !offByTorsion(c) {
			t.Fatal("a batch let through a signature crypto/ed25519 refuses")
		}
	})
}

// offByTorsion reports whether S·B − k·A − R is a point of small order
// (the one case a batch may let through, see SigBatcher).
func offByTorsion(c sigCase) bool {
	A, err := new(edwards25519.Point).SetBytes(c.pub[:])
	if err != nil {
		return false
	}
	R, err := new(edwards25519.Point).SetBytes(c.sig[:32])
	if err != nil {
		return false
	}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(c.sig[32:])
	if err != nil {
		return false
	}
	k := hramScalar(c.sig[:32], c.pub[:], c.msg)
	d := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, new(edwards25519.Point).Negate(A), s)
	d.Subtract(d, R)
	for range 3 {
		d.Add(d, d)
	}
	return d.Equal(edwards25519.NewIdentityPoint()) == 1
}

func BenchmarkSigVerify(b *testing.B) {
	rng := mrand.New(mrand.NewPCG(19, 6))
	cases := make([]sigCase, 64)
	for i := range cases {
		cases[i] = newSigCase(rng, "")
	}
	b.Run("ed25519", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			c := &cases[i%len(cases)]
			if !ed25519.Verify(c.pub[:], c.msg, c.sig[:]) {
				b.Fatal("refused")
			}
		}
	})
	for _, size := range []int{1, 2, 4, 8, 16, 32, 64} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			sb := NewSigBatcher(128)
			for i := 0; b.Loop(); i++ {
				start := (i * size) % len(cases)
				jobs := cases[start:min(start+size, len(cases))]
				for _, ok := range checkDirect(b, sb, jobs) {
					if !ok {
						b.Fatal("refused")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size)/1000, "µs/sig")
		})
	}
}

func sha512Sum(parts ...[]byte) [64]byte {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	return [64]byte(h.Sum(nil))
}

// TestSigBatchBadSignaturesPauseBatching is a client sending bad
// signatures: the batch they spoil is checked again one at a time, and
// batching stays off for a while, so that the good signatures sent
// meanwhile are not checked twice.
func TestSigBatchBadSignaturesPauseBatching(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(19, 7))
	good := func() sigCase { return newSigCase(rng, "good") }
	bad := newSigCase(rng, "bad")
	bad.sig[40] ^= 1
	b := NewSigBatcher(16)
	if got := checkDirect(t, b, []sigCase{good(), bad, good()}); !got[0] || got[1] || !got[2] {
		t.Fatalf("outcomes %v, want [true false true]", got)
	}
	if st := b.Stats(); st.Batches != 1 || st.Signatures != 3 {
		t.Fatalf("after the spoilt batch: %+v", st)
	}
	if got := checkDirect(t, b, []sigCase{good(), good()}); !got[0] || !got[1] {
		t.Fatalf("outcomes %v during the pause", got)
	}
	if st := b.Stats(); st.Batches != 1 {
		t.Fatalf("a batch was checked during the pause: %+v", st)
	}
	b.failedAt.Add(-int64(2 * sigFailPause))
	if got := checkDirect(t, b, []sigCase{good(), good()}); !got[0] || !got[1] {
		t.Fatalf("outcomes %v after the pause", got)
	}
	if st := b.Stats(); st.Batches != 2 || st.Signatures != 5 {
		t.Fatalf("after the pause: %+v, want batching again", st)
	}
}

package basemul

import (
	"crypto/rand"
	"encoding/binary"
	"math/big"
	"testing"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// encode is Point.Bytes for projective coordinates.
func encode(x, y, z *field.Element) []byte {
	var zInv, ax, ay field.Element
	zInv.Invert(z)
	ax.Multiply(x, &zInv)
	ay.Multiply(y, &zInv)
	b := ay.Bytes()
	b[31] |= byte(ax.IsNegative() << 7)
	return b
}

// check compares MultiplyBase8 with ScalarBaseMult for the eight scalars.
func check(t *testing.T, s *[8]edwards25519.Scalar) {
	t.Helper()
	var x, y, z [8]field.Element
	MultiplyBase8(s, &x, &y, &z)
	for i := range s {
		want := new(edwards25519.Point).ScalarBaseMult(&s[i]).Bytes()
		if got := encode(&x[i], &y[i], &z[i]); string(got) != string(want) {
			t.Fatalf("lane %d, scalar %x: got %x, want %x", i, s[i].Bytes(), got, want)
		}
	}
}

func scalarFromBig(t *testing.T, n *big.Int) edwards25519.Scalar {
	var b [32]byte
	n.FillBytes(b[:])
	for i := range 16 {
		b[i], b[31-i] = b[31-i], b[i]
	}
	var s edwards25519.Scalar
	if _, err := s.SetCanonicalBytes(b[:]); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMultiplyBase8Random(t *testing.T) {
	t.Logf("vector code: %v", Vector())
	n := 500
	if testing.Short() {
		n = 50
	}
	for range n {
		var s [8]edwards25519.Scalar
		for i := range s {
			var b [64]byte
			rand.Read(b[:])
			s[i].SetUniformBytes(b[:])
		}
		check(t, &s)
	}
}

func TestMultiplyBase8Edges(t *testing.T) {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	one := big.NewInt(1)
	vals := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(2), big.NewInt(8), big.NewInt(9), big.NewInt(15), big.NewInt(16),
		new(big.Int).Sub(l, one), new(big.Int).Sub(l, big.NewInt(2)), new(big.Int).Rsh(l, 1),
		new(big.Int).Lsh(one, 252), new(big.Int).Sub(new(big.Int).Lsh(one, 252), one),
	}
	// Every radix-16 digit 8 (0x88…): the recoding carries at every digit.
	e8, _ := new(big.Int).SetString("0888888888888888888888888888888888888888888888888888888888888888", 16)
	e7, _ := new(big.Int).SetString("0777777777777777777777777777777777777777777777777777777777777777", 16)
	ef, _ := new(big.Int).SetString("0fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 16)
	vals = append(vals, e8, e7, new(big.Int).Mod(ef, l))
	for start := 0; start < len(vals); start += 8 {
		var s [8]edwards25519.Scalar
		for i := range s {
			s[i] = scalarFromBig(t, vals[(start+i)%len(vals)])
		}
		check(t, &s)
	}
}

// TestMul8 checks the vector multiplication against math/big, with limbs
// as large as the point arithmetic lets them grow.
func TestMul8(t *testing.T) {
	if !Vector() {
		t.Skip("no AVX-512 IFMA on this CPU")
	}
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	value := func(f *fe8, l int) *big.Int {
		v := new(big.Int)
		for i := 4; i >= 0; i-- {
			v.Lsh(v, 51)
			v.Add(v, new(big.Int).SetUint64(f[i][l]))
		}
		return v
	}
	var rb [8]byte
	for round := range 2000 {
		var a, b, out fe8
		for i := range 5 {
			for l := range 8 {
				rand.Read(rb[:])
				r := binary.LittleEndian.Uint64(rb[:])
				// Up to 2^56, the most madd lets a limb grow to; some
				// rounds at the extremes.
				switch round % 4 {
				case 0:
					a[i][l], b[i][l] = r>>8, r>>9
				case 1:
					a[i][l], b[i][l] = 1<<56-1, 1<<56-1
				case 2:
					a[i][l], b[i][l] = r>>13, 1<<54+r>>10
				default:
					a[i][l], b[i][l] = r&(1<<51-1), 0
				}
			}
		}
		mul8(&out, &a, &b)
		for l := range 8 {
			for i := range 5 {
				if out[i][l] >= 1<<52 {
					t.Fatalf("round %d lane %d: limb %d is %#x, not below 2^52", round, l, i, out[i][l])
				}
			}
			want := new(big.Int).Mul(value(&a, l), value(&b, l))
			want.Mod(want, p)
			got := new(big.Int).Mod(value(&out, l), p)
			if got.Cmp(want) != 0 {
				t.Fatalf("round %d lane %d: got %x, want %x", round, l, got, want)
			}
		}
	}
}

func FuzzMultiplyBase8(f *testing.F) {
	f.Add(make([]byte, 8*32))
	f.Fuzz(func(t *testing.T, in []byte) {
		var s [8]edwards25519.Scalar
		for i := range s {
			var b [64]byte
			copy(b[:], in[min(len(in), 32*i):min(len(in), 32*i+32)])
			s[i].SetUniformBytes(b[:])
		}
		check(t, &s)
	})
}

func BenchmarkMultiplyBase8(b *testing.B) {
	var s [8]edwards25519.Scalar
	for i := range s {
		var r [64]byte
		rand.Read(r[:])
		s[i].SetUniformBytes(r[:])
	}
	var x, y, z [8]field.Element
	MultiplyBase8(&s, &x, &y, &z)
	b.ResetTimer()
	for b.Loop() {
		MultiplyBase8(&s, &x, &y, &z)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/8/1000, "µs/point")
}

// TestMultiplyBase: any number of scalars, whole groups of eight and a
// last, shorter one.
func TestMultiplyBase(t *testing.T) {
	for n := range 18 {
		s := make([]edwards25519.Scalar, n)
		for i := range s {
			var b [64]byte
			rand.Read(b[:])
			s[i].SetUniformBytes(b[:])
		}
		x, y, z := make([]field.Element, n), make([]field.Element, n), make([]field.Element, n)
		MultiplyBase(s, x, y, z)
		for i := range s {
			want := new(edwards25519.Point).ScalarBaseMult(&s[i]).Bytes()
			if got := encode(&x[i], &y[i], &z[i]); string(got) != string(want) {
				t.Fatalf("%d scalars, number %d: got %x, want %x", n, i, got, want)
			}
		}
	}
}

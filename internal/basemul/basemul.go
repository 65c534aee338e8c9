// Package basemul computes eight fixed-base scalar multiplications on
// edwards25519 at once, R[i] = s[i]·B, with the AVX-512 IFMA instructions
// (52-bit multiply-adds on eight 64-bit lanes) where the CPU has them,
// and with filippo.io/edwards25519 one at a time where it does not.
//
// A node signs every answer it gives (Session's store answer carries each
// member's signature of the message hash), and the nonce's R = r·B is
// most of a signature's cost. key.NoncePool makes nonces eight at a time
// through this package (docs/snode.md, "Signing nonces made while the
// disk writes").
//
// The vector code keeps field elements in radix 2^51, five limbs, one
// element per lane: the same limbs as filippo.io/edwards25519's, with the
// limbs of an element allowed to grow to 2^62 between multiplications.
// A multiplication first propagates its inputs' carries, so that each
// limb fits IFMA's 52-bit inputs, then sums the 25 products' low and high
// halves by column and folds the columns above 2^255 back times 19. The
// point arithmetic is the mixed addition of extended coordinates with a
// precomputed (y+x, y-x, 2dxy) table (Hisil, Wong, Carter, Dawson, 2008),
// and the scalar is written in 64 signed radix-16 digits, each selecting
// one of eight multiples of 16^i·B from its own row of the table.
//
// Nothing the scalars decide changes which instructions run or which
// memory they read: every digit's row is read whole for every lane, and
// digits are recoded with arithmetic only. The scalars are secret (they
// are signing nonces) and are wiped from this package's working memory
// before MultiplyBase8 returns; the vector registers that held them are
// not (Go cannot wipe registers, as it cannot wipe every copy; see
// package key).
package basemul

import (
	"encoding/binary"
	"math/bits"
	"sync"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Vector reports whether MultiplyBase8 runs the vector code on this CPU.
func Vector() bool { return vector }

// fe8 is eight field elements: limb i (radix 2^51) of lane l at [i][l].
type fe8 [5][8]uint64

// pre8 is eight table entries, lane by lane: the limbs of y+x (0..4),
// y-x (5..9) and 2dxy (10..14) of an affine point, as in a table row.
type pre8 [15][8]uint64

// point8 is eight points in extended coordinates (X:Y:Z:T), x = X/Z,
// y = Y/Z, xy = T/Z.
type point8 struct{ X, Y, Z, T fe8 }

// scratch is MultiplyBase8's working memory.
type scratch struct {
	digits [64][8]int64
	q      point8
	p      pre8
	tmp    [3]fe8
}

// table[i][j] is (j+1)·16^i·B as y+x, y-x, 2dxy, each reduced, in radix
// 2^51: 64 rows of 8 entries of 15 limbs (60 KiB).
var (
	tableOnce sync.Once
	table     *[64][8][15]uint64
)

func buildTable() {
	t := new([64][8][15]uint64)
	var d2 field.Element
	// d = -121665/121666.
	var num, den field.Element
	num.SetBytes(le32(121665))
	den.SetBytes(le32(121666))
	den.Invert(&den)
	d2.Multiply(&num, &den)
	d2.Negate(&d2)
	d2.Add(&d2, &d2)
	row := edwards25519.NewGeneratorPoint() // 16^i·B
	var cur edwards25519.Point
	var zInv, x, y, v field.Element
	for i := range 64 {
		cur.Set(row)
		for j := range 8 {
			X, Y, Z, _ := cur.ExtendedCoordinates()
			zInv.Invert(Z)
			x.Multiply(X, &zInv)
			y.Multiply(Y, &zInv)
			v.Add(&y, &x)
			limbs(t[i][j][0:5], &v)
			v.Subtract(&y, &x)
			limbs(t[i][j][5:10], &v)
			v.Multiply(&x, &y)
			v.Multiply(&v, &d2)
			limbs(t[i][j][10:15], &v)
			cur.Add(&cur, row)
		}
		for range 4 {
			row.Add(row, row)
		}
	}
	table = t
}

// le32 is n as a 32-byte little-endian field element encoding.
func le32(n uint64) []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint64(b, n)
	return b
}

// limbs writes v's reduced value in radix 2^51 to dst.
func limbs(dst []uint64, v *field.Element) {
	b := v.Bytes()
	w0, w1 := binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint64(b[8:])
	w2, w3 := binary.LittleEndian.Uint64(b[16:]), binary.LittleEndian.Uint64(b[24:])
	const m = 1<<51 - 1
	dst[0] = w0 & m
	dst[1] = (w0>>51 | w1<<13) & m
	dst[2] = (w1>>38 | w2<<26) & m
	dst[3] = (w2>>25 | w3<<39) & m
	dst[4] = w3 >> 12 & m
}

// recode writes s as 64 signed radix-16 digits, each in [-8, 8], into
// lane l of digits: s = Σ digits[i][l]·16^i. Arithmetic only, no branch
// on s.
func recode(digits *[64][8]int64, l int, s *edwards25519.Scalar) {
	b := s.Bytes() // s < 2^253, so the top digit stays within 8
	var carry int64
	for i := range 32 {
		lo := int64(b[i]&15) + carry
		carry = (lo + 8) >> 4
		digits[2*i][l] = lo - carry<<4
		hi := int64(b[i]>>4) + carry
		carry = (hi + 8) >> 4
		digits[2*i+1][l] = hi - carry<<4
	}
	// s < 2^253 makes the top nibble at most 1 and the last digit at most
	// 2, so the last carry is always 0.
	clear(b)
}

// element sets out to lane l of f.
func element(out *field.Element, f *fe8, l int) {
	// The limbs are below 2^62: sum them into a 320-bit integer, then fold
	// what is above 2^255 back times 19, twice, which leaves it below 2^255.
	var w [5]uint64
	for i := range 5 {
		v, sh := f[i][l], 51*i
		k, off := sh/64, uint(sh%64)
		lo, hi := v<<off, v>>(64-off) // a shift by 64 gives 0 in Go
		var c uint64
		w[k], c = bits.Add64(w[k], lo, 0)
		w[k+1], c = bits.Add64(w[k+1], hi, c)
		for j := k + 2; j < 5; j++ {
			w[j], c = bits.Add64(w[j], 0, c)
		}
	}
	for range 2 {
		top := w[3]>>63 | w[4]<<1
		w[3] &= 1<<63 - 1
		w[4] = 0
		var c uint64
		w[0], c = bits.Add64(w[0], 19*top, 0)
		w[1], c = bits.Add64(w[1], 0, c)
		w[2], c = bits.Add64(w[2], 0, c)
		w[3], _ = bits.Add64(w[3], 0, c)
	}
	var b [32]byte
	for i := range 4 {
		binary.LittleEndian.PutUint64(b[8*i:], w[i])
	}
	if _, err := out.SetBytes(b[:]); err != nil {
		panic("basemul: " + err.Error())
	}
	clear(b[:])
}

// MultiplyBase8 sets (x[i]:y[i]:z[i]) to projective coordinates of
// s[i]·B, B the edwards25519 base point, for each i: x = x[i]/z[i] and
// y = y[i]/z[i]. The z are not 1; a caller that encodes the points
// inverts them (together, with Montgomery's trick, if it has several).
func MultiplyBase8(s *[8]edwards25519.Scalar, x, y, z *[8]field.Element) {
	if !vector {
		MultiplyBase(s[:], x[:], y[:], z[:])
		return
	}
	tableOnce.Do(buildTable)
	w := scratchPool.Get().(*scratch)
	defer func() {
		*w = scratch{}
		scratchPool.Put(w)
	}()
	for l := range s {
		recode(&w.digits, l, &s[l])
	}
	for l := range 8 {
		w.q.Y[0][l], w.q.Z[0][l] = 1, 1
	}
	for i := range 64 {
		select8(&w.p, &table[i], &w.digits[i])
		madd8(&w.q, &w.p, &w.tmp)
	}
	for l := range 8 {
		element(&x[l], &w.q.X, l)
		element(&y[l], &w.q.Y, l)
		element(&z[l], &w.q.Z, l)
	}
}

// MultiplyBase sets (x[i]:y[i]:z[i]) to projective coordinates of
// s[i]·B for each i of s, as MultiplyBase8 does: eight at a time where
// the vector code runs (a last group of fewer than eight multiplies
// zero in the lanes it does not need), one at a time otherwise. x, y and
// z must be at least as long as s.
func MultiplyBase(s []edwards25519.Scalar, x, y, z []field.Element) {
	if !vector {
		var P edwards25519.Point
		for i := range s {
			P.ScalarBaseMult(&s[i])
			X, Y, Z, _ := P.ExtendedCoordinates()
			x[i], y[i], z[i] = *X, *Y, *Z
		}
		P = edwards25519.Point{}
		return
	}
	for len(s) >= 8 {
		MultiplyBase8((*[8]edwards25519.Scalar)(s), (*[8]field.Element)(x), (*[8]field.Element)(y), (*[8]field.Element)(z))
		s, x, y, z = s[8:], x[8:], y[8:], z[8:]
	}
	if len(s) == 0 {
		return
	}
	var r [8]edwards25519.Scalar
	var px, py, pz [8]field.Element
	copy(r[:], s)
	MultiplyBase8(&r, &px, &py, &pz)
	clear(r[:])
	copy(x, px[:len(s)])
	copy(y, py[:len(s)])
	copy(z, pz[:len(s)])
}

// scratchPool holds cleared scratch values (about 8 KiB each).
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

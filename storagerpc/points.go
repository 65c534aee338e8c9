package storagerpc

import (
	"filippo.io/edwards25519/field"
)

// Cheap checks on encoded Ed25519 points, for the signature checks of every
// authenticated request. They work on the 32-byte encoding only (the y
// coordinate and the sign bit of x) and never decompress the point, which
// costs a square root; decompression is left to ed25519.Verify, which
// rejects encodings that are not on the curve by itself.

// smallOrderY holds the y coordinates of the eight points of small order
// (the 8-torsion of the curve): y = 1 (the identity), y = −1 (order 2),
// y = 0 (the two points of order 4) and ±y8 (the four points of order 8).
// A point is of small order exactly when its y is one of these, whatever
// the sign of x. Computed, not tabulated: see smallOrderYs.
var smallOrderY = smallOrderYs()

// smallOrderYs derives the y coordinates of the small-order points of
// −x² + y² = 1 + d·x²·y², d = −121665/121666 (RFC 8032 §5.1). Doubling a
// point of order 8 gives one of order 4, whose y is 0; by the doubling
// formula y(2P) = (y² + x²)/(2 + x² − y²), that means x² = −y², and on the
// curve 2y² = 1 − d·y⁴, so y² = (−1 ± √(1+d))/d, of which one root is a
// square (its square roots are ±y8).
func smallOrderYs() [5]field.Element {
	var zero, one, minusOne, d, t, s, y8, minusY8 field.Element
	zero.Zero()
	one.One()
	minusOne.Negate(&one)
	d.Mult32(d.Invert(t.Mult32(&one, 121666)), 121665) // 121665/121666
	d.Negate(&d)
	s.SqrtRatio(t.Add(&one, &d), &one) // √(1+d)
	for _, sign := range []int{0, 1} {
		var num, r field.Element
		num.Add(&minusOne, new(field.Element).Select(new(field.Element).Negate(&s), &s, sign))
		if _, ok := r.SqrtRatio(&num, &d); ok == 1 {
			y8 = r
			break
		}
	}
	minusY8.Negate(&y8)
	return [5]field.Element{zero, one, minusOne, y8, minusY8}
}

// hasSmallOrder reports whether the encoding b names a point of small
// order, or a non-canonical encoding of one (y ≥ p is read modulo p), like
// libsodium's ge25519_has_small_order, which Session's storage server
// applies to keys and signature R values. The sign bit is ignored.
func hasSmallOrder(b *[32]byte) bool {
	y, err := new(field.Element).SetBytes(b[:]) // ignores bit 255, reduces mod p
	if err != nil {
		return true
	}
	small := 0
	for i := range smallOrderY {
		small |= y.Equal(&smallOrderY[i])
	}
	return small == 1
}

// canonicalY reports whether the y coordinate of the encoding b (bit 255
// is the sign of x) is below p, as libsodium's ge25519_is_canonical
// requires of public keys.
func canonicalY(b *[32]byte) bool {
	y, err := new(field.Element).SetBytes(b[:])
	if err != nil {
		return false
	}
	enc := y.Bytes()
	for i := 0; i < 31; i++ {
		if enc[i] != b[i] {
			return false
		}
	}
	return enc[31] == b[31]&0x7f
}

// strongKey reports whether b may be a verification key: canonical and not
// of small order (libsodium's crypto_sign_verify_detached checks both).
// Whether b is on the curve at all is left to ed25519.Verify.
func strongKey(b *[32]byte) bool { return canonicalY(b) && !hasSmallOrder(b) }

// edwardsToMontgomery returns u = (1 + y)/(1 − y), the X25519 (Montgomery)
// image of the Edwards point with encoding b, without decompressing the
// point: u depends on y only, so a point and its negation share it. It
// fails for y = 1 (the identity, which has no image). The caller must have
// checked that b is canonical; whether b is on the curve at all is left to
// the signature verification that always follows.
func edwardsToMontgomery(b *[32]byte) ([32]byte, bool) {
	var y, one, num, den field.Element
	if _, err := y.SetBytes(b[:]); err != nil {
		return [32]byte{}, false
	}
	one.One()
	den.Subtract(&one, &y)
	if den.Equal(new(field.Element).Zero()) == 1 {
		return [32]byte{}, false
	}
	num.Add(&one, &y)
	num.Multiply(&num, den.Invert(&den))
	return [32]byte(num.Bytes()), true
}

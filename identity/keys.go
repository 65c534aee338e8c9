package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"log/slog"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"

	"sotto.dev/key"
)

// Seed lengths accepted by KeysFromSeed.
const (
	SeedLen16 = 16 // new accounts; padded with 16 zero bytes
	SeedLen32 = 32 // a full Ed25519 seed
)

// Keys holds an account's secret keys, all derived from its seed
// (session-protocol.md §1.1). Create it with KeysFromSeed or NewKeys; the
// zero value is not usable. Methods return copies; Wipe clears what Keys
// holds.
type Keys struct {
	seed    []byte // as given: 16 or 32 bytes
	seed32  [32]byte
	edPriv  ed25519.PrivateKey // seed32 || A
	edPub   key.AccountPublic
	xPriv   key.BoxPrivate
	xPub    key.BoxPublic
	scalar  edwards25519.Scalar // a, reduced mod L
	hashHi  [32]byte            // SHA-512(seed32)[32:64], the desktop blind15 nonce key
	sk64Hi  [32]byte            // SHA-512(seed32 || A)[32:64], the libsession blind15 nonce key
	negSign bool                // A's sign bit is set (blind25 negation rule)
}

// KeysFromSeed derives an account's keys from a 16-byte seed (a 13-word
// recovery phrase; padded with zeros to 32 bytes as Session does) or a
// 32-byte seed (used unchanged).
func KeysFromSeed(seed []byte) (*Keys, error) {
	if len(seed) != SeedLen16 && len(seed) != SeedLen32 {
		return nil, &LengthError{What: "seed", Got: len(seed), Want: "16 or 32", Unit: "bytes"}
	}
	k := &Keys{seed: append([]byte(nil), seed...)}
	copy(k.seed32[:], seed) // a 16-byte seed leaves the upper half zero
	k.edPriv = ed25519.NewKeyFromSeed(k.seed32[:])
	copy(k.edPub[:], k.edPriv[32:])

	// The X25519 secret is the clamped first half of SHA-512(seed32), the
	// same bytes crypto/ed25519 uses as its scalar (libsodium's
	// crypto_sign_ed25519_sk_to_curve25519).
	h := sha512.Sum512(k.seed32[:])
	copy(k.xPriv[:], h[:32])
	clamp(k.xPriv[:])
	copy(k.hashHi[:], h[32:])
	if _, err := k.scalar.SetBytesWithClamping(h[:32]); err != nil {
		clear(h[:])
		k.Wipe()
		return nil, fmt.Errorf("identity: derive scalar: %w", err)
	}
	clear(h[:])

	h = sha512.Sum512(k.edPriv)
	copy(k.sk64Hi[:], h[32:])
	clear(h[:])

	A, err := new(edwards25519.Point).SetBytes(k.edPub[:])
	if err != nil {
		k.Wipe()
		return nil, fmt.Errorf("identity: decode own public key: %w", err)
	}
	copy(k.xPub[:], A.BytesMontgomery())
	k.negSign = k.edPub[31]&0x80 != 0
	return k, nil
}

// NewKeys makes a new account from 16 random bytes and returns its keys and
// a copy of the seed (which the caller should clear when done).
func NewKeys() (*Keys, []byte, error) {
	seed := make([]byte, SeedLen16)
	if _, err := rand.Read(seed); err != nil {
		return nil, nil, fmt.Errorf("identity: read random seed: %w", err)
	}
	k, err := KeysFromSeed(seed)
	if err != nil {
		clear(seed)
		return nil, nil, err
	}
	return k, seed, nil
}

// Seed returns a copy of the seed as given: 16 or 32 bytes.
func (k *Keys) Seed() []byte { return append([]byte(nil), k.seed...) }

// Seed32 returns the 32-byte Ed25519 seed (a 16-byte seed padded with zeros).
func (k *Keys) Seed32() [32]byte { return k.seed32 }

// Ed25519Private returns a copy of the 64-byte Ed25519 private key
// (seed32 || public key).
func (k *Keys) Ed25519Private() ed25519.PrivateKey {
	return append(ed25519.PrivateKey(nil), k.edPriv...)
}

// Ed25519Public returns the Ed25519 public key A.
func (k *Keys) Ed25519Public() key.AccountPublic { return k.edPub }

// X25519Private returns the X25519 secret key.
func (k *Keys) X25519Private() key.BoxPrivate { return k.xPriv }

// X25519Public returns the X25519 public key.
func (k *Keys) X25519Public() key.BoxPublic { return k.xPub }

// SessionID returns the account's standard Session ID, 05 || X25519 public key.
func (k *Keys) SessionID() key.SessionID { return key.AccountID(k.xPub) }

// Scalar returns a copy of the Ed25519 secret scalar
// a = clamp(SHA-512(seed32)[:32]) reduced mod L, with A = a·B.
func (k *Keys) Scalar() *edwards25519.Scalar { return new(edwards25519.Scalar).Set(&k.scalar) }

// Sign signs msg with the account's Ed25519 key (RFC 8032).
func (k *Keys) Sign(msg []byte) [64]byte {
	return [64]byte(ed25519.Sign(k.edPriv, msg))
}

// Wipe clears the secrets k holds. k must not be used afterwards.
func (k *Keys) Wipe() {
	clear(k.seed)
	clear(k.seed32[:])
	clear(k.edPriv)
	clear(k.xPriv[:])
	clear(k.hashHi[:])
	clear(k.sk64Hi[:])
	k.scalar = edwards25519.Scalar{}
}

// LogValue implements slog.LogValuer; it never reveals the keys.
func (*Keys) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Format implements fmt.Formatter so that printing Keys never shows secrets.
func (*Keys) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

func clamp(b []byte) {
	b[0] &= 248
	b[31] &= 127
	b[31] |= 64
}

// Ed25519ToX25519 maps an Ed25519 public key to its X25519 public key,
// u = (1+y)/(1−y). Like libsodium's crypto_sign_ed25519_pk_to_curve25519 it
// rejects encodings that are not points, points of small order and points
// outside the prime-order subgroup.
func Ed25519ToX25519(pk key.AccountPublic) (key.BoxPublic, error) {
	P, err := decodePrimeOrderPoint(pk[:], "Ed25519 public key")
	if err != nil {
		return key.BoxPublic{}, err
	}
	return key.BoxPublic(P.BytesMontgomery()), nil
}

// XEd25519Public returns the Ed25519 public key whose X25519 image is x and
// whose sign bit is 0: y = (u−1)/(u+1) (the XEdDSA convention, libsession's
// xed25519::pubkey). The true key of an account has this value or the same
// with the top bit of the last byte set. It rejects u values that map to no
// point of the prime-order subgroup.
func XEd25519Public(x key.BoxPublic) (key.AccountPublic, error) {
	P, err := xedPoint(x)
	if err != nil {
		return key.AccountPublic{}, err
	}
	return key.AccountPublic(P.Bytes()), nil
}

// xedPoint decodes the sign-0 Edwards point for Montgomery u = x.
func xedPoint(x key.BoxPublic) (*edwards25519.Point, error) {
	const what = "X25519 public key"
	u, err := new(field.Element).SetBytes(x[:]) // ignores the top bit, as X25519 does
	if err != nil {
		return nil, &PointError{What: what, Reason: err.Error()}
	}
	one := new(field.Element).One()
	num := new(field.Element).Subtract(u, one)
	den := new(field.Element).Add(u, one)
	if den.Equal(new(field.Element).Zero()) == 1 {
		return nil, &PointError{What: what, Reason: "u = -1 has no Edwards image"}
	}
	y := new(field.Element).Multiply(num, den.Invert(den))
	enc := y.Bytes() // canonical, top bit (the sign of x) 0
	return decodePrimeOrderPoint(enc, what)
}

// decodePrimeOrderPoint decodes an Edwards point and checks that it is in
// the prime-order subgroup and not the identity, which also excludes every
// point of small order.
func decodePrimeOrderPoint(b []byte, what string) (*edwards25519.Point, error) {
	P, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return nil, &PointError{What: what, Reason: "not a point on the curve"}
	}
	if new(edwards25519.Point).MultByCofactor(P).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, &PointError{What: what, Reason: "point of small order"}
	}
	// L·P = (L−1)·P + P, and L−1 ≡ −1 (mod L). P is public, so the
	// variable-time multiplication is fine and twice as fast.
	minusOne := new(edwards25519.Scalar).Negate(scalarOne())
	LP := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(minusOne, P, edwards25519.NewScalar())
	LP.Add(LP, P)
	if LP.Equal(edwards25519.NewIdentityPoint()) != 1 {
		return nil, &PointError{What: what, Reason: "point outside the prime-order subgroup"}
	}
	return P, nil
}

func scalarOne() *edwards25519.Scalar {
	var b [32]byte
	b[0] = 1
	s, _ := new(edwards25519.Scalar).SetCanonicalBytes(b[:]) // 1 < L: cannot fail
	return s
}

package identity

import (
	"crypto/sha512"
	"fmt"
	"io"

	"filippo.io/edwards25519"

	"sotto.dev/internal/blake2bx"
	"sotto.dev/key"
)

// XEd25519Sign signs msg with an X25519 secret key, as libsession-util's
// xed25519::sign does (session-protocol.md §5.5, §11; a variant of Signal's
// XEdDSA): the Ed25519 key is A = clamp(x)·B with its sign bit forced to 0,
// the secret scalar is a = x, or −x when A's sign bit had to be cleared,
// and the nonce is r = reduce(BLAKE2b-512[personal="xed25519signatur"](
// a || M || Z)) with Z 64 bytes read from random in one Read call (one
// libsodium draw). The signature R || S, S = r + reduce(SHA-512(R||A||M))·a,
// verifies as a standard Ed25519 signature under XEd25519Public(X).
//
// As in libsession, a is x taken as a 256-bit number (not clamped), so
// only a clamped x (every real X25519 key) gives a valid signature.
func XEd25519Sign(x *key.BoxPrivate, msg []byte, random io.Reader) ([64]byte, error) {
	var z [64]byte
	if _, err := io.ReadFull(random, z[:]); err != nil {
		return [64]byte{}, fmt.Errorf("identity: read xed25519 nonce randomness: %w", err)
	}
	defer clear(z[:])

	clamped, err := new(edwards25519.Scalar).SetBytesWithClamping(x[:])
	if err != nil {
		return [64]byte{}, err // 32 bytes: cannot happen
	}
	A := new(edwards25519.Point).ScalarBaseMult(clamped).Bytes()
	wipeScalar(clamped)
	negative := A[31]&0x80 != 0
	A[31] &= 0x7f

	var wide [64]byte
	copy(wide[:], x[:])
	a, err := new(edwards25519.Scalar).SetUniformBytes(wide[:]) // x mod L
	clear(wide[:])
	if err != nil {
		return [64]byte{}, err // 64 bytes: cannot happen
	}
	defer wipeScalar(a)
	// The bytes hashed into r: x as given, or the canonical −x mod L.
	var aBytes []byte
	if negative {
		a.Negate(a)
		aBytes = a.Bytes()
	} else {
		aBytes = append(aBytes, x[:]...)
	}
	defer clear(aBytes)

	personal := [16]byte([]byte(labelXEd25519Personal))
	d := blake2bx.New(64, nil, nil, &personal)
	d.Write(aBytes)
	d.Write(msg)
	d.Write(z[:])
	var rh [64]byte
	d.Sum(rh[:0])
	d.Clear()
	r, _ := new(edwards25519.Scalar).SetUniformBytes(rh[:]) // 64 bytes: cannot fail
	clear(rh[:])
	defer wipeScalar(r)
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()

	h := sha512.New()
	h.Write(R)
	h.Write(A)
	h.Write(msg)
	k, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil)) // 64 bytes: cannot fail
	S := k.MultiplyAdd(k, a, r)

	var sig [64]byte
	copy(sig[:32], R)
	copy(sig[32:], S.Bytes())
	return sig, nil
}

func wipeScalar(s *edwards25519.Scalar) {
	if s != nil {
		*s = edwards25519.Scalar{}
	}
}

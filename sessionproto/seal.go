package sessionproto

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/secretbox"
	//lint:ignore SA1019 HSalsa20 is exactly libsodium's crypto_box_beforenm step; box.Precompute would hide the all-zero shared secret that libsodium rejects.
	"golang.org/x/crypto/salsa20/salsa"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// Sizes of the Session Protocol (spec §2.1).
const (
	// SealOverhead is what sealing adds to the message: the ephemeral
	// public key E (32), the Poly1305 tag (16), the sender's Ed25519 key A
	// (32) and signature (64).
	SealOverhead = boxSealBytes + signedOverhead

	boxSealBytes   = 32 + secretbox.Overhead // E || MAC, libsodium crypto_box_SEALBYTES
	signedOverhead = 32 + ed25519.SignatureSize
)

// Opened is a Session Protocol message after Open.
type Opened struct {
	// Plaintext is the message as sealed, still padded (see Unpad).
	Plaintext []byte
	// Sender is the sender's standard Session ID, 05 || X25519(A).
	Sender key.SessionID
	// SenderEd25519 is the sender's Ed25519 key A, which signed the message.
	SenderEd25519 key.AccountPublic
}

// Seal encrypts padded (a padded, serialized Content; see Pad) from sender
// to recipient, a standard 05 Session ID, with a random ephemeral key
// (spec §2.1; libsession-util encrypt_for_recipient): the sender signs
// padded || A || Y, and padded || A || sig goes into a libsodium sealed box
// for Y. The result is SealOverhead bytes longer than padded.
func Seal(sender *identity.Keys, recipient key.SessionID, padded []byte) ([]byte, error) {
	y, err := recipientKey(recipient)
	if err != nil {
		return nil, err
	}
	var e [32]byte
	if _, err := rand.Read(e[:]); err != nil {
		return nil, fmt.Errorf("sessionproto: read random ephemeral key: %w", err)
	}
	defer clear(e[:])
	return seal(sender, y, padded, &e)
}

// SealDeterministic is Seal with the ephemeral key derived from the inputs
// instead of drawn at random (spec §2.1; libsession-util
// encrypt_for_recipient_deterministic): s = BLAKE2b-256[key=
// "SessionBoxEphemeralHashKey"](seed32 || Y || padded), e = SHA-512(s)[:32].
// The same inputs always give the same ciphertext, which reveals repeated
// messages; use it only where Session does (known-answer tests and the
// legacy config wrapper of §7.5).
func SealDeterministic(sender *identity.Keys, recipient key.SessionID, padded []byte) ([]byte, error) {
	y, err := recipientKey(recipient)
	if err != nil {
		return nil, err
	}
	seed := sender.Seed32()
	defer clear(seed[:])
	h, _ := blake2b.New256([]byte(labelBoxEphemeral)) // key ≤ 64 bytes: cannot fail
	h.Write(seed[:])
	h.Write(y[:])
	h.Write(padded)
	s := h.Sum(nil)
	defer clear(s)
	// libsodium crypto_box_seed_keypair: sk = SHA-512(seed)[:32].
	d := sha512.Sum512(s)
	defer clear(d[:])
	var e [32]byte
	copy(e[:], d[:32])
	defer clear(e[:])
	return seal(sender, y, padded, &e)
}

// recipientKey returns the X25519 key of a standard Session ID.
func recipientKey(id key.SessionID) ([32]byte, error) {
	if id.Prefix() != key.PrefixStandard {
		return [32]byte{}, &PrefixError{What: "recipient", Got: id.Prefix(), Want: []key.Prefix{key.PrefixStandard}}
	}
	return id.Key(), nil
}

// seal signs m and puts m || A || sig into a sealed box for y with the
// ephemeral secret e.
func seal(sender *identity.Keys, y [32]byte, m []byte, e *[32]byte) ([]byte, error) {
	A := sender.Ed25519Public()
	sk := sender.Ed25519Private()
	defer clear(sk)

	// inner = M || A || Y while signing, then M || A || sig.
	inner := make([]byte, 0, len(m)+signedOverhead)
	inner = append(inner, m...)
	inner = append(inner, A[:]...)
	inner = append(inner, y[:]...)
	sig := ed25519.Sign(sk, inner)
	inner = append(inner[:len(m)+32], sig...)
	defer clear(inner)

	E := x25519Base(e)
	key, err := boxKey(e, &y)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	nonce := sealNonce(E, y[:])
	out := make([]byte, 32, boxSealBytes+len(inner))
	copy(out, E)
	return secretbox.Seal(out, inner, &nonce, &key), nil
}

// x25519Base returns X25519(e, 9), computed as the Montgomery form of
// clamp(e)·B with edwards25519's fixed-base tables, several times faster
// than the generic ladder (the Edwards base point maps to u = 9).
func x25519Base(e *[32]byte) []byte {
	s, _ := new(edwards25519.Scalar).SetBytesWithClamping(e[:]) // 32 bytes: cannot fail
	E := new(edwards25519.Point).ScalarBaseMult(s).BytesMontgomery()
	*s = edwards25519.Scalar{}
	return E
}

// boxKey is libsodium crypto_box_beforenm: HSalsa20(X25519(priv, pub), 0).
// Like libsodium it refuses a public key that gives the all-zero shared
// secret (a point of small order).
func boxKey(priv, pub *[32]byte) ([32]byte, error) {
	shared, err := curve25519.X25519(priv[:], pub[:])
	if err != nil {
		return [32]byte{}, ErrPeerKey
	}
	defer clear(shared)
	var key, in [32]byte
	var zero [16]byte
	copy(in[:], shared)
	salsa.HSalsa20(&key, &zero, &in, &salsa.Sigma)
	clear(in[:])
	return key, nil
}

// sealNonce is the sealed-box nonce, BLAKE2b-192(E || Y).
func sealNonce(E, y []byte) [24]byte {
	h, _ := blake2b.New(24, nil) // valid size, no key: cannot fail
	h.Write(E)
	h.Write(y)
	var n [24]byte
	copy(n[:], h.Sum(nil))
	return n
}

// Open decrypts a Session Protocol message sent to recipient and checks
// the sender's signature (spec §2.1; libsession-util decrypt_incoming). The
// plaintext is returned still padded. Errors: *LengthError when ct is
// shorter than SealOverhead, ErrDecrypt when the box does not open with
// recipient's key, ErrSignature when the signature does not verify,
// ErrSenderKey when the embedded sender key has no Session ID.
func Open(recipient *identity.Keys, ct []byte) (*Opened, error) {
	if len(ct) < SealOverhead {
		return nil, &LengthError{What: "sealed message", Got: len(ct), Want: fmt.Sprintf("at least %d", SealOverhead)}
	}
	y := [32]byte(recipient.X25519Public())
	x := [32]byte(recipient.X25519Private())
	defer clear(x[:])

	E := [32]byte(ct[:32])
	shared, err := boxKey(&x, &E)
	if err != nil {
		// A small-order E: libsodium's crypto_box_seal_open fails too.
		return nil, ErrDecrypt
	}
	defer clear(shared[:])
	nonce := sealNonce(E[:], y[:])
	inner, ok := secretbox.Open(make([]byte, 0, len(ct)-boxSealBytes), ct[32:], &nonce, &shared)
	if !ok {
		return nil, ErrDecrypt
	}

	n := len(inner) - signedOverhead
	m := inner[:n:n]
	A := key.AccountPublic(inner[n : n+32])
	sig := inner[n+32:]

	signed := make([]byte, 0, n+64)
	signed = append(signed, m...)
	signed = append(signed, A[:]...)
	signed = append(signed, y[:]...)
	ok = ed25519.Verify(A[:], signed, sig)
	clear(signed)
	if !ok {
		clear(inner)
		return nil, ErrSignature
	}
	xA, err := identity.Ed25519ToX25519(A)
	if err != nil {
		clear(inner)
		return nil, fmt.Errorf("%w: %w", ErrSenderKey, err)
	}
	return &Opened{
		Plaintext:     m,
		Sender:        key.AccountID(xA),
		SenderEd25519: A,
	}, nil
}

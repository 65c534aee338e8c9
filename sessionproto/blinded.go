package sessionproto

import (
	"crypto/rand"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// Blinded direct messages (spec §5.6; libsession-util
// encrypt_for_blinded_recipient, decrypt_from_blinded_recipient,
// blinded_shared_secret).
const (
	blindedVersion = 0x00
	// BlindedOverhead is what EncryptBlinded adds to the message: version
	// byte, sender Ed25519 key, Poly1305 tag and nonce.
	BlindedOverhead = 1 + 32 + chacha20poly1305.Overhead + chacha20poly1305.NonceSizeX
)

var blindedPrefixes = []key.Prefix{key.PrefixBlind15, key.PrefixBlind25}

// EncryptBlinded encrypts msg (normally a padded Content) for a community
// member known only by a blinded ID, to be posted to the server's inbox
// endpoint. recipient has prefix 15 or 25; the sender uses its own blinded
// key of the same kind for serverPK. The result is
// 0x00 || XChaCha20-Poly1305(key, nonce, msg || A) || nonce with a random
// nonce, where A is the sender's unblinded Ed25519 key.
func EncryptBlinded(sender *identity.Keys, recipient key.BlindedID, serverPK [32]byte, msg []byte) ([]byte, error) {
	return EncryptBlindedFrom(sender, recipient, serverPK, msg, rand.Reader)
}

// EncryptBlindedFrom is EncryptBlinded with the 24-byte nonce read from
// random in one Read call (one libsodium draw), for known-answer tests.
func EncryptBlindedFrom(sender *identity.Keys, recipient key.BlindedID, serverPK [32]byte, msg []byte, random io.Reader) ([]byte, error) {
	var nonce [chacha20poly1305.NonceSizeX]byte
	if _, err := io.ReadFull(random, nonce[:]); err != nil {
		return nil, fmt.Errorf("sessionproto: read random nonce: %w", err)
	}
	return encryptBlinded(sender, recipient, serverPK, msg, nonce)
}

// encryptBlinded is EncryptBlinded with a given nonce, for known-answer
// tests.
func encryptBlinded(sender *identity.Keys, recipient key.BlindedID, serverPK [32]byte, msg []byte, nonce [chacha20poly1305.NonceSizeX]byte) ([]byte, error) {
	if !isBlinded(recipient.Prefix()) {
		return nil, &PrefixError{What: "recipient", Got: recipient.Prefix(), Want: blindedPrefixes}
	}
	own, err := blindedKeyPair(sender, recipient.Prefix(), serverPK)
	if err != nil {
		return nil, err
	}
	defer wipeScalar(own.Scalar)
	msgKey, err := blindedKey(sender, own, recipient.Key(), own.Public, recipient.Key())
	if err != nil {
		return nil, err
	}
	defer clear(msgKey[:])

	A := sender.Ed25519Public()
	pt := make([]byte, 0, len(msg)+32)
	pt = append(pt, msg...)
	pt = append(pt, A[:]...)
	defer clear(pt)

	aead, _ := chacha20poly1305.NewX(msgKey[:]) // 32-byte key: cannot fail
	out := make([]byte, 1, len(msg)+BlindedOverhead)
	out[0] = blindedVersion
	out = aead.Seal(out, nonce[:], pt, nil)
	return append(out, nonce[:]...), nil
}

// DecryptBlinded decrypts a blinded direct message from an inbox or
// outbox listing of the community server serverPK. senderBlinded and
// recipientBlinded are the item's sender and recipient IDs (same prefix,
// 15 or 25); one of them is keys' own blinded ID. When it is the sender,
// the message is an outbox copy of one keys sent. The plaintext is returned
// still padded, with the sender's standard Session ID, after checking that
// the sender key inside the message blinds to senderBlinded (either sign
// for 15).
func DecryptBlinded(keys *identity.Keys, serverPK [32]byte, senderBlinded, recipientBlinded key.BlindedID, ct []byte) (plaintext []byte, sender key.SessionID, err error) {
	p := senderBlinded.Prefix()
	if !isBlinded(p) {
		return nil, key.SessionID{}, &PrefixError{What: "sender", Got: p, Want: blindedPrefixes}
	}
	if recipientBlinded.Prefix() != p {
		return nil, key.SessionID{}, &PrefixError{What: "recipient", Got: recipientBlinded.Prefix(), Want: []key.Prefix{p}}
	}
	if len(ct) < BlindedOverhead {
		return nil, key.SessionID{}, &LengthError{What: "blinded message", Got: len(ct), Want: fmt.Sprintf("at least %d", BlindedOverhead)}
	}
	if ct[0] != blindedVersion {
		return nil, key.SessionID{}, &VersionError{Got: ct[0]}
	}

	own, err := blindedKeyPair(keys, p, serverPK)
	if err != nil {
		return nil, key.SessionID{}, err
	}
	defer wipeScalar(own.Scalar)
	// The other party's key is whichever of the two is not ours; the hash
	// always puts the sender first.
	other := senderBlinded.Key()
	if own.ID() == senderBlinded {
		other = recipientBlinded.Key()
	}
	msgKey, err := blindedKey(keys, own, other, senderBlinded.Key(), recipientBlinded.Key())
	if err != nil {
		return nil, key.SessionID{}, err
	}
	defer clear(msgKey[:])

	nonce := ct[len(ct)-chacha20poly1305.NonceSizeX:]
	aead, _ := chacha20poly1305.NewX(msgKey[:])
	pt, err := aead.Open(nil, nonce, ct[1:len(ct)-chacha20poly1305.NonceSizeX], nil)
	if err != nil {
		return nil, key.SessionID{}, ErrDecrypt
	}
	n := len(pt) - 32
	A := key.AccountPublic(pt[n:])
	xA, err := identity.Ed25519ToX25519(A)
	if err != nil {
		clear(pt)
		return nil, key.SessionID{}, fmt.Errorf("%w: %w", ErrSenderKey, err)
	}
	sender = key.AccountID(xA)
	if !identity.SessionIDMatchesBlinded(sender, senderBlinded, serverPK) {
		clear(pt)
		return nil, key.SessionID{}, ErrBlindedSender
	}
	return pt[:n:n], sender, nil
}

func isBlinded(p key.Prefix) bool {
	return p == key.PrefixBlind15 || p == key.PrefixBlind25
}

// blindedKeyPair returns keys' blinded key pair of kind p for serverPK.
func blindedKeyPair(keys *identity.Keys, p key.Prefix, serverPK [32]byte) (*identity.BlindedKeyPair, error) {
	var kp *identity.BlindedKeyPair
	var err error
	if p == key.PrefixBlind15 {
		kp, err = keys.Blind15(serverPK)
	} else {
		kp, err = keys.Blind25(serverPK)
	}
	if err != nil {
		return nil, fmt.Errorf("sessionproto: blind own key: %w", err)
	}
	return kp, nil
}

// blindedKey computes the symmetric key of a blinded message exchanged
// between own and the peer whose blinded key is other:
// BLAKE2b-256(s·other || senderKey || recipientKey). With 15-blinding both
// sides share the blinding factor, so s is the unblinded scalar a; with
// 25-blinding the factors differ and s is the own blinded scalar k·a
// (sign-adjusted), so both sides compute k·j·a·b·B.
func blindedKey(keys *identity.Keys, own *identity.BlindedKeyPair, other, senderKey, recipientKey [32]byte) ([32]byte, error) {
	P, err := decodePeerPoint(other[:])
	if err != nil {
		return [32]byte{}, err
	}
	s := own.Scalar
	if own.Prefix == key.PrefixBlind15 {
		s = keys.Scalar()
		defer wipeScalar(s)
	}
	shared := new(edwards25519.Point).ScalarMult(s, P)
	if shared.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return [32]byte{}, ErrPeerKey
	}
	sb := shared.Bytes()
	defer clear(sb)
	h, _ := blake2b.New256(nil) // unkeyed: cannot fail
	h.Write(sb)
	h.Write(senderKey[:])
	h.Write(recipientKey[:])
	var key [32]byte
	copy(key[:], h.Sum(nil))
	return key, nil
}

// decodePeerPoint decodes a blinded public key as libsodium's
// crypto_scalarmult_ed25519_noclamp does: a canonical encoding of a point
// in the prime-order subgroup other than the identity.
func decodePeerPoint(b []byte) (*edwards25519.Point, error) {
	P, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return nil, ErrPeerKey
	}
	if string(P.Bytes()) != string(b) {
		return nil, ErrPeerKey // non-canonical encoding
	}
	id := edwards25519.NewIdentityPoint()
	if new(edwards25519.Point).MultByCofactor(P).Equal(id) == 1 {
		return nil, ErrPeerKey // small order
	}
	// L·P = (L−1)·P + P = −P + P for P in the prime-order subgroup.
	minusOne := new(edwards25519.Scalar).Negate(scalarOne())
	LP := new(edwards25519.Point).ScalarMult(minusOne, P)
	if LP.Add(LP, P).Equal(id) != 1 {
		return nil, ErrPeerKey // has a torsion component
	}
	return P, nil
}

func scalarOne() *edwards25519.Scalar {
	s, _ := new(edwards25519.Scalar).SetCanonicalBytes([]byte{1, 31: 0}) // 1 < L: cannot fail
	return s
}

func wipeScalar(s *edwards25519.Scalar) {
	if s != nil {
		*s = edwards25519.Scalar{}
	}
}

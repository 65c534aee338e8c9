package sessionproto

import (
	"crypto/ed25519"
	"io"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// SignForRecipient returns m || A || sig, where A is sender's Ed25519 key
// and sig its signature over m || A || Y, Y being recipient's X25519 key
// (spec §2.1; libsession-util sign_for_recipient). This is the plaintext
// that Seal puts in the sealed box; recipient must be a standard 05
// Session ID.
func SignForRecipient(sender *identity.Keys, recipient key.SessionID, m []byte) ([]byte, error) {
	y, err := recipientKey(recipient)
	if err != nil {
		return nil, err
	}
	A := sender.Ed25519Public()
	sk := sender.Ed25519Private()
	defer clear(sk)
	out := make([]byte, 0, len(m)+signedOverhead)
	out = append(out, m...)
	out = append(out, A[:]...)
	out = append(out, y[:]...)
	sig := ed25519.Sign(sk, out)
	return append(out[:len(m)+32], sig...), nil
}

// SealFrom is Seal with the ephemeral secret key read from random: 32
// bytes in one Read call, as libsodium's crypto_box_seal draws it. Seal
// uses crypto/rand; known-answer tests pass a recorded stream.
func SealFrom(sender *identity.Keys, recipient key.SessionID, padded []byte, random io.Reader) ([]byte, error) {
	y, err := recipientKey(recipient)
	if err != nil {
		return nil, err
	}
	return seal(sender, y, padded, random)
}

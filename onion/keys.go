package onion

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"

	"sotto.dev/key"
)

// KeyError reports a key that could not be parsed or used.
type KeyError struct {
	What   string // "ephemeral key", "destination", ...
	Reason string
}

func (e *KeyError) Error() string { return "onion: bad " + e.What + ": " + e.Reason }

// KeyPair is an X25519 key pair ready for repeated Diffie-Hellman: a node
// builds one at start-up so that each layer costs one scalar
// multiplication. It is safe for concurrent use.
type KeyPair struct {
	priv *ecdh.PrivateKey
	pub  key.OnionPublic
}

// NewKeyPair prepares priv for use. The scalar is clamped by X25519 as
// usual, so every 32-byte value is accepted.
func NewKeyPair(priv key.OnionPrivate) (*KeyPair, error) {
	k, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil {
		return nil, &KeyError{What: "x25519 private key", Reason: err.Error()}
	}
	kp := &KeyPair{priv: k}
	copy(kp.pub[:], k.PublicKey().Bytes())
	return kp, nil
}

// GenerateKeyPair makes a fresh key pair from crypto/rand.
func GenerateKeyPair() (*KeyPair, error) { return generateKeyPair(rand.Reader) }

// generateKeyPair reads the 32 secret bytes from r; tests pass a
// deterministic reader (crypto/ecdh ignores custom readers since Go 1.26).
func generateKeyPair(r io.Reader) (*KeyPair, error) {
	var sk key.OnionPrivate
	if _, err := io.ReadFull(r, sk[:]); err != nil {
		return nil, fmt.Errorf("onion: read randomness: %w", err)
	}
	defer clear(sk[:])
	return NewKeyPair(sk)
}

// Public returns the public key.
func (kp *KeyPair) Public() key.OnionPublic { return kp.pub }

// LogValue keeps the secret half out of logs.
func (kp *KeyPair) LogValue() slog.Value {
	return slog.GroupValue(slog.String("x25519_public", kp.pub.String()))
}

// shared computes X25519(kp, remote), rejecting low-order points (the
// all-zero result libsodium's crypto_scalarmult also refuses).
func (kp *KeyPair) shared(remote key.OnionPublic) ([]byte, error) {
	pk, err := ecdh.X25519().NewPublicKey(remote[:])
	if err != nil {
		return nil, &KeyError{What: "x25519 public key", Reason: err.Error()}
	}
	s, err := kp.priv.ECDH(pk)
	if err != nil {
		return nil, &KeyError{What: "x25519 public key", Reason: "low-order point"}
	}
	return s, nil
}

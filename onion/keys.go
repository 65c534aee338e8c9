package onion

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
)

// PublicKey is an X25519 public key used for onion layers: a node's
// pubkey_x25519, a server's configured key, or a per-request ephemeral key.
type PublicKey [32]byte

// String returns the lower-case hex form used in control JSON.
func (k PublicKey) String() string { return hex.EncodeToString(k[:]) }

// PrivateKey is an X25519 secret key (a node's onion key or a client's
// ephemeral key). It has no String method; LogValue redacts it.
type PrivateKey [32]byte

// LogValue keeps the key out of logs.
func (PrivateKey) LogValue() slog.Value { return slog.StringValue("[redacted x25519 private key]") }

// Equal reports whether k and o are the same key, in constant time.
func (k *PrivateKey) Equal(o *PrivateKey) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// Public computes the public key of k.
func (k *PrivateKey) Public() (PublicKey, error) {
	kp, err := NewKeyPair(*k)
	if err != nil {
		return PublicKey{}, err
	}
	return kp.Public(), nil
}

// NodeID is a service node's Ed25519 identity key; relay control objects
// name the next hop by its hex form ("destination", §4.2).
type NodeID [32]byte

// String returns the lower-case hex form.
func (n NodeID) String() string { return hex.EncodeToString(n[:]) }

// KeyError reports a key that could not be parsed or used.
type KeyError struct {
	What   string // "ephemeral key", "destination", ...
	Reason string
}

func (e *KeyError) Error() string { return "onion: bad " + e.What + ": " + e.Reason }

func parseHex32(what, s string) ([32]byte, error) {
	var out [32]byte
	if len(s) != 64 {
		return out, &KeyError{What: what, Reason: fmt.Sprintf("want 64 hex characters, got %d", len(s))}
	}
	if _, err := hex.Decode(out[:], []byte(s)); err != nil {
		return out, &KeyError{What: what, Reason: "not hex"}
	}
	return out, nil
}

// ParsePublicKey parses a 64-character hex X25519 public key.
func ParsePublicKey(s string) (PublicKey, error) {
	b, err := parseHex32("x25519 public key", s)
	return PublicKey(b), err
}

// ParsePrivateKey parses a 64-character hex X25519 secret key.
func ParsePrivateKey(s string) (PrivateKey, error) {
	b, err := parseHex32("x25519 private key", s)
	return PrivateKey(b), err
}

// ParseNodeID parses a 64-character hex Ed25519 node key.
func ParseNodeID(s string) (NodeID, error) {
	b, err := parseHex32("node ed25519 key", s)
	return NodeID(b), err
}

// KeyPair is an X25519 key pair ready for repeated Diffie-Hellman: a node
// builds one at start-up so that each layer costs one scalar
// multiplication. It is safe for concurrent use.
type KeyPair struct {
	priv *ecdh.PrivateKey
	pub  PublicKey
}

// NewKeyPair prepares priv for use. The scalar is clamped by X25519 as
// usual, so every 32-byte value is accepted.
func NewKeyPair(priv PrivateKey) (*KeyPair, error) {
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
	var sk PrivateKey
	if _, err := io.ReadFull(r, sk[:]); err != nil {
		return nil, fmt.Errorf("onion: read randomness: %w", err)
	}
	defer clear(sk[:])
	return NewKeyPair(sk)
}

// Public returns the public key.
func (kp *KeyPair) Public() PublicKey { return kp.pub }

// LogValue keeps the secret half out of logs.
func (kp *KeyPair) LogValue() slog.Value {
	return slog.GroupValue(slog.String("x25519_public", kp.pub.String()))
}

// shared computes X25519(kp, remote), rejecting low-order points (the
// all-zero result libsodium's crypto_scalarmult also refuses).
func (kp *KeyPair) shared(remote PublicKey) ([]byte, error) {
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

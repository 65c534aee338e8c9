package key

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// redacted is what fmt prints for a secret, whatever the verb.
const redacted = "[redacted]"

// NodePrivate is a service node's Ed25519 secret key (seed || public key,
// RFC 8032). It has no String; fmt and slog print it redacted. The zero value
// is unset; make one with GenerateNodePrivate or NodePrivateFromSeed.
type NodePrivate struct {
	k [ed25519.PrivateKeySize]byte
}

// GenerateNodePrivate makes a node key from 32 bytes of crypto/rand.
func GenerateNodePrivate() (NodePrivate, error) {
	var seed [ed25519.SeedSize]byte
	defer clear(seed[:])
	if _, err := rand.Read(seed[:]); err != nil {
		return NodePrivate{}, fmt.Errorf("key: read random seed: %w", err)
	}
	return NodePrivateFromSeed(seed[:])
}

// NodePrivateFromSeed derives a node key from a 32-byte Ed25519 seed.
func NodePrivateFromSeed(seed []byte) (NodePrivate, error) {
	if len(seed) != ed25519.SeedSize {
		return NodePrivate{}, &LengthError{What: "node key seed", Got: len(seed), Want: ed25519.SeedSize, Unit: "bytes"}
	}
	sk := ed25519.NewKeyFromSeed(seed)
	defer clear(sk)
	return NodePrivate{k: [ed25519.PrivateKeySize]byte(sk)}, nil
}

// IsZero reports whether k is unset.
func (k *NodePrivate) IsZero() bool { return k.k == [ed25519.PrivateKeySize]byte{} }

// Public returns the node's identity key.
func (k *NodePrivate) Public() NodePublic { return NodePublic(k.k[ed25519.SeedSize:]) }

// Seed returns a copy of the 32-byte seed, for the key file. The caller
// should clear it.
func (k *NodePrivate) Seed() []byte { return append([]byte(nil), k.k[:ed25519.SeedSize]...) }

// Ed25519 returns a copy of the key for crypto/ed25519 and crypto/tls. The
// caller should clear it when done.
func (k *NodePrivate) Ed25519() ed25519.PrivateKey { return append(ed25519.PrivateKey(nil), k.k[:]...) }

// Sign signs msg (RFC 8032).
func (k *NodePrivate) Sign(msg []byte) [ed25519.SignatureSize]byte {
	return [ed25519.SignatureSize]byte(ed25519.Sign(k.k[:], msg))
}

// OnionPrivate derives the node's onion key from its seed as Session does
// since its Ed25519 switch (session-protocol.md §1.1, libsodium's
// crypto_sign_ed25519_sk_to_curve25519): the clamped first half of
// SHA-512(seed). Its public key is the Montgomery form of Public.
func (k *NodePrivate) OnionPrivate() OnionPrivate {
	h := sha512.Sum512(k.k[:ed25519.SeedSize])
	defer clear(h[:])
	var x OnionPrivate
	copy(x[:], h[:Size])
	x[0] &= 248
	x[31] &= 127
	x[31] |= 64
	return x
}

// Equal reports whether k and o are the same key, in constant time.
func (k *NodePrivate) Equal(o *NodePrivate) bool {
	return subtle.ConstantTimeCompare(k.k[:], o.k[:]) == 1
}

// Wipe clears k, the expanded secret included.
func (k *NodePrivate) Wipe() { *k = NodePrivate{} }

// LogValue implements slog.LogValuer; it never reveals the key.
func (NodePrivate) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Format implements fmt.Formatter: every verb prints "[redacted]".
func (NodePrivate) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// OnionPrivate is an X25519 secret key for onion layers: a node's onion key
// or a client's per-request ephemeral key. It has no String; fmt and slog
// print it redacted.
type OnionPrivate [Size]byte

// GenerateOnionPrivate makes a key from crypto/rand.
func GenerateOnionPrivate() (OnionPrivate, error) {
	var k OnionPrivate
	if _, err := rand.Read(k[:]); err != nil {
		return OnionPrivate{}, fmt.Errorf("key: read random key: %w", err)
	}
	return k, nil
}

// OnionPrivateFromBytes copies b, which must be 32 bytes long. Every 32-byte
// value is a usable X25519 key (X25519 clamps it).
func OnionPrivateFromBytes(b []byte) (OnionPrivate, error) {
	k, err := fromBytes(b, "onion secret key")
	return OnionPrivate(k), err
}

// ParseOnionPrivate parses exactly 64 hex digits.
func ParseOnionPrivate(s string) (OnionPrivate, error) {
	k, err := parse32(s, "onion secret key")
	return OnionPrivate(k), err
}

// Public returns the X25519 public key of k.
func (k *OnionPrivate) Public() OnionPublic { return OnionPublic(x25519Public(k[:])) }

// Equal reports whether k and o are the same key, in constant time.
func (k *OnionPrivate) Equal(o *OnionPrivate) bool {
	return subtle.ConstantTimeCompare(k[:], o[:]) == 1
}

// IsZero reports whether k is all zeros, in constant time.
func (k *OnionPrivate) IsZero() bool {
	return subtle.ConstantTimeCompare(k[:], make([]byte, Size)) == 1
}

// Wipe clears k.
func (k *OnionPrivate) Wipe() { clear(k[:]) }

// LogValue implements slog.LogValuer; it never reveals the key.
func (OnionPrivate) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Format implements fmt.Formatter: every verb prints "[redacted]".
func (OnionPrivate) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// BoxPrivate is an account's X25519 secret key (the clamped scalar of its
// Ed25519 key), which opens the messages sealed to its [BoxPublic]. It has
// no String; fmt and slog print it redacted.
type BoxPrivate [Size]byte

// BoxPrivateFromBytes copies b, which must be 32 bytes long.
func BoxPrivateFromBytes(b []byte) (BoxPrivate, error) {
	k, err := fromBytes(b, "box secret key")
	return BoxPrivate(k), err
}

// Public returns the X25519 public key of k.
func (k *BoxPrivate) Public() BoxPublic { return BoxPublic(x25519Public(k[:])) }

// Equal reports whether k and o are the same key, in constant time.
func (k *BoxPrivate) Equal(o *BoxPrivate) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// Wipe clears k.
func (k *BoxPrivate) Wipe() { clear(k[:]) }

// LogValue implements slog.LogValuer; it never reveals the key.
func (BoxPrivate) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Format implements fmt.Formatter: every verb prints "[redacted]".
func (BoxPrivate) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// x25519Public returns X25519(sk, 9). crypto/ecdh fails only for a wrong
// length, which the array types rule out.
func x25519Public(sk []byte) [Size]byte {
	k, err := ecdh.X25519().NewPrivateKey(sk)
	if err != nil {
		panic("key: X25519 key of 32 bytes rejected: " + err.Error())
	}
	return [Size]byte(k.PublicKey().Bytes())
}

package key

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
)

// FileServerPublic is a file server's Ed25519 key: what its ledger
// registration names and what a `p=` URL fragment carries. Its X25519 onion
// key is derived from it as a node's is. The zero value is unset.
type FileServerPublic [Size]byte

// FileServerPublicFromBytes copies b, which must be 32 bytes long.
func FileServerPublicFromBytes(b []byte) (FileServerPublic, error) {
	k, err := fromBytes(b, "file server key")
	return FileServerPublic(k), err
}

// ParseFileServerPublic parses exactly 64 hex digits (either case).
func ParseFileServerPublic(s string) (FileServerPublic, error) {
	k, err := parse32(s, "file server key")
	return FileServerPublic(k), err
}

// String returns the key as 64 lowercase hex digits.
func (k FileServerPublic) String() string { return string(appendHex(nil, k[:])) }

// IsZero reports whether k is all zeros (unset).
func (k FileServerPublic) IsZero() bool { return k == FileServerPublic{} }

// AppendText implements encoding.TextAppender (lowercase hex).
func (k FileServerPublic) AppendText(b []byte) ([]byte, error) { return appendHex(b, k[:]), nil }

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (k FileServerPublic) MarshalText() ([]byte, error) { return k.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler with ParseFileServerPublic.
func (k *FileServerPublic) UnmarshalText(b []byte) error {
	v, err := ParseFileServerPublic(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// FileServerPrivate is a file server's Ed25519 secret key (seed || public
// key, RFC 8032). It is a node key in a different role, so it has the same
// methods as [NodePrivate]; no String, and fmt and slog print it redacted.
// The zero value is unset; make one with GenerateFileServerPrivate or
// FileServerPrivateFromSeed.
type FileServerPrivate struct {
	k NodePrivate
}

// GenerateFileServerPrivate makes a key from 32 bytes of crypto/rand.
func GenerateFileServerPrivate() (FileServerPrivate, error) {
	k, err := GenerateNodePrivate()
	return FileServerPrivate{k: k}, err
}

// FileServerPrivateFromSeed derives a key from a 32-byte Ed25519 seed.
func FileServerPrivateFromSeed(seed []byte) (FileServerPrivate, error) {
	if len(seed) != ed25519.SeedSize {
		return FileServerPrivate{}, &LengthError{What: "file server key seed", Got: len(seed), Want: ed25519.SeedSize, Unit: "bytes"}
	}
	k, err := NodePrivateFromSeed(seed)
	return FileServerPrivate{k: k}, err
}

// IsZero reports whether k is unset.
func (k *FileServerPrivate) IsZero() bool { return k.k.IsZero() }

// Public returns the server's Ed25519 public key.
func (k *FileServerPrivate) Public() FileServerPublic { return FileServerPublic(k.k.Public()) }

// Seed returns a copy of the 32-byte seed, for the key file. The caller
// should clear it.
func (k *FileServerPrivate) Seed() []byte { return k.k.Seed() }

// Sign signs msg (RFC 8032).
func (k *FileServerPrivate) Sign(msg []byte) [64]byte { return k.k.Sign(msg) }

// OnionPrivate derives the server's onion key from its seed, as
// [NodePrivate.OnionPrivate] does; its public key is the Montgomery form of
// Public.
func (k *FileServerPrivate) OnionPrivate() OnionPrivate { return k.k.OnionPrivate() }

// Equal reports whether k and o are the same key, in constant time.
func (k *FileServerPrivate) Equal(o *FileServerPrivate) bool { return k.k.Equal(&o.k) }

// Wipe clears k.
func (k *FileServerPrivate) Wipe() { k.k.Wipe() }

// LogValue implements slog.LogValuer; it never reveals the key.
func (FileServerPrivate) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Format implements fmt.Formatter: every verb prints "[redacted]".
func (FileServerPrivate) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

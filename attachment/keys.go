package attachment

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Key is the 32-byte key of a deterministic attachment
// (AttachmentPointer.key, or a profile picture's profileKey).
type Key [KeySize]byte

// Equal reports whether k and o are equal, in constant time.
func (k *Key) Equal(o *Key) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// LogValue implements slog.LogValuer; it never reveals the key.
func (Key) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Wipe clears the key.
func (k *Key) Wipe() { clear(k[:]) }

// KeyFromBytes returns the key in b, which must be KeySize bytes.
func KeyFromBytes(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("deterministic key is %d bytes, want %d: %w", len(b), KeySize, ErrKey)
	}
	return Key(b), nil
}

// Seed is the uploader's 32-byte seed that keys the deterministic form's
// hash (Session uses the account's Ed25519 seed).
type Seed [seedSize]byte

// LogValue implements slog.LogValuer; it never reveals the seed.
func (Seed) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Wipe clears the seed.
func (s *Seed) Wipe() { clear(s[:]) }

// SeedFromBytes returns the first 32 bytes of b as a seed, as libsession
// does (a 64-byte libsodium secret key gives its seed); b must have at
// least 32.
func SeedFromBytes(b []byte) (Seed, error) {
	if len(b) < seedSize {
		return Seed{}, fmt.Errorf("seed is %d bytes, want at least %d: %w", len(b), seedSize, ErrKey)
	}
	return Seed(b[:seedSize]), nil
}

// LegacyKey is the legacy form's AES-256 key followed by its HMAC-SHA256
// key (AttachmentPointer.key).
type LegacyKey [LegacyKeySize]byte

// NewLegacyKey returns a random key.
func NewLegacyKey() (LegacyKey, error) {
	var k LegacyKey
	_, err := rand.Read(k[:])
	return k, err
}

// LegacyKeyFromBytes returns the key in b, which must be 64 bytes.
func LegacyKeyFromBytes(b []byte) (LegacyKey, error) {
	if len(b) != LegacyKeySize {
		return LegacyKey{}, fmt.Errorf("legacy key is %d bytes, want %d: %w", len(b), LegacyKeySize, ErrKey)
	}
	return LegacyKey(b), nil
}

// Equal reports whether k and o are equal, in constant time.
func (k *LegacyKey) Equal(o *LegacyKey) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// LogValue implements slog.LogValuer; it never reveals the key.
func (LegacyKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Wipe clears the key.
func (k *LegacyKey) Wipe() { clear(k[:]) }

func (k *LegacyKey) aesKey() []byte { return k[:32] }
func (k *LegacyKey) macKey() []byte { return k[32:] }

// ProfileKey is a legacy profile picture's AES-256-GCM key
// (DataMessage.profileKey).
type ProfileKey [ProfileKeySize]byte

// ProfileKeyFromBytes returns the key in b, which must be 32 bytes.
func ProfileKeyFromBytes(b []byte) (ProfileKey, error) {
	if len(b) != ProfileKeySize {
		return ProfileKey{}, fmt.Errorf("profile key is %d bytes, want %d: %w", len(b), ProfileKeySize, ErrKey)
	}
	return ProfileKey(b), nil
}

// Equal reports whether k and o are equal, in constant time.
func (k *ProfileKey) Equal(o *ProfileKey) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// LogValue implements slog.LogValuer; it never reveals the key.
func (ProfileKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Wipe clears the key.
func (k *ProfileKey) Wipe() { clear(k[:]) }

package onion

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/key"
)

// Cipher is a layer encryption type ("enc_type", §4.1).
type Cipher uint8

// The two layer ciphers Session uses. (The storage server also knows
// "aes-cbc" for very old clients; nothing sends it any more.)
const (
	// CipherAESGCM is "aes-gcm", the default when enc_type is absent:
	// key = HMAC-SHA256(key "LOKI", X25519(e, B)), ciphertext iv12 || ct || tag16.
	CipherAESGCM Cipher = iota + 1
	// CipherXChaCha20 is "xchacha20" (alias "xchacha20-poly1305"):
	// key = BLAKE2b-256(X25519(e, B) || E || B), ciphertext nonce24 || ct || tag16.
	CipherXChaCha20
)

// String returns the canonical enc_type name.
func (c Cipher) String() string {
	switch c {
	case CipherAESGCM:
		return encTypeAESGCM
	case CipherXChaCha20:
		return encTypeXChaCha
	}
	return fmt.Sprintf("cipher(%d)", uint8(c))
}

// Overhead is the number of bytes a layer adds to its plaintext.
func (c Cipher) Overhead() int {
	switch c {
	case CipherAESGCM:
		return gcmIVSize + gcmTagSize
	case CipherXChaCha20:
		return xchachaNonce + xchachaTagSize
	}
	return 0
}

func (c Cipher) valid() bool { return c == CipherAESGCM || c == CipherXChaCha20 }

// MarshalText writes the canonical name, so a Cipher can sit in JSON.
func (c Cipher) MarshalText() ([]byte, error) {
	if !c.valid() {
		return nil, &CipherError{Name: c.String()}
	}
	return []byte(c.String()), nil
}

// UnmarshalText accepts every name ParseCipher accepts.
func (c *Cipher) UnmarshalText(b []byte) error {
	p, err := ParseCipher(string(b))
	if err != nil {
		return err
	}
	*c = p
	return nil
}

// CipherError reports an unknown enc_type.
type CipherError struct{ Name string }

func (e *CipherError) Error() string { return fmt.Sprintf("onion: unknown enc_type %q", e.Name) }

// ParseCipher maps an enc_type string to a Cipher. Like the storage server
// it accepts "aes-gcm", "gcm", "xchacha20" and "xchacha20-poly1305".
func ParseCipher(s string) (Cipher, error) {
	switch s {
	case encTypeAESGCM, encTypeAESGCMAlias:
		return CipherAESGCM, nil
	case encTypeXChaCha, encTypeXChaChaLegacy:
		return CipherXChaCha20, nil
	}
	return 0, &CipherError{Name: s}
}

// ErrDecrypt is returned (wrapped) for every layer that does not open: too
// short, wrong key, or altered. It carries no further detail on purpose.
var ErrDecrypt = errors.New("onion: layer does not decrypt")

// LayerKey is the symmetric key of one onion layer, shared by the request
// initiator (ephemeral key e, E) and the hop or destination (static key b,
// B). The same key encrypts the request layer and, at the destination, the
// reply. A LayerKey is safe for concurrent use.
type LayerKey struct {
	cipher Cipher
	key    [32]byte
	aead   cipher.AEAD
}

// ClientLayerKey derives the key as the initiator: ephemeral key pair eph,
// remote static key remote (the hop's or server's X25519 key).
func ClientLayerKey(c Cipher, eph *KeyPair, remote key.OnionPublic) (*LayerKey, error) {
	s, err := eph.shared(remote)
	if err != nil {
		return nil, err
	}
	return newLayerKey(c, s, eph.pub, remote)
}

// ServerLayerKey derives the key as the hop or destination: its static key
// pair local and the initiator's ephemeral public key eph.
func ServerLayerKey(c Cipher, local *KeyPair, eph key.OnionPublic) (*LayerKey, error) {
	s, err := local.shared(eph)
	if err != nil {
		return nil, err
	}
	return newLayerKey(c, s, eph, local.pub)
}

// newLayerKey derives the symmetric key from the shared secret s. For
// XChaCha20 the initiator's key goes first and the responder's second, on
// both sides (§4.1; xchacha20_shared_key in libsession and the storage
// server hash "local" first only on the client side).
func newLayerKey(c Cipher, s []byte, initiator, responder key.OnionPublic) (*LayerKey, error) {
	defer clear(s)
	k := &LayerKey{cipher: c}
	switch c {
	case CipherAESGCM:
		k.key = hmacLabel(s)
		block, err := aes.NewCipher(k.key[:])
		if err != nil {
			return nil, fmt.Errorf("onion: aes: %w", err)
		}
		k.aead, err = cipher.NewGCMWithNonceSize(block, gcmIVSize)
		if err != nil {
			return nil, fmt.Errorf("onion: gcm: %w", err)
		}
	case CipherXChaCha20:
		h, _ := blake2b.New256(nil) // only fails for keys over 64 bytes
		h.Write(s)
		h.Write(initiator[:])
		h.Write(responder[:])
		h.Sum(k.key[:0])
		var err error
		k.aead, err = chacha20poly1305.NewX(k.key[:])
		if err != nil {
			return nil, fmt.Errorf("onion: xchacha20: %w", err)
		}
	default:
		return nil, &CipherError{Name: c.String()}
	}
	return k, nil
}

// hmacLabel is HMAC-SHA256(key = aesGCMKeyLabel, msg = s) for the 32-byte
// shared secret s, written out (RFC 2104) so that the per-layer hot path
// allocates nothing; TestHMACLabel checks it against crypto/hmac.
func hmacLabel(s []byte) [32]byte {
	const block = 64
	var buf [block + sha256.Size]byte
	copy(buf[:block], aesGCMKeyLabel)
	for i := range block {
		buf[i] ^= 0x36
	}
	n := copy(buf[block:], s)
	inner := sha256.Sum256(buf[:block+n])
	clear(buf[:])
	copy(buf[:block], aesGCMKeyLabel)
	for i := range block {
		buf[i] ^= 0x5c
	}
	copy(buf[block:], inner[:])
	out := sha256.Sum256(buf[:])
	clear(buf[:])
	clear(inner[:])
	return out
}

// Cipher reports the layer's cipher.
func (k *LayerKey) Cipher() Cipher { return k.cipher }

// LogValue keeps the key out of logs.
func (k *LayerKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("cipher", k.cipher.String()), slog.String("key", "[redacted]"))
}

// Seal encrypts plaintext with a fresh random nonce from crypto/rand and
// returns nonce || ciphertext || tag.
func (k *LayerKey) Seal(plaintext []byte) []byte {
	out, err := k.sealWith(rand.Reader, plaintext)
	if err != nil {
		// crypto/rand.Reader does not fail (it crashes the program instead).
		panic(err)
	}
	return out
}

func (k *LayerKey) sealWith(r io.Reader, plaintext []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+k.aead.Overhead())
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, fmt.Errorf("onion: read nonce: %w", err)
	}
	return k.aead.Seal(out, out[:ns], plaintext, nil), nil
}

// Open decrypts nonce || ciphertext || tag. Every failure wraps ErrDecrypt.
func (k *LayerKey) Open(ct []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(ct) < ns+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is shorter than %s overhead", ErrDecrypt, len(ct), k.cipher)
	}
	pt, err := k.aead.Open(nil, ct[:ns], ct[ns:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", ErrDecrypt, k.cipher)
	}
	return pt, nil
}

// Destroy wipes the key bytes this value holds. The expanded cipher state
// inside the standard library's AEAD cannot be wiped from Go.
func (k *LayerKey) Destroy() { clear(k.key[:]) }

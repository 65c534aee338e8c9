package ledger

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/ledger/state"
)

// Session names (ONS, session-protocol.md §9): the ledger stores only the
// name's hash and the Session ID encrypted with a key derived from the
// name, so that only someone who knows the name can read the ID.
//
//	name_hash = BLAKE2b-256(lowercase name)
//	key       = BLAKE2b-256(message = name, key = name_hash)
//	value     = XChaCha20-Poly1305(key, nonce, 33-byte Session ID)
//
// This is the current ("blake2b") format; the older argon2 format is not
// written by Sotto.

// ONSValueSize is the size of an encrypted Session ID (33 + 16).
const ONSValueSize = 33 + chacha20poly1305.Overhead

// ErrONSName is wrapped by errors about names Session does not accept.
var ErrONSName = errors.New("ledger: invalid ONS name")

// CheckONSName applies Session's name rules: 1 to 64 characters of
// letters, digits, '_' and '-', not starting or ending with '-'.
func CheckONSName(name string) error {
	if len(name) == 0 || len(name) > 64 {
		return fmt.Errorf("%w: %d characters, want 1..64", ErrONSName, len(name))
	}
	for i, r := range name {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') ||
			(r == '-' && i != 0 && i != len(name)-1)
		if !ok {
			return fmt.Errorf("%w: character %q at %d", ErrONSName, r, i)
		}
	}
	return nil
}

// ONSNameHash returns the hash a name is registered and looked up under.
func ONSNameHash(name string) state.NameHash {
	return state.NameHash(blake2b.Sum256([]byte(strings.ToLower(name))))
}

func onsKey(name string) []byte {
	name = strings.ToLower(name)
	h := ONSNameHash(name)
	mac, _ := blake2b.New256(h[:]) // a 32-byte key is always valid
	mac.Write([]byte(name))
	return mac.Sum(nil)
}

// ONSEncrypt encrypts a 33-byte Session ID (05 ‖ X25519 key) for name
// with a fresh random nonce.
func ONSEncrypt(name string, sessionID []byte) (value []byte, nonce [24]byte, err error) {
	if len(sessionID) != 33 {
		return nil, nonce, fmt.Errorf("ledger: Session ID of %d bytes, want 33", len(sessionID))
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, nonce, err
	}
	aead, _ := chacha20poly1305.NewX(onsKey(name))
	return aead.Seal(nil, nonce[:], sessionID, nil), nonce, nil
}

// ErrONSDecrypt is returned when a value does not open with the name.
var ErrONSDecrypt = errors.New("ledger: ONS value does not decrypt with this name")

// ONSDecrypt opens an encrypted Session ID with the name.
func ONSDecrypt(name string, value []byte, nonce [24]byte) ([]byte, error) {
	if len(value) != ONSValueSize {
		return nil, fmt.Errorf("%w: value of %d bytes, want %d", ErrONSDecrypt, len(value), ONSValueSize)
	}
	aead, _ := chacha20poly1305.NewX(onsKey(name))
	id, err := aead.Open(nil, nonce[:], value, nil)
	if err != nil {
		return nil, ErrONSDecrypt
	}
	return id, nil
}

package config

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
)

// Errors of the encryption layer.
var (
	// ErrDomain is returned for an encryption domain outside 1–24 bytes.
	ErrDomain = errors.New("config: encryption domain must be 1 to 24 bytes")
	// ErrShortCiphertext is returned for a ciphertext shorter than Overhead.
	ErrShortCiphertext = errors.New("config: ciphertext is too short")
	// ErrDecrypt is returned when a ciphertext does not open with a key.
	ErrDecrypt = errors.New("config: message decryption failed")
)

// PaddedSize is libsession's padded_size(size, overhead) (encrypt.hpp:90-94):
// the size to pad a plaintext of size bytes to so that, with overhead bytes
// added, it is a multiple of 256 below 5120 bytes, of 1024 below 20480, of
// 2048 below 40960 and of 5120 from there.
func PaddedSize(size, overhead int) int {
	s2 := size + overhead
	var chunk int
	switch {
	case s2 < 5120:
		chunk = 256
	case s2 < 20480:
		chunk = 1024
	case s2 < 40960:
		chunk = 2048
	default:
		chunk = 5120
	}
	return (s2+chunk-1)/chunk*chunk - overhead
}

// Pad returns msg with leading zero bytes up to PaddedSize(len(msg),
// Overhead) (libsession pad_message, encrypt.cpp:138-142).
func Pad(msg []byte) []byte {
	n := PaddedSize(len(msg), Overhead)
	out := make([]byte, n, n+Overhead)
	copy(out[n-len(msg):], msg)
	return out
}

// Encrypt encrypts msg as it is (libsession config::encrypt; Seal pads
// first): XChaCha20-Poly1305 with the key BLAKE2b-256(keyBase ||
// u64be(len(msg)) || domain) and the nonce BLAKE2b-192 keyed with
// "libsessionutil-config-encrypted-" || domain over msg, the nonce appended
// (spec §4.3 step 4, §5 fact 1). The same inputs give the same ciphertext.
func Encrypt(msg []byte, keyBase [32]byte, domain string) ([]byte, error) {
	key, err := encryptionKey(keyBase, len(msg), domain)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	h, _ := blake2b.New(chacha20poly1305.NonceSizeX, []byte(labelNonceKeyPrefix+domain)) // key ≤ 56 bytes: cannot fail
	h.Write(msg)
	nonce := h.Sum(nil)

	aead, _ := chacha20poly1305.NewX(key[:]) // 32-byte key: cannot fail
	out := make([]byte, 0, len(msg)+Overhead)
	out = aead.Seal(out, nonce, msg, nil)
	return append(out, nonce...), nil
}

// Decrypt decrypts a config ciphertext and returns the plaintext, still
// padded (libsession config::decrypt, encrypt.cpp:111-136). Errors:
// ErrShortCiphertext, ErrDomain, ErrDecrypt.
func Decrypt(ct []byte, keyBase [32]byte, domain string) ([]byte, error) {
	if len(ct) < Overhead {
		return nil, ErrShortCiphertext
	}
	n := len(ct) - Overhead
	key, err := encryptionKey(keyBase, n, domain)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	aead, _ := chacha20poly1305.NewX(key[:])
	nonce := ct[len(ct)-chacha20poly1305.NonceSizeX:]
	pt, err := aead.Open(make([]byte, 0, n), nonce, ct[:len(ct)-chacha20poly1305.NonceSizeX], nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// encryptionKey is BLAKE2b-256(keyBase || u64be(size) || domain)
// (encrypt.cpp:33-55).
func encryptionKey(keyBase [32]byte, size int, domain string) ([32]byte, error) {
	if err := checkDomain(domain); err != nil {
		return [32]byte{}, err
	}
	buf := make([]byte, 0, 32+8+len(domain))
	buf = append(buf, keyBase[:]...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(size))
	buf = append(buf, domain...)
	k := blake2b.Sum256(buf)
	clear(buf)
	return k, nil
}

func checkDomain(domain string) error {
	if len(domain) < 1 || len(domain) > maxDomainLen {
		return fmt.Errorf("%w (got %d)", ErrDomain, len(domain))
	}
	return nil
}

// unpad strips the leading zero bytes of a decrypted plaintext.
func unpad(pt []byte) []byte {
	for i, b := range pt {
		if b != 0 {
			return pt[i:]
		}
	}
	return pt[len(pt):]
}

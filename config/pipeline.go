package config

import (
	"crypto/ed25519"
	"errors"
)

// NOTE(skeleton): the push pipeline. Helper "pipeline" fills in every body.

// ErrTooLarge is returned when a config cannot be pushed even as parts.
var ErrTooLarge = errors.New("config: config data is too large")

// Overhead is what encryption adds: the Poly1305 tag and the nonce.
const Overhead = 40

// MaxMessageSize is the largest stored message (libsession config.hpp:19).
const MaxMessageSize = 76800

// PaddedSize is libsession's padded_size(size, overhead).
func PaddedSize(size, overhead int) int { return 0 }

// Encrypt pads msg with leading zeros to PaddedSize(len(msg), Overhead)
// and encrypts it with the key derived from keyBase and domain; the nonce
// is appended.
func Encrypt(msg []byte, keyBase [32]byte, domain string) ([]byte, error) { return nil, errSkeleton }

// Decrypt decrypts a config ciphertext and returns the padded plaintext.
func Decrypt(ct []byte, keyBase [32]byte, domain string) ([]byte, error) { return nil, errSkeleton }

// WrapConfig puts a user config ciphertext in the legacy protobuf wrapper
// of namespace ns (2–5), sealed to the account itself.
func WrapConfig(account ed25519.PrivateKey, data []byte, seqno int64, ns int) ([]byte, error) {
	return nil, errSkeleton
}

// UnwrapConfig opens the protobuf wrapper of namespace ns and returns the
// config ciphertext inside.
func UnwrapConfig(account ed25519.PrivateKey, data []byte, ns int) ([]byte, error) {
	return nil, errSkeleton
}

// Sealed is the output of Seal for one serialized message.
type Sealed struct {
	Messages [][]byte // the bytes to store: one, or the parts
	// Layers, for `sotto debug libsession` diagnostics: of the single
	// message case only.
	PaddedLen  int
	Compressed bool
	Inner      []byte // the config ciphertext under the protobuf wrapper
}

// Seal runs the push pipeline on a serialized message: compression when
// it is smaller, padding, encryption with keyBase, the protobuf wrapper
// for user configs, or multi-part messages when the result is over
// MaxMessageSize. It returns an error wrapping ErrTooLarge when even parts
// cannot hold it.
func Seal(msg []byte, kind Kind, keyBase [32]byte, account ed25519.PrivateKey, seqno int64) (Sealed, error) {
	return Sealed{}, errSkeleton
}

// Part is one part of a multi-part config message.
type Part struct {
	Hash  [32]byte // identifies the whole message the part belongs to
	Index int
	Count int
	Chunk []byte
}

// Opened is one stored message after Open: either a whole serialized
// config message (Plain) or one part of a multi-part one (Part).
type Opened struct {
	Plain    []byte
	Part     *Part
	KeyIndex int // which of the keys decrypted it
}

// Open undoes Seal for one stored message: it unwraps the protobuf wrapper
// (twice, for a buggy old client) or takes the input as a raw ciphertext,
// tries every key, strips the padding and decompresses.
func Open(data []byte, kind Kind, keys [][32]byte, account ed25519.PrivateKey) (Opened, error) {
	return Opened{}, errSkeleton
}

// JoinParts reassembles the parts of one multi-part message (all with the
// same Hash, every index present) into the serialized config message, and
// checks it against the hash.
func JoinParts(parts []Part) ([]byte, error) { return nil, errSkeleton }

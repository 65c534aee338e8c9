package config

import (
	"crypto/ed25519"
	"errors"

	"golang.org/x/crypto/blake2b"
)

// ErrTooLarge is returned when a config cannot be pushed even as parts.
var ErrTooLarge = errors.New("config: config data is too large")

// Overhead is what encryption adds: the Poly1305 tag and the nonce.
const Overhead = 40

// MaxMessageSize is the largest stored message (libsession config.hpp:19).
const MaxMessageSize = 76800

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
	if err := checkDomain(kind.Domain); err != nil {
		return Sealed{}, err
	}
	body, compressed := compress(msg)
	padded := Pad(body)
	if len(padded)+Overhead <= MaxMessageSize {
		ct, err := Encrypt(padded, keyBase, kind.Domain)
		if err != nil {
			return Sealed{}, err
		}
		out := ct
		if kind.Protobuf {
			w, err := WrapConfig(account, ct, seqno, kind.Namespace)
			if err != nil {
				return Sealed{}, err
			}
			// Newer libsession stores the bare ciphertext when the wrapper
			// would take it over the limit (§4.4); every receiver accepts
			// both.
			if len(w) <= MaxMessageSize {
				out = w
			}
		}
		return Sealed{Messages: [][]byte{out}, PaddedLen: len(padded), Compressed: compressed, Inner: ct}, nil
	}

	parts, err := splitParts(padded, blake2b.Sum256(msg))
	if err != nil {
		return Sealed{}, err
	}
	s := Sealed{Messages: make([][]byte, len(parts))}
	for i, p := range parts {
		ct, err := Encrypt(Pad(encodePart(p)), keyBase, kind.Domain)
		if err != nil {
			return Sealed{}, err
		}
		s.Messages[i] = ct
	}
	return s, nil
}

// Part is one part of a multi-part config message (§4.12; multipart.go).
type Part struct {
	Hash  [32]byte // BLAKE2b-256 of the whole serialized config message
	Index int      // 0 … Count-1
	Count int      // 1 … MaxParts
	Chunk []byte   // this part's piece of the padded, compressed body
}

// Opened is one stored message after Open: either a whole serialized
// config message (Plain) or one part of a multi-part one (Part).
type Opened struct {
	Plain    []byte
	Part     *Part
	KeyIndex int // which of the keys decrypted it
}

// Open undoes Seal for one stored message (base.cpp:67-199): for user
// configs it unwraps the protobuf wrapper (a second time, for the
// double-wrapped messages of an old buggy client), or takes the input as a
// raw ciphertext when it is not wrapped; it tries every key in order,
// strips the padding and decompresses. A part of a multi-part message is
// returned as it is, for JoinParts. Errors: ErrShortCiphertext, ErrDomain,
// ErrDecrypt (no key opens it), ErrMalformed, ErrDecompress.
func Open(data []byte, kind Kind, keys [][32]byte, account ed25519.PrivateKey) (Opened, error) {
	if kind.Protobuf && account != nil {
		if inner, err := UnwrapConfig(account, data, kind.Namespace); err == nil {
			data = inner
			if inner2, err := UnwrapConfig(account, inner, kind.Namespace); err == nil {
				data = inner2
			}
		}
	}
	pt, ki, err := decryptAny(data, keys, kind.Domain)
	if err != nil {
		return Opened{}, err
	}
	body := unpad(pt)
	if len(body) > 0 && body[0] == prefixPart {
		p, err := decodePart(body)
		if err != nil {
			return Opened{}, err
		}
		return Opened{Part: p, KeyIndex: ki}, nil
	}
	plain, err := openBody(body)
	if err != nil {
		return Opened{}, err
	}
	return Opened{Plain: plain, KeyIndex: ki}, nil
}

// decryptAny decrypts ct with the first key of keys that opens it.
func decryptAny(ct []byte, keys [][32]byte, domain string) ([]byte, int, error) {
	if len(keys) == 0 {
		return nil, 0, errors.New("config: no decryption keys")
	}
	for i, k := range keys {
		pt, err := Decrypt(ct, k, domain)
		switch {
		case err == nil:
			return pt, i, nil
		case !errors.Is(err, ErrDecrypt):
			return nil, 0, err // too short or a bad domain: no key can help
		}
	}
	return nil, 0, ErrDecrypt
}

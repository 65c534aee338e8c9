package attachment

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"slices"

	"golang.org/x/crypto/chacha20"
	//lint:ignore SA1019 secretstream's MAC is raw Poly1305 over a layout no AEAD in x/crypto produces (see push)
	"golang.org/x/crypto/poly1305"
)

// libsodium's crypto_secretstream_xchacha20poly1305, which Go's x/crypto
// does not have, rebuilt from libsodium's documentation and source
// (docs/attachments.md). A stream is a 24-byte header and messages, each
// sealed as
//
//	encrypted tag (1) || ChaCha20 ciphertext || Poly1305 MAC (16)
//
// under a subkey HChaCha20(key, header[0:16]) and a 12-byte nonce of a
// 4-byte little-endian counter (starting at 1) and an 8-byte inner nonce
// (header[16:24]). For each message, ChaCha20 block 0 keys Poly1305, block
// 1 encrypts the tag byte padded with zeros to 64 bytes (all 64 encrypted
// bytes are MACed, only the first is sent) and blocks 2… encrypt the
// message. The MAC covers: additional data (none here) padded to 16 bytes,
// the 64-byte tag block, the ciphertext, then len(ciphertext) mod 16 zero
// bytes (libsodium's padding expression, (16 − 64 + mlen) & 15, which is not
// the usual padding to a multiple of 16), then the additional data's length
// and 64 + len(ciphertext) as little-endian uint64s. After each message the
// MAC's first 8 bytes are XORed into the inner nonce, the counter is
// incremented, and the stream rekeys when the tag has the REKEY bit or the
// counter wrapped to zero.

const (
	ssKeySize    = 32
	ssHeaderSize = 24
	ssABytes     = 1 + poly1305.TagSize // per-message overhead

	ssTagMessage byte = 0
	ssTagPush    byte = 1
	ssTagRekey   byte = 2
	ssTagFinal        = ssTagPush | ssTagRekey
)

// errStreamAuth is a message whose MAC does not verify; callers wrap it in
// their own error.
var errStreamAuth = errors.New("secretstream: message does not authenticate")

// secretstream is the state of one direction of a stream.
type secretstream struct {
	k     [32]byte
	nonce [12]byte // counter (4, little-endian) || inner nonce (8)
}

// init sets the state from a key and a header. libsodium's init_push draws
// the header at random; the deterministic attachment form supplies it, and
// init_pull is the same computation.
func (s *secretstream) init(key *[ssKeySize]byte, header *[ssHeaderSize]byte) {
	sub, err := chacha20.HChaCha20(key[:], header[:16])
	if err != nil {
		panic("attachment: HChaCha20: " + err.Error()) // lengths are fixed
	}
	copy(s.k[:], sub)
	clear(sub)
	s.resetCounter()
	copy(s.nonce[4:], header[16:])
}

func (s *secretstream) resetCounter() {
	s.nonce[0], s.nonce[1], s.nonce[2], s.nonce[3] = 1, 0, 0, 0
}

// wipe clears the state.
func (s *secretstream) wipe() {
	clear(s.k[:])
	clear(s.nonce[:])
}

func (s *secretstream) cipher() *chacha20.Cipher {
	c, err := chacha20.NewUnauthenticatedCipher(s.k[:], s.nonce[:])
	if err != nil {
		panic("attachment: ChaCha20: " + err.Error()) // lengths are fixed
	}
	return c
}

// begin returns the ChaCha20 cipher at block 1 and the Poly1305 MAC keyed
// by block 0, for the message about to be sealed or opened.
func (s *secretstream) begin() (*chacha20.Cipher, *poly1305.MAC) {
	c := s.cipher()
	var block [64]byte
	c.XORKeyStream(block[:], block[:])
	var pk [32]byte
	copy(pk[:], block[:32])
	mac := poly1305.New(&pk)
	clear(pk[:])
	clear(block[:])
	// Additional data is always empty here: nothing to MAC, no padding.
	return c, mac
}

var zero16 [16]byte

// finishMAC MACs the tail of a message and returns the tag.
func finishMAC(mac *poly1305.MAC, mlen int) [poly1305.TagSize]byte {
	mac.Write(zero16[:mlen&0xf])
	var lens [16]byte
	binary.LittleEndian.PutUint64(lens[0:], 0) // additional data length
	binary.LittleEndian.PutUint64(lens[8:], uint64(64+mlen))
	mac.Write(lens[:])
	var tag [poly1305.TagSize]byte
	mac.Sum(tag[:0])
	return tag
}

// advance updates the nonce after a message with MAC tag and stream tag t.
func (s *secretstream) advance(mac *[poly1305.TagSize]byte, t byte) {
	subtle.XORBytes(s.nonce[4:], s.nonce[4:], mac[:8])
	c := binary.LittleEndian.Uint32(s.nonce[:4]) + 1
	binary.LittleEndian.PutUint32(s.nonce[:4], c)
	if t&ssTagRekey != 0 || c == 0 {
		s.rekey()
	}
}

// rekey replaces the key and inner nonce with their encryption under the
// current key and nonce, and resets the counter (crypto_secretstream_
// xchacha20poly1305_rekey).
func (s *secretstream) rekey() {
	var kn [40]byte
	copy(kn[:32], s.k[:])
	copy(kn[32:], s.nonce[4:])
	s.cipher().XORKeyStream(kn[:], kn[:])
	copy(s.k[:], kn[:32])
	copy(s.nonce[4:], kn[32:])
	clear(kn[:])
	s.resetCounter()
}

// push seals m with tag t, appending len(m)+ssABytes bytes to out.
func (s *secretstream) push(out, m []byte, t byte) []byte {
	c, mac := s.begin()
	var block [64]byte
	block[0] = t
	c.XORKeyStream(block[:], block[:])
	mac.Write(block[:])

	n := len(out)
	out = slices.Grow(out, 1+len(m)+poly1305.TagSize)[:n+1+len(m)+poly1305.TagSize]
	out[n] = block[0]
	ct := out[n+1 : n+1+len(m)]
	c.XORKeyStream(ct, m)
	mac.Write(ct)
	tag := finishMAC(mac, len(m))
	copy(out[n+1+len(m):], tag[:])
	s.advance(&tag, t)
	clear(block[:])
	return out
}

// pull opens one sealed message in, appending the plaintext to out and
// returning its tag. On failure the state is unchanged and out is returned
// as it was.
func (s *secretstream) pull(out, in []byte) ([]byte, byte, error) {
	if len(in) < ssABytes {
		return out, 0, errStreamAuth
	}
	mlen := len(in) - ssABytes
	c, mac := s.begin()
	var block [64]byte
	block[0] = in[0]
	c.XORKeyStream(block[:], block[:])
	t := block[0]
	block[0] = in[0]
	mac.Write(block[:])
	ct := in[1 : 1+mlen]
	mac.Write(ct)
	tag := finishMAC(mac, mlen)
	clear(block[:])
	if subtle.ConstantTimeCompare(tag[:], in[1+mlen:]) != 1 {
		return out, 0, errStreamAuth
	}
	n := len(out)
	out = slices.Grow(out, mlen)[:n+mlen]
	c.XORKeyStream(out[n:], ct)
	s.advance(&tag, t)
	return out, t, nil
}

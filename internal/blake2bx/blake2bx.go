// Package blake2bx is BLAKE2b (RFC 7693) with the parameter block's key,
// salt and personalisation, which golang.org/x/crypto/blake2b does not
// fully offer (it has a key but no salt or personalisation): libsodium's
// crypto_generichash_blake2b_init_salt_personal, Python's
// hashlib.blake2b(data, digest_size, key, salt, person). Session uses it for
// the xed25519 signature nonce (identity), the deterministic attachment key
// (attachment) and the file server's content ids (fileserver).
//
// A Digest streams: it is an io.Writer, so a whole upload or plaintext is
// hashed as it goes. Sum leaves the state as it was; Clear wipes it. Go
// cannot wipe copies the runtime or the caller made of the key.
package blake2bx

import (
	"encoding/binary"
	"math/bits"
)

const (
	// BlockSize is BLAKE2b's block size in bytes.
	BlockSize = 128
	// MaxSize is the longest output and the longest key, in bytes.
	MaxSize = 64
)

var iv = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

var sigma = [12][16]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
}

// Digest is a running BLAKE2b hash.
type Digest struct {
	h    [8]uint64
	t    [2]uint64 // bytes compressed so far, 128-bit
	buf  [BlockSize]byte
	n    int // bytes in buf
	size int
}

// New starts a hash of size bytes (1..64) keyed by key (0..64 bytes; empty
// for none), with the 16-byte salt and personalisation (nil for all
// zeroes). With no key, salt or personalisation it is plain BLAKE2b. The
// parameters are the protocol's constants, so a size or key length out of
// range is a programming error and New panics.
func New(size int, key []byte, salt, personal *[16]byte) *Digest {
	if size < 1 || size > MaxSize || len(key) > MaxSize {
		panic("blake2bx: output size must be 1..64 bytes and the key at most 64")
	}
	d := &Digest{h: iv, size: size}
	// Parameter block word 0: digest length, key length, fanout 1, depth 1.
	d.h[0] ^= uint64(size) | uint64(len(key))<<8 | 1<<16 | 1<<24
	if salt != nil {
		d.h[4] ^= binary.LittleEndian.Uint64(salt[:8])
		d.h[5] ^= binary.LittleEndian.Uint64(salt[8:])
	}
	if personal != nil {
		d.h[6] ^= binary.LittleEndian.Uint64(personal[:8])
		d.h[7] ^= binary.LittleEndian.Uint64(personal[8:])
	}
	if len(key) > 0 {
		// The key, zero-padded to a block, is the first block.
		copy(d.buf[:], key)
		d.n = BlockSize
	}
	return d
}

// Size returns the output length in bytes.
func (d *Digest) Size() int { return d.size }

// Write absorbs p; it never fails.
func (d *Digest) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		// A full buffer is compressed only once more input follows: the
		// last block gets the final flag.
		if d.n == BlockSize {
			d.compress(d.buf[:], BlockSize, false)
			d.n = 0
		}
		if d.n == 0 && len(p) > BlockSize {
			k := (len(p) - 1) / BlockSize * BlockSize
			d.compress(p[:k], BlockSize, false)
			p = p[k:]
			continue
		}
		c := copy(d.buf[d.n:], p)
		d.n += c
		p = p[c:]
	}
	return n, nil
}

// Sum appends the hash of what was written to b and returns the result; d
// is unchanged and may be written to further.
func (d *Digest) Sum(b []byte) []byte {
	f := *d
	defer f.Clear()
	clear(f.buf[f.n:])
	f.compress(f.buf[:], uint64(f.n), true)
	var full [MaxSize]byte
	for i, v := range f.h {
		binary.LittleEndian.PutUint64(full[8*i:], v)
	}
	b = append(b, full[:f.size]...)
	clear(full[:])
	return b
}

// Clear wipes the state, buffered input and key included; d must not be
// used afterwards.
func (d *Digest) Clear() {
	clear(d.h[:])
	clear(d.buf[:])
	d.n = 0
	d.t = [2]uint64{}
}

// compress compresses the whole blocks of p, counting inc bytes for each
// (BlockSize, or for the final block the bytes of it that are input).
func (d *Digest) compress(p []byte, inc uint64, final bool) {
	h0, h1, h2, h3, h4, h5, h6, h7 := d.h[0], d.h[1], d.h[2], d.h[3], d.h[4], d.h[5], d.h[6], d.h[7]
	var m [16]uint64
	for len(p) >= BlockSize {
		d.t[0] += inc
		if d.t[0] < inc {
			d.t[1]++
		}
		for i := range m {
			m[i] = binary.LittleEndian.Uint64(p[8*i:])
		}
		v0, v1, v2, v3, v4, v5, v6, v7 := h0, h1, h2, h3, h4, h5, h6, h7
		v8, v9, v10, v11 := iv[0], iv[1], iv[2], iv[3]
		v12, v13, v14, v15 := iv[4]^d.t[0], iv[5]^d.t[1], iv[6], iv[7]
		if final {
			v14 = ^v14
		}
		for r := range sigma {
			s := &sigma[r]
			v0, v4, v8, v12 = g(v0, v4, v8, v12, m[s[0]], m[s[1]])
			v1, v5, v9, v13 = g(v1, v5, v9, v13, m[s[2]], m[s[3]])
			v2, v6, v10, v14 = g(v2, v6, v10, v14, m[s[4]], m[s[5]])
			v3, v7, v11, v15 = g(v3, v7, v11, v15, m[s[6]], m[s[7]])
			v0, v5, v10, v15 = g(v0, v5, v10, v15, m[s[8]], m[s[9]])
			v1, v6, v11, v12 = g(v1, v6, v11, v12, m[s[10]], m[s[11]])
			v2, v7, v8, v13 = g(v2, v7, v8, v13, m[s[12]], m[s[13]])
			v3, v4, v9, v14 = g(v3, v4, v9, v14, m[s[14]], m[s[15]])
		}
		h0 ^= v0 ^ v8
		h1 ^= v1 ^ v9
		h2 ^= v2 ^ v10
		h3 ^= v3 ^ v11
		h4 ^= v4 ^ v12
		h5 ^= v5 ^ v13
		h6 ^= v6 ^ v14
		h7 ^= v7 ^ v15
		p = p[BlockSize:]
	}
	d.h = [8]uint64{h0, h1, h2, h3, h4, h5, h6, h7}
	clear(m[:])
}

func g(a, b, c, d, x, y uint64) (uint64, uint64, uint64, uint64) {
	a += b + x
	d = bits.RotateLeft64(d^a, -32)
	c += d
	b = bits.RotateLeft64(b^c, -24)
	a += b + y
	d = bits.RotateLeft64(d^a, -16)
	c += d
	b = bits.RotateLeft64(b^c, -63)
	return a, b, c, d
}

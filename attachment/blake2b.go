package attachment

import (
	"encoding/binary"
	"math/bits"
)

// BLAKE2b (RFC 7693) with a key and a personalisation, streaming, for any
// output length from 1 to 64 bytes: libsodium's
// crypto_generichash_blake2b_init_salt_personal with a nil salt, which
// golang.org/x/crypto/blake2b does not offer (it has no personalisation).
// The deterministic attachment key is hashed this way over the whole
// plaintext (labels.go).

const blake2bBlockSize = 128

var blake2bIV = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

var blake2bSigma = [12][16]uint8{
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

// blake2b is a streaming keyed, personalised BLAKE2b state.
type blake2b struct {
	h    [8]uint64
	t    [2]uint64 // bytes compressed so far
	buf  [blake2bBlockSize]byte
	n    int // bytes in buf
	size int
}

// newBLAKE2b starts a hash of size bytes (1..64) with a key of 0..64 bytes
// and a 16-byte personalisation.
func newBLAKE2b(size int, key []byte, personal *[16]byte) *blake2b {
	if size < 1 || size > 64 || len(key) > 64 {
		panic("attachment: bad BLAKE2b parameters")
	}
	b := &blake2b{h: blake2bIV, size: size}
	// Parameter block word 0: digest length, key length, fanout 1, depth 1.
	b.h[0] ^= uint64(size) | uint64(len(key))<<8 | 1<<16 | 1<<24
	b.h[6] ^= binary.LittleEndian.Uint64(personal[:8])
	b.h[7] ^= binary.LittleEndian.Uint64(personal[8:])
	if len(key) > 0 {
		// The key, zero-padded to a block, is the first block.
		copy(b.buf[:], key)
		b.n = blake2bBlockSize
	}
	return b
}

// Write absorbs p; it never fails.
func (b *blake2b) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		// A full buffer is compressed only once more input follows: the
		// last block gets the final flag.
		if b.n == blake2bBlockSize {
			b.compress(b.buf[:], false)
			b.n = 0
		}
		if b.n == 0 && len(p) > blake2bBlockSize {
			k := (len(p) - 1) / blake2bBlockSize * blake2bBlockSize
			b.compress(p[:k], false)
			p = p[k:]
			continue
		}
		c := copy(b.buf[b.n:], p)
		b.n += c
		p = p[c:]
	}
	return n, nil
}

// sum finishes the hash into out (len(out) == size) and wipes the state.
func (b *blake2b) sum(out []byte) {
	clear(b.buf[b.n:])
	b.compress(b.buf[:], true, b.n)
	var full [64]byte
	for i, v := range b.h {
		binary.LittleEndian.PutUint64(full[8*i:], v)
	}
	copy(out, full[:b.size])
	clear(full[:])
	clear(b.buf[:])
	clear(b.h[:])
}

// compress compresses whole blocks of p. With final, p is one block of
// which only last bytes count.
func (b *blake2b) compress(p []byte, final bool, last ...int) {
	h0, h1, h2, h3, h4, h5, h6, h7 := b.h[0], b.h[1], b.h[2], b.h[3], b.h[4], b.h[5], b.h[6], b.h[7]
	var m [16]uint64
	for len(p) >= blake2bBlockSize {
		inc := uint64(blake2bBlockSize)
		if final {
			inc = uint64(last[0])
		}
		b.t[0] += inc
		if b.t[0] < inc {
			b.t[1]++
		}
		for i := range m {
			m[i] = binary.LittleEndian.Uint64(p[8*i:])
		}
		v0, v1, v2, v3, v4, v5, v6, v7 := h0, h1, h2, h3, h4, h5, h6, h7
		v8, v9, v10, v11 := blake2bIV[0], blake2bIV[1], blake2bIV[2], blake2bIV[3]
		v12, v13, v14, v15 := blake2bIV[4]^b.t[0], blake2bIV[5]^b.t[1], blake2bIV[6], blake2bIV[7]
		if final {
			v14 = ^v14
		}
		for r := range blake2bSigma {
			s := &blake2bSigma[r]
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
		p = p[blake2bBlockSize:]
	}
	b.h = [8]uint64{h0, h1, h2, h3, h4, h5, h6, h7}
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

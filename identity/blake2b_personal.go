package identity

import (
	"encoding/binary"
	"math/bits"
)

// BLAKE2b with a personalisation string (RFC 7693 §2.5, the parameter
// block's 16-byte "personal" field), which golang.org/x/crypto/blake2b does
// not offer. Only what xed25519 needs: unkeyed, no salt, 64-byte output;
// libsodium's crypto_generichash_blake2b_init_salt_personal with a nil key
// and salt.

var blake2bIV = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

var blake2bSigma = [12][16]byte{
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

// blake2b512Personal returns the unkeyed 64-byte BLAKE2b of the
// concatenated parts with the given personalisation.
func blake2b512Personal(personal *[16]byte, parts ...[]byte) [64]byte {
	h := blake2bIV
	h[0] ^= 0x01010000 ^ 64 // digest length 64, key length 0, fanout 1, depth 1
	h[6] ^= binary.LittleEndian.Uint64(personal[:8])
	h[7] ^= binary.LittleEndian.Uint64(personal[8:])

	var block [128]byte
	n := 0          // bytes in block
	var t [2]uint64 // bytes compressed so far, 128-bit
	for _, p := range parts {
		for len(p) > 0 {
			if n == len(block) {
				// Compress a full block only when more input follows: the
				// last block is compressed with the final flag.
				t[0] += 128
				if t[0] < 128 {
					t[1]++
				}
				blake2bCompress(&h, &block, t, false)
				n = 0
			}
			c := copy(block[n:], p)
			n += c
			p = p[c:]
		}
	}
	t[0] += uint64(n)
	if t[0] < uint64(n) {
		t[1]++
	}
	clear(block[n:])
	blake2bCompress(&h, &block, t, true)
	clear(block[:])

	var out [64]byte
	for i, v := range h {
		binary.LittleEndian.PutUint64(out[8*i:], v)
	}
	return out
}

func blake2bCompress(h *[8]uint64, block *[128]byte, t [2]uint64, final bool) {
	var m [16]uint64
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(block[8*i:])
	}
	var v [16]uint64
	copy(v[:8], h[:])
	copy(v[8:], blake2bIV[:])
	v[12] ^= t[0]
	v[13] ^= t[1]
	if final {
		v[14] = ^v[14]
	}
	g := func(a, b, c, d int, x, y uint64) {
		v[a] = v[a] + v[b] + x
		v[d] = bits.RotateLeft64(v[d]^v[a], -32)
		v[c] = v[c] + v[d]
		v[b] = bits.RotateLeft64(v[b]^v[c], -24)
		v[a] = v[a] + v[b] + y
		v[d] = bits.RotateLeft64(v[d]^v[a], -16)
		v[c] = v[c] + v[d]
		v[b] = bits.RotateLeft64(v[b]^v[c], -63)
	}
	for _, s := range blake2bSigma {
		g(0, 4, 8, 12, m[s[0]], m[s[1]])
		g(1, 5, 9, 13, m[s[2]], m[s[3]])
		g(2, 6, 10, 14, m[s[4]], m[s[5]])
		g(3, 7, 11, 15, m[s[6]], m[s[7]])
		g(0, 5, 10, 15, m[s[8]], m[s[9]])
		g(1, 6, 11, 12, m[s[10]], m[s[11]])
		g(2, 7, 8, 13, m[s[12]], m[s[13]])
		g(3, 4, 9, 14, m[s[14]], m[s[15]])
	}
	for i := range h {
		h[i] ^= v[i] ^ v[i+8]
	}
	clear(m[:])
	clear(v[:])
}

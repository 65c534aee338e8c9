package fileserver

import (
	"encoding/binary"
	"math/bits"
)

// saltedBLAKE2b is unkeyed BLAKE2b with a 16-byte salt in the parameter
// block (RFC 7693 §2.5), which golang.org/x/crypto/blake2b does not offer:
// Python's hashlib.blake2b(data, digest_size=n, salt=s), libsodium's
// crypto_generichash_blake2b_init_salt_personal with no key or
// personalisation. It streams, so an upload is hashed as it is written.
type saltedBLAKE2b struct {
	h     [8]uint64
	t     [2]uint64 // bytes compressed so far
	block [128]byte
	n     int // bytes in block
	size  int
}

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

// newSaltedBLAKE2b returns a hash of size bytes (1..64) salted with salt.
func newSaltedBLAKE2b(size int, salt *[16]byte) *saltedBLAKE2b {
	d := &saltedBLAKE2b{h: blake2bIV, size: size}
	d.h[0] ^= 0x01010000 ^ uint64(size) // digest length, key length 0, fanout 1, depth 1
	d.h[4] ^= binary.LittleEndian.Uint64(salt[:8])
	d.h[5] ^= binary.LittleEndian.Uint64(salt[8:])
	return d
}

// Write adds p to the hash; it never fails.
func (d *saltedBLAKE2b) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.n == len(d.block) {
			// A full block is compressed only once more input follows:
			// the last block gets the final flag.
			d.count(128)
			blake2bCompress(&d.h, &d.block, d.t, false)
			d.n = 0
		}
		c := copy(d.block[d.n:], p)
		d.n += c
		p = p[c:]
	}
	return n, nil
}

func (d *saltedBLAKE2b) count(n uint64) {
	d.t[0] += n
	if d.t[0] < n {
		d.t[1]++
	}
}

// Sum returns the digest; d must not be written to afterwards.
func (d *saltedBLAKE2b) Sum() []byte {
	d.count(uint64(d.n))
	clear(d.block[d.n:])
	blake2bCompress(&d.h, &d.block, d.t, true)
	var out [64]byte
	for i, v := range d.h {
		binary.LittleEndian.PutUint64(out[8*i:], v)
	}
	return out[:d.size]
}

func blake2bCompress(h *[8]uint64, block *[128]byte, t [2]uint64, final bool) {
	var m [16]uint64
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(block[8*i:])
	}
	v := [16]uint64{
		h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
		blake2bIV[0], blake2bIV[1], blake2bIV[2], blake2bIV[3],
		blake2bIV[4] ^ t[0], blake2bIV[5] ^ t[1], blake2bIV[6], blake2bIV[7],
	}
	if final {
		v[14] = ^v[14]
	}
	g := func(a, b, c, d int, x, y uint64) {
		v[a] += v[b] + x
		v[d] = bits.RotateLeft64(v[d]^v[a], -32)
		v[c] += v[d]
		v[b] = bits.RotateLeft64(v[b]^v[c], -24)
		v[a] += v[b] + y
		v[d] = bits.RotateLeft64(v[d]^v[a], -16)
		v[c] += v[d]
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
}

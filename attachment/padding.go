package attachment

import (
	"math"
	"math/bits"
)

// EncryptedPadding returns the padding (00…00 01, at least one byte) that
// the deterministic form puts before a plaintext of n bytes, libsession's
// encrypted_padding: the unpadded encrypted size M (format byte, header, the
// minimum padding, the data and a tag per 32 KiB chunk) is rounded up to a
// multiple of bit_floor(max(M, 131072)) / 32, and the tags that the padding
// itself adds are counted as part of it.
func EncryptedPadding(n int64) int64 {
	const prefix = 1 + HeaderSize
	chunks := (n + ChunkSize - 1) / ChunkSize
	enc := n + prefix + minPaddingSize + chunks*ChunkOverhead
	factor := int64(1) << (63 - bits.LeadingZeros64(uint64(max(enc, paddingFloor)))) >> paddingShift
	padded := (enc + factor - 1) / factor * factor
	padding := padded - enc + minPaddingSize

	// Every whole sealed chunk of padding brings its own tag, and so does
	// a remainder that spills past the data's last chunk: those tags are
	// part of the padded size, so the padding is that much shorter.
	var implicit int64
	if padding >= EncryptedChunkSize {
		implicit = padding / EncryptedChunkSize * ChunkOverhead
	}
	free := chunks*ChunkSize - n
	if padding%EncryptedChunkSize > free {
		implicit += ChunkOverhead
	}
	return padding - implicit
}

// EncryptedSize returns the exact size of the deterministic form of a
// plaintext of n bytes (§8.2's size table).
func EncryptedSize(n int64) int64 {
	padded := n + EncryptedPadding(n)
	tags := (padded + ChunkSize - 1) / ChunkSize * ChunkOverhead
	return 1 + HeaderSize + padded + tags
}

// DecryptedMaxSize returns the largest plaintext that a deterministic
// attachment of n bytes can hold, and false when n is too short to be one.
func DecryptedMaxSize(n int64) (int64, bool) {
	sz := n - 1 - minPaddingSize - HeaderSize
	if sz < ChunkOverhead {
		return 0, false
	}
	sz -= (sz + EncryptedChunkSize - 1) / EncryptedChunkSize * ChunkOverhead
	return sz, sz >= 0
}

// LegacyPaddedSize returns the size that Session desktop's
// addAttachmentPadding pads a plaintext of n bytes to, with zeros, before
// the legacy encryption: max(541, ⌊1.05^⌈log(n)/log(1.05)⌉⌋), capped at
// LegacyPaddingCap when n itself is within the cap. The floating-point
// steps are those of desktop's JavaScript; TestLegacyPaddedSizeExact shows
// that no size up to the cap lies close enough to a bucket edge for
// rounding to matter, and testdata/legacy_padding.json holds node's own
// answers at every edge.
func LegacyPaddedSize(n int64) int64 {
	if n < 0 {
		return 0
	}
	// log(0) is -Inf, and 1.05^-Inf is 0: the minimum, as in JavaScript.
	p := int64(math.Floor(math.Pow(legacyPaddingBase, math.Ceil(math.Log(float64(n))/math.Log(legacyPaddingBase)))))
	p = max(p, legacyMinPadded)
	if p > LegacyPaddingCap && n <= LegacyPaddingCap {
		p = LegacyPaddingCap
	}
	return max(p, n)
}

// LegacyEncryptedSize returns the size of the legacy blob of a plaintext
// of n bytes: IV, the PKCS#7-padded AES-CBC ciphertext of the zero-padded
// plaintext, and the MAC.
func LegacyEncryptedSize(n int64) int64 {
	return LegacyIVSize + (LegacyPaddedSize(n)/16+1)*16 + LegacyMACSize
}

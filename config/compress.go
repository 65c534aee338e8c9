package config

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// MaxDecompressedSize bounds what a compressed config body may expand to.
// libsession-util 1.2.0 decompresses config messages without a bound
// (zstd_decompress with max_size 0, internal.hpp:218, base.cpp:180); its
// only bound is for group messages, 1,000,000 bytes (keys.hpp:167). A
// config object of 10,000 contacts serializes to about 1.1 MB, so Sotto
// allows 16 MiB and rejects more, so that a small stored message cannot
// make a device allocate gigabytes.
const MaxDecompressedSize = 16 << 20

// ErrDecompress is returned for a 'z' body that is not valid zstd, is
// empty once decompressed, or expands beyond MaxDecompressedSize.
var ErrDecompress = errors.New("config: decompression failed")

var (
	zstdEncOnce sync.Once
	zstdEnc     *zstd.Encoder

	zstdDecMu sync.Mutex
	zstdDecs  = map[int]*zstd.Decoder{} // by output cap
)

// Zstd appends to dst the zstd compression of src with libsession's
// settings: level 1 ("fastest", base.hpp:891), one frame with the content
// size in its header, as ZSTD_compress writes. Configs and group messages
// (package groups) use it.
func Zstd(dst, src []byte) []byte {
	zstdEncOnce.Do(func() {
		var err error
		zstdEnc, err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(fmt.Sprintf("config: zstd encoder: %v", err)) // fixed options
		}
	})
	return zstdEnc.EncodeAll(src, dst)
}

// Unzstd decodes every zstd frame of src, and fails with an error wrapping
// zstd.ErrDecoderSizeExceeded or zstd.ErrWindowSizeExceeded rather than
// produce more than limit bytes (or allocate much more for a window).
func Unzstd(src []byte, limit int) ([]byte, error) {
	zstdDecMu.Lock()
	dec, ok := zstdDecs[limit]
	if !ok {
		var err error
		dec, err = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(uint64(limit)),
			zstd.WithDecoderMaxWindow(uint64(limit)))
		if err != nil {
			zstdDecMu.Unlock()
			return nil, fmt.Errorf("config: zstd decoder: %w", err)
		}
		zstdDecs[limit] = dec
	}
	zstdDecMu.Unlock()
	out, err := dec.DecodeAll(src, nil)
	if err == nil && len(out) > limit {
		err = zstd.ErrDecoderSizeExceeded
	}
	return out, err
}

// compress returns 'z' || zstd(msg) when that is strictly shorter than msg,
// and msg otherwise (libsession compress_message, base.cpp:282-289).
func compress(msg []byte) (body []byte, compressed bool) {
	c := Zstd(append(make([]byte, 0, len(msg)), prefixCompressed), msg)
	if len(c) < len(msg) {
		return c, true
	}
	return msg, false
}

// decompress undoes compress on a body that starts with 'z'. Like
// libsession it decodes every frame there is and fails on an empty
// result; unlike it, it stops at MaxDecompressedSize.
func decompress(body []byte) ([]byte, error) {
	if len(body) == 0 || body[0] != prefixCompressed {
		return nil, fmt.Errorf("%w: no 'z' prefix", ErrDecompress)
	}
	out, err := Unzstd(body[1:], MaxDecompressedSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecompress, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrDecompress)
	}
	if len(out) > MaxDecompressedSize {
		return nil, fmt.Errorf("%w: over %d bytes", ErrDecompress, MaxDecompressedSize)
	}
	return out, nil
}

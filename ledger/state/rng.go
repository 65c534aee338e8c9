package state

import (
	"crypto/sha256"
	"encoding/binary"
)

// hashRand is the ledger's deterministic random stream: block i of the
// stream is SHA-256(label ‖ 0x00 ‖ seed ‖ height ‖ i), read as four
// big-endian uint64 words. Session seeds mt19937_64 with the block hash
// (service-node-network.md §3.1, §4.2); Sotto does not replay oxend's
// chain, so it uses a hash stream that any implementation can reproduce
// from this description (docs/ledger.md "Randomness").
type hashRand struct {
	prefix []byte
	ctr    uint64
	buf    [4]uint64
	left   int
}

func newHashRand(label string, seed [32]byte, height uint64) *hashRand {
	p := append([]byte(label), 0)
	p = append(p, seed[:]...)
	p = binary.BigEndian.AppendUint64(p, height)
	return &hashRand{prefix: p}
}

func (r *hashRand) Uint64() uint64 {
	if r.left == 0 {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte(nil), r.prefix...), r.ctr))
		r.ctr++
		for i := range r.buf {
			r.buf[i] = binary.BigEndian.Uint64(h[8*i:])
		}
		r.left = len(r.buf)
	}
	v := r.buf[len(r.buf)-r.left]
	r.left--
	return v
}

// IntN returns a uniform value in [0, n) by rejection sampling: draws in
// the last, incomplete run of n values below 2^64 are discarded. It returns
// 0 for n <= 0 (callers never ask for that).
func (r *hashRand) IntN(n int) int {
	if n <= 0 {
		return 0
	}
	un := uint64(n)
	rem := -un % un // 2^64 mod n
	for {
		v := r.Uint64()
		if rem == 0 || v < -rem {
			return int(v % un)
		}
	}
}

// shuffle permutes s with Fisher–Yates from the last element down.
func shuffle[T any](r *hashRand, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

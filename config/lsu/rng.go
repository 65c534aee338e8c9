package lsu

import (
	"encoding/binary"
	"io"

	"golang.org/x/crypto/blake2b"

	"sotto.dev/internal/sodiumrng"
)

// DeterministicRNG reproduces the oracle's randomness for a command with
// "rng_seed": draw i of n bytes is randombytes_buf_deterministic(n,
// BLAKE2b-256(BLAKE2b-256(seed) || le64(i))). Each Read is one draw.
type DeterministicRNG struct {
	root  [32]byte
	draws uint64
}

// NewDeterministicRNG returns the generator for rng_seed.
func NewDeterministicRNG(seed []byte) *DeterministicRNG {
	return &DeterministicRNG{root: blake2b.Sum256(seed)}
}

// Read fills p with the next draw.
func (r *DeterministicRNG) Read(p []byte) (int, error) {
	var in [40]byte
	copy(in[:], r.root[:])
	binary.LittleEndian.PutUint64(in[32:], r.draws)
	r.draws++
	k := blake2b.Sum256(in[:])
	sodiumrng.Fill(p, &k)
	return len(p), nil
}

var _ io.Reader = (*DeterministicRNG)(nil)

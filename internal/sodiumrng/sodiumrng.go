// Package sodiumrng is libsodium's deterministic random generator,
// randombytes_buf_deterministic: the ChaCha20-IETF keystream of a 32-byte
// seed with the nonce "LibsodiumDRG". libsession-util uses it for the junk
// entries of a group rekey (spec/libsession-configs.md §4.8), and the
// reference oracle for its rng_seed draws (§2).
package sodiumrng

import "golang.org/x/crypto/chacha20"

// Nonce is libsodium's nonce for randombytes_buf_deterministic
// (randombytes.c, randombytes_buf_deterministic).
const Nonce = "LibsodiumDRG"

// SeedSize is the size of a seed (randombytes_SEEDBYTES).
const SeedSize = 32

// Fill overwrites p with randombytes_buf_deterministic(len(p), seed).
func Fill(p []byte, seed *[SeedSize]byte) {
	c, err := chacha20.NewUnauthenticatedCipher(seed[:], []byte(Nonce))
	if err != nil {
		panic(err) // fixed key and nonce sizes
	}
	clear(p)
	c.XORKeyStream(p, p)
}

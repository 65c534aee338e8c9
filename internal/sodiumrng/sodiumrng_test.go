package sodiumrng

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestFillKnownAnswer checks Fill against a libsodium 1.0.18 draw recorded
// by the reference oracle: vector groups.messages (rng_seed "01"), draw 0
// of 24 bytes, whose seed is BLAKE2b-256(BLAKE2b-256(0x01) || le64(0)).
func TestFillKnownAnswer(t *testing.T) {
	seed := [SeedSize]byte(mustHex(t, "75adc84939288ce34ed82321978b1531b9bea33c731ef63fce6e1c0bf3dd0d75"))
	got := make([]byte, 24)
	Fill(got, &seed)
	const want = "1b8a7896e56e5b2dc34ab3c68a741b3ebd38ba493d38aca7"
	if hex.EncodeToString(got) != want {
		t.Fatalf("Fill = %x, want %s", got, want)
	}
}

func TestFillOverwrites(t *testing.T) {
	var seed [SeedSize]byte
	seed[0] = 1
	a := make([]byte, 100)
	b := bytes.Repeat([]byte{0xff}, 100)
	Fill(a, &seed)
	Fill(b, &seed)
	if !bytes.Equal(a, b) {
		t.Fatal("Fill depends on the previous contents of p")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

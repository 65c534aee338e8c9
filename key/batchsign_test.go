package key

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	mrand "math/rand/v2"
	"testing"
)

// checkSignBatch signs msgs in one batch and reports every signature that
// is not crypto/ed25519's, byte for byte, or does not verify.
func checkSignBatch(t *testing.T, k *NodePrivate, msgs [][]byte) {
	t.Helper()
	sigs := make([][ed25519.SignatureSize]byte, len(msgs))
	k.SignBatch(msgs, sigs)
	std := k.Ed25519()
	defer clear(std)
	pub := k.Public()
	for i, m := range msgs {
		if want := ed25519.Sign(std, m); !bytes.Equal(sigs[i][:], want) {
			t.Fatalf("batch of %d: signature %d of a %d-byte message is\n%x, crypto/ed25519 gives\n%x",
				len(msgs), i, len(m), sigs[i], want)
		}
		if !ed25519.Verify(pub[:], m, sigs[i][:]) {
			t.Fatalf("batch of %d: signature %d does not verify", len(msgs), i)
		}
	}
}

func TestSignBatchMatchesEd25519(t *testing.T) {
	rnd := mrand.New(mrand.NewPCG(1, 2))
	lengths := []int{0, 1, 31, 32, 33, 64, 111, 112, 128, 1000, 70_000}
	for _, size := range []int{0, 1, 2, 3, 7, 16, 64, 65, 130} {
		for range 3 {
			k := newTestKey(t)
			msgs := make([][]byte, size)
			for i := range msgs {
				n := lengths[rnd.IntN(len(lengths))]
				if i == 0 {
					n = 0 // every batch has an empty message
				}
				msgs[i] = make([]byte, n)
				rand.Read(msgs[i])
			}
			checkSignBatch(t, k, msgs)
		}
	}
}

// TestSignBatchSameMessage signs one message several times in a batch:
// the same nonce, so the same R, in every lane.
func TestSignBatchSameMessage(t *testing.T) {
	k, err := NodePrivateFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("store")
	checkSignBatch(t, &k, [][]byte{msg, msg, nil, msg, msg})
}

func TestSignBatchPanics(t *testing.T) {
	k := newTestKey(t)
	var unset NodePrivate
	two := [][]byte{[]byte("a"), []byte("b")}
	for _, tc := range []struct {
		name string
		k    *NodePrivate
		msgs [][]byte
		sigs int
	}{
		{"fewer signatures", k, two, 1},
		{"more signatures", k, two, 3},
		{"no signatures", k, two, 0},
		{"unset key", &unset, two, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("SignBatch did not panic")
				}
			}()
			tc.k.SignBatch(tc.msgs, make([][ed25519.SignatureSize]byte, tc.sigs))
		})
	}
}

// FuzzSignBatch splits its input at every byte equal to the first into
// messages and signs them in one batch with a key from seed.
func FuzzSignBatch(f *testing.F) {
	f.Add([]byte("k"), []byte{})
	f.Add([]byte("k"), []byte("\x00"))
	f.Add([]byte("k"), []byte(",a,bb,,ccc"))
	f.Add([]byte("other key"), bytes.Repeat([]byte{0, 1}, 70))
	f.Fuzz(func(t *testing.T, seed, data []byte) {
		h := sha512.Sum512(seed)
		k, err := NodePrivateFromSeed(h[:ed25519.SeedSize])
		if err != nil {
			t.Fatal(err)
		}
		var msgs [][]byte
		if len(data) > 0 {
			msgs = bytes.Split(data[1:], data[:1])
		}
		checkSignBatch(t, &k, msgs)
	})
}

// BenchmarkSignBatch reports the time per signature (ns/sig) of Sign and
// of SignBatch in batches of 1 and 16, for 64-byte messages.
func BenchmarkSignBatch(b *testing.B) {
	k := newTestKey(b)
	msgs := make([][]byte, 16)
	for i := range msgs {
		msgs[i] = make([]byte, 64)
		rand.Read(msgs[i])
	}
	perSig := func(b *testing.B, n int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
	}
	b.Run("ed25519.Sign", func(b *testing.B) {
		std := k.Ed25519()
		defer clear(std)
		for b.Loop() {
			ed25519.Sign(std, msgs[0])
		}
		perSig(b, 1)
	})
	for _, size := range []int{1, 16} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			sigs := make([][ed25519.SignatureSize]byte, size)
			for b.Loop() {
				k.SignBatch(msgs[:size], sigs)
			}
			perSig(b, size)
		})
	}
}

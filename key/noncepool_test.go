package key

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"filippo.io/edwards25519"

	"sotto.dev/internal/basemul"
)

// newTestKey is a fresh node key for a test or benchmark.
func newTestKey(tb testing.TB) *NodePrivate {
	tb.Helper()
	k, err := GenerateNodePrivate()
	if err != nil {
		tb.Fatal(err)
	}
	return &k
}

// TestNoncePoolSignaturesVerify: signatures made with pooled nonces
// verify, each has its own R, and once the pool is empty the rest are
// RFC 8032's, byte for byte.
func TestNoncePoolSignaturesVerify(t *testing.T) {
	k := newTestKey(t)
	pub := k.Public()
	p := k.NewNoncePool(40)
	if got := p.Fill(time.Now().Add(time.Minute)); got != 40 || p.Len() != 40 {
		t.Fatalf("Fill made %d, pool holds %d; want 40", got, p.Len())
	}
	if got := p.Fill(time.Now().Add(time.Minute)); got != 0 {
		t.Fatalf("Fill of a full pool made %d", got)
	}
	msgs := make([][]byte, 50)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, "message %d %s", i, bytes.Repeat([]byte{'x'}, i*7))
	}
	msgs[3] = nil
	sigs := make([][ed25519.SignatureSize]byte, len(msgs))
	p.SignBatch(msgs, sigs)
	if p.Len() != 0 {
		t.Fatalf("pool holds %d after 50 signatures", p.Len())
	}
	seen := map[[32]byte]bool{}
	pooled := 0
	for i, m := range msgs {
		if !ed25519.Verify(pub[:], m, sigs[i][:]) {
			t.Fatalf("signature %d does not verify", i)
		}
		R := [32]byte(sigs[i][:32])
		if seen[R] {
			t.Fatalf("signature %d repeats an R: a nonce used twice", i)
		}
		seen[R] = true
		if det := k.Sign(m); det != sigs[i] {
			pooled++
		}
	}
	if pooled != 40 {
		t.Errorf("%d signatures differ from RFC 8032's, want the 40 made with pooled nonces", pooled)
	}
}

// TestNoncePoolNonce: a pooled nonce is SHA-512(prefix ‖ label ‖ seed ‖
// n) mod L, as documented, and R is its multiple of the base point.
func TestNoncePoolNonce(t *testing.T) {
	k := newTestKey(t)
	p := k.NewNoncePool(3)
	p.Fill(time.Now().Add(time.Minute))
	var got [3]pooledNonce
	if n := p.take(got[:]); n != 3 {
		t.Fatalf("took %d nonces", n)
	}
	hk := sha512.Sum512(k.k[:ed25519.SeedSize])
	found := 0
	for n := range uint64(3) {
		var ctr [8]byte
		binary.LittleEndian.PutUint64(ctr[:], n)
		h := sha512.New()
		h.Write(hk[32:])
		h.Write([]byte(nonceLabel))
		h.Write(p.seed[:])
		h.Write(ctr[:])
		r, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
		for _, g := range got {
			if g.r.Equal(r) == 1 && bytes.Equal(g.R[:], R) {
				found++
			}
		}
	}
	if found != 3 {
		t.Fatalf("%d of 3 nonces are the documented ones", found)
	}
}

// TestNoncePoolSeeds: two pools of one key (a restarted node) share no
// nonce.
func TestNoncePoolSeeds(t *testing.T) {
	k := newTestKey(t)
	a, b := k.NewNoncePool(16), k.NewNoncePool(16)
	a.Fill(time.Now().Add(time.Minute))
	b.Fill(time.Now().Add(time.Minute))
	var x, y [16]pooledNonce
	a.take(x[:])
	b.take(y[:])
	for i := range x {
		for j := range y {
			if x[i].R == y[j].R {
				t.Fatalf("nonce %d of one pool is nonce %d of the other", i, j)
			}
		}
	}
}

// TestNoncePoolDeadline: a deadline already past still makes one nonce,
// and only one, or one chunk where the vector code makes a chunk at once.
func TestNoncePoolDeadline(t *testing.T) {
	k := newTestKey(t)
	p := k.NewNoncePool(64)
	want := 1
	if basemul.Vector() {
		want = fillChunk
	}
	if got := p.Fill(time.Now().Add(-time.Second)); got != want || p.Len() != want {
		t.Fatalf("Fill past its deadline made %d, pool holds %d; want %d", got, p.Len(), want)
	}
	// A pool with room for fewer than a chunk makes only what fits.
	p = k.NewNoncePool(3)
	if got := p.Fill(time.Now().Add(time.Second)); got != 3 || p.Len() != 3 {
		t.Fatalf("Fill of a pool of 3 made %d, pool holds %d; want 3", got, p.Len())
	}
}

// TestNoncePoolConcurrent fills and signs from several goroutines at
// once: every signature verifies and no R appears twice (run with -race).
func TestNoncePoolConcurrent(t *testing.T) {
	k := newTestKey(t)
	pub := k.Public()
	p := k.NewNoncePool(32)
	stop := make(chan struct{})
	var fillers sync.WaitGroup
	for range 2 {
		fillers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					p.Fill(time.Now().Add(200 * time.Microsecond))
				}
			}
		})
	}
	const signers, rounds, per = 4, 40, 5
	out := make([][][ed25519.SignatureSize]byte, signers)
	msgs := make([][][]byte, signers)
	var wg sync.WaitGroup
	for g := range signers {
		wg.Go(func() {
			for r := range rounds {
				ms := make([][]byte, per)
				for i := range ms {
					ms[i] = fmt.Appendf(nil, "signer %d round %d message %d", g, r, i)
				}
				sigs := make([][ed25519.SignatureSize]byte, per)
				p.SignBatch(ms, sigs)
				msgs[g] = append(msgs[g], ms...)
				out[g] = append(out[g], sigs...)
			}
		})
	}
	wg.Wait()
	close(stop)
	fillers.Wait()
	seen := map[[32]byte]bool{}
	pooled := 0
	for g := range signers {
		for i, sig := range out[g] {
			if !ed25519.Verify(pub[:], msgs[g][i], sig[:]) {
				t.Fatalf("signer %d: signature %d does not verify", g, i)
			}
			R := [32]byte(sig[:32])
			if seen[R] {
				t.Fatalf("signer %d: signature %d repeats an R", g, i)
			}
			seen[R] = true
			if k.Sign(msgs[g][i]) != sig {
				pooled++
			}
		}
	}
	if pooled == 0 {
		t.Fatal("no signature used a pooled nonce")
	}
	t.Logf("%d of %d signatures with pooled nonces", pooled, signers*rounds*per)
}

func BenchmarkNoncePoolSign(b *testing.B) {
	k := newTestKey(b)
	msgs := make([][]byte, 12)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, "a store's hash, about forty-three bytes long %d", i)
	}
	sigs := make([][ed25519.SignatureSize]byte, len(msgs))
	b.Run("fill", func(b *testing.B) {
		p := k.NewNoncePool(len(msgs))
		for b.Loop() {
			p.Fill(time.Now().Add(time.Minute))
			p.take(make([]pooledNonce, len(msgs)))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs))/1e3, "µs/nonce")
	})
	b.Run("sign-pooled", func(b *testing.B) {
		p := k.NewNoncePool(len(msgs))
		for b.Loop() {
			b.StopTimer()
			p.Fill(time.Now().Add(time.Minute))
			b.StartTimer()
			p.SignBatch(msgs, sigs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs))/1e3, "µs/sig")
	})
	b.Run("sign-batch", func(b *testing.B) {
		for b.Loop() {
			k.SignBatch(msgs, sigs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs))/1e3, "µs/sig")
	})
}

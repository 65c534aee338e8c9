package onion

import (
	"math/rand/v2"
	"testing"
)

// benchPeel measures what a relay does per layer: parse the frame, read
// the control, one X25519, key derivation, AEAD open, then parse the inner
// frame and its control. The layer carries a 4 KB inner blob (the DESIGN
// goal's upper bound). Report: layers/s = 1e9 / ns/op, per core since the
// benchmark runs on one goroutine.
func benchPeel(b *testing.B, c Cipher) {
	r := rand.NewChaCha8([32]byte{9})
	hopKey, err := generateKeyPair(r)
	if err != nil {
		b.Fatal(err)
	}
	next, err := generateKeyPair(r)
	if err != nil {
		b.Fatal(err)
	}
	inner := make([]byte, 4096-200)
	route := &RelayControl{Destination: NodeID{1}, EphemeralKey: next.Public(), Cipher: c}
	plain, err := EncodeHop(inner, route.Marshal())
	if err != nil {
		b.Fatal(err)
	}
	ct, eph, _, err := encryptLayer(r, c, hopKey.Public(), plain)
	if err != nil {
		b.Fatal(err)
	}
	body, err := EncodeHop(ct, LayerInfo{EphemeralKey: eph, Cipher: c}.Marshal())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		o, err := Open(hopKey, body)
		if err != nil {
			b.Fatal(err)
		}
		f, err := ParseHop(o.Payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseControl(f.Control); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "layers/s")
}

func BenchmarkPeelAESGCM(b *testing.B)    { benchPeel(b, CipherAESGCM) }
func BenchmarkPeelXChaCha20(b *testing.B) { benchPeel(b, CipherXChaCha20) }

// BenchmarkBuildSnodeRequest3Hops is the client's cost per request: four
// layers (three hops and the destination).
func BenchmarkBuildSnodeRequest3Hops(b *testing.B) {
	r := rand.NewChaCha8([32]byte{10})
	var hops []Hop
	for i := range 4 {
		kp, _ := generateKeyPair(r)
		hops = append(hops, Hop{Node: NodeID{byte(i)}, X25519: kp.Public()})
	}
	payload := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := BuildSnodeRequest(hops[:3], hops[3], payload, CipherXChaCha20); err != nil {
			b.Fatal(err)
		}
	}
}

package onion

import (
	"math/rand/v2"
	"testing"
	"time"

	"sotto.dev/key"
)

// benchPeel measures what a relay does per layer: parse the frame, read
// the control, one X25519, key derivation, AEAD open, then parse the inner
// frame and its control. The layer is 4 KB (the DESIGN goal's upper
// bound). It runs on one goroutine, so layers/s is per core; cpu-layers/s
// divides by the process's CPU time instead of wall time, which is the
// per-core figure on a busy machine (it includes GC work).
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
	inner := make([]byte, 4096-300)
	route := &RelayControl{Destination: key.NodePublic{1}, EphemeralKey: next.Public(), Cipher: c}
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
	cpu0 := processCPU()
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
	reportRates(b, cpu0, "layers")
}

func reportRates(b *testing.B, cpu0 time.Duration, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit+"/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "cpu-"+unit+"/s")
	}
}

// BenchmarkX25519 is the crypto bound of a peel: the one Diffie-Hellman a
// relay does per layer, nothing else.
func BenchmarkX25519(b *testing.B) {
	r := rand.NewChaCha8([32]byte{11})
	hop, _ := generateKeyPair(r)
	eph, _ := generateKeyPair(r)
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := hop.shared(eph.Public()); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cpu0, "dh")
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
		hops = append(hops, Hop{Node: key.NodePublic{byte(i)}, X25519: kp.Public()})
	}
	payload := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := BuildSnodeRequest(hops[:3], hops[3], payload, CipherXChaCha20); err != nil {
			b.Fatal(err)
		}
	}
}

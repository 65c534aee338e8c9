package onion

import (
	"fmt"
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

// benchHop measures one relay hop's whole work on a request and its
// reply, in Session's form or the Sotto form: peel the layer (frame,
// control, X25519, AEAD open, in the Sotto form the padding check and
// the reply key), write the frame for the next node, and on the way back
// (the Sotto form only) check the reply's size class and apply the reply
// layer. The request carries a 1 KiB storage RPC through 3 hops; the
// reply carries a body of reply bytes. It reports the bytes the hop
// receives and sends for the request (req-B/hop) and the reply's size
// on the wire (reply-B/hop).
func benchHop(b *testing.B, sotto bool, reply int) {
	r := rand.NewChaCha8([32]byte{12})
	var kps []*KeyPair
	var hops []Hop
	for i := range 4 {
		kp, _ := generateKeyPair(r)
		kps = append(kps, kp)
		hops = append(hops, Hop{Node: key.NodePublic{byte(i)}, X25519: kp.Public()})
	}
	payload := make([]byte, 1024)
	c := CipherXChaCha20
	var body, wire []byte
	if sotto {
		var err error
		body, _, err = buildSottoSnode(r, hops[:3], hops[3], payload, c)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := SizeClass(padPrefix + c.Overhead() + reply)
		wire = make([]byte, n)
	} else {
		var err error
		body, _, err = buildSnode(r, hops[:3], hops[3], payload, c)
		if err != nil {
			b.Fatal(err)
		}
		wire = make([]byte, (reply+c.Overhead()+2)/3*4) // base64 of the sealed reply
	}
	var next []byte
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		o, err := Open(kps[0], body)
		if err != nil {
			b.Fatal(err)
		}
		pt := o.Payload
		var rk *ReplyKey
		if o.Info.Sotto != 0 {
			rk = o.Key.ReplyKey()
			if pt, err = Unpad(pt); err != nil {
				b.Fatal(err)
			}
		}
		f, err := ParseHop(pt)
		if err != nil {
			b.Fatal(err)
		}
		ctl, err := ParseControl(f.Control)
		if err != nil {
			b.Fatal(err)
		}
		rc := ctl.(*RelayControl)
		next, err = EncodeHop(f.Blob, LayerInfo{EphemeralKey: rc.EphemeralKey, Cipher: rc.Cipher, HopNo: 1, Sotto: o.Info.Sotto}.Marshal())
		if err != nil {
			b.Fatal(err)
		}
		if rk != nil {
			if !IsSizeClass(len(wire)) {
				b.Fatal("reply not a class")
			}
			rk.Apply(wire)
			rk.Destroy()
		}
		o.Key.Destroy()
	}
	reportRates(b, cpu0, "hops")
	b.ReportMetric(float64(len(body)+len(next)), "req-B/hop")
	b.ReportMetric(float64(len(wire)), "reply-B/hop")
}

func BenchmarkHop(b *testing.B) {
	for _, reply := range []int{1000, 10 << 10, 100 << 10} {
		b.Run(fmt.Sprintf("session/reply=%d", reply), func(b *testing.B) { benchHop(b, false, reply) })
		b.Run(fmt.Sprintf("sotto/reply=%d", reply), func(b *testing.B) { benchHop(b, true, reply) })
	}
}

// BenchmarkBuildSottoSnodeRequest3Hops is BenchmarkBuildSnodeRequest3Hops
// in the Sotto form.
func BenchmarkBuildSottoSnodeRequest3Hops(b *testing.B) {
	r := rand.NewChaCha8([32]byte{10})
	var hops []Hop
	for i := range 4 {
		kp, _ := generateKeyPair(r)
		hops = append(hops, Hop{Node: key.NodePublic{byte(i)}, X25519: kp.Public()})
	}
	payload := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := BuildSottoSnodeRequest(hops[:3], hops[3], payload, CipherXChaCha20); err != nil {
			b.Fatal(err)
		}
	}
}

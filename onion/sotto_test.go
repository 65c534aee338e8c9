package onion

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"sotto.dev/key"
)

func TestSizeClass(t *testing.T) {
	const K = 1 << 10
	for _, tc := range []struct{ n, want int }{
		{0, K}, {1, K}, {K, K}, {K + 1, 4 * K}, {4 * K, 4 * K}, {4*K + 1, 16 * K}, {16*K + 1, 64 * K},
		{64*K + 1, 256 * K}, {256 * K, 256 * K}, {256*K + 1, 512 * K}, {512 * K, 512 * K}, {512*K + 1, 768 * K},
		{MaxPadded - 256*K + 1, MaxPadded}, {MaxPadded, MaxPadded},
	} {
		got, ok := SizeClass(tc.n)
		if !ok || got != tc.want || !IsSizeClass(got) {
			t.Errorf("SizeClass(%d) = %d, %v; want %d", tc.n, got, ok, tc.want)
		}
	}
	for _, n := range []int{MaxPadded + 1, -1} {
		if _, ok := SizeClass(n); ok {
			t.Errorf("SizeClass(%d) is ok", n)
		}
	}
	for _, n := range []int{0, 1000, 2 * K, 300 * K, MaxPadded + 256*K} {
		if IsSizeClass(n) {
			t.Errorf("IsSizeClass(%d)", n)
		}
	}
}

func TestPadUnpad(t *testing.T) {
	for _, content := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte{0}, 10), bytes.Repeat([]byte{7}, 60)} {
		p, err := Pad(content, 64)
		if err != nil || len(p) != 64 {
			t.Fatalf("Pad(%d bytes): %d %v", len(content), len(p), err)
		}
		back, err := Unpad(p)
		if err != nil || !bytes.Equal(back, content) {
			t.Fatalf("Unpad: %x %v", back, err)
		}
	}
	if _, err := Pad(make([]byte, 61), 64); err == nil {
		t.Fatal("Pad of 61 bytes into 64")
	}
	good, _ := Pad([]byte("abc"), 16)
	for name, b := range map[string][]byte{
		"empty":            {},
		"short":            {3, 0, 0},
		"length past end":  {13, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		"huge length":      {0xff, 0xff, 0xff, 0xff, 0},
		"non-zero padding": append(bytes.Clone(good[:15]), 1),
	} {
		var pe *PadError
		if _, err := Unpad(b); !errors.As(err, &pe) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSpeaksSotto(t *testing.T) {
	for _, tc := range []struct {
		caps uint32
		want bool
	}{
		{0, false}, {CapSottoOnion, true}, {1 << 1, false}, {CapSottoOnion | 1<<7, true}, {^uint32(0), true}, {^CapSottoOnion, false},
	} {
		if got := SpeaksSotto(tc.caps); got != tc.want {
			t.Errorf("SpeaksSotto(%#x) = %v", tc.caps, got)
		}
	}
}

// TestLayerInfoSessionFormUnchanged: without Sotto, LayerInfo is written
// as before; with it, "sotto" is the last key and parses back.
func TestLayerInfoSessionFormUnchanged(t *testing.T) {
	li := LayerInfo{EphemeralKey: key.OnionPublic{1}, Cipher: CipherXChaCha20, HopNo: 2}
	want := `{"enc_type":"xchacha20","ephemeral_key":"01` + strings.Repeat("00", 31) + `","hop_no":2}`
	if got := string(li.Marshal()); got != want {
		t.Fatalf("Session form: %s", got)
	}
	li.Sotto = SottoVersion
	if got := string(li.Marshal()); got != want[:len(want)-1]+`,"sotto":1}` {
		t.Fatalf("Sotto form: %s", got)
	}
	back, err := ParseLayerInfo(li.Marshal())
	if err != nil || back != li {
		t.Fatalf("parse: %+v %v", back, err)
	}
	if _, err := ParseLayerInfo([]byte(`{"ephemeral_key":"` + strings.Repeat("00", 32) + `","sotto":"1"}`)); err == nil {
		t.Fatal("a string sotto version parsed")
	}
}

// TestReplyKeyVector pins the reply key derivation and key stream (the
// stream's first block checked against Python's cryptography: AES-256 of
// the zero block under the reply key).
func TestReplyKeyVector(t *testing.T) {
	for c, want := range replyKeyVectors {
		lk, err := newLayerKey(c, bytes.Repeat([]byte{0x42}, 32), key.OnionPublic{1}, key.OnionPublic{2})
		if err != nil {
			t.Fatal(err)
		}
		rk := lk.ReplyKey()
		stream := make([]byte, 16)
		rk.Apply(stream)
		got := hex.EncodeToString(rk.key[:])
		if got != want[0] || hex.EncodeToString(stream) != want[1] {
			t.Errorf("%s: reply key %s, stream %x", c, got, stream)
		}
		rk.Apply(stream)
		if !bytes.Equal(stream, make([]byte, 16)) {
			t.Errorf("%s: applying the key twice does not remove it", c)
		}
	}
}

var replyKeyVectors = map[Cipher][2]string{
	CipherAESGCM:    {"263b7bc14e5f29b7349cd7ff38c8c3b0d16ea46f498ed4e4f445bebf10a50a58", "bf44ec575873b179432dafae7bee49d9"},
	CipherXChaCha20: {"5f51d6dd2a5655859b8b3c1484aa7da120df3bf7dd9195c43308c8d5f2cfe034", "76900249362816b9482958b5a09f0119"},
}

// sottoChain builds a Sotto request through n hops to a snode destination
// and peels it as the hops would, returning the reply keys and the
// destination's layer key as the nodes derive them.
func sottoChain(t testing.TB, c Cipher, n int, payload []byte) (*SottoReply, []*ReplyKey, *LayerKey) {
	t.Helper()
	kps := make([]*KeyPair, n+1)
	hops := make([]Hop, n+1)
	for i := range kps {
		kp, err := NewKeyPair(key.OnionPrivate{byte(i + 1), 0x33})
		if err != nil {
			t.Fatal(err)
		}
		kps[i] = kp
		hops[i] = Hop{Node: key.NodePublic{byte(i + 1)}, X25519: kp.Public()}
	}
	body, rep, err := BuildSottoSnodeRequest(hops[:n], hops[n], payload, c)
	if err != nil {
		t.Fatal(err)
	}
	var rks []*ReplyKey
	var last *LayerKey
	for i, kp := range kps {
		o, err := Open(kp, body)
		if err != nil || o.Info.Sotto != SottoVersion {
			t.Fatalf("hop %d: %v", i, err)
		}
		rks = append(rks, o.Key.ReplyKey())
		last = o.Key
		pt, err := Unpad(o.Payload)
		if err != nil {
			t.Fatalf("hop %d: %v", i, err)
		}
		f, err := ParseHop(pt)
		if err != nil {
			t.Fatal(err)
		}
		ctl, err := ParseControl(f.Control)
		if err != nil {
			t.Fatal(err)
		}
		switch rc := ctl.(type) {
		case *RelayControl:
			if i == n {
				t.Fatal("destination asked to relay")
			}
			body, _ = EncodeHop(f.Blob, LayerInfo{EphemeralKey: rc.EphemeralKey, Cipher: rc.Cipher, Sotto: SottoVersion}.Marshal())
		case *SnodeControl:
			if i != n || !bytes.Equal(f.Blob, payload) {
				t.Fatalf("hop %d is the destination", i)
			}
		}
	}
	return rep, rks, last
}

// sottoAnswer is what the destination and the hops put on the wire for
// content: the destination seals and pads it under its reply layer, each
// hop adds its own on the way back.
func sottoAnswer(t testing.TB, rks []*ReplyKey, dest *LayerKey, content []byte) []byte {
	t.Helper()
	out, err := SealSottoReply(rks[len(rks)-1], dest.Seal(content))
	if err != nil {
		t.Fatal(err)
	}
	for i := len(rks) - 2; i >= 0; i-- {
		rks[i].Apply(out)
	}
	return out
}

// TestSottoReplyEveryClassEdge: replies whose padded length is exactly a
// class, and one byte more, round trip through three hops, for every
// class up to 1 MiB and the last two; one byte more than the largest
// class is refused.
func TestSottoReplyEveryClassEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("moves about 100 MB")
	}
	for _, c := range []Cipher{CipherAESGCM, CipherXChaCha20} {
		rep, rks, dest := sottoChain(t, c, 3, []byte(`{"method":"info"}`))
		wrapLen := len(`{"body":"","status":200}`)
		var classes []int
		for n := 0; n < MaxPadded; {
			cl, _ := SizeClass(n + 1)
			// Every class up to 1 MiB, then the last two (with one
			// cipher: the reply layers do not depend on it).
			if cl <= 1<<20 || cl >= MaxPadded-256<<10 && c == CipherXChaCha20 {
				classes = append(classes, cl)
			}
			n = cl
		}
		for _, class := range classes {
			for _, extra := range []int{0, 1} {
				bodyLen := class + extra - padPrefix - c.Overhead() - wrapLen
				content := []byte(fmt.Sprintf(`{"body":"%s","status":200}`, strings.Repeat("b", bodyLen)))
				if class == MaxPadded && extra == 1 {
					if _, err := SealSottoReply(rks[3], dest.Seal(content)); err == nil {
						t.Fatal("a reply over the largest class was padded")
					}
					continue
				}
				wire := sottoAnswer(t, rks, dest, content)
				want := class
				if extra == 1 {
					want, _ = SizeClass(class + 1)
				}
				if len(wire) != want {
					t.Fatalf("%s class %d%+d: %d bytes", c, class, extra, len(wire))
				}
				resp, err := DecodeSottoSnodeResponse(rep, 200, wire)
				if err != nil || resp.Status != 200 || len(resp.Body) != bodyLen {
					t.Fatalf("%s class %d%+d: %v", c, class, extra, err)
				}
			}
		}
	}
}

func TestSottoReplyTampered(t *testing.T) {
	rep, rks, dest := sottoChain(t, CipherXChaCha20, 3, []byte(`{}`))
	good := sottoAnswer(t, rks, dest, []byte(`{"body":"hi","status":200}`))
	if r, err := DecodeSottoSnodeResponse(rep, 200, good); err != nil || string(r.Body) != "hi" {
		t.Fatalf("good: %v", err)
	}
	for _, at := range []int{0, 3, 4, 30, 60, len(good) - 1} {
		b := bytes.Clone(good)
		b[at] ^= 0x10
		if _, err := DecodeSottoSnodeResponse(rep, 200, b); !errors.Is(err, ErrDecrypt) {
			t.Errorf("flip at %d: %v", at, err)
		}
	}
	var re *ResponseError
	if _, err := DecodeSottoSnodeResponse(rep, 200, good[:1000]); !errors.As(err, &re) {
		t.Errorf("cut: %v", err)
	}
	var pe *PathError
	if _, err := DecodeSottoSnodeResponse(rep, 502, []byte("Next node not found: x")); !errors.As(err, &pe) {
		t.Errorf("path error: %v", err)
	}
}

func TestSottoBuildLimits(t *testing.T) {
	hop := Hop{X25519: key.OnionPublic{9}}
	var be *BuildError
	if _, _, err := BuildSottoSnodeRequest([]Hop{hop, hop, hop}, hop, make([]byte, MaxPadded), CipherAESGCM); !errors.As(err, &be) {
		t.Fatalf("payload over the largest class: %v", err)
	}
	long := ServerDest{Host: strings.Repeat("a", 250), X25519: key.OnionPublic{9}}
	if _, _, err := BuildSottoServerRequest([]Hop{hop, hop, hop}, long, []byte("l2:{}e"), CipherXChaCha20); err != nil {
		t.Fatalf("a 250-byte host: %v", err)
	}
}

func FuzzUnpad(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 'a', 'b', 'c', 0, 0})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		content, err := Unpad(b)
		if err != nil {
			return
		}
		back, err := Pad(content, len(b))
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip: %x -> %x (%v)", b, back, err)
		}
	})
}

// FuzzDecodeSottoReply: no reply, whatever its bytes, panics the client
// or decodes without the keys' consent.
func FuzzDecodeSottoReply(f *testing.F) {
	rep, rks, dest := sottoChain(f, CipherAESGCM, 2, []byte(`{}`))
	f.Add(sottoAnswer(f, rks, dest, []byte(`{"body":"x","status":200}`)))
	f.Add(make([]byte, 1024))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeSottoSnodeResponse(rep, 200, b)
		if err == nil && string(r.Body) != "x" {
			t.Fatalf("a forged reply decoded: %+v", r)
		}
	})
}

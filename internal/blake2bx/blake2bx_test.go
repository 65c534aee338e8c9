package blake2bx

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"golang.org/x/crypto/blake2b"
)

func pattern(n int) []byte {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(7*j + 3)
	}
	return p
}

// hashSteps hashes data written in pieces of step bytes.
func hashSteps(d *Digest, data []byte, step int) []byte {
	for rest := data; len(rest) > 0; {
		k := min(step, len(rest))
		d.Write(rest[:k])
		rest = rest[k:]
	}
	return d.Sum(nil)
}

func unhex16(t *testing.T, s string) *[16]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		t.Fatalf("bad 16-byte hex %q", s)
	}
	return (*[16]byte)(b)
}

// testdata/vectors.json holds the known answers of attachment's and
// fileserver's tests (libsodium and Python) and cases with key, salt and
// personalisation together, all from Python's hashlib (testdata/gen.py).
func TestVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			Size     int    `json:"size"`
			Key      string `json:"key"`
			Salt     string `json:"salt"`
			Personal string `json:"personal"`
			Len      int    `json:"len"`
			Text     string `json:"text"`
			Hash     string `json:"hash"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Cases) < 90 {
		t.Fatalf("vectors: %v (%d cases)", err, len(f.Cases))
	}
	for i, c := range f.Cases {
		key, err := hex.DecodeString(c.Key)
		if err != nil {
			t.Fatal(err)
		}
		salt, personal := unhex16(t, c.Salt), unhex16(t, c.Personal)
		data := pattern(c.Len)
		if c.Text != "" {
			data = []byte(c.Text)
		}
		// All at once, and in uneven pieces.
		for _, step := range []int{len(data) + 1, 1, 127, 128, 129, 1000} {
			got := hashSteps(New(c.Size, key, salt, personal), data, step)
			if hex.EncodeToString(got) != c.Hash {
				t.Fatalf("case %d (size %d, key %d bytes, len %d), step %d: %x, want %s", i, c.Size, len(key), len(data), step, got, c.Hash)
			}
		}
	}
}

// With no salt or personalisation (nil or zero) the parameter block is
// BLAKE2b's default, so the hash equals x/crypto's for every size and key
// length, across block boundaries and however the input is split.
func TestMatchesXCrypto(t *testing.T) {
	var zero [16]byte
	key := pattern(MaxSize)
	for _, size := range []int{1, 20, 32, 33, 56, 64} {
		for _, kl := range []int{0, 1, 32, 64} {
			for _, n := range []int{0, 1, 63, 127, 128, 129, 255, 256, 257, 1000} {
				msg := bytes.Repeat([]byte{byte(n)}, n)
				x, err := blake2b.New(size, key[:kl])
				if err != nil {
					t.Fatal(err)
				}
				x.Write(msg)
				want := x.Sum(nil)
				if got := hashSteps(New(size, key[:kl], nil, nil), msg, n+1); !bytes.Equal(got, want) {
					t.Errorf("size %d key %d len %d: %x, want %x", size, kl, n, got, want)
				}
				if got := hashSteps(New(size, key[:kl], &zero, &zero), msg, 1+n/3); !bytes.Equal(got, want) {
					t.Errorf("size %d key %d len %d split: %x, want %x", size, kl, n, got, want)
				}
			}
		}
	}
}

// Sum leaves the state as it was: more input continues the same hash.
func TestSumThenWrite(t *testing.T) {
	msg := pattern(300)
	d := New(64, nil, nil, nil)
	d.Write(msg[:100])
	first := d.Sum(nil)
	if want := blake2b.Sum512(msg[:100]); !bytes.Equal(first, want[:]) {
		t.Fatalf("first sum %x, want %x", first, want)
	}
	d.Write(msg[100:])
	prefix := []byte("prefix")
	got := d.Sum(bytes.Clone(prefix))
	if want := blake2b.Sum512(msg); !bytes.Equal(got, append(prefix, want[:]...)) {
		t.Fatalf("second sum %x, want %x", got, want)
	}
	if d.Size() != 64 {
		t.Fatalf("Size %d", d.Size())
	}
}

func TestClear(t *testing.T) {
	d := New(32, []byte("secret key"), nil, nil)
	d.Write([]byte("some plaintext"))
	d.Clear()
	if *d != (Digest{size: 32}) {
		t.Fatalf("state left after Clear: %+v", *d)
	}
}

func TestBadParameters(t *testing.T) {
	for _, c := range []struct{ size, keyLen int }{{0, 0}, {-1, 0}, {65, 0}, {32, 65}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("size %d key %d: no panic", c.size, c.keyLen)
				}
			}()
			New(c.size, make([]byte, c.keyLen), nil, nil)
		}()
	}
}

// With salt and personalisation zero, any size, key, input and split give
// x/crypto's hash.
func FuzzMatchesXCrypto(f *testing.F) {
	f.Add(uint8(64), []byte{}, []byte("abc"), uint16(1))
	f.Add(uint8(33), []byte("key"), bytes.Repeat([]byte{7}, 300), uint16(128))
	f.Add(uint8(1), bytes.Repeat([]byte{1}, 64), bytes.Repeat([]byte{9}, 257), uint16(129))
	f.Fuzz(func(t *testing.T, size uint8, key, msg []byte, step uint16) {
		s := int(size)%MaxSize + 1
		if len(key) > MaxSize {
			key = key[:MaxSize]
		}
		x, err := blake2b.New(s, key)
		if err != nil {
			t.Fatal(err)
		}
		x.Write(msg)
		want := x.Sum(nil)
		var zero [16]byte
		if got := hashSteps(New(s, key, &zero, nil), msg, int(step)+1); !bytes.Equal(got, want) {
			t.Fatalf("size %d key %x step %d: %x, want %x", s, key, step, got, want)
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	data := pattern(1 << 20)
	key := pattern(32)
	var p [16]byte
	b.SetBytes(int64(len(data)))
	out := make([]byte, 0, 56)
	for b.Loop() {
		d := New(56, key, nil, &p)
		d.Write(data)
		out = d.Sum(out[:0])
	}
}

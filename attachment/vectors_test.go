package attachment

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"sotto.dev/internal/blake2bx"
)

// The vectors in testdata come from the system libsodium (secretstream,
// BLAKE2b, and libsession's construction on libsodium's primitives) and
// from node running desktop's padding expression; testdata/gen has the
// generators.

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// makeData is libsession's test plaintext: byte i is 7i mod 256.
func makeData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

type ssMessage struct {
	Plaintext string `json:"plaintext"`
	Tag       byte   `json:"tag"`
	Sealed    string `json:"sealed"`
}

type ssStream struct {
	Key      string      `json:"key"`
	Header   string      `json:"header"`
	Counter  uint32      `json:"counter"`
	Messages []ssMessage `json:"messages"`
}

func TestSecretstreamLibsodium(t *testing.T) {
	var f struct {
		Streams     []ssStream `json:"streams"`
		CounterWrap ssStream   `json:"counter_wrap"`
	}
	loadJSON(t, "secretstream.json", &f)
	streams := append(f.Streams, f.CounterWrap)
	for i, s := range streams {
		key := [32]byte(unhex(t, s.Key))
		header := [24]byte(unhex(t, s.Header))
		var push, pull secretstream
		push.init(&key, &header)
		pull.init(&key, &header)
		if s.Counter != 0 {
			// Set the counter as the generator did, to wrap it.
			for _, st := range []*secretstream{&push, &pull} {
				st.nonce[0], st.nonce[1], st.nonce[2], st.nonce[3] = byte(s.Counter), byte(s.Counter>>8), byte(s.Counter>>16), byte(s.Counter>>24)
			}
		}
		for j, m := range s.Messages {
			pt := unhex(t, m.Plaintext)
			want := unhex(t, m.Sealed)
			if got := push.push(nil, pt, m.Tag); !bytes.Equal(got, want) {
				t.Fatalf("stream %d message %d: push differs from libsodium", i, j)
			}
			// A damaged copy fails and leaves the state as it was.
			bad := bytes.Clone(want)
			bad[len(bad)/2] ^= 0x20
			if _, _, err := pull.pull(nil, bad); err == nil {
				t.Fatalf("stream %d message %d: damaged message opened", i, j)
			}
			got, tag, err := pull.pull(nil, want)
			if err != nil || tag != m.Tag || !bytes.Equal(got, pt) {
				t.Fatalf("stream %d message %d: pull = tag %d, err %v", i, j, tag, err)
			}
		}
	}
}

func TestBLAKE2bLibsodium(t *testing.T) {
	var f struct {
		Cases []struct {
			Key      string `json:"key"`
			Personal string `json:"personal"`
			Size     int    `json:"size"`
			Len      int    `json:"len"`
			Hash     string `json:"hash"`
		} `json:"cases"`
	}
	loadJSON(t, "blake2b.json", &f)
	for _, c := range f.Cases {
		data := make([]byte, c.Len)
		for j := range data {
			data[j] = byte(j*7 + 3)
		}
		p := [16]byte(unhex(t, c.Personal))
		// All at once, and in uneven pieces.
		for _, step := range []int{c.Len + 1, 1, 127, 128, 129, 1000} {
			h := blake2bx.New(c.Size, unhex(t, c.Key), nil, &p)
			for rest := data; len(rest) > 0; {
				k := min(step, len(rest))
				h.Write(rest[:k])
				rest = rest[k:]
			}
			got := h.Sum(nil)
			if hex.EncodeToString(got) != c.Hash {
				t.Fatalf("key %d bytes, size %d, len %d, step %d: %x, want %s", len(c.Key)/2, c.Size, c.Len, step, got, c.Hash)
			}
		}
	}
}

type detVector struct {
	Domain           string `json:"domain"`
	PlaintextLen     int    `json:"plaintext_len"`
	Key              string `json:"key"`
	CiphertextLen    int64  `json:"ciphertext_len"`
	CiphertextSHA256 string `json:"ciphertext_sha256"`
	Ciphertext       string `json:"ciphertext"`
}

func TestDeterministicVectors(t *testing.T) {
	var f struct {
		Seed    string      `json:"seed"`
		Vectors []detVector `json:"vectors"`
	}
	loadJSON(t, "deterministic.json", &f)
	seed := Seed(unhex(t, f.Seed))
	for _, v := range f.Vectors {
		d := DomainAttachment
		if v.Domain == "profile_picture" {
			d = DomainProfilePicture
		}
		pt := makeData(v.PlaintextLen)
		ct, key, err := Seal(&seed, d, pt)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(ct)
		if hex.EncodeToString(key[:]) != v.Key || int64(len(ct)) != v.CiphertextLen || hex.EncodeToString(sum[:]) != v.CiphertextSHA256 {
			t.Errorf("%s %d: key %x, %d bytes, sha256 %x; want %s, %d, %s", v.Domain, v.PlaintextLen, key, len(ct), sum, v.Key, v.CiphertextLen, v.CiphertextSHA256)
			continue
		}
		if v.Ciphertext != "" && hex.EncodeToString(ct) != v.Ciphertext {
			t.Errorf("%s %d: ciphertext differs", v.Domain, v.PlaintextLen)
		}
		if EncryptedSize(int64(v.PlaintextLen)) != v.CiphertextLen {
			t.Errorf("EncryptedSize(%d) = %d, want %d", v.PlaintextLen, EncryptedSize(int64(v.PlaintextLen)), v.CiphertextLen)
		}
		got, err := Open(&key, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("%s %d: Open: %v", v.Domain, v.PlaintextLen, err)
		}
	}
}

package identity

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"sotto.dev/internal/vectors"
	"sotto.dev/key"
)

// extraVector returns a vector from testdata/libsession-extra.json: values
// from Session's public test suites that the shared vector file lacks.
func extraVector(t testing.TB, name string) vectors.Vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/libsession-extra.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []vectors.Vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("decode testdata/libsession-extra.json: %v", err)
	}
	for _, v := range f.Vectors {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no extra vector %q", name)
	return vectors.Vector{}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test data %q: %v", s, err)
	}
	return b
}

func mustHex32(t testing.TB, s string) [32]byte {
	t.Helper()
	b := mustHex(t, s)
	if len(b) != 32 {
		t.Fatalf("test data %q is %d bytes, want 32", s, len(b))
	}
	return [32]byte(b)
}

func mustKeys(t testing.TB, seed []byte) *Keys {
	t.Helper()
	k, err := KeysFromSeed(seed)
	if err != nil {
		t.Fatalf("KeysFromSeed(%x): %v", seed, err)
	}
	return k
}

func mustID(t testing.TB, s string) key.SessionID {
	t.Helper()
	id, err := key.ParseSessionID(s)
	if err != nil {
		t.Fatalf("ParseSessionID(%q): %v", s, err)
	}
	return id
}

func mustBlinded(t testing.TB, s string) key.BlindedID {
	t.Helper()
	id, err := key.ParseBlindedID(s)
	if err != nil {
		t.Fatalf("ParseBlindedID(%q): %v", s, err)
	}
	return id
}

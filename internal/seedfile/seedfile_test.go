package seedfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testKind = Kind{Format: "sotto-test-key-v1", What: "test key"}

// The bytes on disk are the format the node and file server key files have
// always had.
func TestSaveFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.json")
	seed := bytes.Repeat([]byte{0xab}, SeedSize)
	if err := testKind.Save(path, seed); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"format\": \"sotto-test-key-v1\",\n  \"ed25519_seed\": \"" + strings.Repeat("ab", SeedSize) + "\"\n}\n"
	if string(got) != want {
		t.Fatalf("file is\n%s\nwant\n%s", got, want)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	if back, err := testKind.Load(path); err != nil || !bytes.Equal(back, seed) {
		t.Fatalf("load: %x %v", back, err)
	}
	if err := testKind.Save(path, seed); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("overwrite: %v", err)
	}
	if err := testKind.Save(filepath.Join(t.TempDir(), "k"), seed[:31]); err == nil {
		t.Fatal("31-byte seed saved")
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	path := filepath.Join(dir, "key.json")
	seed, created, err := testKind.LoadOrCreate(path)
	if err != nil || !created || len(seed) != SeedSize || bytes.Equal(seed, make([]byte, SeedSize)) {
		t.Fatalf("create: %x %v %v", seed, created, err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v %v", st.Mode(), err)
	}
	again, created, err := testKind.LoadOrCreate(path)
	if err != nil || created || !bytes.Equal(again, seed) {
		t.Fatalf("reload: %x %v %v", again, created, err)
	}
	if _, err := testKind.Load(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestLoadBad(t *testing.T) {
	dir := t.TempDir()
	zeros := strings.Repeat("00", SeedSize)
	for name, content := range map[string]string{
		"not json":     "nope",
		"empty object": `{}`,
		"format":       `{"format":"sotto-node-key-v1","ed25519_seed":"` + zeros + `"}`,
		"short":        `{"format":"sotto-test-key-v1","ed25519_seed":"00"}`,
		"long":         `{"format":"sotto-test-key-v1","ed25519_seed":"` + zeros + `00"}`,
		"not hex":      `{"format":"sotto-test-key-v1","ed25519_seed":"` + strings.Repeat("zz", SeedSize) + `"}`,
		"extra keys":   `{"format":"sotto-test-key-v1","ed25519_seed":"` + zeros + `","x":1}`,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		var e *Error
		_, err := testKind.Load(p)
		if !errors.As(err, &e) || e.Path != p || !strings.HasPrefix(err.Error(), "test key file "+p+": ") {
			t.Errorf("%s: %v", name, err)
		}
		if _, _, err := testKind.LoadOrCreate(p); !errors.As(err, &e) {
			t.Errorf("%s: LoadOrCreate: %v", name, err)
		}
	}
}

package fileserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/edwards25519"
)

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", KeyFileName)
	k, created, err := LoadOrCreateKeys(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", st.Mode(), err)
	}
	k2, created, err := LoadOrCreateKeys(path)
	if err != nil || created || k2.Ed25519Public() != k.Ed25519Public() || k2.X25519Public() != k.X25519Public() {
		t.Fatalf("reload: %v %v", created, err)
	}
	// The X25519 key is the Montgomery form of the Ed25519 key, so a
	// client given only the Ed25519 key finds it.
	ed := k.Ed25519Public()
	p, err := new(edwards25519.Point).SetBytes(ed[:])
	if err != nil || !bytes.Equal(p.BytesMontgomery(), func() []byte { x := k.X25519Public(); return x[:] }()) {
		t.Fatal("X25519 key is not derived from the Ed25519 key")
	}
	// Never the secret in fmt or slog.
	seed, _ := os.ReadFile(path)
	var f struct {
		Seed string `json:"ed25519_seed"`
	}
	json.Unmarshal(seed, &f)
	for _, s := range []string{fmt.Sprintf("%v %+v %x %s", k, k, k, k), k.LogValue().String()} {
		if strings.Contains(s, f.Seed) || !strings.Contains(s, ed.String()) {
			t.Fatalf("formatted keys: %s", s)
		}
	}
	if err := SaveKeys(path, k); err == nil {
		t.Fatal("overwrote a key file")
	}

	dir := t.TempDir()
	for name, content := range map[string]string{
		"not json":   "nope",
		"format":     `{"format":"sotto-node-key-v1","ed25519_seed":"` + strings.Repeat("00", 32) + `"}`,
		"short":      `{"format":"sotto-file-server-key-v1","ed25519_seed":"00"}`,
		"not hex":    `{"format":"sotto-file-server-key-v1","ed25519_seed":"` + strings.Repeat("zz", 32) + `"}`,
		"extra keys": `{"format":"sotto-file-server-key-v1","ed25519_seed":"` + strings.Repeat("00", 32) + `","x":1}`,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, []byte(content), 0o600)
		var kfe *KeyFileError
		if _, _, err := LoadOrCreateKeys(p); !errors.As(err, &kfe) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := KeysFromSeed(make([]byte, 31)); err == nil {
		t.Fatal("31-byte seed accepted")
	}
}

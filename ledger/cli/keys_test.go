package cli

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sotto.dev/ledger/state"
)

func TestWriteReadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "operator.json")
	addr, err := WriteKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if _, err := WriteKey(path); err == nil {
		t.Fatal("an existing key file was overwritten")
	}
	s, err := ReadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if state.Address(s.PublicKey()) != addr {
		t.Fatal("read key is not the written one")
	}
	sig := s.Sign([]byte("m"))
	pub := s.PublicKey()
	if !ed25519.Verify(pub[:], []byte("m"), sig[:]) {
		t.Fatal("bad signature")
	}
	if out := fmt.Sprintf("%v", s); !strings.Contains(out, addr.String()) {
		t.Fatalf("signer formats as %q", out)
	}
	for _, bad := range []string{"", `{"format":"sotto-ledger-key-v1","ed25519_seed":"00"}`, `{"format":"other","ed25519_seed":"` + strings.Repeat("00", 32) + `"}`} {
		p := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadKey(p); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ReadKey(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

package identity

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fastKDF keeps tests quick; files record their parameters, so reading
// them back exercises the same code as the defaults.
var fastKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func TestKeyFileUnencrypted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	path := filepath.Join(dir, "identity.json")
	k := mustKeys(t, bytes.Repeat([]byte{0x11}, 16))
	if err := SaveKeyFile(path, k, nil); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(dir); dst.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", dst.Mode().Perm())
	}
	f, err := LoadKeyFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Keys.SessionID() != k.SessionID() || !bytes.Equal(f.Keys.Seed(), k.Seed()) {
		t.Error("loaded keys differ")
	}
	if f.DBKey == ([32]byte{}) {
		t.Error("database key is zero")
	}
	// A passphrase given for an unencrypted file is not needed.
	if _, err := LoadKeyFile(path, []byte("pw")); err != nil {
		t.Errorf("load with an unneeded passphrase: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the identity file", len(entries))
	}
}

func TestKeyFileEncrypted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.json")
	k := mustKeys(t, bytes.Repeat([]byte{0x22}, 32)) // a 25-word (32-byte) seed survives as is
	f, err := NewKeyFile(k)
	if err != nil {
		t.Fatal(err)
	}
	pass := []byte("correct horse")
	if err := f.Save(path, pass, fastKDF); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(strings.Repeat("22", 32))) || bytes.Contains(raw, []byte("db_key")) {
		t.Fatal("encrypted file contains the secrets in clear")
	}
	if !bytes.Contains(raw, []byte(k.SessionID().String())) {
		t.Error("file does not show the Session ID")
	}

	got, err := LoadKeyFile(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	if got.Keys.SessionID() != k.SessionID() || len(got.Keys.Seed()) != 32 || got.DBKey != f.DBKey {
		t.Error("loaded file differs")
	}

	for _, pw := range [][]byte{nil, {}, []byte("wrong")} {
		_, err := LoadKeyFile(path, pw)
		if !errors.Is(err, ErrLocked) {
			t.Errorf("passphrase %q: err = %v, want ErrLocked", pw, err)
		}
	}

	// Re-saving with a new passphrase keeps the database key.
	if err := got.Save(path, []byte("new"), fastKDF); err != nil {
		t.Fatal(err)
	}
	again, err := LoadKeyFile(path, []byte("new"))
	if err != nil || again.DBKey != f.DBKey {
		t.Errorf("after passphrase change: %v, same db key %v", err, err == nil && again.DBKey == f.DBKey)
	}
}

func TestKeyFileTampered(t *testing.T) {
	k := mustKeys(t, bytes.Repeat([]byte{0x33}, 16))
	other := mustKeys(t, bytes.Repeat([]byte{0x44}, 16))
	f, err := NewKeyFile(k)
	if err != nil {
		t.Fatal(err)
	}
	pass := []byte("pw")
	enc, err := f.Marshal(pass, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := f.Marshal(nil, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(data []byte, fn func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		fn(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	encField := func(name string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["encrypted"].(map[string]any)[name] = v }
	}
	cases := []struct {
		name   string
		data   []byte
		pass   []byte
		locked bool // want ErrLocked rather than *KeyFileError
	}{
		{"not json", []byte("{"), nil, false},
		{"trailing data", append(append([]byte(nil), plain...), []byte("{}")...), nil, false},
		{"unknown field", edit(plain, func(m map[string]any) { m["extra"] = 1 }), nil, false},
		{"format", edit(plain, func(m map[string]any) { m["format"] = "other" }), nil, false},
		{"version", edit(plain, func(m map[string]any) { m["version"] = 2 }), nil, false},
		{"session id of another account", edit(plain, func(m map[string]any) { m["session_id"] = other.SessionID().String() }), nil, false},
		{"blinded session id", edit(plain, func(m map[string]any) { m["session_id"] = "15" + m["session_id"].(string)[2:] }), nil, false},
		{"short seed", edit(plain, func(m map[string]any) { m["secret"].(map[string]any)["seed"] = "0011" }), nil, false},
		{"bad db key", edit(plain, func(m map[string]any) { m["secret"].(map[string]any)["db_key"] = "zz" }), nil, false},
		{"both secret and encrypted", edit(enc, func(m map[string]any) { m["secret"] = map[string]any{"seed": "", "db_key": ""} }), pass, false},
		{"neither", edit(plain, func(m map[string]any) { delete(m, "secret") }), nil, false},
		{"huge memory", edit(enc, encField("memory_kib", 1<<30)), pass, false},
		{"zero time", edit(enc, encField("time", 0)), pass, false},
		{"unknown kdf", edit(enc, encField("kdf", "scrypt")), pass, false},
		{"short salt", edit(enc, encField("salt", "00")), pass, false},
		{"short ciphertext", edit(enc, encField("ciphertext", "00")), pass, false},
		{"edited session id under encryption", edit(enc, func(m map[string]any) { m["session_id"] = strings.ToUpper(m["session_id"].(string)) }), pass, true},
		{"edited kdf time", edit(enc, encField("time", 2)), pass, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseKeyFile(c.data, c.pass)
			if f != nil {
				t.Fatal("returned a key file with an error")
			}
			if c.locked {
				if !errors.Is(err, ErrLocked) {
					t.Errorf("err = %v, want ErrLocked", err)
				}
				return
			}
			var kfe *KeyFileError
			if !errors.As(err, &kfe) {
				t.Errorf("err = %v, want *KeyFileError", err)
			}
		})
	}
}

func TestKDFParamsValidate(t *testing.T) {
	if err := DefaultKDFParams().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, p := range []KDFParams{
		{Time: 0, MemoryKiB: 64, Threads: 1},
		{Time: 1, MemoryKiB: 7, Threads: 1},
		{Time: 1, MemoryKiB: 64, Threads: 0},
		{Time: 1, MemoryKiB: 16, Threads: 4},
		{Time: 65, MemoryKiB: 64, Threads: 1},
		{Time: 1, MemoryKiB: 5 << 20, Threads: 1},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	f, _ := NewKeyFile(mustKeys(t, make([]byte, 16)))
	if _, err := f.Marshal([]byte("pw"), KDFParams{}); err == nil {
		t.Error("Marshal accepted zero KDF parameters")
	}
	if _, err := (&KeyFile{}).Marshal(nil, fastKDF); err == nil {
		t.Error("Marshal accepted a key file without keys")
	}
}

func TestLoadKeyFileMissing(t *testing.T) {
	_, err := LoadKeyFile(filepath.Join(t.TempDir(), "nope.json"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist", err)
	}
}

func FuzzParseKeyFile(f *testing.F) {
	k, err := KeysFromSeed(bytes.Repeat([]byte{0x55}, 16))
	if err != nil {
		f.Fatal(err)
	}
	kf := &KeyFile{Keys: k, DBKey: [32]byte{1}}
	plain, _ := kf.Marshal(nil, fastKDF)
	enc, _ := kf.Marshal([]byte("pw"), fastKDF)
	f.Add(plain)
	f.Add(enc)
	f.Add([]byte(`{"format":"sotto-identity","version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// No passphrase: an encrypted file stops before Argon2id runs.
		got, err := ParseKeyFile(data, nil)
		if err != nil {
			return
		}
		// A file that parses re-encodes to one that parses to the same keys.
		out, err := got.Marshal(nil, fastKDF)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseKeyFile(out, nil)
		if err != nil || again.Keys.SessionID() != got.Keys.SessionID() || again.DBKey != got.DBKey {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// Package seedfile reads and writes the key files of Sotto's servers (the
// service node's and the file server's): a JSON object
//
//	{
//	  "format": "<the file's format>",
//	  "ed25519_seed": "<64 hex digits>"
//	}
//
// and a newline, mode 0600, never overwritten. Each server derives all its
// keys from the one 32-byte Ed25519 seed. The seeds it returns are the
// caller's to clear; Go cannot wipe the copies encoding/json makes.
package seedfile

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SeedSize is the length of an Ed25519 seed.
const SeedSize = 32

// Kind is one server's key file: its "format" and what its errors call the
// key.
type Kind struct {
	Format string // the "format" field, e.g. "sotto-node-key-v1"
	What   string // the key in error messages, e.g. "node key"
}

// Error reports a key file that exists but cannot be understood.
type Error struct {
	What   string // Kind.What
	Path   string
	Reason string
}

func (e *Error) Error() string { return e.What + " file " + e.Path + ": " + e.Reason }

type fileJSON struct {
	Format string `json:"format"`
	Seed   string `json:"ed25519_seed"`
}

// Load reads the seed from the key file at path. A missing file gives an
// error wrapping fs.ErrNotExist; a file that is not exactly k's JSON, an
// *Error.
func (k Kind) Load(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.What, err)
	}
	defer clear(data)
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, k.error(path, "not JSON: "+err.Error())
	}
	if f.Format != k.Format {
		return nil, k.error(path, fmt.Sprintf("format %q, want %q", f.Format, k.Format))
	}
	if len(f.Seed) != 2*SeedSize {
		return nil, k.error(path, "ed25519_seed must be 64 hex digits")
	}
	seed := make([]byte, SeedSize)
	if _, err := hex.Decode(seed, []byte(f.Seed)); err != nil {
		clear(seed)
		return nil, k.error(path, "ed25519_seed is not hex")
	}
	return seed, nil
}

// Save writes seed to a new key file at path with mode 0600; it refuses to
// overwrite a file.
func (k Kind) Save(path string, seed []byte) error {
	if len(seed) != SeedSize {
		return fmt.Errorf("%s: seed is %d bytes, want %d", k.What, len(seed), SeedSize)
	}
	data, err := json.MarshalIndent(fileJSON{Format: k.Format, Seed: hex.EncodeToString(seed)}, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", k.What, err)
	}
	data = append(data, '\n')
	defer clear(data)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", k.What, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", k.What, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", k.What, err)
	}
	return f.Close()
}

// LoadOrCreate reads the seed from the key file at path, or, if there is
// none, draws a new seed from crypto/rand and saves it (creating path's
// directory with mode 0700). created reports a new seed.
func (k Kind) LoadOrCreate(path string) (seed []byte, created bool, err error) {
	seed, err = k.Load(path)
	if err == nil {
		return seed, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("%s: %w", k.What, err)
	}
	seed = make([]byte, SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, false, fmt.Errorf("%s: read random seed: %w", k.What, err)
	}
	if err := k.Save(path, seed); err != nil {
		clear(seed)
		return nil, false, err
	}
	return seed, true, nil
}

func (k Kind) error(path, reason string) *Error {
	return &Error{What: k.What, Path: path, Reason: reason}
}

package snode

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"sotto.dev/key"
)

// KeyFileName is the node key file inside the data directory.
const KeyFileName = "key.json"

// keyFileFormat is the "format" of the node key file.
const keyFileFormat = "sotto-node-key-v1"

// Keys are a service node's secret keys: the Ed25519 identity key (names
// the node in the ledger, signs per-node results, authenticates
// node-to-node TLS) and the X25519 key that onion layers are encrypted to.
// As on Session since the Ed25519 switch, the X25519 key is derived from
// the Ed25519 seed (session-protocol.md §1.1), so one 32-byte seed is
// stored. Keys has no String; it formats and logs as redacted.
type Keys struct {
	node  key.NodePrivate
	onion key.OnionPrivate
}

// NewNodeKeys makes keys from 32 random bytes.
func NewNodeKeys() (*Keys, error) {
	nk, err := key.GenerateNodePrivate()
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	return &Keys{node: nk, onion: nk.OnionPrivate()}, nil
}

// NodeKeysFromSeed derives node keys from a 32-byte Ed25519 seed.
func NodeKeysFromSeed(seed []byte) (*Keys, error) {
	nk, err := key.NodePrivateFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	return &Keys{node: nk, onion: nk.OnionPrivate()}, nil
}

// Ed25519Public is the node's identity key.
func (k *Keys) Ed25519Public() key.NodePublic { return k.node.Public() }

// X25519Public is the node's onion key.
func (k *Keys) X25519Public() key.OnionPublic { return k.onion.Public() }

// X25519Private returns the onion key's secret (for the onion relay).
func (k *Keys) X25519Private() key.OnionPrivate { return k.onion }

// ed25519Private returns the signing key.
func (k *Keys) ed25519Private() ed25519.PrivateKey { return k.node.Ed25519() }

// Sign signs msg with the identity key.
func (k *Keys) Sign(msg []byte) [64]byte { return k.node.Sign(msg) }

// Wipe clears the secrets Keys holds.
func (k *Keys) Wipe() {
	k.node.Wipe()
	k.onion.Wipe()
}

// LogValue implements slog.LogValuer: only the public identity key.
func (k *Keys) LogValue() slog.Value {
	return slog.StringValue("node " + k.Ed25519Public().String())
}

// Format implements fmt.Formatter: never the secrets.
func (k *Keys) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte("node-keys[" + k.Ed25519Public().String() + "]"))
}

type keyFileJSON struct {
	Format string `json:"format"`
	Seed   string `json:"ed25519_seed"`
}

// KeyFileError reports an unreadable node key file.
type KeyFileError struct {
	Path   string
	Reason string
}

func (e *KeyFileError) Error() string { return "node key file " + e.Path + ": " + e.Reason }

// LoadOrCreateKeys reads dir/key.json, creating it (mode 0600, dir 0700)
// with new keys if it does not exist. created reports a new key.
func LoadOrCreateKeys(dir string) (k *Keys, created bool, err error) {
	path := filepath.Join(dir, KeyFileName)
	k, err = LoadKeys(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("node key: %w", err)
	}
	k, err = NewNodeKeys()
	if err != nil {
		return nil, false, err
	}
	if err := SaveKeys(path, k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// LoadKeys reads a node key file.
func LoadKeys(path string) (*Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	defer clear(data)
	var f keyFileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, &KeyFileError{Path: path, Reason: "not JSON: " + err.Error()}
	}
	if f.Format != keyFileFormat {
		return nil, &KeyFileError{Path: path, Reason: fmt.Sprintf("format %q, want %q", f.Format, keyFileFormat)}
	}
	if len(f.Seed) != 64 {
		return nil, &KeyFileError{Path: path, Reason: "ed25519_seed must be 64 hex digits"}
	}
	seed := make([]byte, 32)
	defer clear(seed)
	if _, err := hex.Decode(seed, []byte(f.Seed)); err != nil {
		return nil, &KeyFileError{Path: path, Reason: "ed25519_seed is not hex"}
	}
	return NodeKeysFromSeed(seed)
}

// SaveKeys writes keys to path with mode 0600, refusing to overwrite.
func SaveKeys(path string, k *Keys) error {
	seed := k.node.Seed()
	defer clear(seed)
	data, err := json.MarshalIndent(keyFileJSON{Format: keyFileFormat, Seed: hex.EncodeToString(seed)}, "", "  ")
	if err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	defer clear(data)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("node key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("node key: %w", err)
	}
	return f.Close()
}

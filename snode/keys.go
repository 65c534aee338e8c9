package snode

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"path/filepath"

	"sotto.dev/internal/seedfile"
	"sotto.dev/key"
)

// KeyFileName is the node key file inside the data directory.
const KeyFileName = "key.json"

// keyFile is the node key file: its "format" and the name its errors use.
var keyFile = seedfile.Kind{Format: "sotto-node-key-v1", What: "node key"}

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

// SignBatch signs each of msgs with the identity key, sharing work
// between the signatures (key.NodePrivate.SignBatch): sigs[i] is what
// Sign(msgs[i]) returns.
func (k *Keys) SignBatch(msgs [][]byte, sigs [][64]byte) { k.node.SignBatch(msgs, sigs) }

// NewNoncePool makes a pool of at most n signing nonces of the identity
// key, made ahead of time (key.NoncePool).
func (k *Keys) NewNoncePool(n int) *key.NoncePool { return k.node.NewNoncePool(n) }

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

// KeyFileError reports an unreadable node key file.
type KeyFileError = seedfile.Error

// LoadOrCreateKeys reads dir/key.json, creating it (mode 0600, dir 0700)
// with new keys if it does not exist. created reports a new key.
func LoadOrCreateKeys(dir string) (k *Keys, created bool, err error) {
	seed, created, err := keyFile.LoadOrCreate(filepath.Join(dir, KeyFileName))
	if err != nil {
		return nil, false, err
	}
	defer clear(seed)
	k, err = NodeKeysFromSeed(seed)
	return k, created, err
}

// LoadKeys reads a node key file.
func LoadKeys(path string) (*Keys, error) {
	seed, err := keyFile.Load(path)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	return NodeKeysFromSeed(seed)
}

// SaveKeys writes keys to path with mode 0600, refusing to overwrite.
func SaveKeys(path string, k *Keys) error {
	seed := k.node.Seed()
	defer clear(seed)
	return keyFile.Save(path, seed)
}

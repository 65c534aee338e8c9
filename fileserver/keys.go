package fileserver

import (
	"fmt"
	"log/slog"

	"sotto.dev/internal/seedfile"
	"sotto.dev/key"
)

// KeyFileName is the key file inside the server's directory.
const KeyFileName = "key.json"

// keyFile is the key file: its "format" and the name its errors use.
var keyFile = seedfile.Kind{Format: "sotto-file-server-key-v1", What: "file server key"}

// Keys are the file server's keys: an Ed25519 key (what a ledger
// registration and a `p=` URL fragment name) and the X25519 key onion
// requests are encrypted to. As for Session's own file servers and for
// service nodes, the X25519 key is derived from the Ed25519 seed
// (libsodium crypto_sign_ed25519_sk_to_curve25519), so a client given only
// the Ed25519 key finds the onion key; the key file stores the one seed.
// Keys has no String; fmt and slog show only the public key.
type Keys struct {
	ed    key.FileServerPrivate
	onion key.OnionPrivate
}

// GenerateKeys makes new keys from crypto/rand.
func GenerateKeys() (*Keys, error) {
	ed, err := key.GenerateFileServerPrivate()
	if err != nil {
		return nil, fmt.Errorf("file server key: %w", err)
	}
	return &Keys{ed: ed, onion: ed.OnionPrivate()}, nil
}

// KeysFromSeed derives the keys from a 32-byte Ed25519 seed.
func KeysFromSeed(seed []byte) (*Keys, error) {
	ed, err := key.FileServerPrivateFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("file server key: %w", err)
	}
	return &Keys{ed: ed, onion: ed.OnionPrivate()}, nil
}

// Ed25519Public is the server's Ed25519 public key.
func (k *Keys) Ed25519Public() key.FileServerPublic { return k.ed.Public() }

// X25519Public is the key onion requests to the server are encrypted to.
func (k *Keys) X25519Public() key.OnionPublic { return k.onion.Public() }

// X25519Private is the onion key's secret.
func (k *Keys) X25519Private() key.OnionPrivate { return k.onion }

// Sign signs msg with the Ed25519 key (a ledger registration).
func (k *Keys) Sign(msg []byte) [64]byte { return k.ed.Sign(msg) }

// Wipe clears the secrets.
func (k *Keys) Wipe() {
	k.ed.Wipe()
	k.onion.Wipe()
}

// LogValue implements slog.LogValuer: only the public key.
func (k *Keys) LogValue() slog.Value {
	return slog.StringValue("file server " + k.Ed25519Public().String())
}

// Format implements fmt.Formatter: never the secrets.
func (k *Keys) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte("file-server-keys[" + k.Ed25519Public().String() + "]"))
}

// KeyFileError reports an unreadable key file.
type KeyFileError = seedfile.Error

// LoadOrCreateKeys reads the key file at path, creating it (mode 0600, its
// directory 0700) with new keys if it does not exist. created reports a
// new key.
func LoadOrCreateKeys(path string) (k *Keys, created bool, err error) {
	seed, created, err := keyFile.LoadOrCreate(path)
	if err != nil {
		return nil, false, err
	}
	defer clear(seed)
	k, err = KeysFromSeed(seed)
	return k, created, err
}

// LoadKeys reads a key file. A missing file gives an error wrapping
// fs.ErrNotExist.
func LoadKeys(path string) (*Keys, error) {
	seed, err := keyFile.Load(path)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	return KeysFromSeed(seed)
}

// SaveKeys writes k to path with mode 0600, refusing to overwrite a file.
func SaveKeys(path string, k *Keys) error {
	seed := k.ed.Seed()
	defer clear(seed)
	return keyFile.Save(path, seed)
}

package community

import (
	"fmt"
	"log/slog"

	"sotto.dev/internal/seedfile"
	"sotto.dev/key"
)

// KeyFileName is the key file inside the server's directory.
const KeyFileName = "key.json"

var keyFile = seedfile.Kind{Format: "sotto-community-key-v1", What: "community server key"}

// Keys are the community server's key: an X25519 key whose public half is
// the community's public_key (join URLs), the key onion requests are
// encrypted to and the blinding input of spec §5.1–5.2. It is derived from
// a 32-byte seed as an Ed25519 key's X25519 form (libsodium
// crypto_sign_ed25519_sk_to_curve25519), like the file server's. Keys has
// no String; fmt and slog show only the public key.
//
// The seed's Ed25519 key signs the server's ledger registration
// (docs/ledger.md "Communities"); it never appears in the API.
type Keys struct {
	ed    key.FileServerPrivate
	onion key.OnionPrivate
}

// KeysFromSeed derives the keys from a 32-byte seed.
func KeysFromSeed(seed []byte) (*Keys, error) {
	ed, err := key.FileServerPrivateFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("community server key: %w", err)
	}
	return &Keys{ed: ed, onion: ed.OnionPrivate()}, nil
}

// Ed25519Public is the seed's Ed25519 public key, which names the
// server's ledger registration.
func (k *Keys) Ed25519Public() key.FileServerPublic { return k.ed.Public() }

// Sign signs msg with the Ed25519 key (a ledger registration).
func (k *Keys) Sign(msg []byte) [64]byte { return k.ed.Sign(msg) }

// Public is the server's public key, as join URLs show it.
func (k *Keys) Public() [32]byte { return [32]byte(k.onion.Public()) }

// OnionPublic is the key onion requests to the server are encrypted to.
func (k *Keys) OnionPublic() key.OnionPublic { return k.onion.Public() }

// Wipe clears the secret.
func (k *Keys) Wipe() {
	k.ed.Wipe()
	k.onion.Wipe()
}

// LogValue implements slog.LogValuer: only the public key.
func (k *Keys) LogValue() slog.Value {
	return slog.StringValue("community " + k.OnionPublic().String())
}

// Format implements fmt.Formatter: never the secret.
func (k *Keys) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte("community-keys[" + k.OnionPublic().String() + "]"))
}

// LoadOrCreateKeys reads the key file at path, creating it (mode 0600, its
// directory 0700) with a new key if it does not exist.
func LoadOrCreateKeys(path string) (k *Keys, created bool, err error) {
	seed, created, err := keyFile.LoadOrCreate(path)
	if err != nil {
		return nil, false, err
	}
	defer clear(seed)
	k, err = KeysFromSeed(seed)
	return k, created, err
}

// LoadKeys reads a key file; a missing file gives an error wrapping
// fs.ErrNotExist.
func LoadKeys(path string) (*Keys, error) {
	seed, err := keyFile.Load(path)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	return KeysFromSeed(seed)
}

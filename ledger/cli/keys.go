package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
	"sotto.dev/snode"
)

// KeyFileFormat is the "format" of an account key file.
const KeyFileFormat = "sotto-ledger-key-v1"

type keyFile struct {
	Format string `json:"format"`
	Seed   string `json:"ed25519_seed"`
}

// accountKey is an account's private key; it formats and logs as its
// address only.
type accountKey struct{ k ed25519.PrivateKey }

func (a accountKey) LogValue() slog.Value { return slog.StringValue("account " + a.address().String()) }

func (a accountKey) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte("account-key[" + a.address().String() + "]"))
}

func (a accountKey) signer() state.Signer   { return state.KeySigner(a.k) }
func (a accountKey) address() state.Address { return state.Address(a.k.Public().(ed25519.PublicKey)) }

// writeKeyFile creates a new account key at path (mode 0600, never
// overwriting) and returns its address.
func writeKeyFile(path string) (state.Address, error) {
	seed := make([]byte, ed25519.SeedSize)
	defer clear(seed)
	if _, err := rand.Read(seed); err != nil {
		return state.Address{}, err
	}
	data, err := json.MarshalIndent(keyFile{Format: KeyFileFormat, Seed: hex.EncodeToString(seed)}, "", "  ")
	if err != nil {
		return state.Address{}, err
	}
	defer clear(data)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return state.Address{}, fail("choose a new file; keys are never overwritten", err, "cannot create key file")
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return state.Address{}, err
	}
	if err := f.Close(); err != nil {
		return state.Address{}, err
	}
	return state.Address(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)), nil
}

// readKeyFile loads an account key.
func readKeyFile(path string) (accountKey, error) {
	if path == "" {
		return accountKey{}, fail("pass --key FILE (create one with 'sottod ledger keygen --out FILE')", nil, "no account key given")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return accountKey{}, fail("", err, "cannot read key file")
	}
	defer clear(data)
	var kf keyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil || kf.Format != KeyFileFormat {
		return accountKey{}, fail("account keys are written by 'sottod ledger keygen'", err, "%s is not a %s key file", path, KeyFileFormat)
	}
	seed, err := hex.DecodeString(kf.Seed)
	defer clear(seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return accountKey{}, fail("", nil, "%s: ed25519_seed must be 64 hex digits", path)
	}
	return accountKey{k: ed25519.NewKeyFromSeed(seed)}, nil
}

// nodeSigner signs with a service node's key without exposing it.
type nodeSigner struct{ k *snode.Keys }

func (n nodeSigner) PublicKey() [32]byte      { return [32]byte(n.k.Ed25519Public()) }
func (n nodeSigner) Sign(msg []byte) [64]byte { return n.k.Sign(msg) }

// readNodeKey loads a service node's key file (its data directory or the
// key.json in it).
func readNodeKey(path string) (nodeSigner, key.OnionPublic, error) {
	if path == "" {
		return nodeSigner{}, key.OnionPublic{}, fail("pass --node-key with the node's data directory or its key.json", nil, "no node key given")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, snode.KeyFileName)
	}
	k, err := snode.LoadKeys(path)
	if err != nil {
		return nodeSigner{}, key.OnionPublic{}, fail("the node writes its key when it first starts", err, "cannot load node key")
	}
	return nodeSigner{k}, k.X25519Public(), nil
}

func (a *app) keyArg(keyPath, addr string) (state.Address, error) {
	if addr != "" {
		k, err := parseKeyArg(addr, "address")
		return state.Address(k), err
	}
	k, err := readKeyFile(keyPath)
	if err != nil {
		return state.Address{}, err
	}
	return k.address(), nil
}

// ReadKey loads an account key file written by `sottod ledger keygen`
// (what `sottod run --operator-key` and devnet nodes register with). The
// signer formats and logs as its address only.
func ReadKey(path string) (state.Signer, error) {
	k, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	return k.signer(), nil
}

// WriteKey creates a new account key file at path (mode 0600, never
// overwriting an existing file) and returns its address.
func WriteKey(path string) (state.Address, error) { return writeKeyFile(path) }

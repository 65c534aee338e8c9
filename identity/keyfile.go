package identity

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/internal/atomicfile"
	"sotto.dev/key"
)

// KeyFileVersion is the identity file format version this package writes
// and reads (docs/identity.md describes the format).
const KeyFileVersion = 1

// ErrLocked is returned by LoadKeyFile and ParseKeyFile when the identity
// file is encrypted and the passphrase is missing or wrong.
var ErrLocked = errors.New("identity: identity file is encrypted")

// KeyFileError reports an identity file that cannot be understood: bad
// JSON, an unknown format or version, wrong lengths, keys that do not match
// the seed.
type KeyFileError struct {
	Reason string
}

func (e *KeyFileError) Error() string { return "identity: bad identity file: " + e.Reason }

// KDFParams are the Argon2id parameters that turn a passphrase into the
// identity file's encryption key. They are recorded in the file.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

// Limits on KDF parameters, checked before running Argon2id so that a
// crafted file cannot make LoadKeyFile use unbounded memory or time.
const (
	kdfMaxTime      = 64
	kdfMaxMemoryKiB = 4 << 20 // 4 GiB
	kdfMaxThreads   = 64
	kdfSaltLen      = 16
	dbKeyLen        = 32
)

// DefaultKDFParams returns the parameters SaveKeyFile uses: the second
// recommended option of RFC 9106 §4 (t=3, 64 MiB, 4 lanes), about a quarter
// of a second on a laptop core.
func DefaultKDFParams() KDFParams { return KDFParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4} }

// Validate checks p against the limits a reader accepts.
func (p KDFParams) Validate() error {
	switch {
	case p.Time < 1 || p.Time > kdfMaxTime:
		return &KeyFileError{Reason: fmt.Sprintf("argon2id time %d out of range 1..%d", p.Time, kdfMaxTime)}
	case p.Threads < 1 || p.Threads > kdfMaxThreads:
		return &KeyFileError{Reason: fmt.Sprintf("argon2id threads %d out of range 1..%d", p.Threads, kdfMaxThreads)}
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > kdfMaxMemoryKiB:
		return &KeyFileError{Reason: fmt.Sprintf("argon2id memory %d KiB out of range %d..%d", p.MemoryKiB, 8*uint32(p.Threads), kdfMaxMemoryKiB)}
	}
	return nil
}

// KeyFile is what an identity file holds: the account's keys and a random
// 32-byte key for the client's local database, generated once with the
// identity so that the database stays readable across passphrase changes.
type KeyFile struct {
	Keys  *Keys
	DBKey [32]byte
}

// NewKeyFile returns a KeyFile for k with a fresh random database key.
func NewKeyFile(k *Keys) (*KeyFile, error) {
	f := &KeyFile{Keys: k}
	if _, err := rand.Read(f.DBKey[:]); err != nil {
		return nil, fmt.Errorf("identity: read random database key: %w", err)
	}
	return f, nil
}

// Wipe clears the keys and the database key.
func (f *KeyFile) Wipe() {
	if f.Keys != nil {
		f.Keys.Wipe()
	}
	clear(f.DBKey[:])
}

// SaveKeyFile writes a new identity file for k at path with a fresh
// database key, encrypted when passphrase is not empty (default KDF
// parameters). To rewrite an existing file and keep its database key, load
// it and use KeyFile.Save.
func SaveKeyFile(path string, k *Keys, passphrase []byte) error {
	f, err := NewKeyFile(k)
	if err != nil {
		return err
	}
	return f.Save(path, passphrase, DefaultKDFParams())
}

// LoadKeyFile reads the identity file at path. An encrypted file needs its
// passphrase; without it, or with a wrong one, the error wraps ErrLocked.
func LoadKeyFile(path string, passphrase []byte) (*KeyFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: read identity file: %w", err)
	}
	defer clear(data)
	return ParseKeyFile(data, passphrase)
}

// Save writes f to path atomically (a temporary file in the same directory,
// synced, then renamed), with mode 0600; a missing directory is created with
// mode 0700. An empty passphrase writes the secrets unencrypted.
func (f *KeyFile) Save(path string, passphrase []byte, p KDFParams) error {
	data, err := f.Marshal(passphrase, p)
	if err != nil {
		return err
	}
	defer clear(data)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("identity: create directory: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("identity: write identity file: %w", err)
	}
	return nil
}

// keyFileJSON is the on-disk form. Exactly one of Secret and Encrypted is set.
type keyFileJSON struct {
	Format        string         `json:"format"`
	Version       int            `json:"version"`
	SessionID     string         `json:"session_id"`
	Ed25519Pubkey string         `json:"ed25519_pubkey"`
	Secret        *secretJSON    `json:"secret,omitempty"`
	Encrypted     *encryptedJSON `json:"encrypted,omitempty"`
}

type secretJSON struct {
	Seed  string `json:"seed"`
	DBKey string `json:"db_key"`
}

type encryptedJSON struct {
	KDF        string `json:"kdf"`
	Time       uint32 `json:"time"`
	MemoryKiB  uint32 `json:"memory_kib"`
	Threads    uint8  `json:"threads"`
	Salt       string `json:"salt"`
	Cipher     string `json:"cipher"`
	Nonce      string `json:"nonce"`
	Ciphertext string `json:"ciphertext"`
}

const (
	kdfArgon2id       = "argon2id"
	cipherXChaCha20P  = "xchacha20poly1305"
	sealedPlainMinLen = 1 + SeedLen16 + dbKeyLen
)

// Marshal encodes f as an identity file (JSON), encrypting the secrets with
// Argon2id(passphrase) and XChaCha20-Poly1305 when passphrase is not empty.
func (f *KeyFile) Marshal(passphrase []byte, p KDFParams) ([]byte, error) {
	if f.Keys == nil || (len(f.Keys.seed) != SeedLen16 && len(f.Keys.seed) != SeedLen32) {
		return nil, errors.New("identity: key file has no usable keys")
	}
	pub := f.Keys.Ed25519Public()
	out := keyFileJSON{
		Format:        keyFileFormat,
		Version:       KeyFileVersion,
		SessionID:     f.Keys.SessionID().String(),
		Ed25519Pubkey: hex.EncodeToString(pub[:]),
	}
	if len(passphrase) == 0 {
		out.Secret = &secretJSON{Seed: hex.EncodeToString(f.Keys.seed), DBKey: hex.EncodeToString(f.DBKey[:])}
		return marshalFile(&out)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	salt := make([]byte, kdfSaltLen)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("identity: read random salt: %w", err)
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("identity: read random nonce: %w", err)
	}
	plain := make([]byte, 0, 1+len(f.Keys.seed)+dbKeyLen)
	plain = append(plain, byte(len(f.Keys.seed)))
	plain = append(plain, f.Keys.seed...)
	plain = append(plain, f.DBKey[:]...)
	defer clear(plain)

	enc := &encryptedJSON{
		KDF: kdfArgon2id, Time: p.Time, MemoryKiB: p.MemoryKiB, Threads: p.Threads,
		Salt: hex.EncodeToString(salt), Cipher: cipherXChaCha20P, Nonce: hex.EncodeToString(nonce),
	}
	aead, err := fileCipher(passphrase, salt, p)
	if err != nil {
		return nil, err
	}
	ct := aead.Seal(nil, nonce, plain, fileAAD(&out, p, salt))
	enc.Ciphertext = hex.EncodeToString(ct)
	out.Encrypted = enc
	return marshalFile(&out)
}

// marshalFile encodes the file as indented JSON ending in a newline.
func marshalFile(out *keyFileJSON) ([]byte, error) {
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("identity: encode identity file: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseKeyFile decodes an identity file. It is strict: unknown fields, an
// unknown format or version, bad lengths and keys that do not match the
// seed are errors (*KeyFileError); an encrypted file with no or the wrong
// passphrase gives an error wrapping ErrLocked.
func ParseKeyFile(data, passphrase []byte) (*KeyFile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in keyFileJSON
	if err := dec.Decode(&in); err != nil {
		return nil, &KeyFileError{Reason: "not valid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &KeyFileError{Reason: "data after the JSON object"}
	}
	if in.Format != keyFileFormat {
		return nil, &KeyFileError{Reason: fmt.Sprintf("format %q, want %q", in.Format, keyFileFormat)}
	}
	if in.Version != KeyFileVersion {
		return nil, &KeyFileError{Reason: fmt.Sprintf("version %d is not supported (this build reads version %d)", in.Version, KeyFileVersion)}
	}
	id, err := key.ParseStandardSessionID(in.SessionID)
	if err != nil {
		return nil, &KeyFileError{Reason: "session_id: " + err.Error()}
	}
	var pub [32]byte
	if err := decodeHex(pub[:], in.Ed25519Pubkey, "ed25519_pubkey"); err != nil {
		return nil, &KeyFileError{Reason: err.Error()}
	}

	var seed []byte
	var dbKey [32]byte
	switch {
	case in.Secret != nil && in.Encrypted == nil:
		seed, err = hexSeed(in.Secret.Seed)
		if err != nil {
			return nil, err
		}
		if err := decodeHex(dbKey[:], in.Secret.DBKey, "db_key"); err != nil {
			clear(seed)
			return nil, &KeyFileError{Reason: err.Error()}
		}
	case in.Encrypted != nil && in.Secret == nil:
		seed, dbKey, err = openSecrets(&in, passphrase)
		if err != nil {
			return nil, err
		}
	default:
		return nil, &KeyFileError{Reason: "want exactly one of \"secret\" and \"encrypted\""}
	}
	defer clear(seed)
	k, err := KeysFromSeed(seed)
	if err != nil {
		clear(dbKey[:])
		return nil, &KeyFileError{Reason: err.Error()}
	}
	if k.SessionID() != id || k.Ed25519Public() != pub {
		k.Wipe()
		clear(dbKey[:])
		return nil, &KeyFileError{Reason: "the stored public keys do not match the seed"}
	}
	return &KeyFile{Keys: k, DBKey: dbKey}, nil
}

func hexSeed(s string) ([]byte, error) {
	if len(s) != 2*SeedLen16 && len(s) != 2*SeedLen32 {
		return nil, &KeyFileError{Reason: fmt.Sprintf("seed is %d hex characters, want 32 or 64", len(s))}
	}
	seed := make([]byte, len(s)/2)
	if err := decodeHex(seed, s, "seed"); err != nil {
		return nil, &KeyFileError{Reason: err.Error()}
	}
	return seed, nil
}

// openSecrets checks the encryption header, derives the key and decrypts
// len(seed) || seed || db key.
func openSecrets(in *keyFileJSON, passphrase []byte) ([]byte, [32]byte, error) {
	var dbKey [32]byte
	e := in.Encrypted
	if e.KDF != kdfArgon2id || e.Cipher != cipherXChaCha20P {
		return nil, dbKey, &KeyFileError{Reason: fmt.Sprintf("unsupported encryption %s/%s", e.KDF, e.Cipher)}
	}
	p := KDFParams{Time: e.Time, MemoryKiB: e.MemoryKiB, Threads: e.Threads}
	if err := p.Validate(); err != nil {
		return nil, dbKey, err
	}
	salt := make([]byte, kdfSaltLen)
	if err := decodeHex(salt, e.Salt, "salt"); err != nil {
		return nil, dbKey, &KeyFileError{Reason: err.Error()}
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if err := decodeHex(nonce, e.Nonce, "nonce"); err != nil {
		return nil, dbKey, &KeyFileError{Reason: err.Error()}
	}
	ctLen := len(e.Ciphertext) / 2
	if len(e.Ciphertext)%2 != 0 || (ctLen != sealedPlainMinLen+chacha20poly1305.Overhead &&
		ctLen != sealedPlainMinLen+SeedLen16+chacha20poly1305.Overhead) {
		return nil, dbKey, &KeyFileError{Reason: fmt.Sprintf("ciphertext is %d hex characters", len(e.Ciphertext))}
	}
	ct := make([]byte, ctLen)
	if err := decodeHex(ct, e.Ciphertext, "ciphertext"); err != nil {
		return nil, dbKey, &KeyFileError{Reason: err.Error()}
	}
	if len(passphrase) == 0 {
		return nil, dbKey, fmt.Errorf("%w: passphrase required", ErrLocked)
	}
	aead, err := fileCipher(passphrase, salt, p)
	if err != nil {
		return nil, dbKey, err
	}
	plain, err := aead.Open(nil, nonce, ct, fileAAD(in, p, salt))
	if err != nil {
		return nil, dbKey, fmt.Errorf("%w: wrong passphrase (or the file was modified)", ErrLocked)
	}
	defer clear(plain)
	n := int(plain[0])
	if (n != SeedLen16 && n != SeedLen32) || len(plain) != 1+n+dbKeyLen {
		return nil, dbKey, &KeyFileError{Reason: "encrypted payload has the wrong layout"}
	}
	seed := append([]byte(nil), plain[1:1+n]...)
	copy(dbKey[:], plain[1+n:])
	return seed, dbKey, nil
}

// fileCipher derives the file key with Argon2id and returns its AEAD.
func fileCipher(passphrase, salt []byte, p KDFParams) (cipher.AEAD, error) {
	key := argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize)
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("identity: key file cipher: %w", err)
	}
	return aead, nil
}

// fileAAD binds the header to the ciphertext: label || 0 || version ||
// session_id || ed25519_pubkey || time || memory || threads || salt, the
// integers big-endian. The IDs are included as the strings stored in the
// file, so editing them invalidates the ciphertext.
func fileAAD(in *keyFileJSON, p KDFParams, salt []byte) []byte {
	b := make([]byte, 0, 256)
	b = append(b, labelKeyFileAAD...)
	b = append(b, 0, byte(in.Version))
	b = append(b, in.SessionID...)
	b = append(b, in.Ed25519Pubkey...)
	b = binary.BigEndian.AppendUint32(b, p.Time)
	b = binary.BigEndian.AppendUint32(b, p.MemoryKiB)
	b = append(b, p.Threads)
	return append(b, salt...)
}

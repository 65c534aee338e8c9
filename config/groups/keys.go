package groups

import (
	"bytes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"sort"
	"sync"

	"sotto.dev/key"
)

// Errors callers branch on. Each failure that libsession reports with an
// exception has that exception's text as its Error() (so that `sotto debug
// libsession` replies match the reference library's) and matches one of
// these with errors.Is.
var (
	// ErrNotAdmin: the operation needs the group's secret key.
	ErrNotAdmin = errors.New("groups: admin keys required")
	// ErrNoKeys: the Keys holds no group key yet.
	ErrNoKeys = errors.New("groups: no group keys")
	// ErrKeyMessage: a key message or a dump is malformed or its
	// signature does not verify.
	ErrKeyMessage = errors.New("groups: invalid key message")
	// ErrBadKey: a key or id given to Keys is malformed or does not match.
	ErrBadKey = errors.New("groups: invalid key")
)

// opError carries libsession's exception text and the sentinel it is.
type opError struct {
	text string
	err  error
}

func (e *opError) Error() string { return e.text }
func (e *opError) Unwrap() error { return e.err }

func errText(sentinel error, text string) error { return &opError{text: text, err: sentinel} }

// keyInfo is one group key: libsession's Keys::key_info.
type keyInfo struct {
	gen int64
	key [32]byte
	ts  int64 // swarm timestamp, ms
}

// compare orders keys by generation, timestamp, then key bytes, as
// key_info's operator<=> does.
func (a *keyInfo) compare(b *keyInfo) int {
	switch {
	case a.gen != b.gen:
		return cmpInt(a.gen, b.gen)
	case a.ts != b.ts:
		return cmpInt(a.ts, b.ts)
	}
	return bytes.Compare(a.key[:], b.key[:])
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// KeysOptions configures NewKeys.
type KeysOptions struct {
	// User is the user's own 64-byte Ed25519 private key.
	User ed25519.PrivateKey
	// GroupPublic is the group's Ed25519 public key C (the 32 bytes of
	// the 03 group id).
	GroupPublic ed25519.PublicKey
	// GroupSecret is the group's 64-byte Ed25519 private key for an admin,
	// nil for a member.
	GroupSecret ed25519.PrivateKey
	// Dump is a Keys.Dump to restore, or nil.
	Dump []byte
	// Rand supplies the nonce of EncryptMessage (one Read of 24 bytes per
	// message); nil means crypto/rand. `sotto debug libsession` gives the
	// reference oracle's deterministic draws here.
	Rand io.Reader
}

// Keys is one user's view of a group's key messages (namespace 12), as
// libsession-util's groups::Keys: the group keys the user was given, by
// generation, the admin's pending key from its own rekey, the hashes of
// the key messages that are still current, and, for admins, the group's
// secret key. Its methods are safe for concurrent use.
type Keys struct {
	mu sync.Mutex

	user        ed25519.PrivateKey
	userX       [32]byte // X25519 public key of user
	groupPublic ed25519.PublicKey
	groupSecret ed25519.PrivateKey // nil for members
	rand        io.Reader

	memberAEAD    cipher.AEAD // see memberCipher
	memberAEADSet bool
	groupXKey     *[32]byte // see groupX

	keys   []keyInfo          // sorted by keyInfo.compare
	active map[int64]*hashSet // generation → message hashes

	pendingMsg []byte // the admin's own key message, until loaded
	pendingGen int64
	pendingKey [32]byte

	needsDump bool
}

// NewKeys returns the Keys of a user in a group, restored from o.Dump if
// given.
func NewKeys(o KeysOptions) (*Keys, error) {
	if len(o.User) != ed25519.PrivateKeySize {
		return nil, errText(ErrBadKey, "Invalid Keys construction: invalid user ed25519 secret key")
	}
	if len(o.GroupPublic) != ed25519.PublicKeySize {
		return nil, errText(ErrBadKey, "Invalid Keys construction: invalid group ed25519 public key")
	}
	if o.GroupSecret != nil {
		if len(o.GroupSecret) != ed25519.PrivateKeySize {
			return nil, errText(ErrBadKey, "Invalid Keys construction: invalid group ed25519 secret key")
		}
		if !secretMatches(o.GroupSecret, o.GroupPublic) {
			return nil, errText(ErrBadKey, "Invalid pubkey: does not match secret key")
		}
	}
	x, err := userX25519(o.User)
	if err != nil {
		return nil, err
	}
	k := &Keys{
		user:        slices.Clone(o.User),
		userX:       x,
		groupPublic: slices.Clone(o.GroupPublic),
		rand:        o.Rand,
		active:      make(map[int64]*hashSet),
	}
	if o.GroupSecret != nil {
		k.groupSecret = slices.Clone(o.GroupSecret)
	}
	if k.rand == nil {
		k.rand = rand.Reader
	}
	if len(o.Dump) > 0 {
		if err := k.loadDump(o.Dump); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// secretMatches reports whether the 64-byte secret's seed derives pub.
func secretMatches(secret ed25519.PrivateKey, pub ed25519.PublicKey) bool {
	derived := ed25519.NewKeyFromSeed(secret[:ed25519.SeedSize])
	defer clear(derived)
	return bytes.Equal(derived[32:], pub) && bytes.Equal(secret[32:], pub)
}

// groupX returns the group's X25519 public key, computed once. k.mu is
// held.
func (k *Keys) groupX() ([32]byte, error) {
	if k.groupXKey == nil {
		x, err := xPublic(k.groupPublic)
		if err != nil {
			return x, err
		}
		k.groupXKey = &x
	}
	return *k.groupXKey, nil
}

// GroupID returns the group's 03 id.
func (k *Keys) GroupID() key.SessionID {
	return key.NewSessionID(key.PrefixGroup, [32]byte(k.groupPublic))
}

// Admin reports whether k holds the group's secret key.
func (k *Keys) Admin() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.groupSecret != nil
}

// LoadAdminKey makes k an admin's Keys (a promotion). secret is the
// group's 32-byte seed or 64-byte private key; its public key must be the
// group's. On a Keys that is already an admin's it does nothing.
func (k *Keys) LoadAdminKey(secret []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.groupSecret != nil {
		return nil
	}
	if len(secret) != ed25519.SeedSize && len(secret) != ed25519.PrivateKeySize {
		return errText(ErrBadKey, "Failed to load admin key: invalid secret key (expected 32 or 64 bytes)")
	}
	sk := ed25519.NewKeyFromSeed(secret[:ed25519.SeedSize])
	if !bytes.Equal(sk[32:], k.groupPublic) {
		clear(sk)
		return errText(ErrBadKey, "Failed to load admin key: given secret key does not match group pubkey")
	}
	k.groupSecret = sk
	k.memberAEAD, k.memberAEADSet = nil, false
	return nil
}

// EncryptionKeys returns the group keys to decrypt with: the pending key
// first if there is one, then every key from the newest to the oldest.
// The first one is the key to encrypt with.
func (k *Keys) EncryptionKeys() [][32]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.groupKeys()
}

func (k *Keys) groupKeys() [][32]byte {
	out := make([][32]byte, 0, len(k.keys)+1)
	if k.pendingMsg != nil {
		out = append(out, k.pendingKey)
	}
	for i := len(k.keys) - 1; i >= 0; i-- {
		out = append(out, k.keys[i].key)
	}
	return out
}

// encKey is group_enc_key: the pending key, else the newest.
func (k *Keys) encKey() ([32]byte, error) {
	if k.pendingMsg != nil {
		return k.pendingKey, nil
	}
	if len(k.keys) == 0 {
		return [32]byte{}, errText(ErrNoKeys, "group_enc_key failed: Keys object has no keys at all!")
	}
	return k.keys[len(k.keys)-1].key, nil
}

// Generation returns the newest generation k holds a key of; ok is false
// if it holds none (libsession's current_generation then says 0).
func (k *Keys) Generation() (gen int64, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) == 0 {
		return 0, false
	}
	return k.keys[len(k.keys)-1].gen, true
}

// NeedsRekey reports whether an admin should rekey because two keys share
// the newest generation (two admins rekeyed at once).
func (k *Keys) NeedsRekey() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := len(k.keys)
	return k.groupSecret != nil && n >= 2 && k.keys[n-1].gen == k.keys[n-2].gen
}

// Pending returns the admin's pending key and key message: made by Rekey
// and not yet seen back through Load.
func (k *Keys) Pending() (pendingKey [32]byte, msg []byte, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pendingMsg == nil {
		return [32]byte{}, nil, false
	}
	return k.pendingKey, slices.Clone(k.pendingMsg), true
}

// CurrentHashes returns the hashes of the key messages of every
// generation k still keeps, sorted: the messages whose expiry the client
// should keep extending.
func (k *Keys) CurrentHashes() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, hs := range k.active {
		out = append(out, hs.items...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// NeedsDump reports whether k changed since it was created or last dumped.
func (k *Keys) NeedsDump() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.needsDump
}

// Wipe clears the secrets k holds. k must not be used afterwards. Go
// cannot wipe copies the runtime made (stacks, moved slices).
func (k *Keys) Wipe() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.user)
	clear(k.groupSecret)
	for i := range k.keys {
		clear(k.keys[i].key[:])
	}
	clear(k.pendingKey[:])
	k.memberAEAD = nil // its key schedule is the runtime's to wipe
}

package groups

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"time"

	"sotto.dev/config"
	"sotto.dev/key"
)

// Options configure Open.
type Options struct {
	// User is the user's own 64-byte Ed25519 private key.
	User ed25519.PrivateKey
	// Public is the group's Ed25519 public key (the 32 bytes of its 03
	// id). It may be left nil when Secret is given.
	Public ed25519.PublicKey
	// Secret is the group's 64-byte Ed25519 private key for an admin, nil
	// for a member.
	Secret ed25519.PrivateKey
	// InfoDump, MembersDump and KeysDump restore the three objects from
	// their Dump, when not empty.
	InfoDump, MembersDump, KeysDump []byte
	// Now is the clock of the configs; nil means time.Now.
	Now func() time.Time
	// Rand supplies the nonces of Keys.EncryptMessage; nil means
	// crypto/rand.
	Rand io.Reader
}

// Group bundles one user's view of a group: its Info, Members and Keys.
// It keeps the encryption keys of Info and Members in step with Keys after
// every key operation, as libsession's Keys does through replace_keys
// (keys.cpp:57-62, 405-409, 1107-1109): a rekey makes both configs dirty so
// that an admin re-pushes them under the new key; loading a key message
// does not. It is not safe for concurrent use.
type Group struct {
	Info    *Info
	Members *Members
	Keys    *Keys
}

// ErrGroupKeyMismatch is returned by Open for a secret key that is not
// the public key's.
var ErrGroupKeyMismatch = errors.New("groups: group secret key does not match the group public key")

// Open opens (or creates, without dumps) a user's view of a group.
func Open(o Options) (*Group, error) {
	pub := o.Public
	if o.Secret != nil {
		if len(o.Secret) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("groups: group secret key must be %d bytes", ed25519.PrivateKeySize)
		}
		derived := o.Secret.Public().(ed25519.PublicKey)
		if pub != nil && !bytes.Equal(pub, derived) {
			return nil, ErrGroupKeyMismatch
		}
		pub = derived
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("groups: group public key must be %d bytes", ed25519.PublicKeySize)
	}
	keys, err := NewKeys(KeysOptions{User: o.User, GroupPublic: pub, GroupSecret: o.Secret, Dump: o.KeysDump, Rand: o.Rand})
	if err != nil {
		return nil, err
	}
	// Without a keys dump the configs start without keys, until the first
	// key message (keys.cpp:57-62).
	var enc [][32]byte
	if len(o.KeysDump) > 0 {
		enc = keys.EncryptionKeys()
	}
	opts := config.Options{Verifier: pub, Signer: o.Secret, Keys: enc, Now: o.Now}
	opts.Dump = o.InfoDump
	info, err := NewInfo(opts)
	if err != nil {
		return nil, fmt.Errorf("groups: info: %w", err)
	}
	opts.Dump = o.MembersDump
	members, err := NewMembers(opts)
	if err != nil {
		return nil, fmt.Errorf("groups: members: %w", err)
	}
	return &Group{Info: info, Members: members, Keys: keys}, nil
}

// ID is the group's 03 Session ID.
func (g *Group) ID() key.SessionID { return g.Keys.GroupID() }

// Admin reports whether this user holds the group's secret key.
func (g *Group) Admin() bool { return g.Keys.Admin() }

// Rekey makes a new generation of the group key for every member in
// Members (admins included) and returns the key message to store in the
// keys namespace. Info and Members become dirty: push them after the key
// message, encrypted with the new key.
func (g *Group) Rekey() ([]byte, error) {
	msg, err := g.Keys.Rekey(g.Members.IDs())
	if err != nil {
		return nil, err
	}
	g.syncKeys(true)
	return msg, nil
}

// LoadKeyMessage loads a key message fetched from the keys namespace with
// its swarm hash and timestamp, and reports whether it gave this user a
// key. Info and Members then decrypt with every key held.
func (g *Group) LoadKeyMessage(hash string, data []byte, timestampMs int64) (bool, error) {
	found, err := g.Keys.Load(hash, data, timestampMs)
	if err != nil {
		return false, err
	}
	if found {
		g.syncKeys(false)
	}
	return found, nil
}

// LoadAdminKey promotes this user to admin with the group's secret key
// (its 32-byte seed or 64-byte private key): Keys, Info and Members sign
// from now on. On an admin's group it does nothing.
func (g *Group) LoadAdminKey(secret []byte) error {
	if g.Keys.Admin() {
		return nil
	}
	if err := g.Keys.LoadAdminKey(secret); err != nil {
		return err
	}
	sk := ed25519.NewKeyFromSeed(secret[:ed25519.SeedSize])
	if err := g.Info.SetSigner(sk); err != nil {
		return err
	}
	return g.Members.SetSigner(sk)
}

// NeedsDump reports whether any of the three objects changed since its
// last Dump.
func (g *Group) NeedsDump() bool {
	return g.Info.NeedsDump() || g.Members.NeedsDump() || g.Keys.NeedsDump()
}

// syncKeys gives Info and Members the keys Keys holds now (libsession
// replace_keys).
func (g *Group) syncKeys(dirty bool) {
	enc := g.Keys.EncryptionKeys()
	g.Info.SetKeys(enc, dirty)
	g.Members.SetKeys(enc, dirty)
}

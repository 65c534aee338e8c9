package client

import (
	"crypto/ed25519"
	"time"

	"sotto.dev/config"
	"sotto.dev/config/groups"
	"sotto.dev/key"
)

// groupObjects is one user's Info, Members and Keys of a group, with the
// encryption keys of Info and Members kept in step with Keys after every
// key operation (libsession's replace_keys): a rekey re-encrypts both
// under the new key at their next push, a loaded key message only adds a
// key to decrypt with.
type groupObjects struct {
	Info    *groups.Info
	Members *groups.Members
	Keys    *groups.Keys
}

// groupOptions open a groupObjects.
type groupOptions struct {
	User                            ed25519.PrivateKey
	Public                          ed25519.PublicKey
	Secret                          ed25519.PrivateKey // admins; nil for members
	InfoDump, MembersDump, KeysDump []byte
	Now                             func() time.Time
}

func openGroupObjects(o groupOptions) (*groupObjects, error) {
	k, err := groups.NewKeys(groups.KeysOptions{User: o.User, GroupPublic: o.Public, GroupSecret: o.Secret, Dump: o.KeysDump})
	if err != nil {
		return nil, err
	}
	opts := func(dump []byte) config.Options {
		return config.Options{Keys: k.EncryptionKeys(), Verifier: o.Public, Signer: o.Secret, Dump: dump, Now: o.Now}
	}
	info, err := groups.NewInfo(opts(o.InfoDump))
	if err != nil {
		return nil, err
	}
	members, err := groups.NewMembers(opts(o.MembersDump))
	if err != nil {
		return nil, err
	}
	return &groupObjects{Info: info, Members: members, Keys: k}, nil
}

func (g *groupObjects) syncKeys(dirty bool) {
	keys := g.Keys.EncryptionKeys()
	g.Info.SetKeys(keys, dirty)
	g.Members.SetKeys(keys, dirty)
}

// Rekey makes a new key for every member of Members (admins too) and
// returns its key message.
func (g *groupObjects) Rekey() ([]byte, error) {
	ids := make([]key.SessionID, 0, g.Members.Len())
	for _, m := range g.Members.All() {
		ids = append(ids, m.ID)
	}
	msg, err := g.Keys.Rekey(ids)
	if err != nil {
		return nil, err
	}
	g.syncKeys(true)
	return msg, nil
}

// LoadKeyMessage loads a key message of namespace 12.
func (g *groupObjects) LoadKeyMessage(hash string, data []byte, ts int64) (bool, error) {
	found, err := g.Keys.Load(hash, data, ts)
	if err != nil {
		return false, err
	}
	g.syncKeys(false)
	return found, nil
}

// LoadAdminKey makes the user an admin (a promotion).
func (g *groupObjects) LoadAdminKey(secret ed25519.PrivateKey) error {
	if err := g.Keys.LoadAdminKey(secret); err != nil {
		return err
	}
	if err := g.Info.SetSigner(secret); err != nil {
		return err
	}
	return g.Members.SetSigner(secret)
}

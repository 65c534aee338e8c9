package groups

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"strconv"

	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
)

// ErrKickNotice reports a kick notice that is not for the user or is
// malformed.
var ErrKickNotice = errors.New("groups: not a kick notice for this user")

// KickNotice makes the notice an admin stores in namespace −11 (revoked
// retrievable) when it removes members: their subaccounts are revoked, but
// that namespace stays readable to them, and Session clients learn there
// that they were removed. It is encrypt_for_multiple_simple from the group's
// key with the domain "SessionGroupKickedMessage", one entry per member: the
// member's X25519 key followed by the decimal key generation that no longer
// includes it (the form of session-android's GroupRevokedMessageHandler).
func KickNotice(group ed25519.PrivateKey, members []key.SessionID, gen int64, random io.Reader) ([]byte, error) {
	if len(group) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("groups: group key must be %d bytes", ed25519.PrivateKeySize)
	}
	gk, err := identity.KeysFromSeed(group.Seed())
	if err != nil {
		return nil, fmt.Errorf("groups: group key: %w", err)
	}
	defer gk.Wipe()
	msgs := make([][]byte, len(members))
	recips := make([]key.BoxPublic, len(members))
	for i, m := range members {
		x, ok := m.Box()
		if !ok {
			return nil, fmt.Errorf("groups: kick notice: %s is not a Session ID", m)
		}
		recips[i] = x
		msgs[i] = strconv.AppendInt(append([]byte(nil), x[:]...), gen, 10)
	}
	priv := gk.X25519Private()
	return sessionproto.EncryptForMultipleSimple(msgs, recips, &priv, gk.X25519Public(), labelKicked, nil, 0, random)
}

// OpenKickNotice reads a kick notice as a member: it returns the key
// generation the notice names when one of its entries is for user, or
// ErrKickNotice. A member whose current generation is at most that one was
// removed.
func OpenKickNotice(user *identity.Keys, group ed25519.PublicKey, data []byte) (int64, error) {
	if len(group) != ed25519.PublicKeySize {
		return 0, fmt.Errorf("groups: group key must be %d bytes", ed25519.PublicKeySize)
	}
	gx, err := identity.Ed25519ToX25519(key.AccountPublic(group))
	if err != nil {
		return 0, fmt.Errorf("groups: group key: %w", err)
	}
	priv := user.X25519Private()
	pt, err := sessionproto.DecryptForMultipleSimple(data, &priv, user.X25519Public(), gx, labelKicked)
	if err != nil {
		return 0, ErrKickNotice
	}
	self := user.X25519Public()
	if len(pt) <= len(self) || [32]byte(pt[:32]) != [32]byte(self) {
		return 0, ErrKickNotice
	}
	gen, err := strconv.ParseInt(string(pt[32:]), 10, 64)
	if err != nil || gen < 0 {
		return 0, ErrKickNotice
	}
	return gen, nil
}

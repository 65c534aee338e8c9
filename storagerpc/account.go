package storagerpc

import (
	"encoding/hex"
	"fmt"

	"sotto.dev/key"
)

// AccountSize is the length of the raw `pubkey` parameter: a network
// prefix byte and a 32-byte key.
const AccountSize = 33

// AccountHexSize is the length of the `pubkey` parameter in hex.
const AccountHexSize = 2 * AccountSize

// Account is the owner of a storage box: the `pubkey` parameter of every
// request. The prefix says what the key is (05: an X25519 Session ID key,
// 03: a group's Ed25519 key, ...). Like Session's storage server, any
// prefix byte is accepted; what an account may do is decided by the
// authentication rules, not by the prefix list.
type Account struct {
	prefix key.Prefix
	key    [32]byte
}

// NewAccount returns the account with the given prefix and key.
func NewAccount(prefix key.Prefix, key [32]byte) Account {
	return Account{prefix: prefix, key: key}
}

// AccountFromSessionID returns the account of a Session ID.
func AccountFromSessionID(id key.SessionID) Account {
	return Account{prefix: id.Prefix(), key: id.Key()}
}

// ParseAccount parses the 66-hex-digit form (either case).
func ParseAccount(s string) (Account, error) {
	if len(s) != AccountHexSize {
		return Account{}, &AccountError{Len: len(s)}
	}
	var raw [AccountSize]byte
	if _, err := hex.Decode(raw[:], []byte(s)); err != nil {
		return Account{}, &AccountError{Len: len(s), NotHex: true}
	}
	return Account{prefix: key.Prefix(raw[0]), key: [32]byte(raw[1:])}, nil
}

// AccountError reports a `pubkey` that is not 66 hex digits.
type AccountError struct {
	Len    int  // length of the input
	NotHex bool // right length, but not hex
}

func (e *AccountError) Error() string {
	if e.NotHex {
		return "storagerpc: account pubkey is not hex"
	}
	return fmt.Sprintf("storagerpc: account pubkey has %d characters, want %d hex digits", e.Len, AccountHexSize)
}

// Prefix returns the network prefix byte.
func (a Account) Prefix() key.Prefix { return a.prefix }

// Key returns the 32 key bytes after the prefix; this is what the swarm
// position is computed from.
func (a Account) Key() [32]byte { return a.key }

// Bytes returns the raw 33-byte form, prefix first.
func (a Account) Bytes() []byte {
	b := make([]byte, AccountSize)
	b[0] = byte(a.prefix)
	copy(b[1:], a.key[:])
	return b
}

// String returns the 66-digit lowercase hex form (Session's prefixed_hex),
// which is also what nodes put in their signed results.
func (a Account) String() string { return hex.EncodeToString(a.Bytes()) }

// IsZero reports whether a is the zero Account.
func (a Account) IsZero() bool { return a == Account{} }

// SessionID returns the account as an key.SessionID.
func (a Account) SessionID() key.SessionID { return key.NewSessionID(a.prefix, a.key) }

// MarshalText implements encoding.TextMarshaler (the hex form).
func (a Account) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseAccount.
func (a *Account) UnmarshalText(b []byte) error {
	v, err := ParseAccount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

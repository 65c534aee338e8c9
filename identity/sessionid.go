package identity

import (
	"encoding/hex"
	"fmt"
)

// Prefix is the first byte of a Session ID; it says what kind of key the
// remaining 32 bytes are (session-protocol.md §1.1).
type Prefix byte

// The prefixes used by the Session protocols.
const (
	PrefixUnblinded Prefix = 0x00 // unblinded Ed25519 key in SOGS auth headers
	PrefixGroup     Prefix = 0x03 // closed group v2: the group's Ed25519 key
	PrefixStandard  Prefix = 0x05 // account: X25519 key
	PrefixVersion   Prefix = 0x07 // file-server version-check Ed25519 key
	PrefixBlind15   Prefix = 0x15 // community 15-blinded Ed25519 key
	PrefixBlind25   Prefix = 0x25 // community 25-blinded Ed25519 key
)

// String returns the prefix as two lowercase hex digits, as it appears at
// the start of a Session ID.
func (p Prefix) String() string { return hex.EncodeToString([]byte{byte(p)}) }

// Known reports whether p is one of the defined prefixes.
func (p Prefix) Known() bool {
	switch p {
	case PrefixUnblinded, PrefixGroup, PrefixStandard, PrefixVersion, PrefixBlind15, PrefixBlind25:
		return true
	}
	return false
}

// Name returns a short description of the prefix for messages.
func (p Prefix) Name() string {
	switch p {
	case PrefixUnblinded:
		return "unblinded"
	case PrefixGroup:
		return "group"
	case PrefixStandard:
		return "standard"
	case PrefixVersion:
		return "version-check"
	case PrefixBlind15:
		return "15-blinded"
	case PrefixBlind25:
		return "25-blinded"
	}
	return "unknown"
}

// SessionIDLen is the length of a raw Session ID: prefix byte + 32-byte key.
const SessionIDLen = 33

// SessionIDHexLen is the length of a Session ID in hex.
const SessionIDHexLen = 2 * SessionIDLen

// SessionID is a prefixed 32-byte public key, written as 66 hex characters.
// The zero value has prefix 00 and an all-zero key; use IsZero to detect it.
type SessionID struct {
	prefix Prefix
	key    [32]byte
}

// NewSessionID returns the Session ID with prefix p and key key. It does
// not check p; IDs built from parsed input come from ParseSessionID or
// SessionIDFromBytes.
func NewSessionID(p Prefix, key [32]byte) SessionID { return SessionID{prefix: p, key: key} }

// ParseSessionID parses a 66-character hex Session ID with any known
// prefix. Upper- and lowercase hex are accepted; String always prints
// lowercase. It checks the format only, not that the key is a valid point.
func ParseSessionID(s string) (SessionID, error) {
	if len(s) != SessionIDHexLen {
		return SessionID{}, &LengthError{What: "session ID", Got: len(s), Want: "66", Unit: "hex characters"}
	}
	var raw [SessionIDLen]byte
	if err := decodeHex(raw[:], s, "session ID"); err != nil {
		return SessionID{}, err
	}
	return SessionIDFromBytes(raw[:])
}

// ParseStandardSessionID parses a Session ID that must be a standard
// account ID (prefix 05).
func ParseStandardSessionID(s string) (SessionID, error) {
	id, err := ParseSessionID(s)
	if err != nil {
		return SessionID{}, err
	}
	if id.prefix != PrefixStandard {
		return SessionID{}, &PrefixError{What: "session ID", Got: id.prefix, Want: []Prefix{PrefixStandard}}
	}
	return id, nil
}

// SessionIDFromBytes parses the raw 33-byte form (prefix || key) used
// inside protocols. The prefix must be known.
func SessionIDFromBytes(b []byte) (SessionID, error) {
	if len(b) != SessionIDLen {
		return SessionID{}, &LengthError{What: "session ID", Got: len(b), Want: "33", Unit: "bytes"}
	}
	p := Prefix(b[0])
	if !p.Known() {
		return SessionID{}, &PrefixError{What: "session ID", Got: p}
	}
	return SessionID{prefix: p, key: [32]byte(b[1:])}, nil
}

// Prefix returns the ID's prefix byte.
func (id SessionID) Prefix() Prefix { return id.prefix }

// Key returns the 32-byte key after the prefix.
func (id SessionID) Key() [32]byte { return id.key }

// Bytes returns the raw 33-byte form, prefix first.
func (id SessionID) Bytes() []byte {
	b := make([]byte, SessionIDLen)
	b[0] = byte(id.prefix)
	copy(b[1:], id.key[:])
	return b
}

// String returns the 66-character lowercase hex form.
func (id SessionID) String() string { return hex.EncodeToString(id.Bytes()) }

// IsZero reports whether id is the zero SessionID.
func (id SessionID) IsZero() bool { return id == SessionID{} }

// MarshalText implements encoding.TextMarshaler (the hex form).
func (id SessionID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseSessionID.
func (id *SessionID) UnmarshalText(b []byte) error {
	v, err := ParseSessionID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// decodeHex decodes s into dst, which must be exactly len(s)/2 bytes; the
// caller has checked the length. Errors name the position, not the text.
func decodeHex(dst []byte, s, what string) error {
	if len(s) != 2*len(dst) {
		return &LengthError{What: what, Got: len(s), Want: fmt.Sprint(2 * len(dst)), Unit: "hex characters"}
	}
	for i := 0; i < len(s); i++ {
		if fromHexChar(s[i]) < 0 {
			return &EncodingError{What: what, Position: i}
		}
	}
	for i := range dst {
		dst[i] = byte(fromHexChar(s[2*i])<<4 | fromHexChar(s[2*i+1]))
	}
	return nil
}

func fromHexChar(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

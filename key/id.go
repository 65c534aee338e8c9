package key

import "encoding/hex"

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

// Blinded reports whether p is a prefix a [BlindedID] may have: 15, 25 or
// 07.
func (p Prefix) Blinded() bool {
	return p == PrefixBlind15 || p == PrefixBlind25 || p == PrefixVersion
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
const SessionIDLen = 1 + Size

// SessionIDHexLen is the length of a Session ID in hex.
const SessionIDHexLen = 2 * SessionIDLen

// SessionID is a prefixed 32-byte public key, written as 66 hex digits:
// the ID of an account (05 || [BoxPublic]), of a closed group (03), or any
// other prefixed key a Session protocol carries, blinded ones included. It is
// the one account ID type. The zero value has prefix 00 and an all-zero key;
// use IsZero to detect it.
type SessionID struct {
	prefix Prefix
	key    [Size]byte
}

// NewSessionID returns the Session ID with prefix p and key k. It does not
// check p; IDs built from parsed input come from ParseSessionID or
// SessionIDFromBytes.
func NewSessionID(p Prefix, k [Size]byte) SessionID { return SessionID{prefix: p, key: k} }

// AccountID returns the standard Session ID of the account whose box key is
// k: 05 || k.
func AccountID(k BoxPublic) SessionID { return SessionID{prefix: PrefixStandard, key: k} }

// ParseSessionID parses a 66-digit hex Session ID with any known prefix.
// Upper- and lowercase hex are accepted; String always prints lowercase. It
// checks the format only, not that the key is a valid point.
func ParseSessionID(s string) (SessionID, error) {
	var raw [SessionIDLen]byte
	if err := DecodeHex(raw[:], s, "session ID"); err != nil {
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
		return SessionID{}, &LengthError{What: "session ID", Got: len(b), Want: SessionIDLen, Unit: "bytes"}
	}
	p := Prefix(b[0])
	if !p.Known() {
		return SessionID{}, &PrefixError{What: "session ID", Got: p}
	}
	return SessionID{prefix: p, key: [Size]byte(b[1:])}, nil
}

// Prefix returns the ID's prefix byte.
func (id SessionID) Prefix() Prefix { return id.prefix }

// Key returns the 32-byte key after the prefix.
func (id SessionID) Key() [Size]byte { return id.key }

// Box returns the account's box key, reporting false unless id is a
// standard (05) ID.
func (id SessionID) Box() (BoxPublic, bool) {
	return BoxPublic(id.key), id.prefix == PrefixStandard
}

// Blinded returns id as a BlindedID, reporting false unless its prefix is
// 15, 25 or 07.
func (id SessionID) Blinded() (BlindedID, bool) {
	if !id.prefix.Blinded() {
		return BlindedID{}, false
	}
	return BlindedID(id), true
}

// Bytes returns the raw 33-byte form, prefix first.
func (id SessionID) Bytes() []byte { return append([]byte{byte(id.prefix)}, id.key[:]...) }

// String returns the 66-digit lowercase hex form.
func (id SessionID) String() string { return hex.EncodeToString(id.Bytes()) }

// IsZero reports whether id is the zero SessionID.
func (id SessionID) IsZero() bool { return id == SessionID{} }

// AppendText implements encoding.TextAppender (the hex form).
func (id SessionID) AppendText(b []byte) ([]byte, error) {
	return appendHex(append(b, id.prefix.String()...), id.key[:]), nil
}

// MarshalText implements encoding.TextMarshaler (the hex form).
func (id SessionID) MarshalText() ([]byte, error) { return id.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler with ParseSessionID.
func (id *SessionID) UnmarshalText(b []byte) error {
	v, err := ParseSessionID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// blindedPrefixes are the prefixes a BlindedID may have.
var blindedPrefixes = []Prefix{PrefixBlind15, PrefixBlind25, PrefixVersion}

// BlindedID is what a community or the file server sees of an account
// instead of its Session ID: prefix 15 or 25 and a key blinded for that
// server (session-protocol.md §5.1, §5.2), or prefix 07 and the account's
// version-check key (§5.3). The zero value is unset.
type BlindedID struct {
	prefix Prefix
	key    [Size]byte
}

// NewBlindedID returns the ID with prefix p and key k. It does not check p.
func NewBlindedID(p Prefix, k [Size]byte) BlindedID { return BlindedID{prefix: p, key: k} }

// ParseBlindedID parses a 66-digit hex ID with prefix 15, 25 or 07.
func ParseBlindedID(s string) (BlindedID, error) {
	var raw [SessionIDLen]byte
	if err := DecodeHex(raw[:], s, "blinded ID"); err != nil {
		return BlindedID{}, err
	}
	return BlindedIDFromBytes(raw[:])
}

// BlindedIDFromBytes parses the raw 33-byte form, prefix first.
func BlindedIDFromBytes(b []byte) (BlindedID, error) {
	if len(b) != SessionIDLen {
		return BlindedID{}, &LengthError{What: "blinded ID", Got: len(b), Want: SessionIDLen, Unit: "bytes"}
	}
	p := Prefix(b[0])
	if !p.Blinded() {
		return BlindedID{}, &PrefixError{What: "blinded ID", Got: p, Want: blindedPrefixes}
	}
	return BlindedID{prefix: p, key: [Size]byte(b[1:])}, nil
}

// Prefix returns the ID's prefix byte.
func (id BlindedID) Prefix() Prefix { return id.prefix }

// Key returns the 32-byte blinded Ed25519 key after the prefix.
func (id BlindedID) Key() [Size]byte { return id.key }

// SessionID returns id in the general form carried by protocols that
// accept any prefix.
func (id BlindedID) SessionID() SessionID { return SessionID(id) }

// Bytes returns the raw 33-byte form, prefix first.
func (id BlindedID) Bytes() []byte { return SessionID(id).Bytes() }

// String returns the 66-digit lowercase hex form.
func (id BlindedID) String() string { return SessionID(id).String() }

// IsZero reports whether id is the zero BlindedID.
func (id BlindedID) IsZero() bool { return id == BlindedID{} }

// AppendText implements encoding.TextAppender (the hex form).
func (id BlindedID) AppendText(b []byte) ([]byte, error) { return SessionID(id).AppendText(b) }

// MarshalText implements encoding.TextMarshaler (the hex form).
func (id BlindedID) MarshalText() ([]byte, error) { return id.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler with ParseBlindedID.
func (id *BlindedID) UnmarshalText(b []byte) error {
	v, err := ParseBlindedID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

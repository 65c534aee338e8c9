package key

// NodePublic is a service node's Ed25519 identity key: its name in the
// ledger, its TLS identity towards other nodes, the key that signs its
// per-node results, and the "destination" of an onion hop. The zero value is
// unset.
type NodePublic [Size]byte

// NodePublicFromBytes copies b, which must be 32 bytes long.
func NodePublicFromBytes(b []byte) (NodePublic, error) {
	k, err := fromBytes(b, "node key")
	return NodePublic(k), err
}

// ParseNodePublic parses exactly 64 hex digits (either case).
func ParseNodePublic(s string) (NodePublic, error) {
	k, err := parse32(s, "node key")
	return NodePublic(k), err
}

// String returns the key as 64 lowercase hex digits.
func (k NodePublic) String() string { return string(appendHex(nil, k[:])) }

// IsZero reports whether k is all zeros (unset).
func (k NodePublic) IsZero() bool { return k == NodePublic{} }

// AppendText implements encoding.TextAppender (lowercase hex).
func (k NodePublic) AppendText(b []byte) ([]byte, error) { return appendHex(b, k[:]), nil }

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (k NodePublic) MarshalText() ([]byte, error) { return k.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler with ParseNodePublic.
func (k *NodePublic) UnmarshalText(b []byte) error {
	v, err := ParseNodePublic(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// OnionPublic is an X25519 public key that onion layers are encrypted to: a
// node's pubkey_x25519, a server destination's key, or a request's
// ephemeral key. The zero value is unset.
type OnionPublic [Size]byte

// OnionPublicFromBytes copies b, which must be 32 bytes long.
func OnionPublicFromBytes(b []byte) (OnionPublic, error) {
	k, err := fromBytes(b, "onion key")
	return OnionPublic(k), err
}

// ParseOnionPublic parses exactly 64 hex digits (either case).
func ParseOnionPublic(s string) (OnionPublic, error) {
	k, err := parse32(s, "onion key")
	return OnionPublic(k), err
}

// String returns the key as 64 lowercase hex digits.
func (k OnionPublic) String() string { return string(appendHex(nil, k[:])) }

// IsZero reports whether k is all zeros (unset).
func (k OnionPublic) IsZero() bool { return k == OnionPublic{} }

// AppendText implements encoding.TextAppender (lowercase hex).
func (k OnionPublic) AppendText(b []byte) ([]byte, error) { return appendHex(b, k[:]), nil }

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (k OnionPublic) MarshalText() ([]byte, error) { return k.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler with ParseOnionPublic.
func (k *OnionPublic) UnmarshalText(b []byte) error {
	v, err := ParseOnionPublic(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// AccountPublic is the Ed25519 public key of an account or a closed group:
// it signs messages, storage requests (pubkey_ed25519) and subaccount
// tokens. The zero value is unset.
type AccountPublic [Size]byte

// AccountPublicFromBytes copies b, which must be 32 bytes long.
func AccountPublicFromBytes(b []byte) (AccountPublic, error) {
	k, err := fromBytes(b, "account key")
	return AccountPublic(k), err
}

// ParseAccountPublic parses exactly 64 hex digits (either case).
func ParseAccountPublic(s string) (AccountPublic, error) {
	k, err := parse32(s, "account key")
	return AccountPublic(k), err
}

// String returns the key as 64 lowercase hex digits.
func (k AccountPublic) String() string { return string(appendHex(nil, k[:])) }

// IsZero reports whether k is all zeros (unset).
func (k AccountPublic) IsZero() bool { return k == AccountPublic{} }

// AppendText implements encoding.TextAppender (lowercase hex).
func (k AccountPublic) AppendText(b []byte) ([]byte, error) { return appendHex(b, k[:]), nil }

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (k AccountPublic) MarshalText() ([]byte, error) { return k.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler with ParseAccountPublic.
func (k *AccountPublic) UnmarshalText(b []byte) error {
	v, err := ParseAccountPublic(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// BoxPublic is an account's X25519 public key, the key 1:1 messages are
// sealed to (crypto_box_seal). A standard Session ID is 05 followed by it.
// The zero value is unset.
type BoxPublic [Size]byte

// BoxPublicFromBytes copies b, which must be 32 bytes long.
func BoxPublicFromBytes(b []byte) (BoxPublic, error) {
	k, err := fromBytes(b, "box key")
	return BoxPublic(k), err
}

// ParseBoxPublic parses exactly 64 hex digits (either case).
func ParseBoxPublic(s string) (BoxPublic, error) {
	k, err := parse32(s, "box key")
	return BoxPublic(k), err
}

// String returns the key as 64 lowercase hex digits.
func (k BoxPublic) String() string { return string(appendHex(nil, k[:])) }

// IsZero reports whether k is all zeros (unset).
func (k BoxPublic) IsZero() bool { return k == BoxPublic{} }

// AppendText implements encoding.TextAppender (lowercase hex).
func (k BoxPublic) AppendText(b []byte) ([]byte, error) { return appendHex(b, k[:]), nil }

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (k BoxPublic) MarshalText() ([]byte, error) { return k.AppendText(nil) }

// UnmarshalText implements encoding.TextUnmarshaler with ParseBoxPublic.
func (k *BoxPublic) UnmarshalText(b []byte) error {
	v, err := ParseBoxPublic(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

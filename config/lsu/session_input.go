package lsu

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// Input helpers of the Session-protocol commands. Their error texts are the
// oracle's, so that replies to malformed commands compare equal too.

// needBytes returns a required byte input.
func needBytes(q *Request, name string) ([]byte, error) {
	b, ok, err := q.BytesOK(name)
	if err != nil {
		return nil, hexInputError(q, name, err)
	}
	if !ok {
		return nil, fmt.Errorf("missing required byte field '%s' (or '%s_text')", name, name)
	}
	return b, nil
}

// optBytes returns an optional byte input.
func optBytes(q *Request, name string) ([]byte, bool, error) {
	b, ok, err := q.BytesOK(name)
	if err != nil {
		return nil, false, hexInputError(q, name, err)
	}
	return b, ok, nil
}

// hexInputError words a bad hex input as the oracle does.
func hexInputError(q *Request, name string, err error) error {
	if raw, ok := q.Raw(name); ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return fmt.Errorf("not valid hex: %s", s)
		}
	}
	return err
}

// needKey returns a required JSON field as the oracle's JSON library
// reports a missing one.
func needKey(q *Request, name string) (json.RawMessage, error) {
	raw, ok := q.Raw(name)
	if !ok {
		return nil, fmt.Errorf("[json.exception.out_of_range.403] key '%s' not found", name)
	}
	return raw, nil
}

// needString returns a required text field given as a JSON string.
func needString(q *Request, name string) (string, error) {
	raw, err := needKey(q, name)
	if err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: want a string", name)
	}
	return s, nil
}

// needHexList returns a required list of hex strings.
func needHexList(q *Request, name string) ([][]byte, error) {
	raw, err := needKey(q, name)
	if err != nil {
		return nil, err
	}
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		// The oracle's JSON library iterates a lone string as a list of
		// that one string.
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return nil, fmt.Errorf("%s: want a list of hex strings", name)
		}
		ss = []string{one}
	}
	out := make([][]byte, len(ss))
	for i, s := range ss {
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("not valid hex: %s", s)
		}
		out[i] = b
	}
	return out, nil
}

// errSecretKeyMismatch is Sotto's answer to a 64-byte secret key whose
// second half is not the public key of its first: libsession signs with
// such keys as given, Sotto refuses them.
var errSecretKeyMismatch = errors.New("secret key: the last 32 bytes are not the public key of the first 32")

// seedKeys returns the keys of the "seed" input: a 32-byte Ed25519 seed or
// a 64-byte libsodium secret key (seed || public key).
func seedKeys(q *Request, name string) (*identity.Keys, error) {
	b, err := needBytes(q, name)
	if err != nil {
		return nil, err
	}
	return keysFromSecret(b)
}

func keysFromSecret(b []byte) (*identity.Keys, error) {
	if len(b) != 32 && len(b) != 64 {
		return nil, errors.New("seed must be 32 (seed) or 64 (secret key) bytes")
	}
	k, err := identity.KeysFromSeed(b[:32])
	if err != nil {
		return nil, err
	}
	if len(b) == 64 {
		pub := k.Ed25519Public()
		if string(pub[:]) != string(b[32:]) {
			k.Wipe()
			return nil, errSecretKeyMismatch
		}
	}
	return k, nil
}

// standardRecipient reads a recipient given as an X25519 key, bare (32
// bytes) or as a 05 Session ID (33 bytes).
func standardRecipient(b []byte) (key.SessionID, bool) {
	switch {
	case len(b) == 33 && b[0] == byte(key.PrefixStandard):
		return key.AccountID(key.BoxPublic(b[1:])), true
	case len(b) == 32:
		return key.AccountID(key.BoxPublic(b)), true
	}
	return key.SessionID{}, false
}

// printableOrHex is how the oracle shows a byte string in its JSON
// decodes of bencoded values: as text when every byte is printable ASCII,
// else as "hex:" and its hex.
func printableOrHex(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return "hex:" + hex.EncodeToString(b)
		}
	}
	return string(b)
}

package community

import (
	"crypto/ed25519"
	"encoding/hex"

	"sotto.dev/key"
)

// authorKey returns the Ed25519 key of a 00, 15 or 25 id.
func authorKey(sessionID string) ([]byte, bool) {
	b, err := hex.DecodeString(sessionID)
	if err != nil || len(b) != 33 {
		return nil, false
	}
	switch key.Prefix(b[0]) {
	case key.PrefixUnblinded, key.PrefixBlind15, key.PrefixBlind25:
		return b[1:], true
	}
	return nil, false
}

func ed25519Verify(pk, msg, sig []byte) bool {
	return len(pk) == ed25519.PublicKeySize && ed25519.Verify(ed25519.PublicKey(pk), msg, sig)
}

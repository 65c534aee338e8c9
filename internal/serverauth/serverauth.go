// Package serverauth holds the parsing pieces that the community server's
// X-SOGS-* and the file server's X-FS-* request signatures share
// (session-protocol.md §5.4): keys and signatures written in hex or base64,
// and the point check libsodium makes on a signer's key.
package serverauth

import (
	"encoding/base64"
	"encoding/hex"

	"filippo.io/edwards25519"
)

// DecodeHexOrBase64 decodes s as exactly size bytes written in hex or in
// standard base64, padded or not (pysogs utils.decode_hex_or_b64).
func DecodeHexOrBase64(s string, size int) ([]byte, error) {
	if len(s) == 2*size {
		return hex.DecodeString(s)
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != size {
		return nil, base64.CorruptInputError(len(s))
	}
	return b, nil
}

// ValidPoint reports whether b encodes an Ed25519 point of large order, as
// libsodium's crypto_core_ed25519_is_valid_point requires of a signer.
func ValidPoint(b []byte) bool {
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return false
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1
}

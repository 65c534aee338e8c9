package storagerpc

import (
	"encoding/base64"

	"golang.org/x/crypto/blake2b"
)

// MessageHash returns the hash that names a stored message
// (session-protocol.md §3.5, Session's computeMessageHash): unpadded
// standard base64 of BLAKE2b-256(prefix || key || ns || data), where ns is
// the namespace's SigString ("" for the default namespace) and data the
// decoded message bytes. Timestamp and expiry are not part of it, so
// storing the same bytes again names the same message.
func MessageHash(acct Account, ns Namespace, data []byte) string {
	h, _ := blake2b.New256(nil) // cannot fail without a key
	var head [AccountSize + 6]byte
	head[0] = byte(acct.prefix)
	copy(head[1:], acct.key[:])
	b := append(head[:AccountSize], ns.SigString()...)
	h.Write(b)
	h.Write(data)
	var sum [blake2b.Size256]byte
	return base64.RawStdEncoding.EncodeToString(h.Sum(sum[:0]))
}

// ValidMessageHash reports whether s has the form of a message hash: 43
// base64 characters (Session's is_valid_message_hash).
func ValidMessageHash(s string) bool {
	return len(s) == MessageHashLen && isBase64(s)
}

package attachment

import "errors"

// Errors of decryption and parsing. Every failure wraps one of these, so
// callers branch with errors.Is; none carries key material or plaintext.
var (
	// ErrFormat: the data is not an attachment of the expected form (too
	// short, a length that no encryption produces, an unknown format byte).
	ErrFormat = errors.New("attachment: malformed encrypted data")
	// ErrMAC: the legacy blob's HMAC does not verify (wrong key, or data
	// damaged or forged).
	ErrMAC = errors.New("attachment: MAC does not verify")
	// ErrDigest: the blob's SHA-256 is not the pointer's digest.
	ErrDigest = errors.New("attachment: digest does not match")
	// ErrDecrypt: a chunk of the deterministic form, or a profile picture,
	// does not authenticate (wrong key, or data damaged or forged).
	ErrDecrypt = errors.New("attachment: data does not authenticate")
	// ErrTruncated: the deterministic stream ends without its final chunk.
	ErrTruncated = errors.New("attachment: data ends before the final chunk")
	// ErrTrailing: data follows the deterministic stream's final chunk.
	ErrTrailing = errors.New("attachment: data after the final chunk")
	// ErrPadding: authenticated data whose padding is malformed (the
	// sender's fault, not the network's).
	ErrPadding = errors.New("attachment: invalid padding")
	// ErrSize: the pointer's size is larger than the decrypted data, or a
	// plaintext source did not give the size it promised.
	ErrSize = errors.New("attachment: size does not match the data")
	// ErrKey: a key or seed of the wrong length.
	ErrKey = errors.New("attachment: bad key length")
	// ErrURL: an attachment URL that does not parse.
	ErrURL = errors.New("attachment: malformed URL")
	// ErrManifest: a chunk manifest that does not parse.
	ErrManifest = errors.New("attachment: malformed manifest")
)

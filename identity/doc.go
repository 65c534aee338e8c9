// Package identity holds a Sotto (and Session) account's keys and the values
// derived from them: the seed and its recovery phrase, the Ed25519 and X25519
// key pairs, Session IDs with their one-byte prefixes, and the blinded keys
// used towards communities (15 and 25 blinding) and the file server (07
// version-check key).
//
// Everything here is wire-compatible with Session (session-protocol.md §1,
// §5.1–5.3): a 16-byte seed is padded with zeros to 32 bytes, the Ed25519
// key pair is RFC 8032 from that seed, the X25519 key pair is its birational
// image, and the Session ID is 0x05 followed by the X25519 public key.
//
// Parsers are exact: every constructor that takes bytes or text checks the
// length, the encoding and the prefix and returns a typed error
// ([*LengthError], [*EncodingError], [*PrefixError], [*PointError], and for
// recovery phrases [*WordCountError], [*UnknownWordError], [*WordTripleError]
// or [ErrChecksum]) instead of panicking.
//
// # Secrets
//
// Secret types ([X25519PrivateKey], [*Keys], [*BlindedKeyPair]) have no
// String method; fmt prints them as "[redacted]" and slog as "REDACTED".
// [X25519PrivateKey.Equal] is constant time. [Keys.Wipe] clears the copies
// a Keys value owns. Go cannot wipe everything: values returned to callers
// (Seed, Ed25519Private, Scalar, ...) are copies the caller must clear, the
// garbage collector may have moved or copied memory, and hashing, encoding
// and the point and scalar arithmetic of filippo.io/edwards25519 leave
// temporaries on stacks that we do not control. Treat wiping as damage
// limitation, not a guarantee.
//
// The package never logs and imports only the standard library,
// golang.org/x/crypto and filippo.io/edwards25519.
package identity

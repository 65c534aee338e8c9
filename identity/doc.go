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
// ([*LengthError], [*EncodingError], [*key.PrefixError], [*PointError], and for
// recovery phrases [*WordCountError], [*UnknownWordError], [*WordTripleError]
// or [ErrChecksum]) instead of panicking.
//
// # Secrets
//
// The key and ID types are those of package sotto.dev/key: the account's
// Ed25519 key is a [key.AccountPublic], its X25519 key pair a
// [key.BoxPublic] and [key.BoxPrivate], its ID a [key.SessionID], and the
// blinded and version-check IDs [key.BlindedID]. This package keeps the
// account's secrets (seed, scalar, blinding nonce keys) inside [Keys].
//
// Secret types ([key.BoxPrivate], [*Keys], [*BlindedKeyPair]) have no
// String method; fmt prints them as "[redacted]" and slog as "REDACTED".
// [key.BoxPrivate.Equal] is constant time. [Keys.Wipe] clears the copies
// a Keys value owns. Go cannot wipe everything: values returned to callers
// (Seed, Ed25519Private, Scalar, ...) are copies the caller must clear, the
// garbage collector may have moved or copied memory, and hashing, encoding
// and the point and scalar arithmetic of filippo.io/edwards25519 leave
// temporaries on stacks that we do not control. Treat wiping as damage
// limitation, not a guarantee.
//
// The package never logs and imports only the standard library,
// golang.org/x/crypto, filippo.io/edwards25519 and sotto.dev/key.
package identity

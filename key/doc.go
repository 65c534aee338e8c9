// Package key has one Go type for each role a key plays in Sotto, so that a
// node's identity key can never be passed where an onion key or an account
// key is expected, and so that every layer (identity, onion, ledger, snode,
// client) names a key the same way. It follows Tailscale's types/key.
//
// Public keys and IDs:
//
//   - [NodePublic]: a service node's Ed25519 identity key. It names the node
//     in the ledger, authenticates node-to-node TLS, signs per-node results
//     and is the "destination" of an onion hop.
//   - [FileServerPublic]: a file server's Ed25519 key, named by its ledger
//     registration and by the p= fragment of an attachment URL.
//   - [OnionPublic]: an X25519 key that onion layers are encrypted to: a
//     node's pubkey_x25519, a server's configured key, or a request's
//     ephemeral key.
//   - [AccountPublic]: an account's (or a closed group's) Ed25519 key: it
//     signs messages and storage requests (pubkey_ed25519).
//   - [BoxPublic]: an account's X25519 key, to which 1:1 messages are sealed;
//     a standard Session ID is 05 followed by it.
//   - [SessionID]: a one-byte [Prefix] and a 32-byte key, written as 66 hex
//     digits: the account ID (05), a group (03), an unblinded SOGS key (00).
//     It is the one ID type; identity and every caller use it.
//   - [BlindedID]: an ID a community or the file server sees instead of the
//     account's: prefix 15 or 25 (blinded) or 07 (version check).
//
// Secret keys: [NodePrivate] and [FileServerPrivate] (Ed25519), [OnionPrivate] and [BoxPrivate]
// (X25519). An account's own secrets (seed, scalar, blinding nonce keys) stay
// in package identity.
//
// Public types print as lowercase hex (IDs with their prefix) and implement
// encoding.TextMarshaler; their parsers are exact and return a typed error
// ([*LengthError], [*EncodingError], [*PrefixError]) that says what is wrong
// without echoing the input. Their binary form is the raw bytes, so wire
// structs and the ledger codec keep their own layout.
//
// Secret types have no String method and no MarshalText; fmt prints them as
// "[redacted]" with every verb and slog as "REDACTED". Their Equal is constant
// time, and Wipe clears the value it is called on. Go cannot wipe everything:
// secret types are arrays, so every assignment or call by value makes a copy
// the caller must clear, and the garbage collector and the crypto libraries
// leave copies we do not control. Treat wiping as damage limitation.
//
// Comparing public keys with == is fine: they are public. Use the secret
// types' Equal, never ==, for secrets.
//
// The package imports only the standard library, golang.org/x/crypto,
// filippo.io/edwards25519 and internal/basemul (eight signing nonces' R at
// once, with AVX-512 where the CPU has it), and never logs.
package key

// Package sessionproto implements Session's one-to-one message protocol
// (spec/session-protocol.md §2, §5.4, §5.6): the 160-byte message padding,
// the "Session Protocol" seal and open (a libsodium sealed box around the
// message and the sender's Ed25519 signature), the Envelope and
// WebSocketMessage framing in which 1:1 messages are stored in a swarm,
// blinded direct messages through a community server's inbox, the
// X-SOGS-* request signatures, and libsession's multi-recipient encryption
// (one message, or one each, for many X25519 keys; used by closed groups).
//
// Everything here is a pure codec: no I/O, no logging, no goroutines. Keys
// come from package identity; protobuf types from package wire.
//
// # Secrets
//
// Ephemeral secrets and derived symmetric keys are cleared when a function
// returns. Go cannot guarantee that no copy survives: the runtime may move
// stack frames, and x/crypto's box and AEAD implementations keep key
// schedules in memory this package cannot reach. Plaintexts returned to the
// caller are the caller's to clear.
package sessionproto

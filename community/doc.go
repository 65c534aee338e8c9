// Package community is a Session community server (SOGS v3, spec §5):
// rooms of posts signed by their authors' blinded (15, 25) or unblinded
// (00) keys, reached directly over HTTP(S) and through onion v4 requests
// (§4.3).
//
// The API subset, the storage and the request authentication are
// described in docs/community.md. The store is SQLite in WAL mode with
// synchronous=FULL: a post is acknowledged only after its COMMIT.
//
// The server key is an X25519 key (the community's "public_key"), used
// both for onion requests and as the blinding input of §5.1 and §5.2. Go
// cannot wipe the copies of it that the runtime makes.
package community

// Package fileserver is Sotto's attachment file server, wire-compatible
// with Session's (session-file-server; shared/spec session-protocol.md
// §8.3): clients upload encrypted blobs and download them by id, always
// through onion requests (§4.3), so the server never sees a client's
// address.
//
// The API, served only inside onion v4 (and v3) requests by
// onion.V4Handler:
//
//	POST /file                 raw body → {"id", "expires"}; ids are content
//	                           hashes (ContentID), so the same upload
//	                           deduplicates and extends the expiry
//	GET  /file/<id>            the bytes (Expires header)
//	GET  /file/<id>/info       {"size", "uploaded", "expires"}
//	POST /file/<id>/extend     raise the expiry (X-FS-TTL or the default)
//	POST /files, GET /files/<id>   the deprecated base64 JSON forms
//	GET  /session_version      release versions from Config, with the
//	                           optional 07-key authentication of §5.3
//
// Uploads may carry X-FS-TTL (seconds, at most Config.MaxTTL). Files are
// stored on disk with their metadata in SQLite, in an order that survives
// kill -9 at any moment (see store.go): an acknowledged upload is never
// lost and a half-written one is never served. Every read is checked
// against the stored size and SHA-256. Rate limits are per exit address
// and global (requests come from exit nodes, never clients), and a quota
// bounds the bytes stored. Metrics go to the server's own Prometheus
// registry, served on a loopback-only listener. docs/fileserver.md is the
// design note.
//
// Secrets: Keys holds the Ed25519 seed and the derived X25519 key; it
// formats and logs as its public key only. The copies inside
// onion.V4Handler's key pair and the standard library's X25519 state
// cannot be wiped from Go.
package fileserver

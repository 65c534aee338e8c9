package store

// Domain-separation labels of the anti-entropy digests. They are Sotto's
// own (node-to-node traffic is not Session-compatible); the protocol is
// described in docs/snode.md, section "Anti-entropy".
const (
	// labelMessageElem prefixes the SHA-256 input of a message row's digest
	// element: label || hash || mtime (8, BE) || expiry (8, BE) || deleted (1).
	labelMessageElem = "sotto snode ae message v1\x00"
	// labelRevocationElem prefixes a revocation row's digest element:
	// label || token (36) || revoked (1) || mtime (8, BE).
	labelRevocationElem = "sotto snode ae revocation v1\x00"
	// labelBucket prefixes the hash that places an account in one of the
	// 256 digest buckets: SHA-256(label || account)[0].
	labelBucket = "sotto snode ae bucket v1\x00"
)

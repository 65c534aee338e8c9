package sessionproto

// Hash keys and fixed strings of the Session protocol. The comment names the
// section of spec/session-protocol.md that defines each.
const (
	// labelBoxEphemeral keys the BLAKE2b-256 hash of
	// sender_seed32 || Y || M that seeds the ephemeral key of a
	// deterministic Session Protocol sealed box (§2.1; libsession-util
	// encrypt_for_recipient_deterministic).
	labelBoxEphemeral = "SessionBoxEphemeralHashKey"

	// legacyVerb and legacyPath are the WebSocketRequestMessage verb and
	// path of the pre-libsession framing (§2.3 (a)); libsession leaves both
	// empty (§2.3 (b)).
	legacyVerb = "PUT"
	legacyPath = "/api/v1/message"
)

// Header names of a signed SOGS request (§5.4).
const (
	HeaderSOGSPubkey    = "X-SOGS-Pubkey"
	HeaderSOGSTimestamp = "X-SOGS-Timestamp"
	HeaderSOGSNonce     = "X-SOGS-Nonce"
	HeaderSOGSSignature = "X-SOGS-Signature"
)

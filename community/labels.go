package community

// Request authentication header names (spec §5.4; session-pysogs
// routes/auth.py).
const (
	headerPubkey    = "X-SOGS-Pubkey"
	headerTimestamp = "X-SOGS-Timestamp"
	headerNonce     = "X-SOGS-Nonce"
	headerSignature = "X-SOGS-Signature"
)

// Capabilities this server has (spec §5.5; pysogs routes/general.py).
// "blind" means that requests must be signed with a blinded key.
const (
	capSOGS      = "sogs"
	capBlind     = "blind"
	capReactions = "reactions"
)

package storagerpc

import "time"

// Limits of the storage RPC. Values are Session's (service-node-network.md
// §5.3-§5.4 and oxenss/rpc/request_handler.h, client_rpc_endpoints.h,
// server/https.h).
const (
	// MaxRequestBody is the largest HTTP body a node reads (https.h
	// MAX_REQUEST_BODY_SIZE); larger bodies get 413.
	MaxRequestBody = 10 << 20

	// MaxMessageSize is the largest decoded `data` of a store.
	MaxMessageSize = 76_800
	// MaxMessageSizeBase64 is the largest `data` string accepted in JSON.
	MaxMessageSizeBase64 = MaxMessageSize / 3 * 4

	// MinTTL and the two maxima bound expiry - timestamp of a store. The
	// longer maximum applies to namespaces that are not public inboxes
	// and to expiry updates.
	MinTTL        = 10 * time.Second
	MaxTTLPublic  = 14 * 24 * time.Hour
	MaxTTLPrivate = 30 * 24 * time.Hour

	// StoreTolerance: a store's timestamp may be at most this far in the
	// future and its expiry at most this far in the past.
	StoreTolerance = 10 * time.Second

	// SignatureTolerance is the clock window for signed timestamps;
	// SignatureToleranceForwarded is used for copies forwarded between
	// swarm members.
	SignatureTolerance          = 60 * time.Second
	SignatureToleranceForwarded = 70 * time.Second

	// FutureTolerance bounds delete_before's `before` and how far in the
	// past an expire's new expiry may be (request_handler.cpp uses 1min).
	FutureTolerance = time.Minute

	// RetrieveMaxSize is the most message bytes one retrieve returns;
	// DefaultRetrieveMaxSize (-5) means a fifth of it.
	RetrieveMaxSize        = 7_800_000
	DefaultRetrieveMaxSize = -5

	// MaxBatchRequests bounds the subrequests of batch and sequence.
	MaxBatchRequests = 20

	// MaxSubaccountTokens is both the most tokens one revoke_subaccount may
	// carry and the most revocations a node keeps per account.
	MaxSubaccountTokens = 50

	// MessageHashLen is the length of a message hash string.
	MessageHashLen = 43

	// minTimestampMillis: integer timestamps below 10^9 ms (about 11 days
	// after the epoch) are rejected as "probably seconds".
	minTimestampMillis = 1_000_000_000
)

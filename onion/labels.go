package onion

// Protocol constants of Session's onion requests. Every string and size
// that must match other implementations byte for byte lives here, with the
// section of shared/spec/session-protocol.md (§4) or
// service-node-network.md (§5.8) that documents it.

// aesGCMKeyLabel is the HMAC-SHA256 key used to turn the X25519 shared
// secret into the AES-256-GCM layer key (§4.1: key = HMAC-SHA256(key =
// "LOKI", msg = X25519(e, B))). Storage server crypto/channel_encryption.cpp
// and libsession onionreq/hop_encryption.cpp call it the "salt".
const aesGCMKeyLabel = "LOKI"

// Cipher names as they appear in the "enc_type" control key (§4.1, §4.2).
// The storage server and libsession accept the aliases too
// (parse_enc_type in both code bases).
const (
	encTypeAESGCM        = "aes-gcm"
	encTypeAESGCMAlias   = "gcm"
	encTypeXChaCha       = "xchacha20"
	encTypeXChaChaLegacy = "xchacha20-poly1305"
)

// Layer ciphertext layout sizes (§4.1): AES-GCM is iv(12) || ct || tag(16),
// XChaCha20-Poly1305 is nonce(24) || ct || tag(16).
const (
	gcmIVSize      = 12
	gcmTagSize     = 16
	xchachaNonce   = 24
	xchachaTagSize = 16
)

// Server destination targets (§4.2 item 3, §4.3): the only paths a relay
// proxies to, and the ones V4Handler serves.
const (
	TargetV4 = "/oxen/v4/lsrpc"
	TargetV3 = "/loki/v3/lsrpc"
	// targetV3Alt is the /oxen/ spelling of v3 that pysogs also serves
	// (sogs/routes/onion_request.py).
	targetV3Alt = "/oxen/v3/lsrpc"
)

// Proxy target rule (§4.2 item 3; storage server
// is_onion_url_target_allowed): starts with one of these prefixes, ends
// with the suffix, contains no '?'.
const (
	targetPrefixLoki = "/loki/"
	targetPrefixOxen = "/oxen/"
	targetSuffix     = "/lsrpc"
)

// MaxHops is the highest hop number a relay accepts (service-node-network
// §5.8, storage server MAX_ONION_HOPS = 15).
const MaxHops = 15

// Control object keys (§4.2).
const (
	keyEphemeral   = "ephemeral_key"
	keyEncType     = "enc_type"
	keyHopNo       = "hop_no"
	keyDestination = "destination"
	keyHeaders     = "headers"
	keyJSON        = "json"
	keyBase64      = "base64"
	keyHost        = "host"
	keyTarget      = "target"
	keyPort        = "port"
	keyProtocol    = "protocol"
	keyMethod      = "method"
)

// Error bodies relays return unencrypted (§4.3 "Path/relay errors"; storage
// server request_handler.cpp process_onion_req).
const (
	ErrBodyInvalidCiphertext = "Invalid ciphertext"
	ErrBodyNextNodeNotFound  = "Next node not found: " // followed by the Ed25519 hex key
	ErrBodyTimeout           = "Request time out"
	// ErrBodyInvalidJSON and ErrBodyInvalidURL are sent encrypted, wrapped in
	// {"status":400,"body":...}, because by then the layer key is known.
	ErrBodyInvalidJSON = "Invalid json"
	ErrBodyInvalidURL  = "Invalid url"
)

// v4BadRequestBody is what a v4 server answers (encrypted, code 400) to a
// request it cannot decode (pysogs handle_v4_onionreq_plaintext).
const v4BadRequestBody = "Invalid v4 onion request"

// Sotto onion form (docs/onion.md "The Sotto form"; not part of Session's
// protocol). These are Sotto's own constants.
const (
	// keySotto is the LayerInfo key that marks a Sotto-form layer; its
	// value is the form's version (SottoVersion). Session relays ignore it.
	keySotto = "sotto"
	// replyKeyLabel personalises the per-hop reply key: BLAKE2b-256 keyed
	// with the layer key over this label.
	replyKeyLabel = "sotto.dev/onion/v1 reply layer"
	// hopBudget is how much larger each outer request layer's ciphertext
	// is than the one it wraps: its frame header, control object, padding
	// length and AEAD overhead must fit in it.
	hopBudget = 512
	// padPrefix is the size of the length a padded plaintext starts with.
	padPrefix = 4
)

// ErrBodyBadGateway is the relay's clear 502 body for a Sotto reply it
// cannot pass on (not a size class, or too large to pad).
const ErrBodyBadGateway = "Bad gateway"

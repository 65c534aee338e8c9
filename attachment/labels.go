package attachment

// Every constant of the attachment formats, with its source in
// shared/spec/session-protocol.md §8 (and docs/attachments.md for what was
// read in Session's code).

// Deterministic form (§8.2; libsession src/attachments.cpp, include/session/attachments.hpp).
const (
	// FormatDeterministic is the first byte of a deterministic attachment:
	// 'S', for secretstream. Other values are reserved for future forms.
	FormatDeterministic byte = 'S'

	// HeaderSize is the secretstream header after the format byte.
	HeaderSize = ssHeaderSize
	// KeySize is the length of a deterministic attachment's key, the value
	// of AttachmentPointer.key (and of profileKey for profile pictures).
	KeySize = ssKeySize
	// ChunkSize is the plaintext carried by each secretstream message.
	ChunkSize = 32 * 1024
	// ChunkOverhead is each message's tag byte and MAC.
	ChunkOverhead = ssABytes
	// EncryptedChunkSize is a full sealed message.
	EncryptedChunkSize = ChunkSize + ChunkOverhead

	// MaxRegularSize is the largest plaintext libsession encrypts without
	// its allow_large flag: its encrypted size, 10 223 616 bytes, is the
	// largest an onion request carries. The codec itself has no limit;
	// callers that talk to Session's file servers enforce this one.
	MaxRegularSize = 10218286

	// seedSize is the uploader's seed that keys the BLAKE2b.
	seedSize = 32
	// nonceKeySize is BLAKE2b's output: header (24) || key (32).
	nonceKeySize = HeaderSize + KeySize
	// minPaddingSize: padding is 00…00 01, at least the 01.
	minPaddingSize = 1
	// paddingFloor and paddingShift: the padded size is a multiple of
	// bit_floor(max(M, 131072)) >> 5.
	paddingFloor = 131072
	paddingShift = 5
)

// BLAKE2b personalisations of the two domains (libsession's
// PERS_ATTACHMENT and PERS_PROFILE_PIC).
var (
	personalAttachment = [16]byte([]byte("SessionAttachmnt"))
	personalProfilePic = [16]byte([]byte("Session_Prof_Pic"))
)

// Legacy form (§8.1; Session desktop attachmentsEncrypter.ts, BufferPadding.ts).
const (
	// LegacyKeySize is AES-256 key || HMAC-SHA256 key.
	LegacyKeySize = 64
	// LegacyIVSize is the AES-CBC IV at the front of the blob.
	LegacyIVSize = 16
	// LegacyMACSize is the HMAC-SHA256 at the end of the blob.
	LegacyMACSize = 32
	// DigestSize is AttachmentPointer.digest, SHA-256 of the blob.
	DigestSize = 32

	// legacyMinPadded is addAttachmentPadding's smallest padded size.
	legacyMinPadded = 541
	// legacyPaddingBase is the growth factor of the padding buckets.
	legacyPaddingBase = 1.05
	// LegacyPaddingCap is desktop's MAX_ATTACHMENT_FILESIZE_BYTES: a
	// plaintext of at most this size is never padded beyond it.
	LegacyPaddingCap = 10_000_000
)

// Legacy profile pictures (§8.1 last bullet; desktop profileEncrypter.ts).
const (
	// ProfileKeySize is DataMessage.profileKey, the AES-256-GCM key.
	ProfileKeySize = 32
	// profileIVSize is the GCM nonce at the front of the blob.
	profileIVSize = 12
	// profileTagSize is the GCM tag at its end.
	profileTagSize = 16
)

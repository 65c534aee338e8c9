package fileserver

import (
	"time"

	"sotto.dev/attachment"
)

// fileIDLen is the length of a new-style file id (attachment.FileIDLen).
const fileIDLen = attachment.FileIDLen

// Request headers (§5.3, §8.3; session-file-server routes.py and
// libsession session_file_server.cpp).
const (
	headerTTL       = "X-FS-TTL"
	headerPubkey    = "X-FS-Pubkey"
	headerTimestamp = "X-FS-Timestamp"
	headerSignature = "X-FS-Signature"
)

// Session's defaults (session-file-server config_base.py): files live
// three weeks; an authentication timestamp may be a day off.
const (
	DefaultFileTTL  = 21 * 24 * time.Hour
	authClockWindow = 24 * time.Hour
)

// DefaultMaxFileSize is the per-file limit: 10 MiB, which holds the
// largest upload a Session client makes (libsession's 10,000,000-byte
// client limit and the 10,223,616-byte largest padded attachment of §8.2).
const DefaultMaxFileSize = 10 << 20

// legacyIDBits is the size of the random integer ids of the deprecated
// POST /files (Session clients store them in a double: at most 2^53).
const legacyIDBits = 53

// versionPlatforms are the platforms GET /session_version answers for.
var versionPlatforms = []string{"desktop", "android", "ios"}

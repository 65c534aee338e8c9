package attachment

import (
	"encoding/base64"

	"sotto.dev/internal/blake2bx"
)

// File ids of Session's file server (session-protocol.md §8.3;
// session-file-server routes.py generate_file_id): the server names a file
// uploaded with POST /file by a hash of its bytes, so a client can compute
// the id of a blob before uploading it, and ask whether the server has it
// already (a resumed upload of a large file's parts).
const (
	// FileIDHashSize is the BLAKE2b output length of a file id: 33 bytes,
	// which base64-encode without padding.
	FileIDHashSize = 33
	// FileIDLen is the length of a file id: 44 URL-safe base64 characters.
	FileIDLen = 44
)

// fileIDSalt is the BLAKE2b salt of file ids: "SessionFileSvr" and two
// zero bytes.
var fileIDSalt = [16]byte{'S', 'e', 's', 's', 'i', 'o', 'n', 'F', 'i', 'l', 'e', 'S', 'v', 'r', 0, 0}

// FileID returns the id a file server gives blob on POST /file: URL-safe
// base64 of BLAKE2b(blob, 33-byte output, salt "SessionFileSvr\0\0").
func FileID(blob []byte) string {
	h := blake2bx.New(FileIDHashSize, nil, &fileIDSalt, nil)
	h.Write(blob)
	return base64.URLEncoding.EncodeToString(h.Sum(nil))
}

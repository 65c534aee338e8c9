package fileserver

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"

	"sotto.dev/attachment"
)

// FileID names a stored file. New-style ids (POST /file) are the 44-
// character URL-safe base64 of the file's salted BLAKE2b-264 (ContentID),
// so that an identical upload gets the same id; legacy ids (the deprecated
// POST /files) are random decimal integers below 2^53.
type FileID string

// IDError reports a string that is not a file id.
type IDError struct{ Reason string }

func (e *IDError) Error() string { return "fileserver: bad file id: " + e.Reason }

// ContentID returns the new-style id of data (§8.3): URL-safe base64 of
// BLAKE2b(data, 33-byte output, salt "SessionFileSvr\0\0"), computed by
// the codec, which clients use too.
func ContentID(data []byte) FileID { return FileID(attachment.FileID(data)) }

// ParseFileID checks s exactly: 44 URL-safe base64 characters, or a
// decimal integer below 2^53 without leading zeros.
func ParseFileID(s string) (FileID, error) {
	switch {
	case len(s) == fileIDLen:
		for i := 0; i < len(s); i++ {
			if !isURLBase64(s[i]) {
				return "", &IDError{Reason: fmt.Sprintf("character %d is not URL-safe base64", i)}
			}
		}
		return FileID(s), nil
	case len(s) > 0 && len(s) <= 16:
		if s[0] == '0' && len(s) > 1 {
			return "", &IDError{Reason: "leading zero"}
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || s[0] == '+' {
			return "", &IDError{Reason: "not 44 base64 characters or a decimal integer"}
		}
		if n >= 1<<legacyIDBits {
			return "", &IDError{Reason: "integer id is 2^53 or more"}
		}
		return FileID(s), nil
	}
	return "", &IDError{Reason: fmt.Sprintf("%d characters", len(s))}
}

// Legacy reports whether id is an integer id of the deprecated API.
func (id FileID) Legacy() bool { return len(id) != fileIDLen }

// legacyInt is the numeric value of a legacy id (0 for a new-style one).
func (id FileID) legacyInt() uint64 {
	n, _ := strconv.ParseUint(string(id), 10, 64)
	return n
}

// randomLegacyID draws a random integer id in [1, 2^53).
func randomLegacyID() (FileID, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		n := binary.LittleEndian.Uint64(b[:]) & (1<<legacyIDBits - 1)
		if n != 0 {
			return FileID(strconv.FormatUint(n, 10)), nil
		}
	}
}

func isURLBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

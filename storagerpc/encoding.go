package storagerpc

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// Base64 in the storage RPC follows oxenc (session-foundation/
// oxen-encoding oxenc/base64.h), which Session's storage server uses:
// standard alphabet only; padding optional but, when present, only one or
// two '=' that complete a multiple of 4; never a 4n+1 length; unused low
// bits of the last character ignored. Go's decoders differ (they skip
// '\r' and '\n', and need padding or its absence), so the rules are
// checked here first.

// b64Class marks the characters of the standard base64 alphabet.
var b64Class = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = true
	}
	return t
}()

// trimB64Padding returns s without its padding if s is acceptable base64
// (see above), and false otherwise.
func trimB64Padding(s string) (string, bool) {
	s, ok := trimPadding(s)
	if !ok {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !b64Class[s[i]] {
			return "", false
		}
	}
	return s, true
}

// trimPadding applies the length and padding rules only: s without its
// one or two '=' of padding, false for a length of 4n+1.
func trimPadding(s string) (string, bool) {
	if len(s)%4 == 1 {
		return "", false
	}
	if len(s) > 0 && len(s)%4 == 0 {
		if s[len(s)-1] == '=' {
			s = s[:len(s)-1]
		}
		if s[len(s)-1] == '=' {
			s = s[:len(s)-1]
		}
	}
	return s, true
}

// isBase64 reports whether s is acceptable base64.
func isBase64(s string) bool {
	_, ok := trimB64Padding(s)
	return ok
}

var errBase64 = errors.New("storagerpc: not base64")

// lenient is unpadded standard base64 that ignores non-zero trailing bits.
var lenient = base64.RawStdEncoding

// decodeBase64 decodes acceptable base64. It leaves the alphabet to Go's
// decoder, which rejects every other character but skips '\r' and '\n':
// those are refused first. A message's data is checked once, here, rather
// than a byte at a time by trimB64Padding and again by the decoder.
func decodeBase64(s string) ([]byte, error) {
	t, ok := trimPadding(s)
	if !ok || strings.IndexByte(t, '\r') >= 0 || strings.IndexByte(t, '\n') >= 0 {
		return nil, errBase64
	}
	out := make([]byte, lenient.DecodedLen(len(t)))
	n, err := lenient.Decode(out, []byte(t))
	if err != nil {
		return nil, errBase64
	}
	return out[:n], nil
}

// decodeBase64Into decodes acceptable base64 that must decode to exactly
// len(dst) bytes.
func decodeBase64Into(dst []byte, s string) bool {
	b, err := decodeBase64(s)
	if err != nil || len(b) != len(dst) {
		return false
	}
	copy(dst, b)
	return true
}

// decodeHexInto decodes hex (either case) of exactly 2*len(dst) digits.
func decodeHexInto(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}

// b64 encodes with padding, as Session's nodes do in JSON responses.
func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// base32z is oxenc's z-base-32: MSB first, no padding.
var base32z = base32.NewEncoding(base32zAlphabet).WithPadding(base32.NoPadding)

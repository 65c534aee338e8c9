package key

import "encoding/hex"

// Size is the length of every key in this package, in bytes.
const Size = 32

// fromBytes copies b into a 32-byte array, checking the length.
func fromBytes(b []byte, what string) ([Size]byte, error) {
	if len(b) != Size {
		return [Size]byte{}, &LengthError{What: what, Got: len(b), Want: Size, Unit: "bytes"}
	}
	return [Size]byte(b), nil
}

// parse32 decodes exactly 64 hex digits.
func parse32(s, what string) ([Size]byte, error) {
	var out [Size]byte
	err := DecodeHex(out[:], s, what)
	return out, err
}

// DecodeHex decodes s into dst, which must be exactly len(s)/2 bytes.
// Upper- and lowercase digits are accepted. Errors (*LengthError,
// *EncodingError) name what was decoded and the position of a bad digit,
// never the text, which may be a secret.
func DecodeHex(dst []byte, s, what string) error {
	if len(s) != 2*len(dst) {
		return &LengthError{What: what, Got: len(s), Want: 2 * len(dst), Unit: "hex characters"}
	}
	for i := 0; i < len(s); i++ {
		if fromHexChar(s[i]) < 0 {
			return &EncodingError{What: what, Position: i}
		}
	}
	for i := range dst {
		dst[i] = byte(fromHexChar(s[2*i])<<4 | fromHexChar(s[2*i+1]))
	}
	return nil
}

func fromHexChar(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

func appendHex(dst, b []byte) []byte { return hex.AppendEncode(dst, b) }

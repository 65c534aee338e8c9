package identity

import "fmt"

// decodeHex decodes s into dst, which must be exactly len(s)/2 bytes; the
// caller has checked the length. Errors name the position, not the text.
func decodeHex(dst []byte, s, what string) error {
	if len(s) != 2*len(dst) {
		return &LengthError{What: what, Got: len(s), Want: fmt.Sprint(2 * len(dst)), Unit: "hex characters"}
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

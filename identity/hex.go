package identity

import (
	"errors"
	"strconv"

	"sotto.dev/key"
)

// decodeHex decodes s into dst, which must be exactly len(s)/2 bytes, with
// key.DecodeHex, reporting its errors as this package's *LengthError and
// *EncodingError. Errors name the position, not the text.
func decodeHex(dst []byte, s, what string) error {
	err := key.DecodeHex(dst, s, what)
	var le *key.LengthError
	var ee *key.EncodingError
	switch {
	case errors.As(err, &le):
		return &LengthError{What: what, Got: le.Got, Want: strconv.Itoa(le.Want), Unit: le.Unit}
	case errors.As(err, &ee):
		return &EncodingError{What: what, Position: ee.Position}
	}
	return err
}

package key

import (
	"fmt"
	"strings"
)

// LengthError reports input of the wrong size.
type LengthError struct {
	What string // what was being decoded, e.g. "node key", "session ID"
	Got  int    // the length received
	Want int    // the length required
	Unit string // "bytes" or "hex characters"
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("key: %s is %d %s long, want %d", e.What, e.Got, e.Unit, e.Want)
}

// EncodingError reports text that is not hexadecimal. It names the position
// of the first bad character but never the character itself, since the text
// may be a secret.
type EncodingError struct {
	What     string
	Position int // 0-based index of the first invalid character
}

func (e *EncodingError) Error() string {
	return fmt.Sprintf("key: %s is not hexadecimal (invalid character at position %d)", e.What, e.Position)
}

// PrefixError reports an ID whose prefix byte is unknown or not one the
// caller accepts.
type PrefixError struct {
	What string
	Got  Prefix
	Want []Prefix // empty: any known prefix
}

func (e *PrefixError) Error() string {
	if len(e.Want) == 0 {
		return fmt.Sprintf("key: %s has unknown prefix %s", e.What, e.Got)
	}
	want := make([]string, len(e.Want))
	for i, p := range e.Want {
		want[i] = fmt.Sprintf("%s (%s)", p, p.Name())
	}
	return fmt.Sprintf("key: %s has prefix %s (%s), want %s", e.What, e.Got, e.Got.Name(), strings.Join(want, " or "))
}

package identity

import (
	"errors"
	"fmt"
)

// LengthError reports input of the wrong size.
type LengthError struct {
	What string // what was being decoded, e.g. "session ID", "seed"
	Got  int    // the length received
	Want string // the accepted lengths, e.g. "66", "16 or 32", "a multiple of 4"
	Unit string // "bytes", "hex characters" or "words"
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("identity: %s is %d %s long, want %s", e.What, e.Got, e.Unit, e.Want)
}

// EncodingError reports text that is not valid hexadecimal. It names the
// position of the first bad character but never the character itself, since
// the text may be a secret.
type EncodingError struct {
	What     string
	Position int // 0-based index of the first invalid character
}

func (e *EncodingError) Error() string {
	return fmt.Sprintf("identity: %s is not hexadecimal (invalid character at position %d)", e.What, e.Position)
}

// PointError reports 32 bytes that are not an acceptable curve point: not on
// the curve, of small order, or outside the prime-order subgroup.
type PointError struct {
	What   string
	Reason string
}

func (e *PointError) Error() string {
	return fmt.Sprintf("identity: %s is not a valid public key: %s", e.What, e.Reason)
}

// ErrNonceKey is returned for a [NonceKey] value that is not defined.
var ErrNonceKey = errors.New("identity: unknown blind15 nonce key variant")

// ErrDegenerate is returned when a blinding factor reduces to zero, which
// would make the blinded key the identity point. It happens with negligible
// probability and only for crafted server keys.
var ErrDegenerate = errors.New("identity: blinding factor is zero")

// WordCountError reports a recovery phrase with the wrong number of words.
type WordCountError struct {
	Got  int
	Want string
}

func (e *WordCountError) Error() string {
	words := "words"
	if e.Got == 1 {
		words = "word"
	}
	msg := fmt.Sprintf("identity: recovery phrase has %d %s, want %s", e.Got, words, e.Want)
	if e.Got == 12 || e.Got == 24 {
		msg += " (the last, checksum word is missing)"
	}
	return msg
}

// UnknownWordError reports a word whose first three letters match no word
// of the list. The error names the word as typed so that the user can find
// it; it is part of a secret phrase, so do not log it.
type UnknownWordError struct {
	Position int // 1-based
	Word     string
}

func (e *UnknownWordError) Error() string {
	return fmt.Sprintf("identity: word %d %q is not in the recovery phrase word list", e.Position, e.Word)
}

// WordTripleError reports three consecutive words that do not encode a
// 32-bit value (each group of 3 words carries 4 bytes).
type WordTripleError struct {
	Position int // 1-based position of the first word of the group
}

func (e *WordTripleError) Error() string {
	return fmt.Sprintf("identity: words %d to %d of the recovery phrase do not form a valid group", e.Position, e.Position+2)
}

// ErrChecksum is returned when a recovery phrase's last word does not match
// the checksum of the others: a word is wrong or words are out of order.
var ErrChecksum = errors.New("identity: recovery phrase checksum word does not match (a word is wrong or out of order)")

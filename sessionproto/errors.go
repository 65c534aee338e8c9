package sessionproto

import (
	"errors"
	"fmt"
	"strings"

	"sotto.dev/key"
)

// LengthError reports input of the wrong size.
type LengthError struct {
	What string // what was being decoded, e.g. "ciphertext"
	Got  int    // bytes received
	Want string // the accepted sizes, e.g. "at least 144", "64"
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("sessionproto: %s is %d bytes, want %s", e.What, e.Got, e.Want)
}

// PrefixError reports a Session ID with a prefix the operation cannot use.
type PrefixError struct {
	What string // e.g. "recipient"
	Got  key.Prefix
	Want []key.Prefix
}

func (e *PrefixError) Error() string {
	want := make([]string, len(e.Want))
	for i, p := range e.Want {
		want[i] = fmt.Sprintf("%s (%s)", p, p.Name())
	}
	return fmt.Sprintf("sessionproto: %s has prefix %s (%s), want %s", e.What, e.Got, e.Got.Name(), strings.Join(want, " or "))
}

// FramingError reports a stored 1:1 message whose WebSocketMessage or
// Envelope layer is malformed (spec §2.3).
type FramingError struct {
	Layer  string // "WebSocketMessage" or "Envelope"
	Reason string
	Err    error // the protobuf error, if any
}

func (e *FramingError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("sessionproto: bad %s: %s: %v", e.Layer, e.Reason, e.Err)
	}
	return fmt.Sprintf("sessionproto: bad %s: %s", e.Layer, e.Reason)
}

func (e *FramingError) Unwrap() error { return e.Err }

// VersionError reports a blinded message whose version byte is not 0.
type VersionError struct {
	Got byte
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("sessionproto: blinded message version is %d, want 0", e.Got)
}

// RequestError reports a SOGS request that cannot be signed as given.
type RequestError struct {
	Field  string // "method", "path" or "timestamp"
	Reason string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("sessionproto: SOGS request %s %s", e.Field, e.Reason)
}

var (
	// ErrDecrypt means a ciphertext did not open with the key tried: it
	// is for someone else, or it was corrupted. A receiver with several
	// keys tries the next one.
	ErrDecrypt = errors.New("sessionproto: decryption failed")

	// ErrSignature means a Session Protocol message decrypted but the
	// sender's signature over it does not verify.
	ErrSignature = errors.New("sessionproto: sender signature does not verify")

	// ErrSenderKey means the sender's Ed25519 key inside a message is not a
	// usable public key (it has no X25519 image, so no Session ID).
	ErrSenderKey = errors.New("sessionproto: sender key is not a valid Ed25519 public key")

	// ErrBlindedSender means a blinded message's inner sender key does not
	// blind to the sender ID it was delivered under (§5.6).
	ErrBlindedSender = errors.New("sessionproto: blinded sender ID does not match the sender's key")

	// ErrPeerKey means a recipient's public key is not a point usable for
	// key agreement (not on the curve, small order, or outside the
	// prime-order subgroup), or the agreement gave the identity.
	ErrPeerKey = errors.New("sessionproto: peer public key is not usable for key agreement")

	// ErrEnvelopeType means an Envelope is not a 1:1 SESSION_MESSAGE.
	ErrEnvelopeType = errors.New("sessionproto: envelope is not a 1:1 session message")
)

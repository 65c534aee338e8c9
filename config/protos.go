package config

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
	"sotto.dev/wire"
)

// WrapperError is a failure to wrap or unwrap the legacy protobuf wrapper
// of user configs. Reason is libsession's exception text for the same
// failure (protos.cpp), so that `sotto debug libsession` can answer as the
// reference library does.
type WrapperError struct {
	Reason string
	Err    error // the underlying error, if any
}

func (e *WrapperError) Error() string { return "config: protobuf wrapper: " + e.Reason }

func (e *WrapperError) Unwrap() error { return e.Err }

// The reasons of WrapperError, in libsession's words (protos.cpp).
const (
	reasonBadOutgoingKind = "Error: received invalid outgoing SharedConfigMessage type"
	reasonCannotEncode    = "Error: cannot encode invalid SharedConfigMessage type"
	reasonParseWebSocket  = "Failed to parse WebSocketMessage"
	reasonNotRequest      = "Error: received invalid WebSocketRequest"
	reasonParseEnvelope   = "Failed to parse Envelope"
	reasonShort           = "Invalid incoming message: ciphertext is too small"
	reasonDecrypt         = "Decryption failed"
	reasonSignature       = "Signature verification failed"
	reasonNotFromUs       = "Incoming config data was not from us; ignoring"
	reasonEmpty           = "Incoming config data decrypted to empty string"
	reasonNoPadding       = "Incoming config data doesn't have required padding"
	reasonBadPadding      = "Incoming config data has invalid padding"
	reasonParseContent    = "Failed to parse SharedConfig"
	reasonNoShared        = "Content is missing a SharedConfigMessage"
	reasonWrongKind       = "SharedConfig has wrong kind for config namespace"
)

// wrapperKind maps a user config namespace to its SharedConfigMessage kind
// (protos.cpp:17-33; §4.4).
func wrapperKind(ns int) (wire.SharedConfigMessage_Kind, error) {
	switch ns {
	case 2:
		return wire.SharedConfigMessage_USER_PROFILE, nil
	case 3:
		return wire.SharedConfigMessage_CONTACTS, nil
	case 4:
		return wire.SharedConfigMessage_CONVO_INFO_VOLATILE, nil
	case 5:
		return wire.SharedConfigMessage_USER_GROUPS, nil
	}
	return 0, &WrapperError{Reason: reasonCannotEncode}
}

// accountKeys derives the account's keys from its Ed25519 private key.
func accountKeys(account ed25519.PrivateKey) (*identity.Keys, error) {
	if len(account) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("config: account key is %d bytes, want %d", len(account), ed25519.PrivateKeySize)
	}
	return identity.KeysFromSeed(account.Seed())
}

// marshalWrapper encodes m with fields in number order, as libsession's
// C++ protobuf does.
func marshalWrapper(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// WrapConfig puts a user config ciphertext in the legacy protobuf wrapper
// of namespace ns (2–5), sealed to the account itself (spec §4.4;
// protos.cpp:35-121): WebSocketMessage{REQUEST, WebSocketRequestMessage{
// verb "", path "", body Envelope{SESSION_MESSAGE, timestamp 1, content
// E}, requestId 0}}, where E is the deterministic Session Protocol
// encryption from and to the account of Content{sharedConfigMessage{kind,
// seqno, data}} || 0x80. The result is deterministic.
func WrapConfig(account ed25519.PrivateKey, data []byte, seqno int64, ns int) ([]byte, error) {
	keys, err := accountKeys(account)
	if err != nil {
		return nil, err
	}
	defer keys.Wipe()
	if ns > 5 {
		return nil, &WrapperError{Reason: reasonBadOutgoingKind}
	}
	kind, err := wrapperKind(ns)
	if err != nil {
		return nil, err
	}
	content, err := marshalWrapper(&wire.Content{SharedConfigMessage: &wire.SharedConfigMessage{
		Kind:  kind.Enum(),
		Seqno: proto.Int64(seqno),
		Data:  append([]byte{}, data...), // present even when empty: the field is required
	}})
	if err != nil {
		return nil, fmt.Errorf("config: encode wrapper content: %w", err)
	}
	content = append(content, wrapperPadding)
	sealed, err := sessionproto.SealDeterministic(keys, key.AccountID(keys.X25519Public()), content)
	if err != nil {
		return nil, fmt.Errorf("config: seal wrapper: %w", err)
	}
	env, err := marshalWrapper(&wire.Envelope{
		Type:      wire.Envelope_SESSION_MESSAGE.Enum(),
		Timestamp: proto.Uint64(wrapperTimestamp),
		Content:   sealed,
	})
	if err != nil {
		return nil, fmt.Errorf("config: encode wrapper envelope: %w", err)
	}
	out, err := marshalWrapper(&wire.WebSocketMessage{
		Type: wire.WebSocketMessage_REQUEST.Enum(),
		Request: &wire.WebSocketRequestMessage{
			Verb:      proto.String(""),
			Path:      proto.String(""),
			Body:      env,
			RequestId: proto.Uint64(0),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("config: encode wrapper: %w", err)
	}
	return out, nil
}

// UnwrapConfig opens the protobuf wrapper of namespace ns and returns the
// config ciphertext inside (protos.cpp:123-182). It checks what libsession
// checks: a REQUEST WebSocketMessage whose body is an Envelope, content
// that opens with the account's key and was sealed by the account itself,
// the 0x80 padding, and a SharedConfigMessage of ns's kind. Failures are
// *WrapperError.
func UnwrapConfig(account ed25519.PrivateKey, data []byte, ns int) ([]byte, error) {
	keys, err := accountKeys(account)
	if err != nil {
		return nil, err
	}
	defer keys.Wipe()

	var msg wire.WebSocketMessage
	if err := proto.Unmarshal(data, &msg); err != nil {
		return nil, &WrapperError{Reason: reasonParseWebSocket, Err: err}
	}
	if msg.GetType() != wire.WebSocketMessage_REQUEST {
		return nil, &WrapperError{Reason: reasonNotRequest}
	}
	var env wire.Envelope
	if err := proto.Unmarshal(msg.GetRequest().GetBody(), &env); err != nil {
		return nil, &WrapperError{Reason: reasonParseEnvelope, Err: err}
	}
	// Go keeps unknown values of proto2 enums; C++ moves them to the
	// unknown fields, so that the required field is missing.
	if _, ok := wire.Envelope_Type_name[int32(env.GetType())]; !ok {
		return nil, &WrapperError{Reason: reasonParseEnvelope}
	}
	opened, err := sessionproto.Open(keys, env.GetContent())
	if err != nil {
		var le *sessionproto.LengthError
		switch {
		case errors.As(err, &le):
			return nil, &WrapperError{Reason: reasonShort, Err: err}
		case errors.Is(err, sessionproto.ErrSignature):
			return nil, &WrapperError{Reason: reasonSignature, Err: err}
		case errors.Is(err, sessionproto.ErrSenderKey):
			// libsession does not convert the sender's key; one that has
			// no X25519 form is not the account's own.
			return nil, &WrapperError{Reason: reasonNotFromUs, Err: err}
		default:
			return nil, &WrapperError{Reason: reasonDecrypt, Err: err}
		}
	}
	if opened.SenderEd25519 != keys.Ed25519Public() {
		return nil, &WrapperError{Reason: reasonNotFromUs}
	}
	content := opened.Plaintext
	if len(content) == 0 {
		return nil, &WrapperError{Reason: reasonEmpty}
	}
	if last := content[len(content)-1]; last != 0 && last != wrapperPadding {
		return nil, &WrapperError{Reason: reasonNoPadding}
	}
	trimmed := bytes.TrimRight(content, "\x00")
	if len(trimmed) == 0 || trimmed[len(trimmed)-1] != wrapperPadding {
		return nil, &WrapperError{Reason: reasonBadPadding}
	}
	var c wire.Content
	if err := proto.Unmarshal(trimmed[:len(trimmed)-1], &c); err != nil {
		return nil, &WrapperError{Reason: reasonParseContent, Err: err}
	}
	shared := c.GetSharedConfigMessage()
	if shared != nil {
		if _, ok := wire.SharedConfigMessage_Kind_name[int32(shared.GetKind())]; !ok {
			return nil, &WrapperError{Reason: reasonParseContent} // as for the envelope type
		}
	}
	if shared == nil {
		return nil, &WrapperError{Reason: reasonNoShared}
	}
	kind, err := wrapperKind(ns)
	if err != nil {
		return nil, err
	}
	if shared.GetKind() != kind {
		return nil, &WrapperError{Reason: reasonWrongKind}
	}
	return append([]byte{}, shared.GetData()...), nil
}

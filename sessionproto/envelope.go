package sessionproto

import (
	"crypto/rand"
	"fmt"

	"filippo.io/edwards25519"
	"google.golang.org/protobuf/proto"

	"sotto.dev/key"
	"sotto.dev/wire"
)

// ProSigLen is the size of Envelope.proSig, an Ed25519 signature.
const ProSigLen = 64

// sourceHexLen is the only non-empty Envelope.source length libsession
// accepts: a 33-byte Session ID in hex.
const sourceHexLen = 2 * key.SessionIDLen

// marshal encodes m. Field order is by number, as libsession's C++ emits
// it; Deterministic only matters for maps, which Session's schema has none
// of, but keeps the promise explicit.
func marshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// WrapLegacy frames a Session Protocol ciphertext the way pre-libsession
// desktop clients did (spec §2.3 (a), session-desktop MessageWrapper.ts):
// Envelope{type SESSION_MESSAGE, timestamp ts (ms), content ct} inside
// WebSocketRequestMessage{verb "PUT", path "/api/v1/message", requestId 0}
// inside WebSocketMessage{type REQUEST}. The result is what is stored in
// the recipient's swarm (base64 is the storage RPC's business).
func WrapLegacy(ct []byte, ts uint64) ([]byte, error) {
	if err := checkSealedLen(ct); err != nil {
		return nil, err
	}
	env := &wire.Envelope{
		Type:      wire.Envelope_SESSION_MESSAGE.Enum(),
		Timestamp: proto.Uint64(ts),
		Content:   ct,
	}
	return frame(env, legacyVerb, legacyPath)
}

// Wrap frames a Session Protocol ciphertext the way libsession (2025+)
// does (spec §2.3 (b), libsession-util encode_for_1o1): verb and path
// empty, requestId 0, Envelope.sourceDevice 1 and Envelope.proSig always
// present. proSig is the Session Pro signature over ct when the sender has
// Pro; when it is nil Wrap puts in a decoy (R = r·B and S for random
// scalars r and S) so that Pro and non-Pro messages look alike. A non-nil
// proSig must be 64 bytes.
func Wrap(ct []byte, ts uint64, proSig []byte) ([]byte, error) {
	if err := checkSealedLen(ct); err != nil {
		return nil, err
	}
	switch {
	case proSig == nil:
		d, err := decoySignature()
		if err != nil {
			return nil, err
		}
		proSig = d[:]
	case len(proSig) != ProSigLen:
		return nil, &LengthError{What: "Pro signature", Got: len(proSig), Want: "64"}
	}
	env := &wire.Envelope{
		Type:         wire.Envelope_SESSION_MESSAGE.Enum(),
		SourceDevice: proto.Uint32(1),
		Timestamp:    proto.Uint64(ts),
		Content:      ct,
		ProSig:       proSig,
	}
	return frame(env, "", "")
}

func checkSealedLen(ct []byte) error {
	if len(ct) < SealOverhead {
		return &LengthError{What: "sealed message", Got: len(ct), Want: fmt.Sprintf("at least %d", SealOverhead)}
	}
	return nil
}

func frame(env *wire.Envelope, verb, path string) ([]byte, error) {
	body, err := marshal(env)
	if err != nil {
		return nil, fmt.Errorf("sessionproto: encode envelope: %w", err)
	}
	msg := &wire.WebSocketMessage{
		Type: wire.WebSocketMessage_REQUEST.Enum(),
		Request: &wire.WebSocketRequestMessage{
			Verb:      proto.String(verb),
			Path:      proto.String(path),
			Body:      body,
			RequestId: proto.Uint64(0),
		},
	}
	out, err := marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("sessionproto: encode websocket message: %w", err)
	}
	return out, nil
}

// decoySignature returns a validly encoded Ed25519 signature that verifies
// against nothing: R = r·B for a random scalar r, and a random scalar S
// (libsession-util encode_for_destination).
func decoySignature() ([ProSigLen]byte, error) {
	var sig [ProSigLen]byte
	var buf [64]byte
	defer clear(buf[:])
	if _, err := rand.Read(buf[:]); err != nil {
		return sig, fmt.Errorf("sessionproto: read random decoy: %w", err)
	}
	r, _ := new(edwards25519.Scalar).SetUniformBytes(buf[:]) // 64 bytes: cannot fail
	copy(sig[:32], new(edwards25519.Point).ScalarBaseMult(r).Bytes())
	if _, err := rand.Read(buf[:]); err != nil {
		return sig, fmt.Errorf("sessionproto: read random decoy: %w", err)
	}
	s, _ := new(edwards25519.Scalar).SetUniformBytes(buf[:])
	copy(sig[32:], s.Bytes())
	return sig, nil
}

// Unwrap parses a stored 1:1 message (after base64 decoding): a
// WebSocketMessage whose request body is an Envelope. Both framings of
// spec §2.3 are accepted; verb, path and requestId are ignored, as all
// receivers do. Like libsession's decode_envelope it requires a request
// with a body, an Envelope with content, a proSig (when present) of 64
// bytes and a source (when present) that is empty or a 66-character hex
// Session ID. A bare Envelope without the WebSocketMessage layer is
// rejected (it has no request): libsession does not accept one for 1:1
// messages either.
func Unwrap(data []byte) (*wire.Envelope, error) {
	var msg wire.WebSocketMessage
	if err := proto.Unmarshal(data, &msg); err != nil {
		return nil, &FramingError{Layer: "WebSocketMessage", Reason: "not a valid protobuf", Err: err}
	}
	req := msg.GetRequest()
	if req == nil {
		return nil, &FramingError{Layer: "WebSocketMessage", Reason: "no request"}
	}
	if req.Body == nil {
		return nil, &FramingError{Layer: "WebSocketMessage", Reason: "request has no body"}
	}
	var env wire.Envelope
	if err := proto.Unmarshal(req.Body, &env); err != nil {
		return nil, &FramingError{Layer: "Envelope", Reason: "not a valid protobuf", Err: err}
	}
	if env.Content == nil {
		return nil, &FramingError{Layer: "Envelope", Reason: "no content"}
	}
	if env.ProSig != nil && len(env.ProSig) != ProSigLen {
		return nil, &FramingError{Layer: "Envelope", Reason: fmt.Sprintf("proSig is %d bytes, want 64", len(env.ProSig))}
	}
	if s := env.GetSource(); s != "" {
		if len(s) != sourceHexLen {
			return nil, &FramingError{Layer: "Envelope", Reason: fmt.Sprintf("source is %d characters, want 0 or 66", len(s))}
		}
		if _, err := key.ParseSessionID(s); err != nil {
			return nil, &FramingError{Layer: "Envelope", Reason: "source is not a session ID", Err: err}
		}
	}
	return &env, nil
}

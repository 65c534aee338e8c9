package sessionproto

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/wire"
)

// EncodeMessage turns a Content into the bytes to store in recipient's
// swarm (namespace 0), the way libsession (2025+) does: serialize, Pad,
// Seal with a random ephemeral key, Wrap with a decoy Pro signature. ts is
// the sent timestamp in milliseconds, which Quote.id, Reaction.id and the
// like refer to; callers normally also set content.SigTimestamp to it. The
// storage RPC sends the result base64-encoded.
func EncodeMessage(sender *identity.Keys, recipient key.SessionID, content *wire.Content, ts uint64) ([]byte, error) {
	if content == nil {
		return nil, fmt.Errorf("sessionproto: encode message: nil content")
	}
	raw, err := marshal(content)
	if err != nil {
		return nil, fmt.Errorf("sessionproto: encode content: %w", err)
	}
	padded := Pad(raw)
	clear(raw)
	ct, err := Seal(sender, recipient, padded)
	clear(padded)
	if err != nil {
		return nil, err
	}
	return Wrap(ct, ts, nil)
}

// Decoded is a received 1:1 message.
type Decoded struct {
	// Envelope is the outer envelope; Envelope.Content is the ciphertext.
	Envelope *wire.Envelope
	// Content is the decrypted message.
	Content *wire.Content
	// ContentBytes is the serialized Content, padding removed.
	ContentBytes []byte
	// Sender is the sender's standard Session ID.
	Sender key.SessionID
	// SenderEd25519 is the Ed25519 key that signed the message.
	SenderEd25519 key.AccountPublic
	// Timestamp is the sent timestamp in milliseconds (Envelope.timestamp).
	Timestamp uint64
}

// DecodeMessage reverses EncodeMessage for either framing (spec §2.3
// "Receiving 1:1"): Unwrap, check that the envelope is a SESSION_MESSAGE,
// Open with recipient's key, Unpad, parse the Content. data is the stored
// message after base64 decoding. Errors are those of Unwrap and Open,
// ErrEnvelopeType, and a *FramingError with Layer "Content" when the
// decrypted bytes are not a Content.
func DecodeMessage(recipient *identity.Keys, data []byte) (*Decoded, error) {
	env, err := Unwrap(data)
	if err != nil {
		return nil, err
	}
	if env.GetType() != wire.Envelope_SESSION_MESSAGE {
		return nil, fmt.Errorf("%w (type %v)", ErrEnvelopeType, env.GetType())
	}
	op, err := Open(recipient, env.Content)
	if err != nil {
		return nil, err
	}
	raw := Unpad(op.Plaintext)
	var content wire.Content
	if err := proto.Unmarshal(raw, &content); err != nil {
		return nil, &FramingError{Layer: "Content", Reason: "not a valid protobuf", Err: err}
	}
	return &Decoded{
		Envelope:      env,
		Content:       &content,
		ContentBytes:  raw,
		Sender:        op.Sender,
		SenderEd25519: op.SenderEd25519,
		Timestamp:     env.GetTimestamp(),
	}, nil
}

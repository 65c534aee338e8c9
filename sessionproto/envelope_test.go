package sessionproto

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"filippo.io/edwards25519"
	"google.golang.org/protobuf/proto"

	"sotto.dev/identity"
	"sotto.dev/internal/vectors"
	"sotto.dev/key"
	"sotto.dev/wire"
)

// TestLegacyDesktopWire builds the derived 1:1 wire example from its
// inputs, layer by layer, and decodes it again.
func TestLegacyDesktopWire(t *testing.T) {
	v := vectors.Get(t, "derived.one_to_one_wire_legacy_desktop")
	sender := keysFromBytes(t, v.InHex(t, "sender_ed25519_seed"))
	recipientID := parseID(t, v.InString(t, "recipient_session_id"))
	var ts uint64
	v.In(t, "envelope_timestamp_ms", &ts)

	padded := PadLegacy(v.InHex(t, "content_protobuf"))
	if want := v.OutHex(t, "padded_content"); !bytes.Equal(padded, want) {
		t.Fatalf("padded = %x, want %x", padded, want)
	}
	ct, err := SealDeterministic(sender, recipientID, padded)
	if err != nil {
		t.Fatal(err)
	}
	if want := v.OutHex(t, "encrypted_content"); !bytes.Equal(ct, want) {
		t.Fatalf("encrypted = %x, want %x", ct, want)
	}
	msg, err := WrapLegacy(ct, ts)
	if err != nil {
		t.Fatal(err)
	}
	if want := v.OutHex(t, "websocket_message"); !bytes.Equal(msg, want) {
		t.Fatalf("websocket message =\n %x\nwant\n %x", msg, want)
	}
	if got, want := base64.StdEncoding.EncodeToString(msg), v.OutString(t, "websocket_message_b64"); got != want {
		t.Errorf("base64 = %s, want %s", got, want)
	}

	// The recipient of this vector is the second identity test seed.
	recipient := keysFromHex(t, "00112233445566778899aabbccddeeff00000000000000000000000000000000")
	if recipient.SessionID() != recipientID {
		t.Fatalf("recipient seed does not match the vector's recipient")
	}
	d, err := DecodeMessage(recipient, msg)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Content.GetDataMessage().GetBody(); got != "hello" {
		t.Errorf("body = %q, want hello", got)
	}
	if d.Sender != sender.SessionID() || d.SenderEd25519 != sender.Ed25519Public() {
		t.Errorf("sender = %s, want %s", d.Sender, sender.SessionID())
	}
	if d.Timestamp != ts || d.Envelope.GetTimestamp() != ts {
		t.Errorf("timestamp = %d, want %d", d.Timestamp, ts)
	}
	if !bytes.Equal(d.ContentBytes, v.InHex(t, "content_protobuf")) {
		t.Errorf("content bytes = %x", d.ContentBytes)
	}
}

func TestWrap(t *testing.T) {
	ct := make([]byte, 200)
	rand.Read(ct)
	const ts = 1700000000123

	check := func(t *testing.T, data []byte) *wire.Envelope {
		t.Helper()
		var msg wire.WebSocketMessage
		if err := proto.Unmarshal(data, &msg); err != nil {
			t.Fatal(err)
		}
		req := msg.GetRequest()
		if msg.GetType() != wire.WebSocketMessage_REQUEST || req.Verb == nil || req.GetVerb() != "" ||
			req.Path == nil || req.GetPath() != "" || req.RequestId == nil || req.GetRequestId() != 0 {
			t.Errorf("request = %v, want REQUEST with empty verb and path and requestId 0", &msg)
		}
		env, err := Unwrap(data)
		if err != nil {
			t.Fatal(err)
		}
		if env.GetType() != wire.Envelope_SESSION_MESSAGE || env.GetTimestamp() != ts ||
			env.SourceDevice == nil || env.GetSourceDevice() != 1 || env.Source != nil || !bytes.Equal(env.Content, ct) {
			t.Errorf("envelope = %v", env)
		}
		if len(env.ProSig) != ProSigLen {
			t.Fatalf("proSig is %d bytes", len(env.ProSig))
		}
		return env
	}

	t.Run("decoy", func(t *testing.T) {
		a := check(t, must(Wrap(ct, ts, nil)))
		b := check(t, must(Wrap(ct, ts, nil)))
		if bytes.Equal(a.ProSig, b.ProSig) {
			t.Errorf("two decoys are equal")
		}
		// The decoy must look like a real signature: R a valid point,
		// S a canonical scalar.
		if _, err := new(edwards25519.Point).SetBytes(a.ProSig[:32]); err != nil {
			t.Errorf("decoy R is not a point: %v", err)
		}
		if _, err := new(edwards25519.Scalar).SetCanonicalBytes(a.ProSig[32:]); err != nil {
			t.Errorf("decoy S is not a canonical scalar: %v", err)
		}
	})
	t.Run("given", func(t *testing.T) {
		sig := bytes.Repeat([]byte{7}, ProSigLen)
		if env := check(t, must(Wrap(ct, ts, sig))); !bytes.Equal(env.ProSig, sig) {
			t.Errorf("proSig = %x, want %x", env.ProSig, sig)
		}
	})
	t.Run("legacy", func(t *testing.T) {
		env, err := Unwrap(must(WrapLegacy(ct, ts)))
		if err != nil {
			t.Fatal(err)
		}
		if env.ProSig != nil || env.SourceDevice != nil || !bytes.Equal(env.Content, ct) || env.GetTimestamp() != ts {
			t.Errorf("legacy envelope = %v", env)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestWrapErrors(t *testing.T) {
	ct := make([]byte, SealOverhead)
	tests := []struct {
		name string
		err  error
	}{
		{"short ciphertext", second(Wrap(ct[:SealOverhead-1], 1, nil))},
		{"empty ciphertext", second(Wrap(nil, 1, nil))},
		{"legacy short ciphertext", second(WrapLegacy(ct[:10], 1))},
		{"short proSig", second(Wrap(ct, 1, make([]byte, 63)))},
		{"long proSig", second(Wrap(ct, 1, make([]byte, 65)))},
		{"empty proSig", second(Wrap(ct, 1, []byte{}))},
	}
	for _, tt := range tests {
		if !isLengthError(tt.err) {
			t.Errorf("%s: err = %v, want *LengthError", tt.name, tt.err)
		}
	}
}

func second(_ []byte, err error) error { return err }

func TestUnwrapErrors(t *testing.T) {
	ct := make([]byte, SealOverhead)
	enc := func(m proto.Message) []byte {
		b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ws := func(body []byte) []byte {
		return enc(&wire.WebSocketMessage{Type: wire.WebSocketMessage_REQUEST.Enum(), Request: &wire.WebSocketRequestMessage{Body: body}})
	}
	env := func(e *wire.Envelope) []byte { return ws(enc(e)) }
	six := wire.Envelope_SESSION_MESSAGE.Enum()

	tests := []struct {
		name  string
		data  []byte
		layer string
	}{
		{"empty", nil, "WebSocketMessage"},
		{"garbage", []byte{0xff, 0xff, 0xff}, "WebSocketMessage"},
		{"bare envelope", enc(&wire.Envelope{Type: six, Timestamp: proto.Uint64(1), Content: ct}), "WebSocketMessage"},
		{"no request", enc(&wire.WebSocketMessage{Type: wire.WebSocketMessage_REQUEST.Enum()}), "WebSocketMessage"},
		{"no body", enc(&wire.WebSocketMessage{Request: &wire.WebSocketRequestMessage{Verb: proto.String("PUT")}}), "WebSocketMessage"},
		{"body not an envelope", ws([]byte{0xff}), "Envelope"},
		{"envelope without timestamp", env(&wire.Envelope{Type: six, Content: ct}), "Envelope"},
		{"envelope without type", env(&wire.Envelope{Timestamp: proto.Uint64(1), Content: ct}), "Envelope"},
		{"envelope without content", env(&wire.Envelope{Type: six, Timestamp: proto.Uint64(1)}), "Envelope"},
		{"short proSig", env(&wire.Envelope{Type: six, Timestamp: proto.Uint64(1), Content: ct, ProSig: make([]byte, 32)}), "Envelope"},
		{"empty proSig", env(&wire.Envelope{Type: six, Timestamp: proto.Uint64(1), Content: ct, ProSig: []byte{}}), "Envelope"},
		{"short source", env(&wire.Envelope{Type: six, Timestamp: proto.Uint64(1), Content: ct, Source: proto.String("05ab")}), "Envelope"},
		{"source not hex", env(&wire.Envelope{Type: six, Timestamp: proto.Uint64(1), Content: ct, Source: proto.String(string(bytes.Repeat([]byte("z"), 66)))}), "Envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Unwrap(tt.data)
			var fe *FramingError
			if e != nil || !errors.As(err, &fe) || fe.Layer != tt.layer {
				t.Errorf("Unwrap = %v, %v; want a %s FramingError", e, err, tt.layer)
			}
		})
	}

	// What libsession accepts: an empty source (iOS, Android) or a
	// Session ID, and a missing proSig (older senders).
	src := "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
	for _, s := range []*string{nil, proto.String(""), proto.String(src)} {
		if _, err := Unwrap(env(&wire.Envelope{Type: six, Timestamp: proto.Uint64(1), Content: ct, Source: s})); err != nil {
			t.Errorf("Unwrap with source %v: %v", s, err)
		}
	}
}

func TestEncodeDecodeMessage(t *testing.T) {
	alice, bob := newKeys(t), newKeys(t)
	const ts = 1700000000000
	content := &wire.Content{
		DataMessage:  &wire.DataMessage{Body: proto.String("hi bob"), SyncTarget: proto.String(bob.SessionID().String())},
		SigTimestamp: proto.Uint64(ts),
	}
	data, err := EncodeMessage(alice, bob.SessionID(), content, ts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeMessage(bob, data)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(d.Content, content) {
		t.Errorf("content = %v, want %v", d.Content, content)
	}
	if d.Sender != alice.SessionID() || d.Timestamp != ts {
		t.Errorf("sender, ts = %s, %d", d.Sender, d.Timestamp)
	}
	if d.Envelope.GetSourceDevice() != 1 || len(d.Envelope.ProSig) != ProSigLen {
		t.Errorf("not libsession framing: %v", d.Envelope)
	}
	// Padding is the libsession kind: a multiple of 160.
	if n := len(d.Envelope.Content) - SealOverhead; n%padBlock != 0 {
		t.Errorf("padded content is %d bytes", n)
	}
	if _, err := DecodeMessage(alice, data); !errors.Is(err, ErrDecrypt) {
		t.Errorf("DecodeMessage with the wrong key: %v, want ErrDecrypt", err)
	}
}

func TestEncodeMessageErrors(t *testing.T) {
	alice := newKeys(t)
	if _, err := EncodeMessage(alice, alice.SessionID(), nil, 1); err == nil {
		t.Errorf("EncodeMessage accepted a nil Content")
	}
	// A Content whose required fields are missing does not serialize.
	bad := &wire.Content{TypingMessage: &wire.TypingMessage{}}
	if _, err := EncodeMessage(alice, alice.SessionID(), bad, 1); err == nil {
		t.Errorf("EncodeMessage accepted a Content missing required fields")
	}
	if _, err := EncodeMessage(alice, blindedOf(t, alice), &wire.Content{}, 1); !isPrefixError(err) {
		t.Errorf("EncodeMessage to a blinded ID: %v", err)
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	alice, bob := newKeys(t), newKeys(t)

	// A closed-group envelope in a 1:1 inbox.
	ct, err := Seal(alice, bob.SessionID(), Pad([]byte{0x0a, 0x00}))
	if err != nil {
		t.Fatal(err)
	}
	env := &wire.Envelope{Type: wire.Envelope_CLOSED_GROUP_MESSAGE.Enum(), Timestamp: proto.Uint64(1), Content: ct}
	body, _ := proto.Marshal(env)
	data, _ := proto.Marshal(&wire.WebSocketMessage{Request: &wire.WebSocketRequestMessage{Body: body}})
	if _, err := DecodeMessage(bob, data); !errors.Is(err, ErrEnvelopeType) {
		t.Errorf("closed group envelope: %v, want ErrEnvelopeType", err)
	}

	// A sealed payload that is not a Content.
	ct, err = Seal(alice, bob.SessionID(), Pad([]byte{0xff, 0xff}))
	if err != nil {
		t.Fatal(err)
	}
	var fe *FramingError
	if _, err := DecodeMessage(bob, must(Wrap(ct, 1, nil))); !errors.As(err, &fe) || fe.Layer != "Content" {
		t.Errorf("garbage content: %v, want a Content FramingError", err)
	}
}

func FuzzUnwrap(f *testing.F) {
	ct := make([]byte, SealOverhead+160)
	f.Add(must(WrapLegacy(ct, 1700000000000)))
	f.Add(must(Wrap(ct, 1, nil)))
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Unwrap(data)
		if (env == nil) == (err == nil) {
			t.Fatalf("Unwrap returned %v, %v", env, err)
		}
		if err != nil || len(env.Content) < SealOverhead {
			return
		}
		// Round trip: re-framing the content gives the same envelope fields.
		for _, again := range [][]byte{must(WrapLegacy(env.Content, env.GetTimestamp())), must(Wrap(env.Content, env.GetTimestamp(), env.ProSig))} {
			e2, err := Unwrap(again)
			if err != nil {
				t.Fatalf("Unwrap of re-framed message: %v", err)
			}
			if !bytes.Equal(e2.Content, env.Content) || e2.GetTimestamp() != env.GetTimestamp() {
				t.Fatalf("re-framed envelope differs")
			}
		}
	})
}

func blindedOf(t testing.TB, k *identity.Keys) key.SessionID {
	t.Helper()
	kp, err := k.Blind15([32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	return kp.ID().SessionID()
}

package wire_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"google.golang.org/protobuf/proto"

	"sotto.dev/internal/vectors"
	"sotto.dev/wire"
)

// TestLegacyDesktopFraming decodes the derived 1:1 wire example layer by
// layer and checks that Go re-encodes every layer to the same bytes.
func TestLegacyDesktopFraming(t *testing.T) {
	v := vectors.Get(t, "derived.one_to_one_wire_legacy_desktop")
	raw := v.OutHex(t, "websocket_message")
	var ts uint64
	v.In(t, "envelope_timestamp_ms", &ts)

	var msg wire.WebSocketMessage
	if err := proto.Unmarshal(raw, &msg); err != nil {
		t.Fatalf("unmarshal WebSocketMessage: %v", err)
	}
	if msg.GetType() != wire.WebSocketMessage_REQUEST {
		t.Errorf("type = %v, want REQUEST", msg.GetType())
	}
	req := msg.GetRequest()
	if req.GetVerb() != "PUT" || req.GetPath() != "/api/v1/message" {
		t.Errorf("verb, path = %q, %q", req.GetVerb(), req.GetPath())
	}
	if req.RequestId == nil || req.GetRequestId() != 0 {
		t.Errorf("requestId = %v, want explicit 0", req.RequestId)
	}

	var env wire.Envelope
	if err := proto.Unmarshal(req.GetBody(), &env); err != nil {
		t.Fatalf("unmarshal Envelope: %v", err)
	}
	if env.GetType() != wire.Envelope_SESSION_MESSAGE {
		t.Errorf("envelope type = %v", env.GetType())
	}
	if env.GetTimestamp() != ts {
		t.Errorf("timestamp = %d, want %d", env.GetTimestamp(), ts)
	}
	if want := v.OutHex(t, "encrypted_content"); !bytes.Equal(env.GetContent(), want) {
		t.Errorf("content differs from encrypted_content")
	}
	if env.Source != nil || env.SourceDevice != nil || env.ProSig != nil {
		t.Errorf("legacy envelope carries libsession-only fields: %v", &env)
	}

	opts := proto.MarshalOptions{Deterministic: true}
	envBytes, err := opts.Marshal(&env)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(envBytes, req.GetBody()) {
		t.Errorf("Envelope re-encoding differs:\n got %x\nwant %x", envBytes, req.GetBody())
	}
	again, err := opts.Marshal(&msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, raw) {
		t.Errorf("WebSocketMessage re-encoding differs:\n got %x\nwant %x", again, raw)
	}

	var content wire.Content
	if err := proto.Unmarshal(v.InHex(t, "content_protobuf"), &content); err != nil {
		t.Fatalf("unmarshal Content: %v", err)
	}
	if got := content.GetDataMessage().GetBody(); got != "hello" {
		t.Errorf("body = %q, want hello", got)
	}
}

// TestRequiredFields checks that proto2 required fields are enforced in both
// directions, as Session's C++ and JavaScript decoders do.
func TestRequiredFields(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		msg  proto.Message
	}{
		{"envelope without timestamp", []byte{0x08, 0x06}, &wire.Envelope{}},
		{"envelope without type", []byte{0x28, 0x01}, &wire.Envelope{}},
		{"typing without action", []byte{0x08, 0x01}, &wire.TypingMessage{}},
		{"content with incomplete unsend", []byte{0x4a, 0x02, 0x08, 0x01}, &wire.Content{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := proto.Unmarshal(tt.data, tt.msg); err == nil {
				t.Errorf("Unmarshal accepted a message missing a required field")
			}
		})
	}
	if _, err := proto.Marshal(&wire.Envelope{Type: wire.Envelope_SESSION_MESSAGE.Enum()}); err == nil {
		t.Errorf("Marshal accepted an Envelope without timestamp")
	}
}

// TestFieldNumbers pins the field numbers of §2.4 that the rest of the code
// relies on, so an edit of the .proto cannot silently move them.
func TestFieldNumbers(t *testing.T) {
	tests := []struct {
		msg   proto.Message
		field string
		num   int32
	}{
		{&wire.Envelope{}, "type", 1},
		{&wire.Envelope{}, "source", 2},
		{&wire.Envelope{}, "timestamp", 5},
		{&wire.Envelope{}, "sourceDevice", 7},
		{&wire.Envelope{}, "content", 8},
		{&wire.Envelope{}, "serverTimestamp", 10},
		{&wire.Envelope{}, "proSig", 11},
		{&wire.WebSocketRequestMessage{}, "verb", 1},
		{&wire.WebSocketRequestMessage{}, "path", 2},
		{&wire.WebSocketRequestMessage{}, "body", 3},
		{&wire.WebSocketRequestMessage{}, "requestId", 4},
		{&wire.WebSocketRequestMessage{}, "headers", 5},
		{&wire.WebSocketMessage{}, "request", 2},
		{&wire.WebSocketMessage{}, "response", 3},
		{&wire.Content{}, "dataMessage", 1},
		{&wire.Content{}, "configurationMessage", 7},
		{&wire.Content{}, "unsendRequest", 9},
		{&wire.Content{}, "sharedConfigMessage", 11},
		{&wire.Content{}, "sigTimestamp", 15},
		{&wire.Content{}, "proMessage", 16},
		{&wire.Content{}, "proSigForCommunityMessageOnly", 17},
		{&wire.DataMessage{}, "profile", 101},
		{&wire.DataMessage{}, "closedGroupControlMessage", 104},
		{&wire.DataMessage{}, "syncTarget", 105},
		{&wire.DataMessage{}, "groupUpdateMessage", 120},
		{&wire.AttachmentPointer{}, "url", 101},
		{&wire.LokiProfile{}, "lastProfileUpdateSeconds", 3},
	}
	for _, tt := range tests {
		d := tt.msg.ProtoReflect().Descriptor()
		f := d.Fields().ByJSONName(tt.field)
		if f == nil {
			t.Errorf("%s has no field %s", d.FullName(), tt.field)
			continue
		}
		if int32(f.Number()) != tt.num {
			t.Errorf("%s.%s = %d, want %d", d.FullName(), tt.field, f.Number(), tt.num)
		}
	}
	if r := (&wire.Content{}).ProtoReflect().Descriptor().ReservedRanges(); r.Len() == 0 || !r.Has(14) {
		t.Errorf("Content field 14 is not reserved")
	}
}

var protocVersionLine = regexp.MustCompile(`(?m)^// \tprotoc +v.*\n`)

// TestGeneratedCodeUpToDate regenerates the Go code into a temporary
// directory and compares it with the committed files. It needs protoc and
// builds protoc-gen-go, so it is skipped in -short mode and without protoc.
func TestGeneratedCodeUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("protoc not installed")
	}
	plugin, err := filepath.Abs("protoc-gen-go.sh")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	files := []string{"SessionProtos.proto", "WebSocketResources.proto"}
	args := append([]string{"--plugin=protoc-gen-go=" + plugin, "--go_out=" + out, "--go_opt=paths=source_relative"}, files...)
	cmd := exec.Command("protoc", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	for _, f := range files {
		name := f[:len(f)-len(".proto")] + ".pb.go"
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		// A different protoc release only changes the version comment.
		want = protocVersionLine.ReplaceAll(want, nil)
		got = protocVersionLine.ReplaceAll(got, nil)
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./wire", name)
		}
	}
}

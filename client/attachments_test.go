package client

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"sotto.dev/attachment"
	"sotto.dev/client/store"
	"sotto.dev/wire"
)

func TestOggDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want int64
	}{
		{"opus 3 s", oggOpus(t, 3000, 1000), 3000},
		{"opus 61.5 s", oggOpus(t, 61500, 70<<10), 61500},
		{"not ogg", []byte("hello, world"), 0},
		{"empty", nil, 0},
		{"head only", oggOpus(t, 0, 0)[:30], 0},
	} {
		if got := oggDuration(bytes.NewReader(tc.data), int64(len(tc.data))); got != tc.want {
			t.Errorf("%s: %d ms, want %d", tc.name, got, tc.want)
		}
	}
}

func TestCleanFileName(t *testing.T) {
	for in, want := range map[string]string{
		"photo.png":              "photo.png",
		"../../etc/passwd":       ".._.._etc_passwd",
		"a\\b":                   "a_b",
		"..":                     "",
		" spaced.txt ":           "spaced.txt",
		"bell\a.txt":             "bell_.txt",
		"bad\xffutf8":            "bad_utf8",
		strings.Repeat("é", 200): strings.Repeat("é", 127),
	} {
		if got := cleanFileName(in); got != want {
			t.Errorf("cleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckPointer(t *testing.T) {
	det := "http://127.0.0.1:9/file/abc#p=" + strings.Repeat("11", 32) + "&d="
	legacy := "http://127.0.0.1:9/file/abc"
	k32, k64, d32 := make([]byte, 32), make([]byte, 64), make([]byte, 32)
	for _, tc := range []struct {
		name string
		p    *wire.AttachmentPointer
		ok   bool
	}{
		{"deterministic", &wire.AttachmentPointer{Url: proto.String(det), Key: k32}, true},
		{"deterministic with digest", &wire.AttachmentPointer{Url: proto.String(det), Key: k32, Digest: d32}, true},
		{"legacy", &wire.AttachmentPointer{Url: proto.String(legacy), Key: k64, Digest: d32}, true},
		{"legacy without digest", &wire.AttachmentPointer{Url: proto.String(legacy), Key: k64}, false},
		{"deterministic with a legacy key", &wire.AttachmentPointer{Url: proto.String(det), Key: k64}, false},
		{"short digest", &wire.AttachmentPointer{Url: proto.String(det), Key: k32, Digest: d32[:31]}, false},
		{"no URL", &wire.AttachmentPointer{Key: k32}, false},
		{"bad URL", &wire.AttachmentPointer{Url: proto.String("ftp://x/file/a#d"), Key: k32}, false},
		{"legacy manifest", &wire.AttachmentPointer{Url: proto.String(legacy), Key: k64, Digest: d32, ContentType: proto.String(ManifestContentType)}, false},
	} {
		err := checkPointer(tc.p)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		var ae *AttachmentError
		if err != nil && !errors.As(err, &ae) {
			t.Errorf("%s: %T is not an *AttachmentError", tc.name, err)
		}
	}
}

func TestDescribe(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, file string
		data       []byte
		voice      bool
		want       store.Attachment
	}{
		{"png", "a.png", pngOf(t, 30, 20, 0), false, store.Attachment{ContentType: "image/png", Width: 30, Height: 20}},
		{"png named .bin", "a.bin", pngOf(t, 3, 2, 0), false, store.Attachment{ContentType: "image/png", Width: 3, Height: 2}},
		{"ogg without a name extension", "sound", oggOpus(t, 2000, 100), false, store.Attachment{ContentType: "application/ogg", DurationMS: 2000}},
		{"voice", "v.ogg", oggOpus(t, 1500, 100), true, store.Attachment{ContentType: "audio/ogg", Flags: 1, DurationMS: 1500}},
		{"text", "t.txt", []byte("hello\n"), false, store.Attachment{ContentType: "text/plain"}},
		{"unknown", "noext", []byte{0, 1, 2}, false, store.Attachment{ContentType: "application/octet-stream"}},
	} {
		p := writeFile(t, dir, tc.file, tc.data)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		row := &store.Attachment{FileName: tc.file}
		err = describe(row, f, int64(len(tc.data)), OutgoingFile{Path: p, Voice: tc.voice})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		tc.want.FileName = tc.file
		if !reflect.DeepEqual(*row, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, *row, tc.want)
		}
	}
}

func TestServerDest(t *testing.T) {
	d, prefix, err := serverDest("http://127.0.0.1:8080/files/", [32]byte{1})
	if err != nil || d.Host != "127.0.0.1" || d.Port != 8080 || d.Protocol != "http" || prefix != "/files" {
		t.Errorf("%+v %q %v", d, prefix, err)
	}
	d, prefix, err = serverDest("http://filev2.getsession.org", [32]byte{1})
	if err != nil || d.Port != 80 || prefix != "" {
		t.Errorf("%+v %q %v", d, prefix, err)
	}
	for _, bad := range []string{"ftp://x", "http://", "http://x:99999", "::"} {
		if _, _, err := serverDest(bad, [32]byte{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAttachmentsOffline: received pointers are stored pending (or failed
// when malformed), quotes name the quoted attachments, local copies
// decrypt and verify, and orphaned copies are removed.
func TestAttachmentsOffline(t *testing.T) {
	a := newAccount(t, "a")
	peer := newAccount(t, "b").id()
	c, err := Open(Config{Home: t.TempDir()}, a.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	plain := []byte("the attachment's bytes")
	seed := attachment.Seed{7}
	sealed, k, err := attachment.Seal(&seed, attachment.DomainAttachment, plain)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:9/file/abcd#p=" + strings.Repeat("22", 32) + "&d="
	ptrs := []*wire.AttachmentPointer{
		{Id: proto.Uint64(0), Url: proto.String(url), Key: k[:], Size: proto.Uint32(uint32(len(plain))),
			FileName: proto.String("../x.txt"), ContentType: proto.String("text/plain")},
		{Id: proto.Uint64(0), Url: proto.String("nonsense"), Key: k[:]},
	}
	var msgID int64
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		m := &store.Message{Conversation: peer, Author: peer, SentAt: 1000, ReceivedAt: 1000, State: store.StateReceived}
		if _, _, err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
		msgID = m.ID
		return c.storePointers(ctx, tx, m.ID, ptrs)
	})
	if err != nil {
		t.Fatal(err)
	}
	as, err := c.AttachmentsOf(ctx, msgID)
	if err != nil || len(as) != 2 {
		t.Fatalf("%v %v", as, err)
	}
	if as[0].State != store.AttachmentPending || as[0].FileName != ".._x.txt" || as[0].Size != int64(len(plain)) {
		t.Errorf("first: %+v", as[0])
	}
	if as[1].State != store.AttachmentFailed || !strings.Contains(as[1].Error, "URL") {
		t.Errorf("second: %+v", as[1])
	}
	if err := c.WriteAttachment(ctx, as[0].ID, &bytes.Buffer{}); err == nil {
		t.Error("an attachment not downloaded was written")
	}
	// A stranger's attachments wait until the sender is accepted.
	if due, err := c.db.DueAttachments(ctx, 1<<62, 10); err != nil || len(due) != 0 {
		t.Errorf("due before accepting: %v %v", due, err)
	}
	if err := c.db.SetApproved(ctx, peer, true, 1000); err != nil {
		t.Fatal(err)
	}
	if due, err := c.db.DueAttachments(ctx, 1<<62, 10); err != nil || len(due) != 1 || due[0].ID != as[0].ID {
		t.Errorf("due after accepting: %v %v", due, err)
	}
	if at, ok, err := c.db.NextAttachment(ctx); err != nil || !ok || at != 0 {
		t.Errorf("next attachment: %d %v %v", at, ok, err)
	}

	// Pretend the download happened: the blob kept, the row done.
	tmp, err := c.newLocalDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "0"), sealed, 0o600); err != nil {
		t.Fatal(err)
	}
	local, err := c.commitLocalDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.db.AttachmentDone(ctx, as[0].ID, local, int64(len(plain)), nil, 0); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.WriteAttachment(ctx, as[0].ID, &out); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("write: %q %v", out.Bytes(), err)
	}
	saveDir := t.TempDir()
	paths, err := c.SaveAttachments(ctx, peer, msgID, saveDir)
	if err == nil || len(paths) != 1 || filepath.Base(paths[0]) != ".._x.txt" {
		t.Errorf("save: %v %v (the second attachment cannot be saved offline)", paths, err)
	}
	// A damaged local copy is an error, not a file.
	sealed[len(sealed)-3] ^= 1
	if err := os.WriteFile(filepath.Join(c.attachmentsDir(), local, "0"), sealed, 0o600); err != nil {
		t.Fatal(err)
	}
	var ae *AttachmentError
	if err := c.WriteAttachment(ctx, as[0].ID, &bytes.Buffer{}); !errors.As(err, &ae) {
		t.Errorf("damaged copy: %v", err)
	}

	// A quote of the message names its attachments.
	q := &wire.DataMessage_Quote{}
	err = c.db.Update(ctx, func(tx *store.Tx) error { return quoteAttachments(ctx, tx, q, msgID) })
	if err != nil || len(q.Attachments) != 2 || q.Attachments[0].GetFileName() != ".._x.txt" || q.Attachments[0].GetContentType() != "text/plain" {
		t.Errorf("quote: %v %v", q.Attachments, err)
	}

	// Unsent: the rows go, and the directory with them once it is old.
	err = c.db.Update(ctx, func(tx *store.Tx) error { return tx.MarkUnsent(ctx, msgID) })
	if err != nil {
		t.Fatal(err)
	}
	if as, _ := c.AttachmentsOf(ctx, msgID); len(as) != 0 {
		t.Errorf("attachments left after unsend: %v", as)
	}
	dir := filepath.Join(c.attachmentsDir(), local)
	c.removeOrphans(ctx)
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("a fresh directory was removed: %v", err)
	}
	old := time.Now().Add(-2 * orphanGrace)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	c.removeOrphans(ctx)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan kept: %v", err)
	}
}

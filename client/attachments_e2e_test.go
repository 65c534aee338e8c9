package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"sotto.dev/attachment"
	"sotto.dev/client/store"
	"sotto.dev/fileserver"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/wire"
)

// fileServer runs a real file server on 127.0.0.1 for the test and lists
// it in nw's network file (open clients after this).
// It returns the server's directory. tune, if given, adjusts the
// configuration (Session's defaults otherwise).
func fileServer(t testing.TB, nw *testnet.Network, tune ...func(*fileserver.Config)) string {
	t.Helper()
	dir, _ := startFileServer(t, nw, tune...)
	return dir
}

// startFileServer is fileServer, returning the server too (its metrics).
func startFileServer(t testing.TB, nw *testnet.Network, tune ...func(*fileserver.Config)) (string, *fileserver.Server) {
	t.Helper()
	dir := t.TempDir()
	keys, _, err := fileserver.LoadOrCreateKeys(filepath.Join(dir, fileserver.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	cfg := fileserver.DefaultConfig()
	cfg.Dir, cfg.Listen = dir, "127.0.0.1:0"
	for _, f := range tune {
		f(&cfg)
	}
	srv, err := fileserver.New(cfg, fileserver.Deps{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("file server: %v", err)
		}
	})
	err = nw.SetFileServers([]testnet.FileServerEntry{{
		URL: "http://" + srv.Addr().String(), PubkeyX25519: keys.X25519Public().String(), PubkeyEd25519: keys.Ed25519Public().String(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, srv
}

// writeFile writes b to a new file in dir and returns its path.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// pngOf is a w×h PNG followed by pad random bytes (image decoders read
// the header; the padding makes the file as large as a photo).
func pngOf(t testing.TB, w, h, pad int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	img.Set(1, 1, color.NRGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return append(buf.Bytes(), randomBytes(t, pad)...)
}

// oggOpus is a minimal Ogg Opus stream: an OpusHead page with pre-skip
// 312, body bytes, and a last page whose granule position makes ms
// milliseconds.
func oggOpus(t testing.TB, ms int64, body int) []byte {
	t.Helper()
	page := func(granule uint64, payload []byte) []byte {
		p := []byte("OggS\x00\x02")
		p = binary.LittleEndian.AppendUint64(p, granule)
		p = append(p, make([]byte, 13)...)
		return append(p, payload...)
	}
	head := append([]byte("OpusHead\x01\x01"), 0, 0, 0x80, 0xbb, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint16(head[10:], 312)
	out := page(0, head)
	filler := bytes.ReplaceAll(randomBytes(t, body), []byte("OggS"), []byte("oggs"))
	out = append(out, filler...)
	return append(out, page(uint64(ms*48+312), []byte{0})...)
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

func fileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum(b)
}

// attachmentsSettled waits until every attachment of the messages of
// peer's conversation on d is done or failed, and there are want of them.
func (d *device) attachmentsSettled(peer key.SessionID, want int, timeout time.Duration) map[int64][]*store.Attachment {
	d.t.Helper()
	var out map[int64][]*store.Attachment
	d.waitFor("attachments", timeout, func() bool {
		out = map[int64][]*store.Attachment{}
		n := 0
		for _, m := range d.history(peer) {
			as, err := d.c.AttachmentsOf(context.Background(), m.ID)
			if err != nil {
				d.t.Fatal(err)
			}
			for _, a := range as {
				if a.State == store.AttachmentPending {
					return false
				}
				n++
			}
			out[m.ID] = as
		}
		return n == want
	})
	return out
}

// TestAttachments: Alice sends Bob, while Bob's client is offline, a 5 MB
// photo with a voice note in one message and a 40 MB file (chunked) in
// another, with her profile picture set; one file is damaged on the
// server and two pointers are forged. Bob's client, started later,
// downloads what verifies, saves byte-identical files, reports the rest
// as failed attachments, and caches Alice's picture.
func TestAttachments(t *testing.T) {
	nw, alice, bob := pair(t)
	fsDir := fileServer(t, nw)
	ctx := context.Background()
	work := t.TempDir()

	photo := pngOf(t, 640, 480, 5<<20)
	big := randomBytes(t, 40<<20)
	voice := oggOpus(t, 3000, 40<<10)
	small := randomBytes(t, 100<<10)
	pic := pngOf(t, 64, 64, 0)

	a := alice.open(t, nw, "", devOpts{noServe: true})
	if err := a.c.UploadProfilePicture(ctx, writeFile(t, work, "me.png", pic)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m1, err := a.c.Send(ctx, bob.id(), "holiday", SendOptions{Files: []OutgoingFile{
		{Path: writeFile(t, work, "photo.png", photo)},
		{Path: writeFile(t, work, "note.ogg", voice), Voice: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("5 MB photo and voice note sent in %v", time.Since(start))
	start = time.Now()
	var uploads []Progress
	m2, err := a.c.Send(ctx, bob.id(), "", SendOptions{
		Files:    []OutgoingFile{{Path: writeFile(t, work, "big.bin", big)}},
		Progress: func(p Progress) { uploads = append(uploads, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("40 MB file sent in %v (%.1f MB/s)", time.Since(start), 40/time.Since(start).Seconds())
	if n := len(uploads); n < 6 || uploads[n-1].Done != 40<<20 || uploads[n-1].Total != 40<<20 {
		t.Errorf("upload progress: %+v", uploads)
	}
	if as, err := a.c.AttachmentsOf(ctx, m2.ID); err != nil || len(as) != 1 || !as[0].IsManifest || as[0].Size != 40<<20 || as[0].State != store.AttachmentDone {
		t.Errorf("Alice's large attachment: %+v %v", as, err)
	}
	m3, err := a.c.Send(ctx, bob.id(), "damaged", SendOptions{Files: []OutgoingFile{{Path: writeFile(t, work, "small.bin", small)}}})
	if err != nil {
		t.Fatal(err)
	}
	// Damage the small file's blob on the server: the server itself
	// notices and refuses to serve it (docs/fileserver.md).
	a3, err := a.c.AttachmentsOf(ctx, m3.ID)
	if err != nil || len(a3) != 1 {
		t.Fatalf("attachments of m3: %v %v", a3, err)
	}
	u3, err := attachment.ParseURL(a3[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	id := u3.FileID()
	blobPath := filepath.Join(fsDir, "blobs", id[:2], id)
	b, err := os.ReadFile(blobPath)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(blobPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// Two forged pointers: the voice note's with a wrong digest, and with
	// a wrong key; Bob's client must check both itself.
	a1, err := a.c.AttachmentsOf(ctx, m1.ID)
	if err != nil || len(a1) != 2 {
		t.Fatalf("attachments of m1: %v %v", a1, err)
	}
	badDigest := pointerOf(a1[1])
	badDigest.Digest[0] ^= 1
	badKey := pointerOf(a1[1])
	badKey.Key[5] ^= 1
	a.sendRaw(bob.id(), &wire.DataMessage{Body: proto.String("forged"), Attachments: []*wire.AttachmentPointer{badDigest, badKey}})
	// A file in the legacy form, as Session desktop sends them.
	legacy := randomBytes(t, 300<<10)
	lk, err := attachment.NewLegacyKey()
	if err != nil {
		t.Fatal(err)
	}
	iv, err := attachment.NewLegacyIV()
	if err != nil {
		t.Fatal(err)
	}
	lblob, ldigest := attachment.SealLegacy(&lk, &iv, legacy)
	fs, err := a.c.PickFileServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lu, _, err := a.c.net.upload(ctx, fs, lblob, false)
	if err != nil {
		t.Fatal(err)
	}
	a.sendRaw(bob.id(), &wire.DataMessage{Body: proto.String("legacy"), Attachments: []*wire.AttachmentPointer{{
		Id: proto.Uint64(0), Url: proto.String(lu.String()), Key: lk[:], Digest: ldigest[:], Size: proto.Uint32(uint32(len(legacy))),
		FileName: proto.String("legacy.bin"), ContentType: proto.String("application/octet-stream"),
	}}})

	// Bob's client starts: the messages wait in his requests, their
	// attachments pending until he accepts Alice.
	start = time.Now()
	b1 := bob.open(t, nw, "", devOpts{})
	b1.waitFor("Alice's messages", time.Minute, func() bool { return len(b1.history(alice.id())) == 5 })
	for _, m := range b1.history(alice.id()) {
		as, err := b1.c.AttachmentsOf(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range as {
			if x.State == store.AttachmentDone {
				t.Errorf("%s downloaded before Alice was accepted", x.FileName)
			}
		}
	}
	if err := b1.c.Accept(ctx, alice.id()); err != nil {
		t.Fatal(err)
	}
	got := b1.attachmentsSettled(alice.id(), 7, 3*time.Minute)
	t.Logf("Bob has everything %v after starting (and accepting Alice)", time.Since(start))
	byBody := map[string][]*store.Attachment{}
	for _, m := range b1.history(alice.id()) {
		byBody[m.Body] = got[m.ID]
	}

	// The photo and the voice note.
	h := byBody["holiday"]
	if len(h) != 2 {
		t.Fatalf("holiday: %d attachments", len(h))
	}
	if h[0].State != store.AttachmentDone || h[0].Width != 640 || h[0].Height != 480 || h[0].ContentType != "image/png" || h[0].FileName != "photo.png" {
		t.Errorf("photo: %+v", h[0])
	}
	if h[1].State != store.AttachmentDone || h[1].Flags != uint32(wire.AttachmentPointer_VOICE_MESSAGE) || h[1].DurationMS != 3000 || h[1].ContentType != "audio/ogg" {
		t.Errorf("voice note: %+v", h[1])
	}
	saveDir := t.TempDir()
	var bobM1, bobM2, bobM3 int64
	for _, m := range b1.history(alice.id()) {
		switch m.Body {
		case "holiday":
			bobM1 = m.ID
		case "":
			bobM2 = m.ID
		case "damaged":
			bobM3 = m.ID
		}
	}
	paths, err := b1.c.SaveAttachments(ctx, alice.id(), bobM1, saveDir)
	if err != nil || len(paths) != 2 {
		t.Fatalf("save: %v %v", paths, err)
	}
	if fileSum(t, paths[0]) != sum(photo) || fileSum(t, paths[1]) != sum(voice) {
		t.Error("saved photo or voice note differs")
	}

	// The 40 MB file.
	l := byBody[""]
	if len(l) != 1 || l[0].State != store.AttachmentDone || l[0].Size != 40<<20 || !l[0].IsManifest || l[0].FileName != "big.bin" {
		t.Fatalf("large file: %+v", l)
	}
	start = time.Now()
	paths, err = b1.c.SaveAttachments(ctx, alice.id(), bobM2, saveDir)
	if err != nil || len(paths) != 1 {
		t.Fatalf("save: %v %v", paths, err)
	}
	t.Logf("40 MB saved in %v", time.Since(start))
	if fileSum(t, paths[0]) != sum(big) {
		t.Error("saved large file differs")
	}
	var progress []Event
	for _, ev := range b1.eventsOf(EventAttachment) {
		if ev.Message.ID == bobM2 {
			progress = append(progress, ev)
		}
	}
	if len(progress) < 6 || progress[len(progress)-1].Done != 40<<20 {
		t.Errorf("download progress events: %d", len(progress))
	}

	// The damaged file: reported by the server, failed on Bob's side,
	// nothing saved.
	d := byBody["damaged"]
	var fe *FileServerError
	if len(d) != 1 || d[0].State != store.AttachmentFailed || d[0].Error == "" {
		t.Errorf("damaged: %+v", d)
	}
	if _, err := b1.c.SaveAttachments(ctx, alice.id(), bobM3, saveDir); !errors.As(err, &fe) {
		t.Errorf("save damaged: %v", err)
	}
	// The forged pointers fail Bob's own checks.
	f := byBody["forged"]
	if len(f) != 2 || f[0].State != store.AttachmentFailed || f[1].State != store.AttachmentFailed {
		t.Fatalf("forged: %+v", f)
	}
	t.Logf("forged pointers: %q, %q", f[0].Error, f[1].Error)
	// The legacy form.
	var bobLegacy int64
	for _, m := range b1.history(alice.id()) {
		if m.Body == "legacy" {
			bobLegacy = m.ID
		}
	}
	if l := byBody["legacy"]; len(l) != 1 || l[0].State != store.AttachmentDone {
		t.Fatalf("legacy: %+v", l)
	}
	paths, err = b1.c.SaveAttachments(ctx, alice.id(), bobLegacy, saveDir)
	if err != nil || len(paths) != 1 || fileSum(t, paths[0]) != sum(legacy) {
		t.Errorf("legacy save: %v %v", paths, err)
	}
	ents, err := os.ReadDir(saveDir)
	if err != nil || len(ents) != 4 {
		t.Errorf("saved files: %v %v", ents, err)
	}

	// Alice's profile picture, and a new one when she changes it.
	b1.waitFor("Alice's picture", time.Minute, func() bool {
		got, err := b1.c.ContactPicture(ctx, alice.id())
		return err == nil && bytes.Equal(got, pic)
	})
	pic2 := pngOf(t, 48, 48, 0)
	if err := a.c.UploadProfilePicture(ctx, writeFile(t, work, "me2.png", pic2)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.Send(ctx, bob.id(), "new picture", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	b1.waitFor("Alice's new picture", time.Minute, func() bool {
		got, err := b1.c.ContactPicture(ctx, alice.id())
		return err == nil && bytes.Equal(got, pic2)
	})

	// Alice's picture is uploaded again when its expiry nears.
	soon := a.c.nowMillis() + 24*time.Hour.Milliseconds()
	if err := a.c.db.SetSetting(ctx, settingPicExpires, strconv.FormatInt(soon, 10)); err != nil {
		t.Fatal(err)
	}
	if err := a.c.keepProfilePicture(ctx); err != nil {
		t.Fatal(err)
	}
	v, _, err := a.c.db.Setting(ctx, settingPicExpires)
	if exp, _ := strconv.ParseInt(v, 10, 64); err != nil || exp < soon+7*24*time.Hour.Milliseconds() {
		t.Errorf("picture expiry after renewal: %q %v", v, err)
	}
}

// pointerOf rebuilds the pointer of a stored attachment.
func pointerOf(a *store.Attachment) *wire.AttachmentPointer {
	return &wire.AttachmentPointer{
		Id: proto.Uint64(0), ContentType: proto.String(a.ContentType), Key: bytes.Clone(a.Key), Size: proto.Uint32(uint32(a.Size)),
		Digest: bytes.Clone(a.Digest), FileName: proto.String(a.FileName), Flags: proto.Uint32(a.Flags), Url: proto.String(a.URL),
	}
}

// sendRaw queues a hand-made DataMessage to peer and stores it in the
// network.
func (d *device) sendRaw(peer key.SessionID, dm *wire.DataMessage) int64 {
	d.t.Helper()
	ctx := context.Background()
	sentAt := d.c.nextTimestamp()
	err := d.c.db.Update(ctx, func(tx *store.Tx) error {
		return d.c.queue(ctx, tx, peer, &wire.Content{DataMessage: dm}, sentAt, sentAt+ContentTTL.Milliseconds(), 0, store.OutboxControl)
	})
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.c.FlushOutbox(ctx); err != nil {
		d.t.Fatal(err)
	}
	return sentAt
}

// TestAttachmentResume sends a large file twice, as a user does after an
// interrupted send: the second time, the parts the server holds already
// (same plaintext, same deterministic ciphertext, same file id) are only
// extended, not uploaded again.
func TestAttachmentResume(t *testing.T) {
	nw, alice, bob := pair(t)
	_, srv := startFileServer(t, nw)
	ctx := context.Background()
	a := alice.open(t, nw, "", devOpts{noServe: true})
	path := writeFile(t, t.TempDir(), "big.bin", randomBytes(t, 12<<20)) // two parts
	send := func() {
		t.Helper()
		if _, err := a.c.Send(ctx, bob.id(), "", SendOptions{Files: []OutgoingFile{{Path: path}}}); err != nil {
			t.Fatal(err)
		}
	}
	send()
	newBefore, dedupBefore := metric(t, srv, "fileserver_uploads_total", "new"), metric(t, srv, "fileserver_uploads_total", "dedup")
	extendBefore := metric(t, srv, "fileserver_requests_total", "POST /file/{id}/extend")
	send()
	if n := metric(t, srv, "fileserver_uploads_total", "new") - newBefore; n != 0 {
		t.Errorf("second send stored %v new files, want 0", n)
	}
	// Only the manifest (a few hundred bytes, not worth asking about) is
	// posted again; the two parts are extended.
	if d := metric(t, srv, "fileserver_uploads_total", "dedup") - dedupBefore; d != 1 {
		t.Errorf("second send posted %v files the server had, want 1 (the manifest)", d)
	}
	if e := metric(t, srv, "fileserver_requests_total", "POST /file/{id}/extend") - extendBefore; e != 2 {
		t.Errorf("second send extended %v files, want the 2 parts", e)
	}
}

// metric sums the counter name of srv over the series with a label whose
// value is label.
func metric(t *testing.T, srv *fileserver.Server, name, label string) float64 {
	t.Helper()
	mfs, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

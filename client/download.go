package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sotto.dev/attachment"
	"sotto.dev/client/store"
	"sotto.dev/key"
	"sotto.dev/wire"
)

// Receiving attachments: the pointers of an incoming message are stored
// with it, pending; the attachment loop (part of Serve) downloads them
// through onion paths, verifies them (digest, MAC or every secretstream
// chunk, sizes, and for a large file each part's digest and the whole
// file's SHA-256) before keeping the encrypted blobs in a directory of
// their own, and retries with backoff what fails on the way. What does
// not verify fails at once: an error on that attachment, shown in the
// conversation, never a crash and never a file.

// Download retries: the first after attachRetryBase, doubling up to
// attachRetryMax; after attachAttempts attempts the attachment fails.
const (
	attachRetryBase = 5 * time.Second
	attachRetryMax  = 10 * time.Minute
	attachAttempts  = 8
	// attachBatch is how many due downloads one round takes.
	attachBatch = 16
	// orphanGrace: a directory no row names is removed once it is this
	// old (an upload or download in another process on the same home
	// may be about to record it); tmpGrace is the same for a directory
	// still being written.
	orphanGrace = time.Minute
	tmpGrace    = time.Hour
	// maxManifest bounds a manifest's plaintext (MaxParts of the longest
	// entries is far more than a MaxFileSize file needs).
	maxManifest = 1 << 20
	// maxDownload bounds one file server reply.
	maxDownload = 16 << 20
)

// attachments is the client's attachment state.
type attachments struct {
	fetchMu sync.Mutex // one download at a time (the loop, Save)
	// localMu is held for reading from the making of a local directory
	// until a row names it, and for writing while orphans are removed.
	localMu sync.RWMutex

	picMu    sync.Mutex
	picTried map[key.SessionID]time.Time
}

// AttachmentError is an attachment that cannot be used: its pointer is
// malformed, or what was downloaded does not verify.
type AttachmentError struct{ Err error }

func (e *AttachmentError) Error() string {
	s := e.Err.Error()
	if !strings.HasPrefix(s, "attachment: ") {
		s = "attachment: " + s
	}
	return "client: " + s
}
func (e *AttachmentError) Unwrap() error { return e.Err }

func badAttachment(format string, args ...any) error {
	return &AttachmentError{Err: fmt.Errorf(format, args...)}
}

// checkPointer checks what a received pointer must hold to be fetched.
func checkPointer(p *wire.AttachmentPointer) error {
	u, err := attachment.ParseURL(p.GetUrl())
	if err != nil {
		return badAttachment("%w", err)
	}
	switch {
	case u.Deterministic && len(p.Key) != attachment.KeySize:
		return badAttachment("key of %d bytes, want %d", len(p.Key), attachment.KeySize)
	case !u.Deterministic && (len(p.Key) != attachment.LegacyKeySize || len(p.Digest) != attachment.DigestSize):
		return badAttachment("a legacy attachment needs a %d-byte key and a %d-byte digest", attachment.LegacyKeySize, attachment.DigestSize)
	case len(p.Digest) != 0 && len(p.Digest) != attachment.DigestSize:
		return badAttachment("digest of %d bytes", len(p.Digest))
	case p.GetContentType() == ManifestContentType && !u.Deterministic:
		return badAttachment("a manifest must be in the deterministic form")
	}
	return nil
}

// storePointers records, in tx, the attachments message msgID carries,
// pending download (or failed when malformed).
func (c *Client) storePointers(ctx context.Context, tx *store.Tx, msgID int64, ptrs []*wire.AttachmentPointer) error {
	for i, p := range ptrs {
		if i >= MaxAttachments {
			break
		}
		a := &store.Attachment{
			MessageID: msgID, Index: i, ContentType: clip(p.GetContentType(), 128), FileName: cleanFileName(p.GetFileName()),
			Size: int64(p.GetSize()), Width: p.GetWidth(), Height: p.GetHeight(), Flags: p.GetFlags(),
			URL: clip(p.GetUrl(), 2048), Key: p.Key, Digest: p.Digest, IsManifest: p.GetContentType() == ManifestContentType,
		}
		if a.Key == nil {
			a.Key = []byte{}
		}
		if a.IsManifest {
			// The file's own type, as far as its name tells.
			a.ContentType = mime.TypeByExtension(strings.ToLower(filepath.Ext(a.FileName)))
			if mt, _, err := mime.ParseMediaType(a.ContentType); err == nil {
				a.ContentType = mt
			} else {
				a.ContentType = "application/octet-stream"
			}
		}
		if err := checkPointer(p); err != nil {
			a.State, a.Error = store.AttachmentFailed, err.Error()
		}
		if err := tx.InsertAttachment(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// attachmentLoop downloads pending attachments and contacts' pictures,
// keeps our profile picture from expiring and removes the encrypted
// copies of deleted messages, until ctx is done.
func (c *Client) attachmentLoop(ctx context.Context) {
	for ctx.Err() == nil {
		c.removeOrphans(ctx)
		if err := c.DownloadAttachments(ctx); err != nil && ctx.Err() == nil {
			c.log.Debug("attachment downloads", "error", err)
		}
		c.refreshPictures(ctx)
		if err := c.keepProfilePicture(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("profile picture renewal", "error", err)
		}
		wait := time.Minute
		if at, ok, err := c.db.NextAttachment(ctx); err == nil && ok {
			wait = min(max(time.Duration(at-c.nowMillis())*time.Millisecond, 10*time.Millisecond), time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-c.kickAttach:
		}
		t.Stop()
	}
}

// DownloadAttachments fetches every attachment whose download is due and
// returns the first failure (each failure is also recorded on its
// attachment).
func (c *Client) DownloadAttachments(ctx context.Context) error {
	if c.net == nil {
		return ErrNoNetwork
	}
	var first error
	for {
		due, err := c.db.DueAttachments(ctx, c.nowMillis(), attachBatch)
		if err != nil || len(due) == 0 {
			return cmpErr(first, err)
		}
		progressed := false
		for _, a := range due {
			err := c.fetchAttachment(ctx, a.ID)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil && first == nil {
				first = err
			}
			if cur, e := c.db.Attachment(ctx, a.ID); e != nil || cur.State != store.AttachmentPending || cur.NextAttempt > c.nowMillis() {
				progressed = true
			}
		}
		if !progressed {
			return first
		}
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// fetchAttachment downloads attachment id and records the outcome.
func (c *Client) fetchAttachment(ctx context.Context, id int64) error {
	c.att.fetchMu.Lock()
	defer c.att.fetchMu.Unlock()
	c.att.localMu.RLock()
	defer c.att.localMu.RUnlock()
	a, err := c.db.Attachment(ctx, id)
	if err != nil {
		return err
	}
	if a.State == store.AttachmentDone {
		return nil
	}
	msg, err := c.db.Message(ctx, a.MessageID)
	if err != nil {
		return err
	}
	emit := func(done, total int64) {
		cp := *a
		c.emit(Event{Kind: EventAttachment, Conversation: msg.Conversation, Message: msg, Attachment: &cp, Done: done, Total: total})
	}
	res, err := c.download(ctx, a, emit)
	if err == nil {
		err = c.db.AttachmentDone(ctx, a.ID, res.local, res.size, res.manifest, res.durationMS)
		if err != nil {
			_ = os.RemoveAll(filepath.Join(c.attachmentsDir(), res.local))
			if errors.Is(err, store.ErrNotFound) {
				return nil // the message went meanwhile
			}
			return err
		}
		a.State, a.Error, a.Local, a.Size, a.Manifest, a.DurationMS = store.AttachmentDone, "", res.local, res.size, res.manifest, res.durationMS
		emit(res.size, res.size)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ae *AttachmentError
	var fe *FileServerError
	if errors.As(err, &ae) || (errors.As(err, &fe) && fe.permanent()) || a.Attempts+1 >= attachAttempts {
		a.State = store.AttachmentFailed
		err2 := c.db.AttachmentFailed(ctx, a.ID, err.Error())
		c.log.Info("attachment download failed", "error", err)
		a.Error = err.Error()
		emit(0, a.Size)
		return errors.Join(err, err2)
	}
	backoff := min(attachRetryBase<<min(a.Attempts, 16), attachRetryMax)
	if err2 := c.db.AttachmentRetry(ctx, a.ID, c.nowMillis()+backoff.Milliseconds(), err.Error()); err2 != nil {
		return errors.Join(err, err2)
	}
	return err
}

// downloaded is a verified download kept in local.
type downloaded struct {
	local      string
	size       int64
	manifest   []byte
	durationMS int64
}

// download fetches and verifies a, keeping the encrypted blob (or parts)
// in a new directory.
func (c *Client) download(ctx context.Context, a *store.Attachment, progress func(done, total int64)) (res downloaded, err error) {
	u, err := attachment.ParseURL(a.URL)
	if err != nil {
		return res, badAttachment("%w", err)
	}
	tmp, err := c.newLocalDir()
	if err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	if a.IsManifest {
		res, err = c.downloadLarge(ctx, a, u, tmp, progress)
	} else {
		res, err = c.downloadOne(ctx, a, u, tmp, progress)
	}
	if err != nil {
		return res, err
	}
	res.local, err = c.commitLocalDir(tmp)
	return res, err
}

func checkDigest(want, blob []byte) error {
	if len(want) == 0 {
		return nil
	}
	got := sha256.Sum256(blob)
	if subtle.ConstantTimeCompare(want, got[:]) != 1 {
		return badAttachment("%w", attachment.ErrDigest)
	}
	return nil
}

func writeBlob(path string, b []byte) error {
	return os.WriteFile(path, b, 0o600)
}

func (c *Client) downloadOne(ctx context.Context, a *store.Attachment, u *attachment.URL, dir string, progress func(done, total int64)) (downloaded, error) {
	var res downloaded
	progress(0, a.Size)
	blob, err := c.net.download(ctx, u, maxDownload)
	if err != nil {
		return res, err
	}
	if err := checkDigest(a.Digest, blob); err != nil {
		return res, err
	}
	audio := a.ContentType == "audio/ogg" || a.Flags&uint32(wire.AttachmentPointer_VOICE_MESSAGE) != 0
	var sink io.Writer = io.Discard
	var plain bytes.Buffer
	if audio {
		sink = &plain
	}
	cw := &countWriter{w: sink}
	if u.Deterministic {
		k, err := attachment.KeyFromBytes(a.Key)
		if err != nil {
			return res, badAttachment("%w", err)
		}
		defer k.Wipe()
		if _, err := attachment.Decrypt(cw, bytes.NewReader(blob), &k); err != nil {
			return res, badAttachment("%w", err)
		}
		if a.Size > 0 && cw.n != a.Size {
			return res, badAttachment("%d bytes, the message says %d: %w", cw.n, a.Size, attachment.ErrSize)
		}
	} else {
		k, err := attachment.LegacyKeyFromBytes(a.Key)
		if err != nil {
			return res, badAttachment("%w", err)
		}
		defer k.Wipe()
		if err := attachment.DecryptLegacyAt(cw, bytes.NewReader(blob), int64(len(blob)), &k, a.Digest, a.Size); err != nil {
			return res, badAttachment("%w", err)
		}
	}
	if err := writeBlob(filepath.Join(dir, "0"), blob); err != nil {
		return res, err
	}
	res.size = cw.n
	if audio {
		res.durationMS = oggDuration(bytes.NewReader(plain.Bytes()), int64(plain.Len()))
	}
	return res, nil
}

func (c *Client) downloadLarge(ctx context.Context, a *store.Attachment, u *attachment.URL, dir string, progress func(done, total int64)) (downloaded, error) {
	var res downloaded
	blob, err := c.net.download(ctx, u, attachment.EncryptedSize(maxManifest))
	if err != nil {
		return res, err
	}
	if err := checkDigest(a.Digest, blob); err != nil {
		return res, err
	}
	k, err := attachment.KeyFromBytes(a.Key)
	if err != nil {
		return res, badAttachment("%w", err)
	}
	defer k.Wipe()
	mb, err := attachment.Open(&k, blob)
	if err != nil {
		return res, badAttachment("manifest: %w", err)
	}
	m, err := attachment.ParseManifest(mb)
	if err != nil {
		return res, badAttachment("%w", err)
	}
	if m.Size > MaxFileSize {
		return res, badAttachment("a file of %d bytes, more than %d", m.Size, int64(MaxFileSize))
	}
	h := sha256.New()
	var done int64
	progress(0, m.Size)
	for i, p := range m.Parts {
		blob, err := c.net.download(ctx, p.URL, attachment.EncryptedSize(p.Size))
		if err != nil {
			return res, fmt.Errorf("part %d: %w", i+1, err)
		}
		if err := checkDigest(p.Digest[:], blob); err != nil {
			return res, fmt.Errorf("part %d: %w", i+1, err)
		}
		n, err := attachment.Decrypt(h, bytes.NewReader(blob), &p.Key)
		if err != nil {
			return res, badAttachment("part %d: %w", i+1, err)
		}
		if n != p.Size {
			return res, badAttachment("part %d: %w", i+1, attachment.ErrSize)
		}
		if err := writeBlob(filepath.Join(dir, fmt.Sprint(i)), blob); err != nil {
			return res, err
		}
		done += n
		progress(done, m.Size)
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), m.SHA256[:]) != 1 {
		return res, badAttachment("the joined parts do not match the file's SHA-256")
	}
	res.size, res.manifest = m.Size, mb
	return res, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (w *countWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.n += int64(n)
	return n, err
}

// AttachmentsOf returns message msgID's attachments.
func (c *Client) AttachmentsOf(ctx context.Context, msgID int64) ([]*store.Attachment, error) {
	return c.db.Attachments(ctx, msgID)
}

// RetryAttachment makes a failed attachment pending again.
func (c *Client) RetryAttachment(ctx context.Context, id int64) error {
	if err := c.db.RetryAttachment(ctx, id, c.nowMillis()); err != nil {
		return err
	}
	kick(c.kickAttach)
	return nil
}

// WriteAttachment decrypts attachment id's local copy into w, verifying
// it again (a large file's SHA-256 at the end: w may by then have
// received bytes of a damaged copy, so callers write into a temporary
// file). The attachment must be downloaded.
func (c *Client) WriteAttachment(ctx context.Context, id int64, w io.Writer) error {
	a, err := c.db.Attachment(ctx, id)
	if err != nil {
		return err
	}
	if a.State != store.AttachmentDone {
		if a.Error != "" {
			return fmt.Errorf("client: attachment not downloaded: %s", a.Error)
		}
		return errors.New("client: attachment not downloaded yet")
	}
	dir := filepath.Join(c.attachmentsDir(), a.Local)
	if a.IsManifest {
		m, err := attachment.ParseManifest(a.Manifest)
		if err != nil {
			return badAttachment("%w", err)
		}
		h := sha256.New()
		mw := io.MultiWriter(w, h)
		for i, p := range m.Parts {
			if err := decryptFile(filepath.Join(dir, fmt.Sprint(i)), func(f *os.File) error {
				_, err := attachment.Decrypt(mw, f, &p.Key)
				return err
			}); err != nil {
				return err
			}
		}
		if subtle.ConstantTimeCompare(h.Sum(nil), m.SHA256[:]) != 1 {
			return badAttachment("local copy does not match the file's SHA-256")
		}
		return nil
	}
	u, err := attachment.ParseURL(a.URL)
	if err != nil {
		return badAttachment("%w", err)
	}
	return decryptFile(filepath.Join(dir, "0"), func(f *os.File) error {
		if u.Deterministic {
			k, err := attachment.KeyFromBytes(a.Key)
			if err != nil {
				return err
			}
			defer k.Wipe()
			_, err = attachment.Decrypt(w, f, &k)
			return err
		}
		k, err := attachment.LegacyKeyFromBytes(a.Key)
		if err != nil {
			return err
		}
		defer k.Wipe()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		return attachment.DecryptLegacyAt(w, f, st.Size(), &k, a.Digest, a.Size)
	})
}

func decryptFile(path string, fn func(*os.File) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fn(f); err != nil {
		var ae *AttachmentError
		if errors.As(err, &ae) {
			return err
		}
		return badAttachment("local copy: %w", err)
	}
	return nil
}

// SaveAttachments writes the attachments of message msgID of the
// conversation with peer into dir, downloading those not downloaded yet,
// and returns the paths written. Each file is decrypted into a temporary
// file in dir and renamed to its name (made unique, never overwriting)
// only once it verified.
func (c *Client) SaveAttachments(ctx context.Context, peer key.SessionID, msgID int64, dir string) ([]string, error) {
	m, err := c.db.Message(ctx, msgID)
	if err != nil || m.Conversation != peer {
		return nil, ErrNoMessage
	}
	list, err := c.db.Attachments(ctx, msgID)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("client: the message has no attachments")
	}
	var paths []string
	for _, a := range list {
		if a.State != store.AttachmentDone {
			if c.net == nil {
				return paths, ErrNoNetwork
			}
			if a.State == store.AttachmentFailed {
				if err := c.db.RetryAttachment(ctx, a.ID, c.nowMillis()); err != nil {
					return paths, err
				}
			}
			if err := c.fetchAttachment(ctx, a.ID); err != nil {
				return paths, fmt.Errorf("%s: %w", displayName(a), err)
			}
		}
		p, err := c.saveOne(ctx, a, dir)
		if err != nil {
			return paths, fmt.Errorf("%s: %w", displayName(a), err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func displayName(a *store.Attachment) string {
	if a.FileName != "" {
		return a.FileName
	}
	return fmt.Sprintf("attachment %d", a.Index+1)
}

func (c *Client) saveOne(ctx context.Context, a *store.Attachment, dir string) (string, error) {
	f, err := os.CreateTemp(dir, ".sotto-save-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	err = c.WriteAttachment(ctx, a.ID, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	name := a.FileName
	if name == "" {
		name = fmt.Sprintf("attachment-%d", a.ID)
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; ; i++ {
		p := filepath.Join(dir, name)
		if i > 0 {
			p = filepath.Join(dir, fmt.Sprintf("%s (%d)%s", stem, i, ext))
		}
		// Link, not rename: it fails instead of replacing an existing file.
		if err := os.Link(tmp, p); err == nil {
			_ = os.Remove(tmp)
			return p, nil
		} else if !errors.Is(err, os.ErrExist) {
			_ = os.Remove(tmp)
			return "", err
		}
	}
}

// removeLocal removes the local copies of uploads whose message was not
// saved.
func (c *Client) removeLocal(files []outgoing) {
	for _, f := range files {
		_ = os.RemoveAll(filepath.Join(c.attachmentsDir(), f.row.Local))
	}
}

// removeOrphans removes the attachment directories no row names any
// more: their message was deleted, disappeared or was unsent.
func (c *Client) removeOrphans(ctx context.Context) {
	c.att.localMu.Lock()
	defer c.att.localMu.Unlock()
	ents, err := os.ReadDir(c.attachmentsDir())
	if err != nil {
		return
	}
	refs, err := c.db.AttachmentDirs(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	for _, e := range ents {
		if refs[e.Name()] {
			continue
		}
		grace := orphanGrace
		if strings.HasPrefix(e.Name(), "tmp-") {
			grace = tmpGrace
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < grace {
			continue
		}
		_ = os.RemoveAll(filepath.Join(c.attachmentsDir(), e.Name()))
	}
}

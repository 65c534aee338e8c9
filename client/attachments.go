package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image.DecodeConfig reads GIF headers
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"sotto.dev/attachment"
	"sotto.dev/client/store"
	"sotto.dev/wire"
)

// Attachments (docs/attachments.md, "The client"). A file is encrypted in
// the deterministic form (session-protocol.md §8.2) keyed by the account's
// seed, so the same file sent twice uploads the same bytes and the server
// deduplicates it, and uploaded with POST /file through an onion path. A
// file larger than attachment.MaxRegularSize goes up as parts of
// attachment.PartSize, each its own upload, and the message carries the
// manifest of the parts as an attachment of its own whose content type is
// ManifestContentType: Sotto clients fetch the parts, Session clients show
// a small file of that name (a plain link they cannot open).
//
// Local copies stay encrypted: every attachment has a directory under
// Home/attachments holding its encrypted blob ("0") or parts ("0", "1",
// …) exactly as uploaded; the keys are in the database. Save decrypts into
// the user's directory. A directory no database row names (its message
// deleted, expired or unsent) is removed by the attachment loop.

// ManifestContentType marks an AttachmentPointer that leads to the
// manifest of a large file (attachment.Manifest), Sotto only.
const ManifestContentType = "application/x-sotto-manifest"

// Limits of what a message carries.
const (
	// MaxAttachments bounds the attachments of one message.
	MaxAttachments = 32
	// MaxFileSize bounds one attached file (a manifest of at most 64 parts).
	MaxFileSize = 64 * attachment.PartSize
	// maxFileName bounds a file name sent or received.
	maxFileName = 255
	// maxPointerLen bounds an encoded AttachmentPointer (URL, key,
	// digest, name, type, sizes): the body and the pointers share
	// MaxBodyLen.
	maxPointerLen = 700
)

// AttachmentsDir is the directory of the encrypted attachment copies
// inside Home.
const AttachmentsDir = "attachments"

// ErrFileTooLarge: a file over MaxFileSize.
var ErrFileTooLarge = fmt.Errorf("client: file larger than %d bytes", int64(MaxFileSize))

// OutgoingFile is a file to send.
type OutgoingFile struct {
	// Path is the file to read.
	Path string
	// Name is the file name sent (default: Path's base name).
	Name string
	// ContentType is the MIME type sent (default: detected).
	ContentType string
	// Voice marks a voice message (AttachmentPointer flag VOICE_MESSAGE).
	Voice bool
}

// Progress reports a transfer: Done of Total bytes of attachment Index
// (its position in the message).
type Progress struct {
	Index int
	Name  string
	Done  int64
	Total int64
}

func (c *Client) attachmentsDir() string { return filepath.Join(c.cfg.Home, AttachmentsDir) }

// newLocalDir makes a temporary directory for an attachment's encrypted
// copy; commitLocalDir gives it its final name.
func (c *Client) newLocalDir() (string, error) {
	if err := os.MkdirAll(c.attachmentsDir(), 0o700); err != nil {
		return "", err
	}
	return os.MkdirTemp(c.attachmentsDir(), "tmp-")
}

// commitLocalDir renames a temporary directory to its final name and
// returns that name (relative to the attachments directory).
func (c *Client) commitLocalDir(tmp string) (string, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	name := hex.EncodeToString(b[:])
	if err := os.Rename(tmp, filepath.Join(c.attachmentsDir(), name)); err != nil {
		return "", err
	}
	return name, nil
}

// outgoing is a file uploaded for a message: its pointer and its row.
type outgoing struct {
	ptr *wire.AttachmentPointer
	row *store.Attachment
}

// uploadFiles encrypts and uploads files for a message.
func (c *Client) uploadFiles(ctx context.Context, files []OutgoingFile, progress func(Progress)) ([]outgoing, error) {
	if len(files) > MaxAttachments {
		return nil, fmt.Errorf("client: at most %d attachments per message", MaxAttachments)
	}
	fs, err := c.PickFileServer(ctx)
	if err != nil {
		return nil, err
	}
	seed := attachment.Seed(c.keys.Seed32())
	defer seed.Wipe()
	var out []outgoing
	for i, f := range files {
		o, err := c.uploadFile(ctx, fs, &seed, i, f, progress)
		if err != nil {
			for _, o := range out {
				_ = os.RemoveAll(filepath.Join(c.attachmentsDir(), o.row.Local))
			}
			return nil, fmt.Errorf("client: attach %s: %w", f.Path, err)
		}
		out = append(out, o)
	}
	return out, nil
}

func (c *Client) uploadFile(ctx context.Context, fs FileServer, seed *attachment.Seed, idx int, f OutgoingFile, progress func(Progress)) (o outgoing, err error) {
	src, err := os.Open(f.Path)
	if err != nil {
		return o, err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return o, err
	}
	if !st.Mode().IsRegular() {
		return o, errors.New("not a regular file")
	}
	size := st.Size()
	if size > MaxFileSize {
		return o, ErrFileTooLarge
	}
	row := &store.Attachment{Index: idx, Size: size, State: store.AttachmentDone}
	row.FileName = cleanFileName(f.Name)
	if row.FileName == "" {
		row.FileName = cleanFileName(filepath.Base(f.Path))
	}
	if err := describe(row, src, size, f); err != nil {
		return o, err
	}
	tmp, err := c.newLocalDir()
	if err != nil {
		return o, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	report := func(done int64) {
		if progress != nil {
			progress(Progress{Index: idx, Name: row.FileName, Done: done, Total: size})
		}
	}
	report(0)
	ptr := &wire.AttachmentPointer{Id: proto.Uint64(0), ContentType: proto.String(row.ContentType)}
	if row.FileName != "" {
		ptr.FileName = proto.String(row.FileName)
	}
	if row.Width > 0 && row.Height > 0 {
		ptr.Width, ptr.Height = proto.Uint32(row.Width), proto.Uint32(row.Height)
	}
	if row.Flags != 0 {
		ptr.Flags = proto.Uint32(row.Flags)
	}
	if size <= attachment.MaxRegularSize {
		u, k, digest, err := c.uploadPart(ctx, fs, seed, io.NewSectionReader(src, 0, size), filepath.Join(tmp, "0"), false)
		if err != nil {
			return o, err
		}
		ptr.Url, ptr.Key, ptr.Digest, ptr.Size = proto.String(u.String()), k[:], digest[:], proto.Uint32(uint32(size))
		row.URL, row.Key, row.Digest = u.String(), k[:], digest[:]
		report(size)
	} else {
		// A large file: its parts, then the manifest.
		mb, u, k, digest, err := c.uploadLarge(ctx, fs, seed, src, size, tmp, report)
		if err != nil {
			return o, err
		}
		ptr.ContentType, ptr.Size = proto.String(ManifestContentType), proto.Uint32(uint32(len(mb)))
		ptr.Url, ptr.Key, ptr.Digest = proto.String(u.String()), k[:], digest[:]
		row.URL, row.Key, row.Digest, row.IsManifest, row.Manifest = u.String(), k[:], digest[:], true, mb
	}
	if row.Local, err = c.commitLocalDir(tmp); err != nil {
		return o, err
	}
	return outgoing{ptr: ptr, row: row}, nil
}

// uploadLarge uploads a file over the regular size as parts, then their
// manifest; it returns the manifest and where it was stored.
func (c *Client) uploadLarge(ctx context.Context, fs FileServer, seed *attachment.Seed, src io.ReaderAt, size int64, tmp string, report func(int64)) (mb []byte, u *attachment.URL, k attachment.Key, digest [32]byte, err error) {
	m := &attachment.Manifest{Size: size}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(src, 0, size)); err != nil {
		return nil, nil, k, digest, err
	}
	h.Sum(m.SHA256[:0])
	var off int64
	for i, n := range attachment.PartSizes(size) {
		// A part the server has already (an interrupted send of this
		// file: the same plaintext encrypts to the same bytes) is not
		// sent again.
		u, k, digest, err := c.uploadPart(ctx, fs, seed, io.NewSectionReader(src, off, n), filepath.Join(tmp, fmt.Sprint(i)), true)
		if err != nil {
			return nil, nil, k, digest, fmt.Errorf("part %d: %w", i+1, err)
		}
		m.Parts = append(m.Parts, attachment.Part{URL: u, Size: n, Key: k, Digest: digest})
		off += n
		report(off)
	}
	if mb, err = m.MarshalBinary(); err != nil {
		return nil, nil, k, digest, err
	}
	sealed, k, err := attachment.Seal(seed, attachment.DomainAttachment, mb)
	if err != nil {
		return nil, nil, k, digest, err
	}
	if u, _, err = c.net.upload(ctx, fs, sealed, true); err != nil {
		return nil, nil, k, digest, fmt.Errorf("manifest: %w", err)
	}
	return mb, u, k, sha256.Sum256(sealed), nil
}

// uploadPart encrypts src into the file at local and uploads it; with
// resume, it first asks the server whether it holds those bytes already.
func (c *Client) uploadPart(ctx context.Context, fs FileServer, seed *attachment.Seed, src io.ReadSeeker, local string, resume bool) (*attachment.URL, attachment.Key, [32]byte, error) {
	var digest [32]byte
	f, err := os.OpenFile(local, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, attachment.Key{}, digest, err
	}
	k, _, err := attachment.Encrypt(f, src, seed, attachment.DomainAttachment)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, k, digest, err
	}
	data, err := os.ReadFile(local)
	if err != nil {
		return nil, k, digest, err
	}
	digest = sha256.Sum256(data)
	if resume {
		if u, ok, err := c.net.resume(ctx, fs, data); err != nil || ok {
			return u, k, digest, err
		}
	}
	u, _, err := c.net.upload(ctx, fs, data, true)
	return u, k, digest, err
}

// describe fills the content type, image size and voice-message fields
// of row from the file.
func describe(row *store.Attachment, src *os.File, size int64, f OutgoingFile) error {
	head := make([]byte, 512)
	n, err := src.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	head = head[:n]
	row.ContentType = f.ContentType
	if row.ContentType == "" {
		row.ContentType = mime.TypeByExtension(strings.ToLower(filepath.Ext(row.FileName)))
	}
	if row.ContentType == "" || row.ContentType == "application/octet-stream" || f.Voice {
		// The system's extension table may not know it: look at the bytes.
		if sniffed := http.DetectContentType(head); sniffed != "application/octet-stream" || row.ContentType == "" {
			row.ContentType = sniffed
		}
	}
	if mt, _, err := mime.ParseMediaType(row.ContentType); err == nil {
		row.ContentType = mt
	}
	if strings.HasPrefix(row.ContentType, "image/") {
		if cfg, _, err := image.DecodeConfig(io.NewSectionReader(src, 0, size)); err == nil && cfg.Width > 0 && cfg.Height > 0 {
			row.Width, row.Height = uint32(cfg.Width), uint32(cfg.Height)
		}
	}
	if f.Voice {
		row.Flags |= uint32(wire.AttachmentPointer_VOICE_MESSAGE)
	}
	if row.ContentType == "application/ogg" || row.ContentType == "audio/ogg" {
		if f.Voice {
			row.ContentType = "audio/ogg"
		}
		row.DurationMS = oggDuration(src, size)
	}
	return nil
}

// cleanFileName keeps a file name that is safe to show and to save under:
// a base name, valid UTF-8, no control characters, bounded.
func cleanFileName(s string) string {
	s = strings.ToValidUTF8(s, "_")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "." || s == ".." {
		return ""
	}
	for len(s) > maxFileName {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// oggDuration reads an Ogg Opus or Vorbis stream's duration from its
// first and last pages (0 when it cannot tell): the last granule position
// less Opus's pre-skip, over the sample rate (48 kHz for Opus).
func oggDuration(r io.ReaderAt, size int64) int64 {
	head := make([]byte, min(size, 4096))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	var rate, preSkip uint64
	if i := bytes.Index(head, []byte("OpusHead")); i >= 0 && i+12 <= len(head) {
		rate, preSkip = 48000, uint64(binary.LittleEndian.Uint16(head[i+10:]))
	} else if i := bytes.Index(head, []byte("\x01vorbis")); i >= 0 && i+16 <= len(head) {
		rate = uint64(binary.LittleEndian.Uint32(head[i+12:]))
	}
	if rate == 0 {
		return 0
	}
	tailLen := min(size, 64<<10)
	tail := make([]byte, tailLen)
	if _, err := r.ReadAt(tail, size-tailLen); err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	i := bytes.LastIndex(tail, []byte("OggS"))
	if i < 0 || i+14 > len(tail) {
		return 0
	}
	granule := binary.LittleEndian.Uint64(tail[i+6:])
	if granule == ^uint64(0) || granule < preSkip {
		return 0
	}
	return int64((granule - preSkip) * 1000 / rate)
}

// quoteAttachments names, in a quote, the attachments of the quoted
// message (Quote.attachments: Session clients show the quoted file's
// name and type).
func quoteAttachments(ctx context.Context, tx *store.Tx, q *wire.DataMessage_Quote, msgID int64) error {
	as, err := tx.Attachments(ctx, msgID)
	if err != nil {
		return err
	}
	for _, a := range as {
		qa := &wire.DataMessage_Quote_QuotedAttachment{ContentType: proto.String(a.ContentType)}
		if a.FileName != "" {
			qa.FileName = proto.String(a.FileName)
		}
		if a.Flags != 0 {
			qa.Flags = proto.Uint32(a.Flags)
		}
		q.Attachments = append(q.Attachments, qa)
	}
	return nil
}

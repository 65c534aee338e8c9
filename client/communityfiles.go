package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/wire"
)

// Room files (docs/client.md, "Communities"). A file posted in a room goes
// up to the room's own file endpoint, POST /room/<token>/file, through an
// onion path and signed as the room's author, and the post's
// AttachmentPointer names it by <server>/room/<token>/file/<id>. As in
// Session desktop (ts/session/utils/AttachmentsV2.ts uploadV3 and
// sogsv3/sogsV3SendFile.ts uploadFileToRoomSogs3), the file is neither
// encrypted nor padded: a room is public, its files are readable by every
// member, the pointer carries no key or digest, and the server's file id
// is both the pointer's id and the URL's last element. The post lists the
// ids in "files" so that the server keeps them as long as the post.

// MaxRoomFileSize bounds a file posted in a room (the server's default
// limit, Session's attachment limit).
const MaxRoomFileSize = 10 << 20

// ErrNotRoomFile is a post's file that is not a file of its room (a
// pointer elsewhere, which the client does not fetch).
var ErrNotRoomFile = errors.New("client: not a file of this room")

// ErrNoRoomFiles is a post that carries no files.
var ErrNoRoomFiles = errors.New("client: the post has no files")

// uploadRoomFiles uploads files to the room and returns their pointers.
func (c *Client) uploadRoomFiles(ctx context.Context, cm *store.Community, files []OutgoingFile) ([]*wire.AttachmentPointer, error) {
	if len(files) > MaxAttachments {
		return nil, fmt.Errorf("client: at most %d attachments per message", MaxAttachments)
	}
	var out []*wire.AttachmentPointer
	for _, f := range files {
		p, err := c.uploadRoomFile(ctx, cm, f)
		if err != nil {
			return nil, fmt.Errorf("client: attach %s: %w", f.Path, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func (c *Client) uploadRoomFile(ctx context.Context, cm *store.Community, f OutgoingFile) (*wire.AttachmentPointer, error) {
	src, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	if st.Size() > MaxRoomFileSize {
		return nil, fmt.Errorf("%w: a room takes files of at most %d bytes", ErrFileTooLarge, MaxRoomFileSize)
	}
	if st.Size() == 0 {
		return nil, errors.New("empty file")
	}
	row := &store.Attachment{FileName: cleanFileName(f.Name)}
	if row.FileName == "" {
		row.FileName = cleanFileName(filepath.Base(f.Path))
	}
	if err := describe(row, src, st.Size(), f); err != nil {
		return nil, err
	}
	data := make([]byte, st.Size())
	if _, err := src.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	h := map[string]string{"Content-Type": "application/octet-stream"}
	if row.FileName != "" {
		h["Content-Disposition"] = mime.FormatMediaType("attachment", map[string]string{"filename": row.FileName})
	}
	r, err := c.sogsRaw(ctx, cm.Server, cm.PubKey, http.MethodPost, "/room/"+cm.Room+"/file", data, h)
	if err != nil {
		return nil, err
	}
	var up struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &up); err != nil || up.ID <= 0 {
		return nil, fmt.Errorf("client: community: file upload: bad answer")
	}
	p := &wire.AttachmentPointer{
		Id:   proto.Uint64(uint64(up.ID)),
		Size: proto.Uint32(uint32(st.Size())),
		Url:  proto.String(roomFileURL(cm, up.ID)),
	}
	if row.ContentType != "" {
		p.ContentType = proto.String(row.ContentType)
	}
	if row.FileName != "" {
		p.FileName = proto.String(row.FileName)
	}
	if row.Flags != 0 {
		p.Flags = proto.Uint32(row.Flags)
	}
	if row.Width > 0 && row.Height > 0 {
		p.Width, p.Height = proto.Uint32(row.Width), proto.Uint32(row.Height)
	}
	return p, nil
}

// roomFileURL is the URL Session clients put in a room file's pointer.
func roomFileURL(cm *store.Community, id int64) string {
	return cm.Server + "/room/" + cm.Room + "/file/" + strconv.FormatInt(id, 10)
}

// roomFiles keeps what a post's pointers say of their files (bounded, the
// names cleaned); which of them are files of the room is decided when
// they are fetched.
func roomFiles(ptrs []*wire.AttachmentPointer) []store.RoomFile {
	var out []store.RoomFile
	for _, p := range ptrs {
		if len(out) == MaxAttachments {
			break
		}
		f := store.RoomFile{
			URL:         clip(p.GetUrl(), 512),
			Name:        cleanFileName(p.GetFileName()),
			ContentType: clip(p.GetContentType(), 100),
			Size:        int64(p.GetSize()),
		}
		if id := p.GetId(); id <= math.MaxInt64 {
			f.ID = int64(id)
		}
		out = append(out, f)
	}
	return out
}

// roomFileID is the file id of f if its URL is a file of the room cm.
func roomFileID(cm *store.Community, f store.RoomFile) (int64, error) {
	rest, ok := strings.CutPrefix(f.URL, cm.Server+"/room/"+cm.Room+"/file/")
	if !ok {
		return 0, ErrNotRoomFile
	}
	rest, _, _ = strings.Cut(rest, "/") // an optional /<filename>
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrNotRoomFile
	}
	return id, nil
}

// SaveRoomFiles downloads the files of post id of the room through the
// room's file endpoint (an onion path, signed as the room's author) into
// dir and returns the paths written; an existing file is never replaced.
func (c *Client) SaveRoomFiles(ctx context.Context, room string, id int64, dir string) ([]string, error) {
	cm, err := c.room(ctx, room)
	if err != nil {
		return nil, err
	}
	p, err := c.fetchPost(ctx, cm, id)
	if err != nil {
		return nil, err
	}
	if len(p.Files) == 0 {
		return nil, fmt.Errorf("%w: #%d", ErrNoRoomFiles, id)
	}
	var paths []string
	for i, f := range p.Files {
		fid, err := roomFileID(cm, f)
		if err != nil {
			return paths, fmt.Errorf("client: file %d of post #%d: %w", i+1, id, err)
		}
		r, err := c.sogsRaw(ctx, cm.Server, cm.PubKey, http.MethodGet, "/room/"+cm.Room+"/file/"+strconv.FormatInt(fid, 10), nil, nil)
		if err != nil {
			return paths, err
		}
		if int64(len(r.Body)) > MaxRoomFileSize || (f.Size > 0 && int64(len(r.Body)) != f.Size) {
			return paths, fmt.Errorf("client: file %d of post #%d: %d bytes, the post says %d", i+1, id, len(r.Body), f.Size)
		}
		name := f.Name
		if name == "" {
			name = fmt.Sprintf("room-file-%d", fid)
		}
		path, err := writeNew(dir, name, r.Body)
		if err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// writeNew writes b to dir/name, or to "name (1).ext" and so on when
// that exists.
func writeNew(dir, name string, b []byte) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; ; i++ {
		p := filepath.Join(dir, name)
		if i > 0 {
			p = filepath.Join(dir, fmt.Sprintf("%s (%d)%s", stem, i, ext))
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(p)
			return "", err
		}
		return p, nil
	}
}

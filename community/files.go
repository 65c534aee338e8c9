package community

import (
	"context"
	"database/sql"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// FileExpiry is how long a room file is kept after its upload, or after
// the post it is attached to (pysogs UPLOAD_DEFAULT_EXPIRY).
const FileExpiry = 15 * 24 * time.Hour

// DefaultMaxFileSize is the largest room file (Session's attachment
// limit).
const DefaultMaxFileSize = 10 << 20

// File is a room file's metadata.
type File struct {
	ID       int64
	Size     int64
	Uploaded float64
	Expiry   float64
	Filename *string
}

// AddFile stores data as a file of r uploaded by u, expiring after ttl; it
// also deletes some expired files.
func (s *Store) AddFile(ctx context.Context, r *Room, u *User, data []byte, filename *string, now time.Time, ttl time.Duration) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM files WHERE id IN (SELECT id FROM files WHERE expiry <= ? LIMIT 20)", unixf(now)); err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRowContext(ctx, "INSERT INTO files (room, uploader, size, uploaded, expiry, filename, data) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
		r.ID, u.ID, len(data), unixf(now), unixf(now.Add(ttl)), filename, data).Scan(&id); err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// ErrNoFile is a file that does not exist (or has expired) in the room.
var ErrNoFile = errors.New("community: no such file")

// FileData returns an unexpired file of r and its bytes.
func (s *Store) FileData(ctx context.Context, r *Room, id int64, now time.Time) (*File, []byte, error) {
	f := &File{ID: id}
	var data []byte
	err := s.db.QueryRowContext(ctx, "SELECT size, uploaded, expiry, filename, data FROM files WHERE id = ? AND room = ? AND expiry > ?", id, r.ID, unixf(now)).
		Scan(&f.Size, &f.Uploaded, &f.Expiry, &f.Filename, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrNoFile
	}
	return f, data, err
}

// attachFiles gives the files ids that u uploaded to r and that no post
// owns yet to message msg, keeping them for ttl from now (pysogs
// Room._own_files).
func attachFiles(ctx context.Context, tx *sql.Tx, r *Room, u *User, msg int64, ids []int64, now time.Time, ttl time.Duration) error {
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE files SET message = ?, expiry = ? WHERE id = ? AND room = ? AND uploader = ? AND message IS NULL AND expiry > ?`,
			msg, unixf(now.Add(ttl)), id, r.ID, u.ID, unixf(now)); err != nil {
			return err
		}
	}
	return nil
}

// uploadFilename reads the filename of a Content-Disposition header (nil
// when there is none), without path separators or control characters.
func uploadFilename(h string) *string {
	if h == "" {
		return nil
	}
	_, params, err := mime.ParseMediaType(h)
	if err != nil {
		return nil
	}
	name := params["filename"]
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = stripControl(name, false)
	if name == "" || !utf8.ValidString(name) {
		return nil
	}
	if len(name) > 255 {
		name = strings.ToValidUTF8(name[:255], "")
	}
	return &name
}

// uploadFile serves POST /room/<token>/file: the raw body is the file
// (pysogs rooms.py upload_file); 201 {"id"}.
func (s *Server) uploadFile(c *call, r *Room, p Perms, _ []string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	if !p.Upload {
		return errResp(http.StatusForbidden)
	}
	if len(c.body) == 0 {
		return textResp(http.StatusBadRequest, "No file data")
	}
	if int64(len(c.body)) > s.cfg.MaxFileSize {
		return errResp(http.StatusRequestEntityTooLarge)
	}
	id, err := s.store.AddFile(c.ctx, r, c.user, c.body, uploadFilename(c.header("Content-Disposition")), c.now, FileExpiry)
	if err != nil {
		return s.storeErr("upload", err)
	}
	return jsonResp(http.StatusCreated, map[string]any{"id": id})
}

// getFile serves GET /room/<token>/file/<id>[/<filename>]: the bytes.
func (s *Server) getFile(c *call, r *Room, p Perms, rest []string) response {
	id, ok := parseID(rest[1])
	if !ok {
		return errResp(http.StatusNotFound)
	}
	f, data, err := s.store.FileData(c.ctx, r, id, c.now)
	if errors.Is(err, ErrNoFile) {
		return errResp(http.StatusNotFound)
	}
	if err != nil {
		return s.storeErr("file", err)
	}
	resp := response{code: http.StatusOK, contentType: "application/octet-stream", body: data}
	if f.Filename != nil {
		resp.disposition = mime.FormatMediaType("attachment", map[string]string{"filename": *f.Filename})
	}
	return resp
}

// imageExpiry is the expiry of a file that is a room's image: it does not
// expire while it is one (pysogs keeps it with no expiry).
const imageExpiry = 253402300799 // 9999-12-31, in unix seconds

// SetRoomImage makes file id of r the room's image (pysogs PUT /room with
// "image"): the file stops expiring, the room's previous image expires
// FileExpiry from now, and info_updates moves so that pollers refetch. An
// unknown or expired file, or one of another room, is ErrNoFile.
func (s *Store) SetRoomImage(ctx context.Context, r *Room, id int64, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE files SET expiry = ? WHERE id = ? AND room = ? AND expiry > ?", float64(imageExpiry), id, r.ID, unixf(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoFile
	}
	if _, err := tx.ExecContext(ctx, "UPDATE files SET expiry = ? WHERE id = (SELECT image FROM rooms WHERE id = ?) AND id != ?",
		unixf(now.Add(FileExpiry)), r.ID, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE rooms SET image = ?, info_updates = info_updates + 1 WHERE id = ?", id, r.ID); err != nil {
		return err
	}
	return tx.Commit()
}

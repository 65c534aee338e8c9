package fileserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver" // registers the "sqlite3" database/sql driver

	"sotto.dev/internal/atomicfile"
)

// The store keeps each file's bytes in DIR/blobs/<first two characters of
// the id>/<id> and its metadata (size, SHA-256, upload and expiry times)
// in DIR/files.db, SQLite in WAL mode with synchronous=FULL. A row is the
// only way to reach a blob, and the order of writes keeps the two
// consistent across a crash at any moment:
//
//   - upload: the bytes go to a new file in DIR/tmp, which is synced and
//     renamed into blobs/ (and the directory synced); only then is the row
//     inserted, and the upload is acknowledged after that COMMIT. A crash
//     before the COMMIT leaves at most a temporary file or a blob without a
//     row: neither is ever served, and Open deletes both.
//   - expiry and quarantine: the row is deleted first, then the blob. A
//     crash in between leaves a blob without a row, which Open deletes.
//
// Every read checks the blob's size and SHA-256 against its row before it
// serves a byte; a blob that does not match is quarantined (row and blob
// deleted) so that a new upload of the same content stores it afresh.

// Store errors the server maps to HTTP statuses (statusFor).
var (
	ErrNotFound = errors.New("fileserver: no such file")
	ErrQuota    = errors.New("fileserver: storage quota reached")
	ErrCorrupt  = errors.New("fileserver: stored file does not match its metadata")
)

const schema = `
CREATE TABLE IF NOT EXISTS files (
	id       TEXT PRIMARY KEY,
	size     INTEGER NOT NULL,
	sha256   BLOB NOT NULL,
	uploaded INTEGER NOT NULL, -- Unix ms
	expiry   INTEGER NOT NULL  -- Unix ms
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_expiry ON files(expiry);
`

// fileMeta is a file's row.
type fileMeta struct {
	ID       FileID
	Size     int64
	SHA256   [32]byte
	Uploaded time.Time
	Expiry   time.Time
	// Created is set by an upload that wrote a new file (not one that
	// deduplicated).
	Created bool
}

type store struct {
	dir   string
	db    *sql.DB
	log   *slog.Logger
	quota int64 // 0: none

	mu       sync.Mutex
	used     int64 // bytes of the stored files
	reserved int64 // bytes of uploads being written
	count    int64

	locks idLocks
}

func dsn(path string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	return u.String() + "?_pragma=busy_timeout(15000)&_pragma=journal_mode(wal)&_pragma=synchronous(full)&_txlock=immediate"
}

// openStore opens (creating if needed) the store in dir, deletes what a
// crash left half-done and quarantines rows whose blob is missing or of
// the wrong size.
func openStore(ctx context.Context, dir string, quota int64, log *slog.Logger) (*store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &store{dir: abs, log: log, quota: quota, locks: idLocks{m: map[FileID]*idLock{}}}
	for _, d := range []string{s.dir, s.blobDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	// Temporary files are uploads that were never acknowledged.
	tmps, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	for _, e := range tmps {
		if err := os.RemoveAll(filepath.Join(s.tmpDir(), e.Name())); err != nil {
			return nil, fmt.Errorf("open store: clear tmp: %w", err)
		}
	}
	if s.db, err = sql.Open("sqlite3", dsn(filepath.Join(s.dir, "files.db"))); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.db.SetMaxOpenConns(4)
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open store: schema: %w", err)
	}
	if err := s.recover(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

func (s *store) close() error { return s.db.Close() }

func (s *store) blobDir() string { return filepath.Join(s.dir, "blobs") }
func (s *store) tmpDir() string  { return filepath.Join(s.dir, "tmp") }

// blobPath is where id's bytes are: under the id's first two characters
// (one for the legacy ids below 10).
func (s *store) blobPath(id FileID) string {
	return filepath.Join(s.blobDir(), string(id[:min(2, len(id))]), string(id))
}

// recover reconciles blobs and rows after a start: blobs without a row
// (uploads not acknowledged, or deletions cut short) are deleted, rows
// whose blob is missing or has the wrong size are dropped, and the usage
// counters are loaded.
func (s *store) recover(ctx context.Context) error {
	sizes := map[FileID]int64{}
	rows, err := s.db.QueryContext(ctx, "SELECT id, size FROM files")
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var size int64
		if err := rows.Scan(&id, &size); err != nil {
			rows.Close()
			return err
		}
		sizes[FileID(id)] = size
	}
	if err := rows.Close(); err != nil {
		return err
	}
	seen := map[FileID]bool{}
	err = filepath.WalkDir(s.blobDir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		id := FileID(d.Name())
		size, ok := sizes[id]
		info, ierr := d.Info()
		if ok && ierr == nil && info.Size() == size && path == s.blobPath(id) {
			seen[id] = true
			return nil
		}
		if ok {
			s.log.Error("stored file has the wrong size; dropping it", "file", id)
		}
		return os.Remove(path)
	})
	if err != nil {
		return fmt.Errorf("scan blobs: %w", err)
	}
	for id, size := range sizes {
		if seen[id] {
			s.used += size
			s.count++
			continue
		}
		s.log.Error("stored file is missing or damaged; dropping its record", "file", id)
		if _, err := s.db.ExecContext(ctx, "DELETE FROM files WHERE id = ?", string(id)); err != nil {
			return err
		}
	}
	return nil
}

// usage returns the bytes and number of stored files.
func (s *store) usage() (bytes, files int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.count
}

// reserve claims size bytes of the quota for an upload being written.
func (s *store) reserve(size int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quota > 0 && s.used+s.reserved+size > s.quota {
		return false
	}
	s.reserved += size
	return true
}

// settle ends a reservation; stored says whether the file was kept.
func (s *store) settle(size int64, stored bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved -= size
	if stored {
		s.used += size
		s.count++
	}
}

func (s *store) forget(size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used -= size
	s.count--
}

// lookup reads id's row.
func (s *store) lookup(ctx context.Context, id FileID) (fileMeta, error) {
	m := fileMeta{ID: id}
	var sum []byte
	var up, exp int64
	err := s.db.QueryRowContext(ctx, "SELECT size, sha256, uploaded, expiry FROM files WHERE id = ?", string(id)).
		Scan(&m.Size, &sum, &up, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return fileMeta{}, ErrNotFound
	}
	if err != nil {
		return fileMeta{}, err
	}
	if len(sum) != len(m.SHA256) {
		return fileMeta{}, fmt.Errorf("file %s: bad sha256 column", id)
	}
	m.SHA256 = [32]byte(sum)
	m.Uploaded, m.Expiry = time.UnixMilli(up), time.UnixMilli(exp)
	return m, nil
}

// put stores data under a new-style id: a live file with the same id has
// its expiry raised to now+ttl if that is later (and its upload time set
// to now) instead of being written again.
func (s *store) put(ctx context.Context, id FileID, data []byte, now time.Time, ttl time.Duration) (fileMeta, error) {
	unlock := s.locks.lock(id)
	defer unlock()
	m, err := s.lookup(ctx, id)
	switch {
	case err == nil && m.Expiry.After(now):
		exp := max(m.Expiry.UnixMilli(), now.Add(ttl).UnixMilli())
		if _, err := s.db.ExecContext(ctx, "UPDATE files SET uploaded = ?, expiry = ? WHERE id = ?", now.UnixMilli(), exp, string(id)); err != nil {
			return fileMeta{}, err
		}
		m.Uploaded, m.Expiry = time.UnixMilli(now.UnixMilli()), time.UnixMilli(exp)
		return m, nil
	case err == nil:
		// Expired but not swept yet: remove it as the sweep would.
		if err := s.removeLocked(ctx, m); err != nil {
			return fileMeta{}, err
		}
	case !errors.Is(err, ErrNotFound):
		return fileMeta{}, err
	}
	return s.write(ctx, id, data, now, ttl)
}

// putLegacy stores data under a new random integer id (the deprecated
// POST /files, which never deduplicates).
func (s *store) putLegacy(ctx context.Context, data []byte, now time.Time, ttl time.Duration) (fileMeta, error) {
	for range 25 {
		id, err := randomLegacyID()
		if err != nil {
			return fileMeta{}, err
		}
		unlock := s.locks.lock(id)
		_, err = s.lookup(ctx, id)
		if err == nil {
			unlock()
			continue
		}
		if !errors.Is(err, ErrNotFound) {
			unlock()
			return fileMeta{}, err
		}
		m, err := s.write(ctx, id, data, now, ttl)
		unlock()
		return m, err
	}
	return fileMeta{}, errors.New("fileserver: 25 random ids taken")
}

// write stores a new file; the caller holds id's lock and there is no row.
func (s *store) write(ctx context.Context, id FileID, data []byte, now time.Time, ttl time.Duration) (fileMeta, error) {
	size := int64(len(data))
	if !s.reserve(size) {
		return fileMeta{}, ErrQuota
	}
	stored := false
	defer func() { s.settle(size, stored) }()
	m := fileMeta{ID: id, Size: size, SHA256: sha256.Sum256(data),
		Uploaded: time.UnixMilli(now.UnixMilli()), Expiry: time.UnixMilli(now.Add(ttl).UnixMilli())}
	path := s.blobPath(id)
	if err := s.writeBlob(path, data); err != nil {
		return fileMeta{}, err
	}
	_, err := s.db.ExecContext(ctx, "INSERT INTO files (id, size, sha256, uploaded, expiry) VALUES (?, ?, ?, ?, ?)",
		string(id), size, m.SHA256[:], m.Uploaded.UnixMilli(), m.Expiry.UnixMilli())
	if err != nil {
		_ = os.Remove(path)
		return fileMeta{}, err
	}
	stored = true
	m.Created = true
	return m, nil
}

// writeBlob writes data to path durably: temporary file, fsync, rename,
// fsync of the directory.
func (s *store) writeBlob(path string, data []byte) (err error) {
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := filepath.Join(s.tmpDir(), hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := atomicfile.SyncDir(s.blobDir()); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return atomicfile.SyncDir(dir)
}

// get returns a live file's row and bytes, checked against the row. A blob
// that does not match is quarantined and reported as ErrCorrupt.
func (s *store) get(ctx context.Context, id FileID, now time.Time) (fileMeta, []byte, error) {
	unlock := s.locks.lock(id)
	defer unlock()
	m, err := s.lookup(ctx, id)
	if err != nil {
		return fileMeta{}, nil, err
	}
	if !m.Expiry.After(now) {
		return fileMeta{}, nil, ErrNotFound
	}
	data, err := os.ReadFile(s.blobPath(id))
	if err == nil && int64(len(data)) == m.Size && sha256.Sum256(data) == m.SHA256 {
		return m, data, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileMeta{}, nil, err
	}
	s.quarantine(ctx, m)
	return fileMeta{}, nil, ErrCorrupt
}

// info returns a live file's row after checking its blob's size.
func (s *store) info(ctx context.Context, id FileID, now time.Time) (fileMeta, error) {
	unlock := s.locks.lock(id)
	defer unlock()
	return s.live(ctx, id, now)
}

// live returns a live file's row after checking its blob's size; the
// caller holds id's lock.
func (s *store) live(ctx context.Context, id FileID, now time.Time) (fileMeta, error) {
	m, err := s.lookup(ctx, id)
	if err != nil {
		return fileMeta{}, err
	}
	if !m.Expiry.After(now) {
		return fileMeta{}, ErrNotFound
	}
	st, err := os.Stat(s.blobPath(id))
	if err != nil || st.Size() != m.Size {
		s.quarantine(ctx, m)
		return fileMeta{}, ErrCorrupt
	}
	return m, nil
}

// extend raises a live file's expiry to now+ttl if that is later.
func (s *store) extend(ctx context.Context, id FileID, now time.Time, ttl time.Duration) (fileMeta, error) {
	unlock := s.locks.lock(id)
	defer unlock()
	m, err := s.live(ctx, id, now)
	if err != nil {
		return fileMeta{}, err
	}
	exp := max(m.Expiry.UnixMilli(), now.Add(ttl).UnixMilli())
	if _, err := s.db.ExecContext(ctx, "UPDATE files SET expiry = ? WHERE id = ?", exp, string(id)); err != nil {
		return fileMeta{}, err
	}
	m.Expiry = time.UnixMilli(exp)
	return m, nil
}

// quarantine drops a file whose blob does not match its row; the caller
// holds the id's lock.
func (s *store) quarantine(ctx context.Context, m fileMeta) {
	s.log.Error("stored file does not match its record; dropping it", "file", m.ID)
	if err := s.removeLocked(ctx, m); err != nil {
		s.log.Error("drop damaged file", "file", m.ID, "err", err)
	}
}

// removeLocked deletes m's row, then its blob; the caller holds the lock.
func (s *store) removeLocked(ctx context.Context, m fileMeta) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM files WHERE id = ?", string(m.ID))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		s.forget(m.Size)
	}
	if err := os.Remove(s.blobPath(m.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// sweep deletes every file expired at now and returns how many it deleted.
func (s *store) sweep(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		rows, err := s.db.QueryContext(ctx, "SELECT id FROM files WHERE expiry <= ? LIMIT 500", now.UnixMilli())
		if err != nil {
			return total, err
		}
		var ids []FileID
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return total, err
			}
			ids = append(ids, FileID(id))
		}
		if err := rows.Close(); err != nil {
			return total, err
		}
		if len(ids) == 0 {
			return total, nil
		}
		for _, id := range ids {
			n, err := s.sweepOne(ctx, id, now)
			if err != nil {
				return total, err
			}
			total += n
		}
	}
}

func (s *store) sweepOne(ctx context.Context, id FileID, now time.Time) (int, error) {
	unlock := s.locks.lock(id)
	defer unlock()
	m, err := s.lookup(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if m.Expiry.After(now) { // extended meanwhile
		return 0, nil
	}
	return 1, s.removeLocked(ctx, m)
}

// idLocks serialises the operations on one id (an upload, the sweep and a
// quarantine must not interleave their row and blob changes).
type idLocks struct {
	mu sync.Mutex
	m  map[FileID]*idLock
}

type idLock struct {
	sync.Mutex
	n int
}

func (l *idLocks) lock(id FileID) (unlock func()) {
	l.mu.Lock()
	e := l.m[id]
	if e == nil {
		e = &idLock{}
		l.m[id] = e
	}
	e.n++
	l.mu.Unlock()
	e.Lock()
	return func() {
		e.Unlock()
		l.mu.Lock()
		if e.n--; e.n == 0 {
			delete(l.m, id)
		}
		l.mu.Unlock()
	}
}

package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"
)

// DBFileName is the database inside the server's directory.
const DBFileName = "community.db"

// Store errors the server maps to HTTP statuses (statusFor).
var (
	ErrNoRoom      = errors.New("community: no such room")
	ErrNoMessage   = errors.New("community: no such message")
	ErrRoomExists  = errors.New("community: room already exists")
	ErrForbidden   = errors.New("community: not permitted")
	ErrBadToken    = errors.New("community: a room token is 1-64 letters, digits, '-' and '_'")
	ErrBadArgument = errors.New("community: invalid request")
)

// migrations are the schema versions in order; PRAGMA user_version is the
// number applied. Append only.
var migrations = []string{
	`
CREATE TABLE rooms (
	id               INTEGER PRIMARY KEY,
	token            TEXT NOT NULL UNIQUE,
	name             TEXT NOT NULL,
	description      TEXT,
	created          REAL NOT NULL,
	info_updates     INTEGER NOT NULL DEFAULT 0,
	message_sequence INTEGER NOT NULL DEFAULT 0,
	default_read     INTEGER NOT NULL DEFAULT 1,
	default_write    INTEGER NOT NULL DEFAULT 1,
	default_upload   INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE users (
	id           INTEGER PRIMARY KEY,
	session_id   TEXT NOT NULL UNIQUE, -- 66 hex: 00, 15 or 25 prefixed, as the user signs
	created      REAL NOT NULL,
	last_active  REAL NOT NULL,
	banned       INTEGER NOT NULL DEFAULT 0,
	banned_until REAL,                       -- NULL: a permanent ban
	moderator    INTEGER NOT NULL DEFAULT 0, -- global
	admin        INTEGER NOT NULL DEFAULT 0, -- global
	visible_mod  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE room_users (
	room        INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	user        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	last_active REAL,
	moderator   INTEGER NOT NULL DEFAULT 0,
	admin       INTEGER NOT NULL DEFAULT 0,
	visible_mod INTEGER NOT NULL DEFAULT 1,
	banned      INTEGER NOT NULL DEFAULT 0,
	banned_until REAL,
	read        INTEGER, -- NULL: the room's default
	write       INTEGER,
	upload      INTEGER,
	PRIMARY KEY (room, user)
) WITHOUT ROWID;
CREATE INDEX room_users_active ON room_users(room, last_active);
CREATE TABLE messages (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	room         INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	user         INTEGER NOT NULL REFERENCES users(id),
	posted       REAL NOT NULL,
	edited       REAL,
	seqno        INTEGER NOT NULL,
	data         BLOB,    -- unpadded; NULL once deleted
	data_size    INTEGER, -- the length as posted (padded)
	signature    BLOB,
	whisper_to   INTEGER REFERENCES users(id),
	whisper_mods INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_room_seqno ON messages(room, seqno);
CREATE INDEX messages_room_id ON messages(room, id);
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
`,
	`
CREATE TABLE nonces (
	nonce   BLOB PRIMARY KEY,
	expires REAL NOT NULL -- when its timestamp leaves the ±24 h window
) WITHOUT ROWID;
CREATE INDEX nonces_expires ON nonces(expires);
`,
	`
CREATE TABLE pinned_messages (
	room      INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	message   INTEGER NOT NULL PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	pinned_at REAL NOT NULL,
	pinned_by INTEGER NOT NULL REFERENCES users(id)
);
CREATE INDEX pinned_messages_room ON pinned_messages(room, pinned_at);
`,
	`
ALTER TABLE messages ADD COLUMN seqno_data INTEGER NOT NULL DEFAULT 0; -- the seqno of the last data change
UPDATE messages SET seqno_data = seqno;
CREATE TABLE reactions (
	id       INTEGER PRIMARY KEY,
	message  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	reaction TEXT NOT NULL,
	UNIQUE (message, reaction)
);
CREATE TABLE user_reactions (
	reaction INTEGER NOT NULL REFERENCES reactions(id) ON DELETE CASCADE,
	user     INTEGER NOT NULL REFERENCES users(id),
	at       REAL NOT NULL,
	PRIMARY KEY (reaction, user)
) WITHOUT ROWID;
CREATE INDEX user_reactions_at ON user_reactions(reaction, at);
`,
	`
CREATE TABLE inbox (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	recipient  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	sender     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	posted_at  REAL NOT NULL,
	expires_at REAL NOT NULL,
	data       BLOB NOT NULL
);
CREATE INDEX inbox_recipient ON inbox(recipient, id);
CREATE INDEX inbox_sender ON inbox(sender, id);
CREATE INDEX inbox_expires ON inbox(expires_at);
`,
	`
CREATE TABLE files (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	room     INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	uploader INTEGER NOT NULL REFERENCES users(id),
	size     INTEGER NOT NULL,
	uploaded REAL NOT NULL,
	expiry   REAL NOT NULL,
	filename TEXT,
	message  INTEGER REFERENCES messages(id) ON DELETE SET NULL,
	data     BLOB NOT NULL
);
CREATE INDEX files_expiry ON files(expiry);
CREATE INDEX files_room ON files(room, id);
`,
	`
ALTER TABLE rooms ADD COLUMN slow_mode REAL NOT NULL DEFAULT 0; -- seconds between one user's posts; 0: off
`,
	`
ALTER TABLE rooms ADD COLUMN image INTEGER REFERENCES files(id) ON DELETE SET NULL; -- the room's image, a file of the room
`,
}

// tokenRE is a room token (pysogs model/room.py: [\w-]{1,64}, ASCII here).
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidToken reports whether t can name a room.
func ValidToken(t string) bool { return tokenRE.MatchString(t) }

// Store is the community's database. It is safe for concurrent use.
type Store struct {
	db    *stmtDB
	group groupCommit
}

func dsn(path string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	return u.String() + "?_pragma=busy_timeout(15000)&_pragma=journal_mode(wal)&_pragma=synchronous(full)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// stablePlans turns on SQLite's query planner stability guarantee on a
// new connection: without it a bound LIMIT or a parameter compared with a
// partial index makes SQLite re-prepare a kept statement at every run
// (the planner may pick another plan for other values), which was a sixth
// of a poll's CPU time.
func stablePlans(c *sqlite3.Conn) error {
	_, err := c.Config(sqlite3.DBCONFIG_ENABLE_QPSG, true)
	return err
}

// OpenStore opens (creating if needed) the database in dir and applies the
// migrations it lacks.
func OpenStore(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db, err := driver.Open(dsn(filepath.Join(dir, DBFileName)), stablePlans)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// Keep all four open: with database/sql's default of two idle ones,
	// busy moments closed and reopened connections, each reading the
	// schema and preparing its kept statements again.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	s := &Store{db: newStmtDB(db)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.db.prepare(ctx, qDeleteNonces, qInsertNonce, qBumpSeq, qInsertMessage, qSavepoint, qRollbackTo, qRelease)
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this server's (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func unixf(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// Room is a room's row.
type Room struct {
	ID              int64
	Token           string
	Name            string
	Description     *string
	Created         float64
	InfoUpdates     int64
	MessageSequence int64
	DefaultRead     bool
	DefaultWrite    bool
	DefaultUpload   bool
	// SlowMode is the least time between two posts of one user in the
	// room (moderators are exempt); 0 is off.
	SlowMode float64
	// Image is the room file shown as the room's image (image_id), if any.
	Image *int64
}

const roomCols = "id, token, name, description, created, info_updates, message_sequence, default_read, default_write, default_upload, slow_mode, image"

func scanRoom(sc interface{ Scan(...any) error }) (*Room, error) {
	r := &Room{}
	err := sc.Scan(&r.ID, &r.Token, &r.Name, &r.Description, &r.Created, &r.InfoUpdates, &r.MessageSequence,
		&r.DefaultRead, &r.DefaultWrite, &r.DefaultUpload, &r.SlowMode, &r.Image)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoRoom
	}
	return r, err
}

// AddRoom creates a room readable and writable by everyone.
func (s *Store) AddRoom(ctx context.Context, token, name string, description *string, now time.Time) (*Room, error) {
	if !ValidToken(token) {
		return nil, ErrBadToken
	}
	if name == "" {
		name = token
	}
	_, err := s.db.ExecContext(ctx, "INSERT INTO rooms (token, name, description, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
		token, name, description, unixf(now))
	if err != nil {
		return nil, fmt.Errorf("add room: %w", err)
	}
	r, err := s.Room(ctx, token)
	if err != nil {
		return nil, err
	}
	if r.Name != name || r.Created != unixf(now) {
		return nil, ErrRoomExists
	}
	return r, nil
}

// RemoveRoom deletes a room and its messages.
func (s *Store) RemoveRoom(ctx context.Context, token string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM rooms WHERE token = ?", token)
	if err != nil {
		return fmt.Errorf("remove room: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoRoom
	}
	return nil
}

// Room returns the room token names.
func (s *Store) Room(ctx context.Context, token string) (*Room, error) {
	return scanRoom(s.db.QueryRowContext(ctx, "SELECT "+roomCols+" FROM rooms WHERE token = ?", token))
}

// Rooms lists the rooms by token.
func (s *Store) Rooms(ctx context.Context) ([]*Room, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+roomCols+" FROM rooms ORDER BY token")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Room
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetRoomDefaults sets a room's default permissions and bumps its
// info_updates.
func (s *Store) SetRoomDefaults(ctx context.Context, token string, read, write, upload bool) error {
	res, err := s.db.ExecContext(ctx, `UPDATE rooms SET default_read = ?, default_write = ?, default_upload = ?,
		info_updates = info_updates + 1 WHERE token = ?`, read, write, upload, token)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoRoom
	}
	return nil
}

// User is a user's row: one per key a user signs with (a 15 and a 25 id of
// the same account are two users, as in pysogs).
type User struct {
	ID        int64
	SessionID string
	Banned    bool
	Moderator bool // global
	Admin     bool // global
}

// User returns the user with session id sid, creating it (autovivify, as
// pysogs does) when create is set.
func (s *Store) User(ctx context.Context, sid string, now time.Time, create bool) (*User, error) {
	u := &User{SessionID: sid}
	scan := func() error {
		return s.db.QueryRowContext(ctx, "SELECT id, banned AND (banned_until IS NULL OR banned_until > ?), moderator, admin FROM users WHERE session_id = ?",
			unixf(now), sid).Scan(&u.ID, &u.Banned, &u.Moderator, &u.Admin)
	}
	// Read first: a known user costs no write transaction.
	err := scan()
	if errors.Is(err, sql.ErrNoRows) && create {
		if _, err := s.db.ExecContext(ctx, "INSERT INTO users (session_id, created, last_active) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			sid, unixf(now), unixf(now)); err != nil {
			return nil, fmt.Errorf("add user: %w", err)
		}
		err = scan()
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return u, err
}

// Perms are a user's permissions in a room.
type Perms struct {
	Read, Write, Upload bool
	Moderator, Admin    bool
	Banned              bool
}

// Perms computes u's permissions in r at now (u nil: anonymous).
func (s *Store) Perms(ctx context.Context, r *Room, u *User, now time.Time) (Perms, error) {
	p := Perms{Read: r.DefaultRead, Write: r.DefaultWrite, Upload: r.DefaultUpload}
	if u == nil {
		// The room's defaults, as pysogs shows them; what needs a user
		// answers 401 before it looks.
		p.Upload = p.Upload && p.Write
		return p, nil
	}
	var ru roomUserPerms
	err := s.db.QueryRowContext(ctx, `SELECT moderator, admin, banned AND (banned_until IS NULL OR banned_until > ?), read, write, upload
		FROM room_users WHERE room = ? AND user = ?`, unixf(now), r.ID, u.ID).
		Scan(&ru.mod, &ru.admin, &ru.banned, &ru.read, &ru.write, &ru.upload)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, err
	}
	return ru.perms(r, u), nil
}

// roomUserPerms is a user's room_users row as Perms reads it (all NULL
// without a row).
type roomUserPerms struct {
	mod, admin, banned  sql.NullBool
	read, write, upload sql.NullBool
}

// perms combines the row with r's defaults and u's global flags.
func (ru *roomUserPerms) perms(r *Room, u *User) Perms {
	p := Perms{Read: r.DefaultRead, Write: r.DefaultWrite, Upload: r.DefaultUpload}
	mod, admin, banned := ru.mod.Bool, ru.admin.Bool, ru.banned.Bool
	read, write, upload := ru.read, ru.write, ru.upload
	if read.Valid {
		p.Read = read.Bool
	}
	if write.Valid {
		p.Write = write.Bool
	}
	if upload.Valid {
		p.Upload = upload.Bool
	}
	p.Admin = admin || u.Admin
	p.Moderator = mod || p.Admin || u.Moderator
	p.Banned = (banned || u.Banned) && !p.Moderator
	if p.Moderator {
		p.Read, p.Write, p.Upload = true, true, true
	}
	if p.Banned {
		p.Read, p.Write, p.Upload = false, false, false
	}
	// Uploading takes write permission too (pysogs check_upload).
	p.Upload = p.Upload && p.Write
	return p
}

// RoomPerms is Room and Perms in one query: the room token names and u's
// permissions in it (u nil: anonymous).
func (s *Store) RoomPerms(ctx context.Context, token string, u *User, now time.Time) (*Room, Perms, error) {
	if u == nil {
		r, err := s.Room(ctx, token)
		if err != nil {
			return nil, Perms{}, err
		}
		p, err := s.Perms(ctx, r, nil, now)
		return r, p, err
	}
	r := &Room{}
	var ru roomUserPerms
	err := s.db.QueryRowContext(ctx, `SELECT r.id, r.token, r.name, r.description, r.created, r.info_updates, r.message_sequence,
			r.default_read, r.default_write, r.default_upload, r.slow_mode, r.image,
			ru.moderator, ru.admin, ru.banned AND (ru.banned_until IS NULL OR ru.banned_until > ?), ru.read, ru.write, ru.upload
		FROM rooms r LEFT JOIN room_users ru ON ru.room = r.id AND ru.user = ? WHERE r.token = ?`, unixf(now), u.ID, token).
		Scan(&r.ID, &r.Token, &r.Name, &r.Description, &r.Created, &r.InfoUpdates, &r.MessageSequence,
			&r.DefaultRead, &r.DefaultWrite, &r.DefaultUpload, &r.SlowMode, &r.Image,
			&ru.mod, &ru.admin, &ru.banned, &ru.read, &ru.write, &ru.upload)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Perms{}, ErrNoRoom
	}
	if err != nil {
		return nil, Perms{}, err
	}
	return r, ru.perms(r, u), nil
}

// Mods lists a room's moderators and admins, visible and hidden, by
// session id (pysogs Room.get_mods).
func (s *Store) Mods(ctx context.Context, r *Room) (mods, admins, hiddenMods, hiddenAdmins []string, err error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT u.session_id, ru.admin, ru.visible_mod FROM room_users ru JOIN users u ON u.id = ru.user
			WHERE ru.room = ? AND ru.moderator
		UNION ALL
		SELECT session_id, admin, visible_mod FROM users WHERE moderator
		ORDER BY 1`, r.ID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var sid string
		var admin, visible bool
		if err := rows.Scan(&sid, &admin, &visible); err != nil {
			return nil, nil, nil, nil, err
		}
		if seen[sid] {
			continue
		}
		seen[sid] = true
		switch {
		case admin && visible:
			admins = append(admins, sid)
		case admin:
			hiddenAdmins = append(hiddenAdmins, sid)
		case visible:
			mods = append(mods, sid)
		default:
			hiddenMods = append(hiddenMods, sid)
		}
	}
	return mods, admins, hiddenMods, hiddenAdmins, rows.Err()
}

// Touch records u's activity in r (active_users).
func (s *Store) Touch(ctx context.Context, r *Room, u *User, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO room_users (room, user, last_active) VALUES (?, ?, ?)
		ON CONFLICT (room, user) DO UPDATE SET last_active = excluded.last_active`, r.ID, u.ID, unixf(now))
	return err
}

// ActiveUsers counts the users active in r since cutoff.
func (s *Store) ActiveUsers(ctx context.Context, r *Room, cutoff time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM room_users WHERE room = ? AND last_active >= ?", r.ID, unixf(cutoff)).Scan(&n)
	return n, err
}

// Setting returns the value of an operator setting ("" when unset).
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetSetting sets an operator setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}

// ErrNonceUsed is a request nonce recorded before.
var ErrNonceUsed = errors.New("community: nonce already used")

const (
	qDeleteNonces = "DELETE FROM nonces WHERE expires < ?"
	qInsertNonce  = "INSERT INTO nonces (nonce, expires) VALUES (?, ?) ON CONFLICT DO NOTHING"
)

// UseNonce records the nonce of a state-changing request durably, so that
// it is refused after a restart too; expires is when its timestamp leaves
// the window. It deletes expired nonces as it goes.
func (s *Store) UseNonce(ctx context.Context, nonce [16]byte, expires, now time.Time) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.db.txExec(ctx, tx, qDeleteNonces, unixf(now)); err != nil {
			return err
		}
		res, err := s.db.txExec(ctx, tx, qInsertNonce, nonce[:], unixf(expires))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNonceUsed
		}
		return nil
	})
}

// Nonces returns the recorded nonces that have not expired at now, with
// the timestamps they were used with (for the in-memory cache at start).
func (s *Store) Nonces(ctx context.Context, now time.Time) (map[[16]byte]int64, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT nonce, expires FROM nonces WHERE expires >= ?", unixf(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[16]byte]int64{}
	for rows.Next() {
		var n []byte
		var exp float64
		if err := rows.Scan(&n, &exp); err != nil {
			return nil, err
		}
		if len(n) == 16 {
			out[[16]byte(n)] = int64(exp) - int64(authWindow/time.Second)
		}
	}
	return out, rows.Err()
}

// SetSlowMode sets the room's slow mode (0: off) and bumps info_updates.
func (s *Store) SetSlowMode(ctx context.Context, token string, d time.Duration) error {
	res, err := s.db.ExecContext(ctx, "UPDATE rooms SET slow_mode = ?, info_updates = info_updates + 1 WHERE token = ?", d.Seconds(), token)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoRoom
	}
	return nil
}

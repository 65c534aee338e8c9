// Package store is the Sotto client's local database: conversations,
// messages with their delivery state, contacts, message requests, the
// per-node retrieve position (last_hash) and the hashes already processed,
// an outbox of encrypted messages waiting to be stored in a swarm, and
// settings.
//
// It is SQLite (github.com/ncruces/go-sqlite3) in WAL mode, encrypted at rest
// with the "adiantum" VFS: every page of the database, its WAL and its
// temporary files is encrypted with a 32-byte key that comes from the
// identity file (identity.KeyFile.DBKey). Adiantum is deterministic,
// length-preserving disk encryption: someone holding two copies of the file
// learns which pages changed, not what they hold, and it does not detect
// tampering. The key is handed to SQLite as a URI parameter when the file
// is opened; database/sql keeps that string for as long as the Store is open
// and Go cannot wipe it.
//
// Schema changes are numbered migrations applied in order at Open
// (PRAGMA user_version records the last one applied). Times are Unix
// milliseconds supplied by the caller, so the package has no clock.
package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver"       // registers the "sqlite3" database/sql driver
	_ "github.com/ncruces/go-sqlite3/vfs/adiantum" // registers the "adiantum" encrypting VFS
)

// KeySize is the size of the database encryption key.
const KeySize = 32

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrWrongKey is returned by Open when the file exists but does not decrypt
// with the key given (or is not a database).
var ErrWrongKey = errors.New("store: database does not open with this key (wrong identity, or the file is damaged)")

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ops holds every query; Store runs them on the database, Tx inside a
// transaction.
type ops struct{ q querier }

// Store is an open client database. It is safe for concurrent use.
type Store struct {
	ops
	db   *sql.DB
	path string
}

// Tx is a transaction opened by Store.Update; it has every query method of
// Store.
type Tx struct{ ops }

// Open opens (creating if needed) the encrypted database at path with key,
// and applies pending migrations. The directory is created with mode 0700.
func Open(ctx context.Context, path string, key [KeySize]byte) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := restrictFiles(abs); err != nil {
		return nil, err
	}
	hexKey := hex.EncodeToString(key[:])
	q := url.Values{}
	q.Set("vfs", "adiantum")
	q.Set("hexkey", hexKey)
	// Journal and WAL files SQLite creates take the database's mode.
	q.Set("modeof", abs)
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "synchronous(normal)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(on)")
	q.Add("_pragma", "temp_store(memory)")
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: abs, RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// One connection: the client writes little, and a single connection
	// serialises writers inside the process without SQLITE_BUSY. Other
	// processes on the same file wait on busy_timeout.
	db.SetMaxOpenConns(1)
	s := &Store{ops: ops{q: db}, db: db, path: abs}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// restrictFiles makes the database file and its WAL and shared-memory
// files readable by the owner only (mode 0600): it creates the missing
// ones so (SQLite keeps the mode of a file that exists) and narrows the
// mode of existing ones, which older builds created 0644.
func restrictFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		err = f.Chmod(0o600)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Update runs fn in a transaction, committed when fn returns nil and rolled
// back otherwise.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(&Tx{ops{q: tx}}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// migrations are applied in order; migration i brings the schema to
// version i+1. Never edit an applied migration: add a new one.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE contacts (
	session_id   TEXT PRIMARY KEY,
	display_name TEXT NOT NULL DEFAULT '',
	approved     INTEGER NOT NULL DEFAULT 0, -- we accepted them (or wrote first)
	approved_me  INTEGER NOT NULL DEFAULT 0, -- they accepted us (or wrote to us)
	blocked      INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE conversations (
	id            TEXT PRIMARY KEY,          -- the peer's Session ID
	created_at    INTEGER NOT NULL,
	last_activity INTEGER NOT NULL,
	expiry_mode   INTEGER NOT NULL DEFAULT 0, -- 0 off, 1 after read, 2 after send
	expiry_timer  INTEGER NOT NULL DEFAULT 0  -- seconds
) STRICT;

CREATE TABLE requests (
	session_id TEXT PRIMARY KEY,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL
) STRICT;

CREATE TABLE messages (
	id           INTEGER PRIMARY KEY,
	conversation TEXT NOT NULL,
	author       TEXT NOT NULL,
	direction    INTEGER NOT NULL,           -- 0 incoming, 1 outgoing
	sent_at      INTEGER NOT NULL,           -- the envelope timestamp (ms)
	received_at  INTEGER NOT NULL,
	server_hash  TEXT NOT NULL DEFAULT '',   -- hash in the swarm we stored it to / retrieved it from
	sync_hash    TEXT NOT NULL DEFAULT '',   -- outgoing: hash of the copy in our own swarm
	body         TEXT NOT NULL,
	state        INTEGER NOT NULL,
	expiry_mode  INTEGER NOT NULL DEFAULT 0,
	expiry_timer INTEGER NOT NULL DEFAULT 0,
	expires_at   INTEGER NOT NULL DEFAULT 0, -- 0: not scheduled
	read_at      INTEGER NOT NULL DEFAULT 0,
	quote_ts     INTEGER NOT NULL DEFAULT 0,
	quote_author TEXT NOT NULL DEFAULT '',
	unsent       INTEGER NOT NULL DEFAULT 0,
	UNIQUE (conversation, author, sent_at)
) STRICT;
CREATE INDEX messages_by_conversation ON messages (conversation, sent_at, author, id);
CREATE INDEX messages_by_expiry ON messages (expires_at) WHERE expires_at > 0;

CREATE TABLE reactions (
	message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	reactor    TEXT NOT NULL,
	emoji      TEXT NOT NULL,
	at         INTEGER NOT NULL,
	PRIMARY KEY (message_id, reactor, emoji)
) STRICT;

CREATE TABLE last_hashes (
	account    TEXT NOT NULL,
	node       TEXT NOT NULL,
	namespace  INTEGER NOT NULL,
	hash       TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (account, node, namespace)
) STRICT;

CREATE TABLE seen_hashes (
	hash       TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX seen_hashes_by_expiry ON seen_hashes (expires_at);

CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY,
	message_id   INTEGER REFERENCES messages (id) ON DELETE CASCADE,
	kind         INTEGER NOT NULL,
	account      TEXT NOT NULL,              -- the swarm's account
	data         BLOB NOT NULL,              -- what to store, before base64
	timestamp    INTEGER NOT NULL,
	expiry       INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt);
`,
	// 2: outbox ids are never reused. With a plain rowid, an item
	// delivered and removed could leave its id to the next item queued,
	// and a worker that listed the old item would then remove the new one
	// unsent.
	`
CREATE TABLE outbox2 (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	message_id   INTEGER REFERENCES messages (id) ON DELETE CASCADE,
	kind         INTEGER NOT NULL,
	account      TEXT NOT NULL,
	data         BLOB NOT NULL,
	timestamp    INTEGER NOT NULL,
	expiry       INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO outbox2 SELECT id, message_id, kind, account, data, timestamp, expiry, attempts, next_attempt, last_error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox2 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt);
`,
	// 3: config sync (docs/configsync.md): the dumps of the account's
	// config objects, and the contact and conversation fields they carry.
	`
CREATE TABLE config_objects (
	name       TEXT PRIMARY KEY,           -- config.Kind.Name
	namespace  INTEGER NOT NULL,
	dump       BLOB NOT NULL,              -- config.Config.Dump
	last_push  INTEGER NOT NULL DEFAULT 0, -- ms; 0: never
	last_merge INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT ''
) STRICT;
ALTER TABLE contacts ADD COLUMN nickname TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN pic_url TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN pic_key BLOB NOT NULL DEFAULT x'';
ALTER TABLE contacts ADD COLUMN priority INTEGER NOT NULL DEFAULT 0; -- >0 pinned, -1 hidden
ALTER TABLE conversations ADD COLUMN read_up_to INTEGER NOT NULL DEFAULT 0; -- ms; messages sent up to it are read
`,
	// 4: config sync before the first fetch (docs/configsync.md): which
	// namespaces were retrieved from our swarm at least once, and the
	// local changes waiting for that first fetch. An object that was
	// merged already was fetched.
	`
CREATE TABLE config_fetched (
	namespace INTEGER PRIMARY KEY
) STRICT;
INSERT INTO config_fetched SELECT DISTINCT namespace FROM config_objects WHERE last_merge > 0;
CREATE TABLE config_pending (
	namespace INTEGER NOT NULL,
	item      TEXT NOT NULL,              -- a contact or conversation (Session ID), '' for the profile
	field     TEXT NOT NULL,              -- which of the item's fields the user changed
	value     INTEGER NOT NULL DEFAULT 0, -- the largest value recorded (a read position)
	PRIMARY KEY (namespace, item, field)
) STRICT;
`,
	// 5: attachments (docs/attachments.md "The client"): the pointers a
	// message carries, their download state and where their encrypted
	// copy is kept; contacts' cached profile pictures.
	`
CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	message_id   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	idx          INTEGER NOT NULL,           -- position in the message
	content_type TEXT NOT NULL DEFAULT '',
	file_name    TEXT NOT NULL DEFAULT '',
	size         INTEGER NOT NULL DEFAULT 0, -- plaintext bytes (of the whole file for a manifest, once known)
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0,
	duration_ms  INTEGER NOT NULL DEFAULT 0,
	flags        INTEGER NOT NULL DEFAULT 0, -- AttachmentPointer.flags (1: voice message)
	url          TEXT NOT NULL,
	key          BLOB NOT NULL,
	digest       BLOB NOT NULL DEFAULT x'',
	manifest     BLOB,                       -- a large file: NULL until the manifest is fetched
	is_manifest  INTEGER NOT NULL DEFAULT 0,
	state        INTEGER NOT NULL DEFAULT 0, -- 0 pending, 1 done, 2 failed
	error        TEXT NOT NULL DEFAULT '',
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL DEFAULT 0,
	local        TEXT NOT NULL DEFAULT '',   -- directory of the encrypted copy under the attachments directory
	UNIQUE (message_id, idx)
) STRICT;
CREATE INDEX attachments_due ON attachments (state, next_attempt);
ALTER TABLE contacts ADD COLUMN pic_cached TEXT NOT NULL DEFAULT ''; -- the URL of the cached picture
`,
	// 6: closed groups (docs/client.md "Closed groups"): the 03 groups the user is in or
	// invited to, with the key that opens their swarm (the group's secret
	// key for an admin, the subaccount auth data for a member) and the
	// dumps of their keys, info and members objects. A group's
	// conversation lives in conversations and messages under its 03 ID,
	// and its retrieve positions in last_hashes (account: the 03 ID,
	// namespaces 11–14).
	`
CREATE TABLE groups (
	id           TEXT PRIMARY KEY,            -- 03 + the group's Ed25519 key
	name         TEXT NOT NULL DEFAULT '',    -- from the info object, or the invitation until then
	secret       BLOB NOT NULL DEFAULT x'',   -- 64-byte group key (admins)
	auth_data    BLOB NOT NULL DEFAULT x'',   -- 100-byte subaccount auth data (members)
	keys_dump    BLOB NOT NULL DEFAULT x'',
	info_dump    BLOB NOT NULL DEFAULT x'',
	members_dump BLOB NOT NULL DEFAULT x'',
	state        INTEGER NOT NULL DEFAULT 0,  -- GroupState
	inviter      TEXT NOT NULL DEFAULT '',    -- who invited us (Session ID), '' if we created it
	invited_at   INTEGER NOT NULL DEFAULT 0,
	joined_at    INTEGER NOT NULL DEFAULT 0,
	updated_at   INTEGER NOT NULL
) STRICT;
`,
	// 7: group messages that arrived before the key that opens them
	// (docs/client.md "Closed groups"): already marked seen and past the
	// retrieve position, so kept here until a key message opens them or
	// they expire.
	`
CREATE TABLE group_waiting (
	group_id TEXT NOT NULL,
	hash     TEXT NOT NULL,
	data     BLOB NOT NULL,
	ts       INTEGER NOT NULL, -- swarm timestamp (ms)
	expires  INTEGER NOT NULL, -- swarm expiry (ms)
	PRIMARY KEY (group_id, hash)
) STRICT;
`,
	// 8: communities (docs/community.md): the rooms the user joined, with
	// the server's key and the poll position, and the posts read from them
	// (the body decoded, the author as the blinded ID the room shows).
	`
CREATE TABLE communities (
	server    TEXT NOT NULL,              -- base URL, no trailing slash
	room      TEXT NOT NULL,              -- room token
	pubkey    BLOB NOT NULL,              -- the server's X25519 key (32 bytes)
	name      TEXT NOT NULL DEFAULT '',
	seqno     INTEGER NOT NULL DEFAULT 0, -- messages/since position
	info      INTEGER NOT NULL DEFAULT 0, -- the room's info_updates last seen
	joined_at INTEGER NOT NULL,
	PRIMARY KEY (server, room)
) STRICT;
CREATE TABLE community_posts (
	server    TEXT NOT NULL,
	room      TEXT NOT NULL,
	id        INTEGER NOT NULL,             -- the server's message id
	author    TEXT NOT NULL,                -- 15/25/05 ID as the room shows it
	name      TEXT NOT NULL DEFAULT '',     -- the author's display name in the post
	posted    INTEGER NOT NULL,             -- ms, the server's time
	sent_at   INTEGER NOT NULL DEFAULT 0,   -- ms, the post's own timestamp (what quotes name)
	body      TEXT NOT NULL DEFAULT '',
	quote_id  INTEGER NOT NULL DEFAULT 0,   -- sent-at (ms) of the quoted post, 0 if none
	reactions TEXT NOT NULL DEFAULT '{}',   -- JSON {emoji: count}
	deleted   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (server, room, id)
) STRICT;
`,
	// communities, second part (docs/client.md "Communities"): a room of
	// a server without blinding, where the client signs with its own key;
	// a post's room files (JSON [{id, url, name, type, size}]) and whom
	// it whispers to.
	`
ALTER TABLE communities ADD COLUMN unblinded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE community_posts ADD COLUMN files TEXT NOT NULL DEFAULT '[]';
ALTER TABLE community_posts ADD COLUMN whisper_to TEXT NOT NULL DEFAULT '';
ALTER TABLE community_posts ADD COLUMN whisper_mods INTEGER NOT NULL DEFAULT 0;
`,
	// Receipts wait in the outbox unsealed (OutboxReceipt) until their
	// delay is over, so that later ones join them: found by kind and
	// account. A build without OutboxReceipt must not open the database
	// (it would store such an item as it is), which this migration's
	// version number also ensures.
	`
CREATE INDEX outbox_by_kind ON outbox (kind, account);
`,
	// The service nodes the client learned and the guards it chose
	// (nodes.go, docs/client.md "The network"), kept across runs so that
	// a restart contacts no seed and keeps its guards, as Session's
	// clients keep their snode pool and guard nodes.
	`
CREATE TABLE snodes (
	ed25519    TEXT PRIMARY KEY,  -- hex
	x25519     TEXT NOT NULL,     -- hex
	ip         TEXT NOT NULL,
	port       INTEGER NOT NULL,  -- HTTPS storage port
	learned_at INTEGER NOT NULL,  -- ms: when the node first appeared in a list
	sotto      INTEGER NOT NULL   -- 1: it relays the Sotto onion form (docs/onion.md)
) STRICT;
CREATE TABLE snode_list (
	id         INTEGER PRIMARY KEY CHECK (id = 0),
	fetched_at INTEGER NOT NULL   -- ms: when the list was last fetched
) STRICT;
CREATE TABLE guards (
	ed25519   TEXT PRIMARY KEY,   -- a node of snodes
	position  INTEGER NOT NULL,   -- the order the client prefers them in
	chosen_at INTEGER NOT NULL    -- ms
) STRICT;
`,
	// group_waiting also keeps the group's config messages (info and
	// members) that arrived before the key that opens them
	// (docs/groups.md "Keys that come late"); the namespace tells them
	// from the group's messages, which every existing row is.
	`
ALTER TABLE group_waiting ADD COLUMN namespace INTEGER NOT NULL DEFAULT 11;
`,
	// The operator of each kept node (its operator_address in the node
	// list), so that paths built from a kept list keep two nodes of one
	// operator apart too (client/path Node.Operator); '' when the list
	// did not say, as for every node kept before.
	`
ALTER TABLE snodes ADD COLUMN operator TEXT NOT NULL DEFAULT '';
`,
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

// migrate applies the migrations the file has not seen yet.
func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		if isNotADB(err) {
			return ErrWrongKey
		}
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("store: database schema version %d is newer than this build's %d", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		err := s.Update(ctx, func(tx *Tx) error {
			if _, err := tx.q.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("store: migration %d: %w", i+1, err)
			}
			if _, err := tx.q.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
				return fmt.Errorf("store: migration %d: %w", i+1, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// isNotADB reports SQLite's "file is not a database" (SQLITE_NOTADB), which
// is what a wrong Adiantum key gives.
func isNotADB(err error) bool { return errors.Is(err, sqlite3.NOTADB) }

// boolInt converts for SQLite's integer booleans.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

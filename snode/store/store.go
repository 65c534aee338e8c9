// Package store is a service node's message store: SQLite (through
// github.com/ncruces/go-sqlite3) in WAL mode with synchronous=FULL.
//
// All writes go through one writer goroutine that group-commits: the
// operations that queue up while a commit is being synced (and, when the
// writer is busy, those that the handlers running meanwhile submit, see
// Store.run and Options.CommitWait) are applied in the next transaction,
// and every caller gets its answer only after the COMMIT that contains
// its operation returned. An acknowledged
// write therefore survives a crash of the process or the machine. Reads
// use a separate pool of read-only connections.
//
// Every message row is also a replication record: deleting a message turns
// the row into a tombstone (data NULL) that is kept until the message's
// expiry at most (the node drops it earlier, DropTombstones, once every
// member of its swarm has it), and every row carries mtime, the version of
// its state: the time of the operation that last changed it, rounded down
// to Options.TimeQuantum, plus one for each later change within that
// quantum (see stamp). Rows merge as last-writer-wins registers keyed by
// message hash (see Newer), which is what anti-entropy between swarm
// members relies on.
// The store keeps, in memory, an XOR digest of its rows per (account,
// namespace) so that two nodes can find where they differ without reading
// their databases (see Digests).
package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver" // registers the "sqlite3" database/sql driver
)

// AccountSize is the length of an account address: network prefix byte and
// 32 key bytes.
const AccountSize = 33

// Account is a storage address: the network prefix byte (0x05, 0x03, …)
// followed by the 32 key bytes, the raw form of a "05…" or "03…" ID.
type Account [AccountSize]byte

// Hex returns the 66-character lowercase hex form of the account.
func (a Account) Hex() string { return hex.EncodeToString(a[:]) }

// Message is a stored message as clients see it. Times are Unix
// milliseconds.
type Message struct {
	Account   Account
	Namespace int16
	Hash      string // Session's message hash, unpadded base64 (43 characters)
	Timestamp int64
	Expiry    int64
	Data      []byte
	// StoreProof is the owner's store request that put the message here,
	// kept so that peers can verify the row (opaque to the store; nil for
	// rows stored before proofs were kept). Reads for clients leave it
	// empty.
	StoreProof []byte
}

// Record is a message or its tombstone, the unit of replication. A deleted
// record has no data.
type Record struct {
	Message
	MTime   int64 // time of the operation that produced this state
	Deleted bool
	// ChangeProof is the owner's request behind the row's last change when
	// that was not its store: a delete, an expiry change, or the store that
	// replaced it in a public outbox. Nil when StoreProof explains the
	// state (or for rows from before proofs were kept).
	ChangeProof []byte
}

// TokenSize is the length of a subaccount token.
const TokenSize = 36

// Revocation is the revocation state of one subaccount token of an account.
// Unrevoking keeps the row with Revoked false so the change replicates.
type Revocation struct {
	Account Account
	Token   [TokenSize]byte
	Revoked bool
	MTime   int64
	// Proof is the account's signed revoke or unrevoke request (nil for
	// rows from before proofs were kept).
	Proof []byte
}

// StoreResult says what a Store did.
type StoreResult int

// Store outcomes, as Session's StoreResult.
const (
	New      StoreResult = iota + 1 // inserted
	Exists                          // already present with the same or a later expiry
	Extended                        // already present; its expiry was extended
)

// Errors callers branch on.
var (
	// ErrFull is returned when the database reached its size cap.
	ErrFull = errors.New("store: database is full")
	// ErrClosed is returned by operations on a closed store.
	ErrClosed = errors.New("store: closed")
)

// Options configure Open.
type Options struct {
	// Path is the database file.
	Path string
	// MaxBytes caps the database size (SQLite max_page_count); 0 means no cap.
	MaxBytes int64
	// MaxBatch is the most operations committed in one transaction
	// (default 512).
	MaxBatch int
	// CommitWait caps how long a busy writer waits for more operations
	// before it commits (see run); 0 means the default, 1 ms, and a
	// negative value never waits.
	CommitWait time.Duration
	// ReadConns is the size of the read connection pool (default 4).
	ReadConns int
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
	// TimeQuantum is the granularity of the mtimes the store records for
	// the operations it is given (see stamp): a row keeps the minute, say,
	// of its arrival and of its last change, never the millisecond. 0 or
	// anything up to a millisecond keeps operation times exact.
	TimeQuantum time.Duration
	// OnLive, if set, is called after each commit for every (account,
	// namespace) that gained a live message in it (a store, a store after
	// a delete, a merged row), from the writer goroutine: it must not
	// block or call the store.
	OnLive func(a Account, ns int16)
	// SyncHoldsP makes the log's sync at each commit keep the writer's
	// Go scheduler slot (walsync_linux.go): faster for a process that runs
	// one store, wrong for one that runs many (an in-process network),
	// whose writers would stop each other's work while they sync.
	SyncHoldsP bool
	// WhileSyncing, with SyncHoldsP, is work the writer does while the
	// disk writes a commit's log, between starting the write-back and
	// waiting for it (walsync_linux.go): time the core would otherwise
	// spend idle. It must return by the deadline it is given (a little
	// after is fine) and must not call the store. The node fills its
	// signing nonce pool with it (key.NoncePool).
	WhileSyncing func(deadline time.Time)

	// walLimit replaces walSizeLimit (tests).
	walLimit int64
}

// defaultCommitWait is Options.CommitWait's default.
const defaultCommitWait = time.Millisecond

// syncFull is PRAGMA synchronous=FULL (EXTRA is 3).
const syncFull = 2

// pageSize is the SQLite page size the store uses (the default).
const pageSize = 4096

// Revocation caps per account: Session keeps at most 50 revoked tokens
// (MAX_SUBACCOUNT_TOKENS); we keep as many unrevocation tombstones.
const (
	maxRevoked   = 50
	maxUnrevoked = 50
)

// Store is an open message store. It is safe for concurrent use.
type Store struct {
	log      *slog.Logger
	wdb      *sql.DB
	rdb      *sql.DB
	cdb      *sql.DB // checkpoints
	wconn    *sql.Conn
	ws       writeStmts
	rs       readStmts
	readers  chan *reader // for Retrieve
	maxBatch int
	walLimit int64 // journal_size_limit of the writer (walSizeLimit)
	// commitWait caps the writer's wait for more operations (0: none).
	commitWait time.Duration

	ops     chan *writeOp
	closing chan struct{}
	done    chan struct{}
	cpDone  chan struct{}
	once    sync.Once

	// Owned by the writer goroutine.
	ownerIDs map[Account]int64
	owners   map[int64]Account

	dig    digests
	onLive func(Account, int16)
	// quantum is Options.TimeQuantum in milliseconds (at least 1).
	quantum int64
	// recent holds, in memory only, the exact operation time of the rows
	// this store changed lately (hash → Unix ms), for anti-entropy's
	// settling delay (Header.Changed); entries go after recentKeep.
	recentMu  sync.RWMutex
	recent    map[string]int64
	recentCut int64

	commits, committedOps atomic.Int64
	checkpoints           atomic.Int64 // checkpoints that copied the whole log
	folded                atomic.Int64 // commits folded by the last of those
	logPages              atomic.Int64 // pages in the log after the last commit
	commitNanos           atomic.Int64
	busyNanos             atomic.Int64
}

// Stats are the writer's counters.
type Stats struct {
	Commits    int64         // transactions committed
	Ops        int64         // operations in them
	CommitTime time.Duration // time spent in COMMIT (syncing the log)
	// BusyTime is the writer's time applying and committing batches:
	// Ops / BusyTime is the rate of operations it can take when busy.
	BusyTime time.Duration
	// Checkpoints counts the checkpoints that folded the whole log into
	// the database, after which the writer starts the log over.
	Checkpoints int64
}

// Stats returns the writer's counters.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Ops: s.committedOps.Load(), CommitTime: time.Duration(s.commitNanos.Load()),
		BusyTime: time.Duration(s.busyNanos.Load()), Checkpoints: s.checkpoints.Load()}
}

// writerCacheKiB is the page cache of the writer connection. SQLite's
// default (2 MiB) holds little of the message indexes once a node stores
// more than a few MiB, and every store then reads index pages back from
// the file; the writer keeps its cache across transactions (it is the only
// writer), so a larger one pays. Readers keep the default: in WAL mode a
// connection drops its whole cache whenever another one has written since
// its last read, which on a node taking stores is at nearly every read.
const writerCacheKiB = 32 << 10

// dsn is the connection string of a connection to the store at path;
// walVFS is the VFS of a writing connection (walBufVFS or walBufHoldVFS).
func dsn(path string, readOnly bool, walVFS string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	q := "_pragma=busy_timeout(15000)&_pragma=journal_mode(wal)&_pragma=synchronous(full)&_pragma=foreign_keys(on)"
	if readOnly {
		q += "&_pragma=query_only(1)"
	} else {
		// Connections that write gather their log frames (walbuf.go),
		// which needs synchronous=FULL.
		q += "&vfs=" + walVFS + "&_txlock=immediate&_pragma=cache_size(-" + strconv.Itoa(writerCacheKiB) + ")"
	}
	return u.String() + "?" + q
}

// Open opens (creating if needed) the store at opts.Path and starts its
// writer. Close it when done.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("store: no path")
	}
	if opts.MaxBytes < 0 {
		return nil, errors.New("store: negative size cap")
	}
	abs, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	opts.Path = abs
	s := &Store{
		log:      opts.Logger,
		maxBatch: opts.MaxBatch,
		onLive:   opts.OnLive,
		walLimit: opts.walLimit,
		ops:      make(chan *writeOp),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		cpDone:   make(chan struct{}),
		ownerIDs: make(map[Account]int64),
		owners:   make(map[int64]Account),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.quantum = max(opts.TimeQuantum.Milliseconds(), 1)
	s.recent = make(map[string]int64)
	if s.maxBatch <= 0 {
		s.maxBatch = 512
	}
	if s.walLimit <= 0 {
		s.walLimit = walSizeLimit
	}
	switch {
	case opts.CommitWait == 0:
		s.commitWait = defaultCommitWait
	case opts.CommitWait > 0:
		s.commitWait = opts.CommitWait
	}
	readConns := opts.ReadConns
	if readConns <= 0 {
		readConns = 4
	}
	walVFS := walBufVFS
	if opts.SyncHoldsP {
		walVFS = walBufHoldVFS
	}
	if s.wdb, err = sql.Open("sqlite3", dsn(opts.Path, false, walVFS)); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	fail := func(err error) (*Store, error) {
		if s.wconn != nil {
			s.wconn.Close()
		}
		s.wdb.Close()
		if s.rdb != nil {
			s.rdb.Close()
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.openWriter(ctx, opts.MaxBytes); err != nil {
		return fail(err)
	}
	if opts.WhileSyncing != nil {
		if err := s.setSyncWork(opts.WhileSyncing); err != nil {
			return fail(err)
		}
	}
	if err := s.openReaders(ctx, opts.Path, readConns); err != nil {
		return fail(err)
	}
	if err := s.load(ctx); err != nil {
		return fail(err)
	}
	if s.cdb, err = sql.Open("sqlite3", dsn(opts.Path, false, walVFS)); err != nil {
		return fail(err)
	}
	s.cdb.SetMaxOpenConns(1)
	go s.run()
	go s.checkpointLoop()
	return s, nil
}

// setSyncWork gives the writer's log file the work to do while a
// commit's write-back runs (Options.WhileSyncing).
func (s *Store) setSyncWork(work func(deadline time.Time)) error {
	return s.wconn.Raw(func(dc any) error {
		c, ok := dc.(interface{ Raw() *sqlite3.Conn })
		if !ok {
			return fmt.Errorf("driver connection %T has no SQLite connection", dc)
		}
		f, err := c.Raw().FileControl("main", sqlite3.FCNTL_JOURNAL_POINTER)
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		wf, ok := f.(*walFile)
		if !ok {
			return fmt.Errorf("log file is a %T, not the store's", f)
		}
		wf.work = work
		return nil
	})
}

// openWriter sets up the writer's database handle s.wdb: one connection,
// the schema, the size cap and the prepared statements.
func (s *Store) openWriter(ctx context.Context, maxBytes int64) error {
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	var err error
	if s.wconn, err = s.wdb.Conn(ctx); err != nil {
		return err
	}
	if _, err := s.wconn.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if err := migrate(ctx, s.wconn); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Acknowledged writes are durable only if every commit syncs the log,
	// and the log's gathered frames (walbuf.go) reach the file only then.
	var syncLevel int
	if err := s.wconn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncLevel); err != nil {
		return err
	}
	if syncLevel < syncFull {
		return fmt.Errorf("synchronous is %d, not FULL", syncLevel)
	}
	// Checkpoints run beside the writer (checkpointLoop), not inside its
	// commits. When the writer starts the log over and finds it grown
	// past walSizeLimit (a reader held it longer than usual), it cuts it
	// back to that size; below it the file is reused as it is.
	if _, err := s.wconn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		return err
	}
	if _, err := s.wconn.ExecContext(ctx, fmt.Sprintf("PRAGMA journal_size_limit = %d", s.walLimit)); err != nil {
		return err
	}
	if maxBytes > 0 {
		pages := max(maxBytes/pageSize, 16)
		if _, err := s.wconn.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
			return err
		}
	}
	// The log's size after each commit, for checkpointLoop.
	if err := s.wconn.Raw(func(dc any) error {
		c, ok := dc.(interface{ Raw() *sqlite3.Conn })
		if !ok {
			return fmt.Errorf("driver connection %T has no SQLite connection", dc)
		}
		c.Raw().WALHook(func(_ *sqlite3.Conn, _ string, pages int) error {
			s.logPages.Store(int64(pages))
			return nil
		})
		return nil
	}); err != nil {
		return err
	}
	return s.ws.prepare(ctx, s.wconn)
}

// openReaders opens the read-only pool s.rdb with its prepared statements
// and the n direct readers.
func (s *Store) openReaders(ctx context.Context, path string, n int) error {
	var err error
	if s.rdb, err = sql.Open("sqlite3", dsn(path, true, "")); err != nil {
		return err
	}
	s.rdb.SetMaxOpenConns(n)
	s.rdb.SetMaxIdleConns(n)
	if err := s.rs.prepare(ctx, s.rdb); err != nil {
		return err
	}
	s.readers = make(chan *reader, n)
	for range n {
		r, err := openReader(path)
		if err != nil {
			s.closeReaders(len(s.readers))
			return err
		}
		s.readers <- r
	}
	return nil
}

// checkpointInterval is how often checkpointLoop folds the log while the
// store is being written; it folds it sooner once the log holds
// checkpointPages pages.
//
// Folding a log that stays small lets the writer start it over often, so
// that commits write over blocks the log file already has instead of
// growing it: on ext4 (the test machine, docs/sqlite.md) a sync of
// overwritten blocks skips the journal commit that a sync of an appended
// file needs. A node storing 8,000 messages a second used to grow its log
// by 80 MB between checkpoints, truncate it every second (a 64 MB
// ftruncate stalled the node for 37 ms) and grow it again; its commits
// took 0.8-1.1 ms, and 0.4-0.5 ms with the log folded every 8 MiB. Every
// fold also syncs the database file, so a node that stores less (a swarm
// member at 1,300 a second) keeps to once a second.
const (
	checkpointInterval = time.Second
	checkpointPages    = 2048
	checkpointTick     = 100 * time.Millisecond
)

// walSizeLimit is the size (bytes) the log file is cut back to when the
// writer starts it over larger than that.
const walSizeLimit = 64 << 20

// checkpointLoop folds the write-ahead log into the database file from a
// connection of its own, when something was committed since the last time
// and either checkpointInterval has passed or the log holds
// checkpointPages pages. A PASSIVE checkpoint copies what no reader still
// needs without blocking the writer; once it has copied the whole log, the
// writer's next commit starts the log over from its beginning.
func (s *Store) checkpointLoop() {
	defer close(s.cpDone)
	t := time.NewTicker(checkpointTick)
	defer t.Stop()
	s.folded.Store(-1)
	last := time.Now()
	for {
		select {
		case <-s.closing:
			return
		case now := <-t.C:
			commits := s.commits.Load()
			if commits == s.folded.Load() || (now.Sub(last) < checkpointInterval && s.logPages.Load() < checkpointPages) {
				continue
			}
			last = now
			var busy, logPages, done int64
			if err := s.cdb.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done); err != nil {
				s.log.Warn("store checkpoint failed", "err", err)
				continue
			}
			if done == logPages {
				s.folded.Store(commits)
				s.checkpoints.Add(1)
			}
		}
	}
}

// load fills the owner caches and the digests from the database.
func (s *Store) load(ctx context.Context) error {
	rows, err := s.wconn.QueryContext(ctx, "SELECT id, pubkey FROM owners")
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var pk []byte
		if err := rows.Scan(&id, &pk); err != nil {
			rows.Close()
			return err
		}
		if len(pk) != AccountSize {
			rows.Close()
			return fmt.Errorf("owner %d has a %d-byte key", id, len(pk))
		}
		a := Account(pk)
		s.ownerIDs[a], s.owners[id] = id, a
	}
	if err := rows.Close(); err != nil {
		return err
	}
	s.dig.init()
	rows, err = s.wconn.QueryContext(ctx, "SELECT owner, namespace, hash, mtime, expiry, data IS NULL FROM messages")
	if err != nil {
		return err
	}
	for rows.Next() {
		var owner, mtime, expiry int64
		var ns int16
		var hash string
		var deleted bool
		if err := rows.Scan(&owner, &ns, &hash, &mtime, &expiry, &deleted); err != nil {
			rows.Close()
			return err
		}
		s.dig.apply(change{key: DigestKey{Account: s.owners[owner], Kind: KindMessages, Namespace: ns}, elem: messageElem(hash, mtime, expiry, deleted), delta: 1})
	}
	if err := rows.Close(); err != nil {
		return err
	}
	rows, err = s.wconn.QueryContext(ctx, "SELECT owner, token, revoked, mtime FROM revoked")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var owner, mtime int64
		var token []byte
		var revoked bool
		if err := rows.Scan(&owner, &token, &revoked, &mtime); err != nil {
			return err
		}
		s.dig.apply(change{key: DigestKey{Account: s.owners[owner], Kind: KindRevocations}, elem: revocationElem([TokenSize]byte(token), revoked, mtime), delta: 1})
	}
	return rows.Err()
}

// Close stops the writer after its current batch and closes the database.
// Operations started after Close return ErrClosed.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		<-s.done
		<-s.cpDone
		s.ws.close()
		s.rs.close()
		err = errors.Join(s.closeReaders(cap(s.readers)), s.wconn.Close(), s.wdb.Close(), s.rdb.Close(), s.cdb.Close())
	})
	return err
}

// closeReaders closes n Retrieve connections, waiting for those in use.
func (s *Store) closeReaders(n int) error {
	var errs []error
	for range n {
		r := <-s.readers
		errs = append(errs, r.close())
	}
	return errors.Join(errs...)
}

// Size returns the bytes used by the database (pages in use times the page
// size; free pages not counted).
func (s *Store) Size(ctx context.Context) (int64, error) {
	var pages, free int64
	if err := s.rdb.QueryRowContext(ctx, "SELECT * FROM pragma_page_count()").Scan(&pages); err != nil {
		return 0, fmt.Errorf("store size: %w", err)
	}
	if err := s.rdb.QueryRowContext(ctx, "SELECT * FROM pragma_freelist_count()").Scan(&free); err != nil {
		return 0, fmt.Errorf("store size: %w", err)
	}
	return (pages - free) * pageSize, nil
}

// mapErr turns SQLite's "database or disk is full" into ErrFull.
func mapErr(err error) error {
	if errors.Is(err, sqlite3.FULL) {
		return fmt.Errorf("%w (%v)", ErrFull, err)
	}
	return err
}

const schema = `
CREATE TABLE IF NOT EXISTS owners (
	id INTEGER PRIMARY KEY,
	pubkey BLOB NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS messages (
	id INTEGER PRIMARY KEY,
	hash TEXT NOT NULL UNIQUE,
	owner INTEGER NOT NULL REFERENCES owners(id),
	namespace INTEGER NOT NULL,
	timestamp INTEGER NOT NULL,
	expiry INTEGER NOT NULL,
	mtime INTEGER NOT NULL,
	data BLOB,
	sproof BLOB,
	cproof BLOB
);
CREATE INDEX IF NOT EXISTS messages_owner_ns ON messages(owner, namespace, id);
CREATE INDEX IF NOT EXISTS messages_expiry ON messages(expiry);
CREATE INDEX IF NOT EXISTS messages_tombstones ON messages(owner) WHERE data IS NULL;
CREATE TABLE IF NOT EXISTS revoked (
	owner INTEGER NOT NULL REFERENCES owners(id),
	token BLOB NOT NULL,
	revoked INTEGER NOT NULL,
	mtime INTEGER NOT NULL,
	proof BLOB,
	PRIMARY KEY (owner, token)
) WITHOUT ROWID;
`

// migrations add what later versions keep to a store an older version
// created: the proof columns (version 1). Rows from before have no proofs.
var migrations = []struct{ table, column string }{
	{"messages", "sproof"},
	{"messages", "cproof"},
	{"revoked", "proof"},
}

// migrate adds the columns an older store lacks.
func migrate(ctx context.Context, c *sql.Conn) error {
	for _, m := range migrations {
		var n int
		if err := c.QueryRowContext(ctx, "SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", m.table, m.column).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := c.ExecContext(ctx, "ALTER TABLE "+m.table+" ADD COLUMN "+m.column+" BLOB"); err != nil {
			return fmt.Errorf("add %s.%s: %w", m.table, m.column, err)
		}
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/ncruces/go-sqlite3"
)

type readStmts struct {
	expiry, allExpiries, revoked        *sql.Stmt
	headers, revHeaders, byHash, export *sql.Stmt
	exportRev, count, tombs             *sql.Stmt
	all                                 []*sql.Stmt
}

const ownerSub = "(SELECT id FROM owners WHERE pubkey = ?)"

// pageQuery selects a page of live messages of account ?1 in namespace ?2
// after the row of the message with hash ?3 (from the start when ?3 is
// NULL or no such row exists, as in Session), unexpired at ?4. One
// statement, so one read transaction (each costs file-lock system calls).
// This SQLite build re-prepares a statement at every run when a bound
// value may change its plan: a bound LIMIT always does, and so does
// "namespace = ?" bound to 0 or 1 before a range on id. Hence no LIMIT
// (rows are read lazily; the scan stops where Retrieve stops) and "+?2",
// which hides the value from the planner without keeping the index from
// being used.
const pageQuery = "SELECT hash, timestamp, expiry, data FROM messages WHERE owner = (SELECT id FROM owners WHERE pubkey = ?1)" +
	" AND namespace = +?2 AND id > coalesce((SELECT id FROM messages WHERE hash = ?3 AND namespace = ?2 AND owner = (SELECT id FROM owners WHERE pubkey = ?1)), 0)" +
	" AND data IS NOT NULL AND expiry > ?4 ORDER BY id"

// reader is a read-only connection used through SQLite's own API rather
// than database/sql, for retrieves, the most frequent request: it skips
// database/sql's pool, locks and per-column conversions, which cost about
// as much as the query itself for a page of short messages.
type reader struct {
	conn *sqlite3.Conn
	page *sqlite3.Stmt
}

func openReader(path string) (*reader, error) {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	c, err := sqlite3.OpenFlags(u.String(), sqlite3.OPEN_READWRITE|sqlite3.OPEN_URI)
	if err != nil {
		return nil, err
	}
	r := &reader{conn: c}
	if err := c.Exec("PRAGMA busy_timeout = 15000; PRAGMA query_only = 1"); err != nil {
		r.close()
		return nil, err
	}
	if r.page, _, err = c.PrepareFlags(pageQuery, sqlite3.PREPARE_PERSISTENT); err != nil {
		r.close()
		return nil, fmt.Errorf("prepare %q: %w", pageQuery, err)
	}
	return r, nil
}

func (r *reader) close() error {
	if r.page != nil {
		r.page.Close()
	}
	return r.conn.Close()
}

func (rs *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	p := func(dst **sql.Stmt, q string) error {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		*dst = st
		rs.all = append(rs.all, st)
		return nil
	}
	return errors.Join(
		p(&rs.expiry, "SELECT expiry FROM messages WHERE hash = ? AND data IS NOT NULL AND expiry > ? AND owner = "+ownerSub),
		p(&rs.allExpiries, "SELECT hash, expiry FROM messages WHERE owner = "+ownerSub+" AND data IS NOT NULL AND expiry > ?"),
		p(&rs.revoked, "SELECT revoked FROM revoked WHERE token = ? AND owner = "+ownerSub),
		p(&rs.headers, "SELECT hash, mtime, expiry, data IS NULL FROM messages WHERE owner = "+ownerSub+" AND namespace = ?"),
		p(&rs.revHeaders, "SELECT token, revoked, mtime, proof FROM revoked WHERE owner = "+ownerSub),
		p(&rs.byHash, "SELECT o.pubkey, m.namespace, m.timestamp, m.expiry, m.mtime, m.data IS NULL, m.data, m.sproof, m.cproof FROM messages m JOIN owners o ON o.id = m.owner WHERE m.hash = ?"),
		p(&rs.export, "SELECT hash, namespace, timestamp, expiry, mtime, data IS NULL, data, sproof, cproof FROM messages WHERE owner = "+ownerSub+" ORDER BY id"),
		p(&rs.exportRev, "SELECT token, revoked, mtime FROM revoked WHERE owner = "+ownerSub),
		p(&rs.count, "SELECT count(*) FROM messages WHERE data IS NOT NULL AND expiry > ?"),
		p(&rs.tombs, "SELECT o.pubkey, m.namespace, m.hash, m.mtime, m.expiry FROM messages m JOIN owners o ON o.id = m.owner WHERE m.data IS NULL"),
	)
}

func (rs *readStmts) close() {
	for _, st := range rs.all {
		st.Close()
	}
}

// Retrieval limits (Session's retrieve: service-node-network.md §5.4).
const (
	// RetrieveOverhead is the per-message allowance counted against max_size.
	RetrieveOverhead = 100
)

// RetrieveQuery selects a page of an account's messages in one namespace.
type RetrieveQuery struct {
	Account   Account
	Namespace int16
	// LastHash is the last hash the client has; "" or an unknown hash starts
	// from the beginning.
	LastHash string
	// MaxCount bounds the number of messages (0: no bound).
	MaxCount int
	// MaxSize bounds the summed size estimate of the messages (0: no bound):
	// RetrieveOverhead + len(hash) + base64 length of the data, per message.
	// At least one message is always returned.
	MaxSize int
	// Now hides messages that expired but were not swept yet.
	Now int64
}

// Retrieve returns the next page of messages after q.LastHash in insertion
// order and whether more remain.
func (s *Store) Retrieve(ctx context.Context, q RetrieveQuery) ([]Message, bool, error) {
	var r *reader
	select {
	case r = <-s.readers:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("retrieve: %w", ctx.Err())
	case <-s.closing:
		return nil, false, ErrClosed
	}
	defer func() { s.readers <- r }()
	old := r.conn.SetInterrupt(ctx)
	defer r.conn.SetInterrupt(old)
	out, more, err := r.retrieve(q)
	if err != nil {
		return nil, false, fmt.Errorf("retrieve: %w", err)
	}
	return out, more, nil
}

func (r *reader) retrieve(q RetrieveQuery) ([]Message, bool, error) {
	st := r.page
	last := st.BindNull(3)
	if q.LastHash != "" {
		last = st.BindText(3, q.LastHash)
	}
	if err := errors.Join(st.BindBlob(1, q.Account[:]), st.BindInt64(2, int64(q.Namespace)), last, st.BindInt64(4, q.Now)); err != nil {
		return nil, false, err
	}
	n := 16
	if q.MaxCount > 0 {
		n = min(n, q.MaxCount)
	}
	out := make([]Message, 0, n)
	more := false
	size := 0
	for st.Step() {
		if q.MaxCount > 0 && len(out) >= q.MaxCount {
			more = true
			break
		}
		m := Message{Account: q.Account, Namespace: q.Namespace,
			Hash: st.ColumnText(0), Timestamp: st.ColumnInt64(1), Expiry: st.ColumnInt64(2),
			Data: st.ColumnBlob(3, []byte{})} // never nil: an empty message is not a tombstone
		if q.MaxSize > 0 {
			size += RetrieveOverhead + len(m.Hash) + (len(m.Data)+2)/3*4
			if len(out) > 0 && size > q.MaxSize {
				more = true
				break
			}
		}
		out = append(out, m)
	}
	if err := st.Reset(); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// GetExpiries returns the expiries of the account's live, unexpired messages
// among hashes (all of them when hashes is nil).
func (s *Store) GetExpiries(ctx context.Context, a Account, hashes []string, now int64) (map[string]int64, error) {
	out := make(map[string]int64)
	if hashes == nil {
		rows, err := s.rs.allExpiries.QueryContext(ctx, a[:], now)
		if err != nil {
			return nil, fmt.Errorf("get expiries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			var e int64
			if err := rows.Scan(&h, &e); err != nil {
				return nil, fmt.Errorf("get expiries: %w", err)
			}
			out[h] = e
		}
		return out, rows.Err()
	}
	for _, h := range hashes {
		var e int64
		err := s.rs.expiry.QueryRowContext(ctx, h, now, a[:]).Scan(&e)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("get expiries: %w", err)
		default:
			out[h] = e
		}
	}
	return out, nil
}

// IsRevoked reports whether a subaccount token of the account is revoked.
func (s *Store) IsRevoked(ctx context.Context, a Account, token [TokenSize]byte) (bool, error) {
	var r bool
	err := s.rs.revoked.QueryRowContext(ctx, token[:], a[:]).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("revocation check: %w", err)
	}
	return r, nil
}

// Header is the replicated state of a message row without its data.
type Header struct {
	Hash    string
	MTime   int64
	Expiry  int64
	Deleted bool
	// Changed is the exact time (Unix ms) of the last client operation on
	// the row when it was lately (kept in memory for seconds only; see
	// Store.recent), else 0.
	Changed int64
}

// KeyHeaders lists the rows behind one digest key: message headers for a
// messages key, revocations for a revocations key.
type KeyHeaders struct {
	Key         DigestKey
	Messages    []Header
	Revocations []Revocation
}

// Headers returns the row states behind each key.
func (s *Store) Headers(ctx context.Context, keys []DigestKey) ([]KeyHeaders, error) {
	out := make([]KeyHeaders, 0, len(keys))
	for _, k := range keys {
		kh := KeyHeaders{Key: k}
		if k.Kind == KindRevocations {
			revs, err := s.revocations(ctx, k.Account)
			if err != nil {
				return nil, err
			}
			kh.Revocations = revs
			out = append(out, kh)
			continue
		}
		rows, err := s.rs.headers.QueryContext(ctx, k.Account[:], k.Namespace)
		if err != nil {
			return nil, fmt.Errorf("headers: %w", err)
		}
		for rows.Next() {
			var h Header
			if err := rows.Scan(&h.Hash, &h.MTime, &h.Expiry, &h.Deleted); err != nil {
				rows.Close()
				return nil, fmt.Errorf("headers: %w", err)
			}
			h.Changed = s.changedAt(h.Hash)
			kh.Messages = append(kh.Messages, h)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("headers: %w", err)
		}
		out = append(out, kh)
	}
	return out, nil
}

func (s *Store) revocations(ctx context.Context, a Account) ([]Revocation, error) {
	rows, err := s.rs.revHeaders.QueryContext(ctx, a[:])
	if err != nil {
		return nil, fmt.Errorf("revocations: %w", err)
	}
	defer rows.Close()
	var out []Revocation
	for rows.Next() {
		r := Revocation{Account: a}
		var tok []byte
		if err := rows.Scan(&tok, &r.Revoked, &r.MTime, &r.Proof); err != nil {
			return nil, fmt.Errorf("revocations: %w", err)
		}
		if len(tok) != TokenSize {
			return nil, fmt.Errorf("revocations: %d-byte token", len(tok))
		}
		r.Token = [TokenSize]byte(tok)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Fetch returns the records with the given hashes (live ones with data);
// unknown hashes are skipped.
func (s *Store) Fetch(ctx context.Context, hashes []string) ([]Record, error) {
	out := make([]Record, 0, len(hashes))
	for _, h := range hashes {
		var r Record
		var pk []byte
		err := s.rs.byHash.QueryRowContext(ctx, h).Scan(&pk, &r.Namespace, &r.Timestamp, &r.Expiry, &r.MTime, &r.Deleted, &r.Data, &r.StoreProof, &r.ChangeProof)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		if len(pk) != AccountSize {
			return nil, fmt.Errorf("fetch: %d-byte owner key", len(pk))
		}
		r.Account, r.Hash = Account(pk), h
		if !r.Deleted && r.Data == nil {
			r.Data = []byte{}
		}
		out = append(out, r)
	}
	return out, nil
}

// Export returns every row of an account: messages and tombstones in
// insertion order, and revocations.
func (s *Store) Export(ctx context.Context, a Account) ([]Record, []Revocation, error) {
	rows, err := s.rs.export.QueryContext(ctx, a[:])
	if err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	var recs []Record
	for rows.Next() {
		r := Record{Message: Message{Account: a}}
		if err := rows.Scan(&r.Hash, &r.Namespace, &r.Timestamp, &r.Expiry, &r.MTime, &r.Deleted, &r.Data, &r.StoreProof, &r.ChangeProof); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("export: %w", err)
		}
		if !r.Deleted && r.Data == nil {
			r.Data = []byte{}
		}
		recs = append(recs, r)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	revs, err := s.revocations(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	return recs, revs, nil
}

// Count returns the number of live, unexpired messages.
func (s *Store) Count(ctx context.Context, now int64) (int64, error) {
	var n int64
	if err := s.rs.count.QueryRowContext(ctx, now).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

// Tomb is a tombstone's replicated state.
type Tomb struct {
	Key    DigestKey
	Hash   string
	MTime  int64
	Expiry int64
}

// Tombstones returns every tombstone in the store.
func (s *Store) Tombstones(ctx context.Context) ([]Tomb, error) {
	rows, err := s.rs.tombs.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("tombstones: %w", err)
	}
	defer rows.Close()
	var out []Tomb
	for rows.Next() {
		var pk []byte
		t := Tomb{Key: DigestKey{Kind: KindMessages}}
		if err := rows.Scan(&pk, &t.Key.Namespace, &t.Hash, &t.MTime, &t.Expiry); err != nil {
			return nil, fmt.Errorf("tombstones: %w", err)
		}
		if len(pk) != AccountSize {
			return nil, fmt.Errorf("tombstones: %d-byte account", len(pk))
		}
		t.Key.Account = Account(pk)
		out = append(out, t)
	}
	return out, rows.Err()
}

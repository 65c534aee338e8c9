package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Every mutation takes op, the time (Unix ms) assigned to the operation by
// the node that received it from the client, so that all replicas record
// the same mtime (op made coarse, see stamp) and converge to byte-identical
// rows. A mutation changes a row only if its result is Newer than the row's
// current state.

// IsPublicOutbox reports Session's "public outbox" namespaces (negative,
// -ns % 20 == 1): a store there replaces the namespace's other messages
// (session-protocol.md §3.2).
func IsPublicOutbox(ns int16) bool { return ns < 0 && (-int32(ns))%20 == 1 }

type hashRow struct {
	id, owner int64
	ns        int16
	st        state
}

func (w *wtx) byHash(hash string) (hashRow, bool, error) {
	var r hashRow
	err := w.st.selByHash.QueryRowContext(w.ctx, hash).Scan(&r.id, &r.owner, &r.ns, &r.st.expiry, &r.st.mtime, &r.st.deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("select message: %w", err)
	}
	return r, true, nil
}

func (w *wtx) insert(owner int64, r *Record) error {
	var data any
	if !r.Deleted {
		data = nonNil(r.Data)
	}
	if _, err := w.st.insMsg.ExecContext(w.ctx, r.Hash, owner, r.Namespace, r.Timestamp, r.Expiry, r.MTime, data, blob(r.StoreProof), blob(r.ChangeProof)); err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	w.msgChange(r.Account, r.Namespace, r.Hash, nil, &state{mtime: r.MTime, expiry: r.Expiry, deleted: r.Deleted})
	if !r.Deleted {
		w.arrivals = append(w.arrivals, arrival{r.Account, r.Namespace})
	}
	return nil
}

// insertNew inserts a live record unless a row with its hash exists;
// inserted is false (and nothing changed) when one does.
func (w *wtx) insertNew(owner int64, r *Record) (inserted bool, err error) {
	res, err := w.st.insNew.ExecContext(w.ctx, r.Hash, owner, r.Namespace, r.Timestamp, r.Expiry, r.MTime, nonNil(r.Data), blob(r.StoreProof))
	if err != nil {
		return false, fmt.Errorf("insert message: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	w.msgChange(r.Account, r.Namespace, r.Hash, nil, &state{mtime: r.MTime, expiry: r.Expiry})
	w.arrivals = append(w.arrivals, arrival{r.Account, r.Namespace})
	return true, nil
}

// blob binds a proof: NULL when there is none.
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// nonNil keeps an empty message from being stored as NULL (a tombstone).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// touch notes a row changed by a client operation at time op.
func (w *wtx) touch(hash string, op int64) { w.fresh = append(w.fresh, freshMark{hash, op}) }

// tombstone turns a live row into a tombstone by an operation at time op,
// unless the row's state is newer; proof is the request that deleted it.
// The tombstone keeps the message's expiry and an mtime no finer than the
// store's quantum.
func (w *wtx) tombstone(a Account, hash string, r hashRow, op int64, proof []byte) (bool, error) {
	mt, ok := w.stamp(r.st, state{expiry: r.st.expiry, deleted: true}, op)
	if !ok {
		return false, nil
	}
	if _, err := w.st.setTomb.ExecContext(w.ctx, mt, blob(proof), r.id); err != nil {
		return false, fmt.Errorf("delete message: %w", err)
	}
	w.msgChange(a, r.ns, hash, &r.st, &state{mtime: mt, expiry: r.st.expiry, deleted: true})
	w.touch(hash, op)
	return true, nil
}

// Store stores m at operation time op; m.StoreProof is kept with the row. It returns what happened and the
// message's expiry after the operation. A full database gives ErrFull.
func (s *Store) Store(ctx context.Context, m Message, op int64) (StoreResult, int64, error) {
	return s.StoreWhile(ctx, m, op, nil)
}

// StoreWhile is Store, running during (if not nil) on the caller's
// goroutine once the writer has taken the store (see writeWhile); it does
// not run if the store fails before that. A node signs its answer there
// (the signature covers the message hash only): with more than one P the
// signing overlaps the commit's log sync.
func (s *Store) StoreWhile(ctx context.Context, m Message, op int64, during func()) (StoreResult, int64, error) {
	var res StoreResult
	var expiry int64
	err := s.writeWhile(ctx, func(w *wtx) error { return w.store(m, op, &res, &expiry) }, during)
	if err != nil {
		return 0, 0, err
	}
	return res, expiry, nil
}

// StoreItem is one store of StoreMany: a message and its operation time.
type StoreItem struct {
	Message Message
	Op      int64
}

// StoreOutcome is what Store returns, for one item of StoreMany.
type StoreOutcome struct {
	Result StoreResult
	Expiry int64
	Err    error
}

// StoreMany stores each item as Store does, submitting them to the writer
// together so that they share a commit (a peer's batch of forwarded
// stores). Each item has its own outcome: one that fails (a full
// database) does not fail the others.
func (s *Store) StoreMany(ctx context.Context, items []StoreItem) []StoreOutcome {
	out := make([]StoreOutcome, len(items))
	fns := make([]func(w *wtx) error, len(items))
	for i := range items {
		fns[i] = func(w *wtx) error { return w.store(items[i].Message, items[i].Op, &out[i].Result, &out[i].Expiry) }
	}
	for i, err := range s.writeGroup(ctx, fns) {
		if err != nil {
			out[i] = StoreOutcome{Err: err}
		}
	}
	return out
}

// store is Store inside the writer's transaction; it sets *res and
// *expiry.
func (w *wtx) store(m Message, op int64, res *StoreResult, expiry *int64) error {
	owner, _, err := w.ownerID(m.Account, true)
	if err != nil {
		return err
	}
	if IsPublicOutbox(m.Namespace) {
		if err := w.clearOutbox(m.Account, owner, m.Namespace, m.Hash, op, m.StoreProof); err != nil {
			return err
		}
	}
	// Almost every store is of a new message: insert first, which
	// looks the hash up once, and read the row only on a conflict.
	mt := w.s.coarse(op)
	if inserted, err := w.insertNew(owner, &Record{Message: m, MTime: mt}); err != nil || inserted {
		*res, *expiry = New, m.Expiry
		if inserted {
			w.touch(m.Hash, op)
		}
		return err
	}
	r, found, err := w.byHash(m.Hash)
	if err != nil {
		return err
	}
	if !found {
		*res, *expiry = New, m.Expiry
		w.touch(m.Hash, op)
		return w.insert(owner, &Record{Message: m, MTime: mt})
	}
	mt, wins := w.stamp(r.st, state{expiry: m.Expiry}, op)
	switch {
	case !r.st.deleted:
		if nw := (state{mtime: mt, expiry: m.Expiry}); m.Expiry > r.st.expiry && wins {
			if _, err := w.st.setExpiry.ExecContext(w.ctx, m.Expiry, mt, blob(m.StoreProof), r.id); err != nil {
				return fmt.Errorf("extend message: %w", err)
			}
			w.msgChange(m.Account, r.ns, m.Hash, &r.st, &nw)
			w.touch(m.Hash, op)
			*res, *expiry = Extended, m.Expiry
			return nil
		}
		*res, *expiry = Exists, r.st.expiry
		return nil
	case wins:
		// Stored again after a delete: a new row, so that clients
		// paging with last_hash see it again.
		if _, err := w.st.delMsg.ExecContext(w.ctx, r.id); err != nil {
			return fmt.Errorf("replace tombstone: %w", err)
		}
		w.msgChange(m.Account, r.ns, m.Hash, &r.st, nil)
		w.touch(m.Hash, op)
		*res, *expiry = New, m.Expiry
		return w.insert(owner, &Record{Message: m, MTime: mt})
	default:
		// A later delete of the same message already reached us.
		*res, *expiry = Exists, r.st.expiry
		return nil
	}
}

func (w *wtx) clearOutbox(a Account, owner int64, ns int16, keep string, op int64, proof []byte) error {
	rows, err := w.conn.QueryContext(w.ctx,
		"SELECT id, hash, expiry, mtime FROM messages WHERE owner = ? AND namespace = ? AND hash != ? AND data IS NOT NULL AND mtime < ?",
		owner, ns, keep, w.s.quantumEnd(op))
	if err != nil {
		return fmt.Errorf("select outbox: %w", err)
	}
	type victim struct {
		hash string
		r    hashRow
	}
	var vs []victim
	for rows.Next() {
		v := victim{r: hashRow{owner: owner, ns: ns}}
		if err := rows.Scan(&v.r.id, &v.hash, &v.r.st.expiry, &v.r.st.mtime); err != nil {
			rows.Close()
			return err
		}
		vs = append(vs, v)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, v := range vs {
		if _, err := w.tombstone(a, v.hash, v.r, op, proof); err != nil {
			return err
		}
	}
	return nil
}

// NSHash is a message hash with its namespace.
type NSHash struct {
	Namespace int16
	Hash      string
}

// DeleteByHash deletes the account's live messages with the given hashes
// and returns the hashes it deleted, in request order. proof (the signed
// request) is kept with each tombstone, as for every mutation below.
func (s *Store) DeleteByHash(ctx context.Context, a Account, hashes []string, op int64, proof []byte) ([]string, error) {
	var deleted []string
	err := s.write(ctx, func(w *wtx) error {
		deleted = nil
		owner, ok, err := w.ownerID(a, false)
		if err != nil || !ok {
			return err
		}
		seen := make(map[string]bool, len(hashes))
		for _, h := range hashes {
			if seen[h] {
				continue
			}
			seen[h] = true
			r, found, err := w.byHash(h)
			if err != nil {
				return err
			}
			if !found || r.owner != owner || r.st.deleted {
				continue
			}
			if ok, err := w.tombstone(a, h, r, op, proof); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			deleted = append(deleted, h)
		}
		return nil
	})
	return deleted, err
}

// deleteWhere tombstones the account's live rows matched by cond (an SQL
// condition over the messages table with args), at time op.
func (w *wtx) deleteWhere(a Account, cond string, args []any, op int64, proof []byte) ([]NSHash, error) {
	owner, ok, err := w.ownerID(a, false)
	if err != nil || !ok {
		return nil, err
	}
	q := "SELECT id, namespace, hash, expiry, mtime FROM messages WHERE owner = ? AND data IS NOT NULL AND mtime < ?" + cond
	rows, err := w.conn.QueryContext(w.ctx, q, append([]any{owner, w.s.quantumEnd(op)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("select for delete: %w", err)
	}
	type victim struct {
		hash string
		r    hashRow
	}
	var vs []victim
	for rows.Next() {
		v := victim{r: hashRow{owner: owner}}
		if err := rows.Scan(&v.r.id, &v.r.ns, &v.hash, &v.r.st.expiry, &v.r.st.mtime); err != nil {
			rows.Close()
			return nil, err
		}
		vs = append(vs, v)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	out := make([]NSHash, 0, len(vs))
	for _, v := range vs {
		ok, err := w.tombstone(a, v.hash, v.r, op, proof)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, NSHash{Namespace: v.r.ns, Hash: v.hash})
		}
	}
	return out, nil
}

// DeleteAll deletes every live message of the account in namespace *ns, or
// in all namespaces when ns is nil.
func (s *Store) DeleteAll(ctx context.Context, a Account, ns *int16, op int64, proof []byte) ([]NSHash, error) {
	cond, args := "", []any(nil)
	if ns != nil {
		cond, args = " AND namespace = ?", []any{*ns}
	}
	var out []NSHash
	err := s.write(ctx, func(w *wtx) error {
		var err error
		out, err = w.deleteWhere(a, cond, args, op, proof)
		return err
	})
	return out, err
}

// DeleteBefore deletes the account's live messages with timestamp <= before
// in namespace *ns (all namespaces when nil).
func (s *Store) DeleteBefore(ctx context.Context, a Account, ns *int16, before, op int64, proof []byte) ([]NSHash, error) {
	cond, args := " AND timestamp <= ?", []any{before}
	if ns != nil {
		cond, args = cond+" AND namespace = ?", append(args, *ns)
	}
	var out []NSHash
	err := s.write(ctx, func(w *wtx) error {
		var err error
		out, err = w.deleteWhere(a, cond, args, op, proof)
		return err
	})
	return out, err
}

// HashExpiry is a message hash and an expiry.
type HashExpiry struct {
	Hash   string
	Expiry int64
}

// ExpiryMode restricts UpdateExpiry.
type ExpiryMode int

// Expiry update modes (Session's expire "extend" and "shorten" flags).
const (
	ExpiryAny ExpiryMode = iota
	ExpiryExtendOnly
	ExpiryShortenOnly
)

// UpdateExpiry sets the expiry of the account's live, unexpired messages.
// expiries holds one value for every hash or a single value for all. It
// returns the messages updated with their new expiry, in request order.
func (s *Store) UpdateExpiry(ctx context.Context, a Account, hashes []string, expiries []int64, mode ExpiryMode, op int64, proof []byte) ([]HashExpiry, error) {
	if len(expiries) != 1 && len(expiries) != len(hashes) {
		return nil, fmt.Errorf("store: %d expiries for %d hashes", len(expiries), len(hashes))
	}
	var out []HashExpiry
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		owner, ok, err := w.ownerID(a, false)
		if err != nil || !ok {
			return err
		}
		seen := make(map[string]bool, len(hashes))
		for i, h := range hashes {
			exp := expiries[0]
			if len(expiries) > 1 {
				exp = expiries[i]
			}
			if seen[h] {
				continue
			}
			seen[h] = true
			r, found, err := w.byHash(h)
			if err != nil {
				return err
			}
			if !found || r.owner != owner || r.st.deleted || r.st.expiry <= op {
				continue
			}
			if (mode == ExpiryExtendOnly && r.st.expiry >= exp) || (mode == ExpiryShortenOnly && r.st.expiry <= exp) {
				continue
			}
			mt, ok := w.stampExpiry(r.st, exp, op)
			if !ok {
				continue
			}
			if _, err := w.st.setChange.ExecContext(w.ctx, exp, mt, blob(proof), r.id); err != nil {
				return fmt.Errorf("update expiry: %w", err)
			}
			w.msgChange(a, r.ns, h, &r.st, &state{mtime: mt, expiry: exp})
			w.touch(h, op)
			out = append(out, HashExpiry{Hash: h, Expiry: exp})
		}
		return nil
	})
	return out, err
}

// UpdateAllExpiries shortens to expiry every live message of the account
// (in namespace *ns, or all when nil) that expires later.
func (s *Store) UpdateAllExpiries(ctx context.Context, a Account, ns *int16, expiry, op int64, proof []byte) ([]NSHash, error) {
	var out []NSHash
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		owner, ok, err := w.ownerID(a, false)
		if err != nil || !ok {
			return err
		}
		q := "SELECT id, namespace, hash, expiry, mtime FROM messages WHERE owner = ? AND data IS NOT NULL AND expiry > ? AND mtime < ?"
		args := []any{owner, expiry, w.s.quantumEnd(op)}
		if ns != nil {
			q += " AND namespace = ?"
			args = append(args, *ns)
		}
		rows, err := w.conn.QueryContext(w.ctx, q, args...)
		if err != nil {
			return fmt.Errorf("select for expire_all: %w", err)
		}
		type hit struct {
			hash string
			r    hashRow
		}
		var hits []hit
		for rows.Next() {
			h := hit{r: hashRow{owner: owner}}
			if err := rows.Scan(&h.r.id, &h.r.ns, &h.hash, &h.r.st.expiry, &h.r.st.mtime); err != nil {
				rows.Close()
				return err
			}
			hits = append(hits, h)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, h := range hits {
			mt, ok := w.stampExpiry(h.r.st, expiry, op)
			if !ok {
				continue
			}
			if _, err := w.st.setChange.ExecContext(w.ctx, expiry, mt, blob(proof), h.r.id); err != nil {
				return fmt.Errorf("update expiry: %w", err)
			}
			w.msgChange(a, h.r.ns, h.hash, &h.r.st, &state{mtime: mt, expiry: expiry})
			w.touch(h.hash, op)
			out = append(out, NSHash{Namespace: h.r.ns, Hash: h.hash})
		}
		return nil
	})
	return out, err
}

// setRevocation moves a token to the wanted revocation state at time op and
// reports whether its state changed.
func (w *wtx) setRevocation(a Account, owner int64, token [TokenSize]byte, revoked bool, op int64, proof []byte) (bool, error) {
	var cur Revocation
	err := w.st.selRev.QueryRowContext(w.ctx, owner, token[:]).Scan(&cur.Revoked, &cur.MTime)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if !revoked {
			return false, nil
		}
		if _, err := w.st.insRev.ExecContext(w.ctx, owner, token[:], true, op, blob(proof)); err != nil {
			return false, fmt.Errorf("insert revocation: %w", err)
		}
		w.revChange(a, nil, &Revocation{Token: token, Revoked: true, MTime: op})
		return true, nil
	case err != nil:
		return false, fmt.Errorf("select revocation: %w", err)
	}
	cur.Token = token
	if op < cur.MTime || (op == cur.MTime && cur.Revoked == revoked) {
		return false, nil
	}
	if op == cur.MTime && cur.Revoked && !revoked {
		// Equal times: revocation wins, as a tombstone wins for messages.
		return false, nil
	}
	if _, err := w.st.upRev.ExecContext(w.ctx, revoked, op, blob(proof), owner, token[:]); err != nil {
		return false, fmt.Errorf("update revocation: %w", err)
	}
	w.revChange(a, &cur, &Revocation{Token: token, Revoked: revoked, MTime: op})
	return cur.Revoked != revoked, nil
}

// pruneRevocations keeps the newest maxRevoked revocations and
// maxUnrevoked unrevocations of an account (Session keeps 50 revoked tokens).
func (w *wtx) pruneRevocations(a Account, owner int64) error {
	for _, kind := range []struct {
		revoked bool
		keep    int
	}{{true, maxRevoked}, {false, maxUnrevoked}} {
		rows, err := w.conn.QueryContext(w.ctx,
			"SELECT token, mtime FROM revoked WHERE owner = ? AND revoked = ? ORDER BY mtime DESC, token DESC LIMIT -1 OFFSET ?",
			owner, kind.revoked, kind.keep)
		if err != nil {
			return fmt.Errorf("select old revocations: %w", err)
		}
		var drop []Revocation
		for rows.Next() {
			var r Revocation
			var tok []byte
			if err := rows.Scan(&tok, &r.MTime); err != nil {
				rows.Close()
				return err
			}
			r.Token, r.Revoked = [TokenSize]byte(tok), kind.revoked
			drop = append(drop, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range drop {
			if _, err := w.conn.ExecContext(w.ctx, "DELETE FROM revoked WHERE owner = ? AND token = ?", owner, r.Token[:]); err != nil {
				return fmt.Errorf("prune revocation: %w", err)
			}
			w.revChange(a, &r, nil)
		}
	}
	return nil
}

// Revoke revokes subaccount tokens of an account and returns how many were
// not revoked before. proof is the signed request.
func (s *Store) Revoke(ctx context.Context, a Account, tokens [][TokenSize]byte, op int64, proof []byte) (int, error) {
	return s.setRevocations(ctx, a, tokens, true, op, proof)
}

// Unrevoke lifts revocations and returns how many tokens were revoked.
func (s *Store) Unrevoke(ctx context.Context, a Account, tokens [][TokenSize]byte, op int64, proof []byte) (int, error) {
	return s.setRevocations(ctx, a, tokens, false, op, proof)
}

func (s *Store) setRevocations(ctx context.Context, a Account, tokens [][TokenSize]byte, revoked bool, op int64, proof []byte) (int, error) {
	var n int
	err := s.write(ctx, func(w *wtx) error {
		n = 0
		owner, ok, err := w.ownerID(a, revoked)
		if err != nil || !ok {
			return err
		}
		for _, t := range tokens {
			changed, err := w.setRevocation(a, owner, t, revoked, op, proof)
			if err != nil {
				return err
			}
			if changed {
				n++
			}
		}
		return w.pruneRevocations(a, owner)
	})
	return n, err
}

// Merge applies records and revocations received from a peer: each one
// replaces the local row when it is Newer (or the row is missing), except
// that a live record shortens a live row's expiry only with a ChangeProof
// (an expire). Records already expired at now are ignored. It returns how
// many rows changed.
func (s *Store) Merge(ctx context.Context, recs []Record, revs []Revocation, now int64) (int, error) {
	var n int
	err := s.write(ctx, func(w *wtx) error {
		n = 0
		for i := range recs {
			changed, err := w.merge(&recs[i], now)
			if err != nil {
				return err
			}
			if changed {
				n++
			}
		}
		pruned := make(map[Account]bool)
		for _, r := range revs {
			owner, _, err := w.ownerID(r.Account, true)
			if err != nil {
				return err
			}
			var cur Revocation
			err = w.st.selRev.QueryRowContext(w.ctx, owner, r.Token[:]).Scan(&cur.Revoked, &cur.MTime)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := w.st.insRev.ExecContext(w.ctx, owner, r.Token[:], r.Revoked, r.MTime, blob(r.Proof)); err != nil {
					return fmt.Errorf("insert revocation: %w", err)
				}
				w.revChange(r.Account, nil, &r)
				n++
			case err != nil:
				return fmt.Errorf("select revocation: %w", err)
			default:
				cur.Token = r.Token
				if r.MTime > cur.MTime || (r.MTime == cur.MTime && r.Revoked && !cur.Revoked) {
					if _, err := w.st.upRev.ExecContext(w.ctx, r.Revoked, r.MTime, blob(r.Proof), owner, r.Token[:]); err != nil {
						return fmt.Errorf("update revocation: %w", err)
					}
					w.revChange(r.Account, &cur, &r)
					n++
				}
			}
			pruned[r.Account] = true
		}
		for a := range pruned {
			owner, _, err := w.ownerID(a, false)
			if err != nil {
				return err
			}
			if err := w.pruneRevocations(a, owner); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

func (w *wtx) merge(rec *Record, now int64) (bool, error) {
	if rec.Expiry <= now {
		return false, nil
	}
	owner, _, err := w.ownerID(rec.Account, true)
	if err != nil {
		return false, err
	}
	r, found, err := w.byHash(rec.Hash)
	if err != nil {
		return false, err
	}
	nw := state{mtime: rec.MTime, expiry: rec.Expiry, deleted: rec.Deleted}
	switch {
	case !found:
		return true, w.insert(owner, rec)
	case r.owner != owner || !nw.newer(r.st):
		return false, nil
	case !r.st.deleted && !rec.Deleted && rec.Expiry < r.st.expiry && rec.ChangeProof == nil:
		// Only the owner's expire request (a change proof) shortens a live
		// message: Session's store signature covers neither the expiry
		// nor the data, so a store request does not prove a shorter one.
		return false, nil
	case r.st.deleted && !rec.Deleted:
		if _, err := w.st.delMsg.ExecContext(w.ctx, r.id); err != nil {
			return false, fmt.Errorf("replace tombstone: %w", err)
		}
		w.msgChange(rec.Account, r.ns, rec.Hash, &r.st, nil)
		return true, w.insert(owner, rec)
	default:
		if _, err := w.st.upMsg.ExecContext(w.ctx, rec.Expiry, rec.MTime, rec.Deleted, blob(rec.StoreProof), blob(rec.ChangeProof), r.id); err != nil {
			return false, fmt.Errorf("merge message: %w", err)
		}
		w.msgChange(rec.Account, r.ns, rec.Hash, &r.st, &nw)
		return true, nil
	}
}

// Sweep removes rows (messages and tombstones) that expired at or before
// now, at most limit of them, and owners left with no rows. It returns the
// number of messages removed.
func (s *Store) Sweep(ctx context.Context, now int64, limit int) (int, error) {
	var n int
	err := s.write(ctx, func(w *wtx) error {
		n = 0
		rows, err := w.conn.QueryContext(w.ctx,
			"DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE expiry <= ? LIMIT ?) RETURNING owner, namespace, hash, mtime, expiry, data IS NULL",
			now, limit)
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		for rows.Next() {
			var owner int64
			var ns int16
			var hash string
			var st state
			if err := rows.Scan(&owner, &ns, &hash, &st.mtime, &st.expiry, &st.deleted); err != nil {
				rows.Close()
				return err
			}
			w.msgChange(w.s.owners[owner], ns, hash, &st, nil)
			n++
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		return w.dropEmptyOwners()
	})
	return n, err
}

func (w *wtx) dropEmptyOwners() error {
	rows, err := w.conn.QueryContext(w.ctx,
		"DELETE FROM owners WHERE NOT EXISTS (SELECT 1 FROM messages WHERE owner = owners.id) AND NOT EXISTS (SELECT 1 FROM revoked WHERE owner = owners.id) RETURNING id")
	if err != nil {
		return fmt.Errorf("drop owners: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		w.dropOwner(id)
	}
	return nil
}

// Purge removes every row of an account (messages, tombstones,
// revocations): the data was handed to the account's new swarm.
func (s *Store) Purge(ctx context.Context, a Account) (int, error) {
	var n int
	err := s.write(ctx, func(w *wtx) error {
		n = 0
		owner, ok, err := w.ownerID(a, false)
		if err != nil || !ok {
			return err
		}
		rows, err := w.conn.QueryContext(w.ctx, "DELETE FROM messages WHERE owner = ? RETURNING namespace, hash, mtime, expiry, data IS NULL", owner)
		if err != nil {
			return fmt.Errorf("purge messages: %w", err)
		}
		for rows.Next() {
			var ns int16
			var hash string
			var st state
			if err := rows.Scan(&ns, &hash, &st.mtime, &st.expiry, &st.deleted); err != nil {
				rows.Close()
				return err
			}
			w.msgChange(a, ns, hash, &st, nil)
			n++
		}
		if err := rows.Close(); err != nil {
			return err
		}
		rows, err = w.conn.QueryContext(w.ctx, "DELETE FROM revoked WHERE owner = ? RETURNING token, revoked, mtime", owner)
		if err != nil {
			return fmt.Errorf("purge revocations: %w", err)
		}
		for rows.Next() {
			var r Revocation
			var tok []byte
			if err := rows.Scan(&tok, &r.Revoked, &r.MTime); err != nil {
				rows.Close()
				return err
			}
			r.Token = [TokenSize]byte(tok)
			w.revChange(a, &r, nil)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if _, err := w.st.delOwner.ExecContext(w.ctx, owner); err != nil {
			return fmt.Errorf("purge owner: %w", err)
		}
		w.dropOwner(owner)
		return nil
	})
	return n, err
}

// DropTombstones removes tombstones that are still in the given state (a
// row changed since is kept) and owners left with no rows. It returns how
// many it removed. The node calls it once every member of the swarm holds
// the tombstone: then no member can bring the message back, and the row
// would only keep a trace of the deletion until the message's expiry.
func (s *Store) DropTombstones(ctx context.Context, ts []Tomb) (int, error) {
	var n int
	err := s.write(ctx, func(w *wtx) error {
		n = 0
		for _, t := range ts {
			owner, ok, err := w.ownerID(t.Key.Account, false)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			res, err := w.conn.ExecContext(w.ctx, "DELETE FROM messages WHERE hash = ? AND owner = ? AND namespace = ? AND data IS NULL AND mtime = ? AND expiry = ?",
				t.Hash, owner, t.Key.Namespace, t.MTime, t.Expiry)
			if err != nil {
				return fmt.Errorf("drop tombstone: %w", err)
			}
			if k, err := res.RowsAffected(); err != nil || k == 0 {
				if err != nil {
					return err
				}
				continue
			}
			w.msgChange(t.Key.Account, t.Key.Namespace, t.Hash, &state{mtime: t.MTime, expiry: t.Expiry, deleted: true}, nil)
			n++
		}
		if n == 0 {
			return nil
		}
		return w.dropEmptyOwners()
	})
	return n, err
}

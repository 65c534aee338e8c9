package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// writeOp is one operation for the writer. fn runs inside the writer's
// transaction; it may run twice (a batch that SQLite aborted is replayed op
// by op), so it must set its outputs only from what it computes in that run.
type writeOp struct {
	fn   func(w *wtx) error
	done chan error
	// taken, when set, is closed once the writer has gathered the batch
	// that holds the operation and is about to apply it (see writeWhile).
	taken chan struct{}
	// group, when set, holds operations submitted together (writeGroup):
	// the writer takes them as if each had arrived alone, so they share a
	// commit and each still gets its own error.
	group []*writeOp
}

// add appends op, or the operations of a group, to batch.
func (op *writeOp) add(batch []*writeOp) []*writeOp {
	if op.group != nil {
		return append(batch, op.group...)
	}
	return append(batch, op)
}

// wtx is the writer's view of the transaction in progress.
type wtx struct {
	ctx       context.Context
	s         *Store
	conn      *sql.Conn
	st        *writeStmts
	changes   []change
	arrivals  []arrival
	newOwners []Account
	gone      []int64 // owner rows deleted in this transaction
	goneAcct  []Account
	fresh     []freshMark // rows changed by client operations
}

// freshMark is a row a client operation changed, with the exact operation
// time, for Store.recent.
type freshMark struct {
	hash string
	op   int64
}

// write submits fn and waits for the commit that includes it.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	return s.writeWhile(ctx, fn, nil)
}

// writeWhile is write, running during (if not nil) on the caller's
// goroutine once the writer has taken fn's batch: work whose result the
// caller needs only once the write has succeeded (signing its answer).
// With more than one P it runs beside the commit and fills the time the
// writer spends syncing the log; on one P the writer's sync keeps the P,
// so it mostly runs once the commit is over (docs/snode.md). during runs
// for every write the writer received, whatever its outcome, and not for
// one refused before (a closed store, a cancelled ctx).
func (s *Store) writeWhile(ctx context.Context, fn func(w *wtx) error, during func()) error {
	op := &writeOp{fn: fn, done: make(chan error, 1)}
	if during != nil {
		op.taken = make(chan struct{})
	}
	select {
	case s.ops <- op:
	case <-s.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	if during != nil {
		// The writer takes every operation it received into a batch and
		// closes taken before it answers: waiting on done as well could
		// let an answer that came quickly skip during.
		<-op.taken
		during()
	}
	// The writer always answers; waiting keeps "returned" meaning "decided".
	return <-op.done
}

// writeGroup submits fns together, so that they go into one commit (or
// the next few, if more than a batch), and waits for every one of them.
// errs[i] is fns[i]'s own outcome: one failing operation does not fail
// the others (commit replays them one by one).
func (s *Store) writeGroup(ctx context.Context, fns []func(w *wtx) error) []error {
	errs := make([]error, len(fns))
	ops := make([]*writeOp, len(fns))
	for i, fn := range fns {
		ops[i] = &writeOp{fn: fn, done: make(chan error, 1)}
	}
	var err error
	select {
	case s.ops <- &writeOp{group: ops}:
	case <-s.closing:
		err = ErrClosed
	case <-ctx.Done():
		err = ctx.Err()
	}
	for i, op := range ops {
		if err != nil {
			errs[i] = err
			continue
		}
		errs[i] = <-op.done
	}
	return errs
}

// run is the writer goroutine: take one op, gather the ops already waiting,
// commit them together.
//
// Under load it also gathers a little more: when the previous commit ended
// moments ago (busy), other requests are being checked and will write
// soon, and every commit costs a log sync and the pages it dirties
// whatever its size. First it lets the goroutines that can run now run
// (gatherRunnable): on a node with one P those are the handlers that will
// write next, and once they have, nothing else would use the CPU while the
// writer waited. With more than one P, handlers run beside the writer, so
// it then waits up to the time the previous commit took, capped by
// commitWait, unless the batch already holds waitBelow operations (the
// fixed cost is then spread thin, and waiting would only idle the
// writer). A writer that was idle commits at once, so a lone request gets
// no added latency. On the 2-core test machine (a sync takes about 300 µs
// there) the wait took stores from 1.2 to 5–10 operations per commit and
// their CPU time per request down by a third; on one P, waiting on a timer
// instead of letting the runnable goroutines run cost 5–15 % of the stores
// a second and about a tenth more CPU per store, for two or three more
// operations per commit (docs/PERFORMANCE.md).
func (s *Store) run() {
	defer close(s.done)
	batch := make([]*writeOp, 0, s.maxBatch)
	var lastEnd time.Time
	var lastTook time.Duration
	for {
		batch = batch[:0]
		select {
		case op := <-s.ops:
			batch = op.add(batch)
		case <-s.closing:
			return
		}
		batch = s.drain(batch)
		if len(batch) < waitBelow && time.Since(lastEnd) < busyGap {
			batch = s.gatherRunnable(batch)
			if wait := min(lastTook, s.commitWait); wait > 0 && len(batch) < waitBelow && runtime.GOMAXPROCS(0) > 1 {
				batch = s.gatherFor(batch, wait)
			}
		}
		for _, op := range batch {
			if op.taken != nil {
				close(op.taken)
			}
		}
		t0 := time.Now()
		s.commit(batch)
		lastEnd = time.Now()
		lastTook = lastEnd.Sub(t0)
	}
}

// drain adds the operations waiting now, until the batch is full.
func (s *Store) drain(batch []*writeOp) []*writeOp {
	for len(batch) < s.maxBatch {
		select {
		case op := <-s.ops:
			batch = op.add(batch)
		default:
			return batch
		}
	}
	return batch
}

// busyGap is how soon after a commit the next operation must arrive for
// the writer to count as busy.
const busyGap = time.Millisecond

// waitBelow is the batch size from which a busy writer commits without
// waiting for more.
const waitBelow = 32

// gatherRounds is the most times gatherRunnable yields.
const gatherRounds = 4

// gatherRunnable lets the other runnable goroutines run (runtime.Gosched)
// and adds the operations they submitted, again while a round brings
// more, at most gatherRounds times, until the batch holds waitBelow
// operations. A round that brings none means that no goroutine about to
// write is left to run. It never waits when nothing else is runnable.
func (s *Store) gatherRunnable(batch []*writeOp) []*writeOp {
	for range gatherRounds {
		before := len(batch)
		runtime.Gosched()
		batch = s.drain(batch)
		if len(batch) == before || len(batch) >= min(waitBelow, s.maxBatch) {
			break
		}
	}
	return batch
}

// gatherFor adds the operations that arrive within d, until the batch
// holds waitBelow operations (or a full batch, if that is smaller).
func (s *Store) gatherFor(batch []*writeOp, d time.Duration) []*writeOp {
	t := time.NewTimer(d)
	defer t.Stop()
	for len(batch) < min(waitBelow, s.maxBatch) {
		select {
		case op := <-s.ops:
			batch = op.add(batch)
		case <-t.C:
			return batch
		case <-s.closing:
			return batch
		}
	}
	return batch
}

// commit applies a batch in one transaction. If any operation fails,
// SQLite may have rolled the whole transaction back (SQLITE_FULL can do
// that), so the batch is abandoned and every operation replayed in a
// transaction of its own; an operation failing alone gets its error.
// Failures are rare (a full database), so the common path pays no
// savepoints.
func (s *Store) commit(batch []*writeOp) {
	start := time.Now()
	ctx := context.Background()
	w := &wtx{ctx: ctx, s: s, conn: s.wconn, st: &s.ws}
	// busy counts this call's time in Stats().BusyTime. It runs before
	// any operation hears its outcome, so that the counters include a
	// commit once a write of it has returned.
	busy := func() { s.busyNanos.Add(int64(time.Since(start))) }
	fail := func(err error) {
		busy()
		for _, op := range batch {
			op.done <- err
		}
	}
	if _, err := s.ws.begin.ExecContext(ctx); err != nil {
		fail(fmt.Errorf("store: begin: %w", mapErr(err)))
		return
	}
	for _, op := range batch {
		if err := op.fn(w); err != nil {
			s.rollback(w)
			if len(batch) == 1 {
				fail(mapErr(err))
				return
			}
			busy() // the replays count their own time
			for _, op := range batch {
				s.commit([]*writeOp{op})
			}
			return
		}
	}
	t0 := time.Now()
	if _, err := s.ws.commit.ExecContext(ctx); err != nil {
		s.rollback(w)
		fail(fmt.Errorf("store: commit: %w", mapErr(err)))
		return
	}
	s.commitNanos.Add(int64(time.Since(t0)))
	s.commits.Add(1)
	s.committedOps.Add(int64(len(batch)))
	s.dig.applyAll(w.changes)
	s.noteRecent(w.fresh)
	if s.onLive != nil {
		for _, a := range w.arrivals {
			s.onLive(a.acct, a.ns)
		}
	}
	fail(nil)
}

// arrival is a live message that appeared in an account's namespace.
type arrival struct {
	acct Account
	ns   int16
}

// rollback abandons the transaction and the in-memory effects of w.
func (s *Store) rollback(w *wtx) {
	if _, err := s.wconn.ExecContext(w.ctx, "ROLLBACK"); err != nil && !isNoTx(err) {
		s.log.Warn("store rollback failed", "err", err)
	}
	w.undo()
}

// isNoTx reports SQLite's "cannot rollback - no transaction is active",
// the answer to ROLLBACK after SQLite already rolled back by itself.
func isNoTx(err error) bool {
	return strings.Contains(err.Error(), "no transaction is active")
}

// undo drops the in-memory effects of an abandoned transaction: owner
// rows it created are forgotten, owner rows it deleted come back.
func (w *wtx) undo() {
	w.changes, w.arrivals, w.fresh = w.changes[:0], w.arrivals[:0], w.fresh[:0]
	for _, a := range w.newOwners {
		if id, ok := w.s.ownerIDs[a]; ok {
			delete(w.s.owners, id)
			delete(w.s.ownerIDs, a)
		}
	}
	w.newOwners = w.newOwners[:0]
	for i := range w.gone {
		w.s.ownerIDs[w.goneAcct[i]], w.s.owners[w.gone[i]] = w.gone[i], w.goneAcct[i]
	}
	w.gone, w.goneAcct = w.gone[:0], w.goneAcct[:0]
}

// dropOwner forgets a deleted owner row (restored by undo).
func (w *wtx) dropOwner(id int64) {
	a, ok := w.s.owners[id]
	if !ok {
		return
	}
	delete(w.s.owners, id)
	delete(w.s.ownerIDs, a)
	w.gone, w.goneAcct = append(w.gone, id), append(w.goneAcct, a)
}

// ownerID returns the row id of an account, creating the row if create is
// set. ok is false when the account has no row and create is false.
func (w *wtx) ownerID(a Account, create bool) (id int64, ok bool, err error) {
	if id, ok := w.s.ownerIDs[a]; ok {
		return id, true, nil
	}
	if !create {
		return 0, false, nil
	}
	if err := w.st.insOwner.QueryRowContext(w.ctx, a[:]).Scan(&id); err != nil {
		return 0, false, fmt.Errorf("insert owner: %w", err)
	}
	w.s.ownerIDs[a], w.s.owners[id] = id, a
	w.newOwners = append(w.newOwners, a)
	return id, true, nil
}

// record notes a row state change for the digests: old state out, new in.
func (w *wtx) msgChange(a Account, ns int16, hash string, old *state, nw *state) {
	key := DigestKey{Account: a, Kind: KindMessages, Namespace: ns}
	if old != nil {
		w.changes = append(w.changes, change{key: key, elem: messageElem(hash, old.mtime, old.expiry, old.deleted), delta: -1})
	}
	if nw != nil {
		w.changes = append(w.changes, change{key: key, elem: messageElem(hash, nw.mtime, nw.expiry, nw.deleted), delta: 1})
	}
}

func (w *wtx) revChange(a Account, old, nw *Revocation) {
	key := DigestKey{Account: a, Kind: KindRevocations}
	if old != nil {
		w.changes = append(w.changes, change{key: key, elem: revocationElem(old.Token, old.Revoked, old.MTime), delta: -1})
	}
	if nw != nil {
		w.changes = append(w.changes, change{key: key, elem: revocationElem(nw.Token, nw.Revoked, nw.MTime), delta: 1})
	}
}

// state is the replicated state of a message row.
type state struct {
	mtime, expiry int64
	deleted       bool
}

// Newer reports whether state a (mtime, deleted, expiry) supersedes state b
// in the last-writer-wins order every replica uses: the later mtime wins; at
// equal mtimes a tombstone beats a live row, then the later expiry wins.
func Newer(aMTime int64, aDeleted bool, aExpiry int64, bMTime int64, bDeleted bool, bExpiry int64) bool {
	if aMTime != bMTime {
		return aMTime > bMTime
	}
	if aDeleted != bDeleted {
		return aDeleted
	}
	return aExpiry > bExpiry
}

func (a state) newer(b state) bool {
	return Newer(a.mtime, a.deleted, a.expiry, b.mtime, b.deleted, b.expiry)
}

// Coarse times. A row's mtime only has to order the changes of one message
// the same way on every replica; it need not say when they happened. The
// store therefore records an operation at the start of its quantum (a
// minute on a node), and a change to a row whose mtime is already in that
// quantum gets the row's mtime plus one: one row's versions stay strictly
// increasing, so a store and the expire that shortens it a second later
// (a disappearing message read at once) are ordered as before, and every
// replica that applies the same operations to the same row computes the
// same mtime. What is given up is the order of two conflicting changes
// that reach different replicas in different orders within one quantum:
// Newer then breaks the tie the same way everywhere (the tombstone, then
// the later expiry), so replicas still converge, and a tombstone is never
// undone by a store within its own quantum.
//
// Deletes win over expiry changes, whenever each was made. Session changes
// the expiry only of a message that exists, so an expire must not bring
// back a message deleted elsewhere: when a swarm splits, one side may
// delete a message while the other, which still holds it, extends or
// shortens it later. An expiry change therefore does not move a row to
// its own quantum: it keeps the row's quantum (that of the store that made
// it) and takes the row's mtime plus one (stampExpiry). A tombstone takes
// the last millisecond of its delete's quantum, since it holds for the
// rest of that quantum anyway: it is newer than every expiry change of a
// row stored no later than that quantum, wherever that change was made,
// and only a store in a later quantum (stored again after the delete, as
// Session would store it again) is newer. Two expiry changes made on
// different replicas are then ordered by their count of changes, then by
// the later expiry, rather than by their quanta.

// coarse returns the start of op's quantum.
func (s *Store) coarse(op int64) int64 { return op - ((op%s.quantum)+s.quantum)%s.quantum }

// quantumEnd returns the first time after op's quantum.
func (s *Store) quantumEnd(op int64) int64 { return s.coarse(op) + s.quantum }

// stamp returns the mtime of a change at operation time op that moves a
// row from prev to nw (nw.mtime unused), and whether the change wins over
// prev. With a 1 ms quantum it is op, and the change wins when it is Newer.
func (w *wtx) stamp(prev, nw state, op int64) (int64, bool) {
	if w.s.quantum == 1 {
		nw.mtime = op
		return op, nw.newer(prev)
	}
	c := w.s.coarse(op)
	switch {
	case c < w.s.coarse(prev.mtime):
		return 0, false // older than the row's state
	case nw.deleted:
		return max(prev.mtime+1, c+w.s.quantum-1), true // the rest of its quantum
	case c > prev.mtime:
		return c, true
	case prev.deleted:
		return 0, false // a tombstone holds for the rest of its quantum
	default:
		return prev.mtime + 1, true
	}
}

// stampExpiry returns the mtime of a change of a live row's expiry to
// expiry at operation time op, and whether it applies: the row keeps its
// quantum and counts one more change, so that the change stays older than
// any delete of the row made no earlier than the row's store.
func (w *wtx) stampExpiry(prev state, expiry, op int64) (int64, bool) {
	if w.s.quantum == 1 {
		return w.stamp(prev, state{expiry: expiry}, op)
	}
	if w.s.coarse(op) < w.s.coarse(prev.mtime) {
		return 0, false // older than the row's state
	}
	return prev.mtime + 1, true
}

// recentKeep is how long Store.recent remembers a change.
const recentKeep = 5 * time.Second

// noteRecent records the exact times of committed changes and forgets
// those older than recentKeep.
func (s *Store) noteRecent(marks []freshMark) {
	if len(marks) == 0 {
		return
	}
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	latest := int64(0)
	for _, m := range marks {
		s.recent[m.hash] = m.op
		latest = max(latest, m.op)
	}
	if keep := recentKeep.Milliseconds(); latest-s.recentCut > keep {
		for h, op := range s.recent {
			if op < latest-keep {
				delete(s.recent, h)
			}
		}
		s.recentCut = latest
	}
}

// changedAt returns the exact time of the last client operation on a row
// when it was recent (0 otherwise).
func (s *Store) changedAt(hash string) int64 {
	s.recentMu.RLock()
	defer s.recentMu.RUnlock()
	return s.recent[hash]
}

// writeStmts are prepared on the writer connection.
type writeStmts struct {
	insOwner, delOwner                                    *sql.Stmt
	selByHash, insMsg, insNew, delMsg, setExpiry, setTomb *sql.Stmt
	upMsg, setChange                                      *sql.Stmt
	selRev, insRev, upRev                                 *sql.Stmt
	begin, commit                                         *sql.Stmt
	all                                                   []*sql.Stmt
}

func (ws *writeStmts) prepare(ctx context.Context, c *sql.Conn) error {
	p := func(dst **sql.Stmt, q string) error {
		st, err := c.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		*dst = st
		ws.all = append(ws.all, st)
		return nil
	}
	return errors.Join(
		p(&ws.insOwner, "INSERT INTO owners (pubkey) VALUES (?) RETURNING id"),
		p(&ws.delOwner, "DELETE FROM owners WHERE id = ?"),
		p(&ws.selByHash, "SELECT id, owner, namespace, expiry, mtime, data IS NULL FROM messages WHERE hash = ?"),
		p(&ws.insMsg, "INSERT INTO messages (hash, owner, namespace, timestamp, expiry, mtime, data, sproof, cproof) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		p(&ws.insNew, "INSERT INTO messages (hash, owner, namespace, timestamp, expiry, mtime, data, sproof) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING"),
		p(&ws.delMsg, "DELETE FROM messages WHERE id = ?"),
		p(&ws.setExpiry, "UPDATE messages SET expiry = ?, mtime = ?, sproof = ?, cproof = NULL WHERE id = ?"),
		p(&ws.setTomb, "UPDATE messages SET data = NULL, mtime = ?, cproof = ? WHERE id = ?"),
		p(&ws.upMsg, "UPDATE messages SET expiry = ?, mtime = ?, data = CASE WHEN ? THEN NULL ELSE data END, sproof = coalesce(?, sproof), cproof = ? WHERE id = ?"),
		p(&ws.setChange, "UPDATE messages SET expiry = ?, mtime = ?, cproof = ? WHERE id = ?"),
		p(&ws.selRev, "SELECT revoked, mtime FROM revoked WHERE owner = ? AND token = ?"),
		p(&ws.insRev, "INSERT INTO revoked (owner, token, revoked, mtime, proof) VALUES (?, ?, ?, ?, ?)"),
		p(&ws.upRev, "UPDATE revoked SET revoked = ?, mtime = ?, proof = ? WHERE owner = ? AND token = ?"),
		p(&ws.begin, "BEGIN IMMEDIATE"),
		p(&ws.commit, "COMMIT"),
	)
}

func (ws *writeStmts) close() {
	for _, st := range ws.all {
		st.Close()
	}
}

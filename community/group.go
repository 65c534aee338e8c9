package community

import (
	"context"
	"database/sql"
	"sync"
)

// maxGroup bounds the writes committed in one transaction.
const maxGroup = 256

// groupCommit commits the writes that arrive together in one transaction
// (group commit): under load one fsync acknowledges many posts. Each write
// runs in its own savepoint, so one that fails leaves the others, and each
// is acknowledged only after the COMMIT that makes it durable.
type groupCommit struct {
	mu      sync.Mutex
	pending []*writeJob
	leading bool
}

type writeJob struct {
	ctx  context.Context
	fn   func(context.Context, *sql.Tx) error
	done chan error
}

const (
	qSavepoint  = "SAVEPOINT w"
	qRollbackTo = "ROLLBACK TO w"
	qRelease    = "RELEASE w"
)

// write runs fn in a transaction shared with the writes that arrive with
// it and returns fn's error, or the transaction's; fn's writes are durable
// when write returns nil. fn must use only tx (another connection would
// wait for the write lock tx holds) and must not commit or roll back.
func (s *Store) write(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	j := &writeJob{ctx: context.WithoutCancel(ctx), fn: fn, done: make(chan error, 1)}
	g := &s.group
	g.mu.Lock()
	g.pending = append(g.pending, j)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if lead {
		// The first writer commits the batch it finds; later batches are
		// committed by a goroutine, so that its own reply does not wait.
		if s.commitNext() {
			go func() {
				for s.commitNext() {
				}
			}()
		}
	}
	return <-j.done
}

// commitNext commits the pending writes (up to maxGroup) and reports
// whether more are pending; if none are, it gives up the lead.
func (s *Store) commitNext() bool {
	g := &s.group
	g.mu.Lock()
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()
	s.commitBatch(batch)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.pending, g.leading = nil, false
		return false
	}
	return true
}

func (s *Store) commitBatch(batch []*writeJob) {
	errs := make([]error, len(batch))
	err := func() error {
		ctx := context.Background()
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if len(batch) == 1 {
			if err := batch[0].fn(batch[0].ctx, tx); err != nil {
				return err
			}
			return tx.Commit()
		}
		for i, j := range batch {
			if _, err := s.db.txExec(ctx, tx, qSavepoint); err != nil {
				return err
			}
			if errs[i] = j.fn(j.ctx, tx); errs[i] != nil {
				if _, err := s.db.txExec(ctx, tx, qRollbackTo); err != nil {
					return err
				}
			}
			if _, err := s.db.txExec(ctx, tx, qRelease); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	for i, j := range batch {
		if err != nil {
			j.done <- err
		} else {
			j.done <- errs[i]
		}
	}
}

package community

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds the prepared statements stmtDB keeps; a query beyond
// them is prepared each time, as database/sql does.
const maxStmts = 256

// stmtDB is a *sql.DB whose QueryContext, QueryRowContext and ExecContext
// prepare each distinct query once and keep the statement: parsing SQL
// was a fifth of a poll's CPU time (docs/PERFORMANCE.md).
type stmtDB struct {
	*sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newStmtDB(db *sql.DB) *stmtDB { return &stmtDB{DB: db, stmts: make(map[string]*sql.Stmt)} }

// stmt returns the kept statement for q, preparing it on first use; nil if
// the cache is full or q does not prepare (the caller then runs q as is,
// which reports the error).
func (d *stmtDB) stmt(ctx context.Context, q string) *sql.Stmt {
	d.mu.Lock()
	st, ok := d.stmts[q]
	full := len(d.stmts) >= maxStmts
	d.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := d.DB.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.stmts[q]; ok {
		st.Close()
		return old
	}
	d.stmts[q] = st
	return st
}

func (d *stmtDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := d.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return d.DB.QueryContext(ctx, q, args...)
}

func (d *stmtDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := d.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.DB.QueryRowContext(ctx, q, args...)
}

func (d *stmtDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := d.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return d.DB.ExecContext(ctx, q, args...)
}

// prepare keeps statements for qs, the queries run in transactions.
func (d *stmtDB) prepare(ctx context.Context, qs ...string) {
	for _, q := range qs {
		d.stmt(ctx, q)
	}
}

// txStmt returns the kept statement for q bound to tx (database/sql
// prepares it on tx's connection once), or nil if q is not kept. It never
// prepares a new one: that takes a second connection from the pool while
// tx holds the write lock, which deadlocks when every other connection
// waits for that lock.
func (d *stmtDB) txStmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	d.mu.Lock()
	st := d.stmts[q]
	d.mu.Unlock()
	if st != nil {
		return tx.StmtContext(ctx, st)
	}
	return nil
}

// txQueryRow is tx.QueryRowContext through a kept statement.
func (d *stmtDB) txQueryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := d.txStmt(ctx, tx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// txExec is tx.ExecContext through a kept statement.
func (d *stmtDB) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := d.txStmt(ctx, tx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// Close closes the kept statements and the database.
func (d *stmtDB) Close() error {
	d.mu.Lock()
	for q, st := range d.stmts {
		st.Close()
		delete(d.stmts, q)
	}
	d.mu.Unlock()
	return d.DB.Close()
}

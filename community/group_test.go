package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func setIn(key string) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES (?, 'v')", key)
		return err
	}
}

// TestGroupCommitIsolates commits three writes in one transaction, the
// second failing after it wrote: the first and third are kept, the
// second's row is gone, and each gets its own result.
func TestGroupCommitIsolates(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	errBad := errors.New("bad write")
	fns := []func(context.Context, *sql.Tx) error{
		setIn("a"),
		func(ctx context.Context, tx *sql.Tx) error {
			if err := setIn("b")(ctx, tx); err != nil {
				return err
			}
			return errBad
		},
		setIn("c"),
	}
	var batch []*writeJob
	for _, fn := range fns {
		batch = append(batch, &writeJob{ctx: ctx, fn: fn, done: make(chan error, 1)})
	}
	st.commitBatch(batch)
	for i, want := range []error{nil, errBad, nil} {
		if err := <-batch[i].done; !errors.Is(err, want) {
			t.Errorf("write %d: %v, want %v", i, err, want)
		}
	}
	for key, want := range map[string]string{"a": "v", "b": "", "c": "v"} {
		if got, err := st.Setting(ctx, key); err != nil || got != want {
			t.Errorf("setting %s = %q, %v; want %q", key, got, err, want)
		}
	}
}

// TestGroupCommitConcurrent: every acknowledged write of many concurrent
// writers is in the database, and a duplicate key fails only its writer.
func TestGroupCommitConcurrent(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = 200
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = st.write(ctx, setIn(fmt.Sprint("k", i))) })
	}
	wg.Go(func() { errs[n] = st.write(ctx, setIn("k0")) })
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			if i != 0 && i != n {
				t.Errorf("write %d: %v", i, err)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d writes of k0 failed, want 1", failed)
	}
	var count int
	if err := st.db.QueryRowContext(ctx, "SELECT count(*) FROM settings WHERE key LIKE 'k%'").Scan(&count); err != nil || count != n {
		t.Fatalf("%d rows (%v), want %d", count, err, n)
	}
}

package store

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The log is folded into the database while the store is written, and the
// writer then starts it over in place: the file keeps its size instead of
// growing with every write, and a log that grew past the limit (a burst
// between two checkpoints) is cut back to it when it starts over.
func TestLogStartsOverInPlace(t *testing.T) {
	const limit = 256 << 10
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, Options{Path: path, walLimit: limit})
	a := acct(1)
	logSize := func() int64 {
		t.Helper()
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	next := 0
	// round stores n messages of size bytes from 16 goroutines, then waits
	// for a checkpoint that folds all of them.
	round := func(n, size int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for g := range 16 {
			wg.Go(func() {
				for i := g; i < n; i += 16 {
					m := msg(a, 0, next+i, 1000, 1<<40)
					m.Data = make([]byte, size)
					if _, _, err := s.Store(ctx, m, 1000); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		next += n
		commits := s.Stats().Commits
		deadline := time.Now().Add(20 * time.Second)
		for s.folded.Load() < commits {
			if time.Now().After(deadline) {
				t.Fatal("no checkpoint folded the log")
			}
			time.Sleep(checkpointInterval / 4)
		}
	}

	// A burst of 2 MiB grows the log past the limit.
	round(256, 8<<10)
	if got := logSize(); got <= limit {
		t.Fatalf("log after a 2 MiB burst: %d bytes, want more than %d", got, limit)
	}
	// The next commit starts it over and cuts it back to the limit.
	mustStore(t, s, msg(a, 0, next, 1000, 1<<40), 1000)
	next++
	if got := logSize(); got > limit {
		t.Fatalf("log after starting over: %d bytes, want at most %d", got, limit)
	}
	// Rounds smaller than the limit write over the same file.
	for range 3 {
		round(16, 4<<10)
		if got := logSize(); got > limit {
			t.Fatalf("log after a small round: %d bytes, want at most %d", got, limit)
		}
	}
	// Every message is there.
	got, _, err := s.Retrieve(ctx, RetrieveQuery{Account: a, Now: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != next {
		t.Fatalf("retrieved %d messages, stored %d", len(got), next)
	}
	// An idle store leaves its log alone.
	idle := s.Stats().Checkpoints
	time.Sleep(5 * checkpointTick)
	if c := s.Stats().Checkpoints; c != idle {
		t.Fatalf("an idle store checkpointed %d times", c-idle)
	}
}

package store

import (
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3/vfs"
)

// A sync that took longer than slowSync makes the log use the normal
// system call for slowFor after it; shorter ones change nothing.
func TestHeldSyncBacksOffAfterSlowSync(t *testing.T) {
	f := &walFile{holdP: true}
	t0 := time.Unix(1_800_000_000, 0)
	if !f.mayHoldP(t0) {
		t.Fatal("a new log may not hold the P")
	}
	f.heldSync(t0, slowSync)
	if !f.mayHoldP(t0.Add(slowSync)) {
		t.Fatal("a sync of exactly slowSync made the log back off")
	}
	took := 3 * slowSync
	f.heldSync(t0, took)
	for _, at := range []time.Duration{took, time.Second, slowFor, took + slowFor - time.Nanosecond} {
		if f.mayHoldP(t0.Add(at)) {
			t.Fatalf("%v after a slow sync's start the log holds the P again", at)
		}
	}
	if !f.mayHoldP(t0.Add(took + slowFor)) {
		t.Fatalf("the log still backs off %v after a slow sync", took+slowFor)
	}
}

// A store whose syncs keep the P stores, commits and keeps every message
// from concurrent writers as the default one does, through its own VFS.
func TestSyncHoldsPStore(t *testing.T) {
	if vfs.Find(walBufHoldVFS) == nil {
		t.Fatalf("%s not registered", walBufHoldVFS)
	}
	path := filepath.Join(t.TempDir(), "store.db")
	// The work given for the write-back's time runs, with a deadline
	// within syncWork of its start, and never after the store closed.
	var works atomic.Int64
	var late atomic.Bool
	closed := make(chan struct{})
	work := func(deadline time.Time) {
		select {
		case <-closed:
			late.Store(true)
		default:
		}
		if d := time.Until(deadline); d > syncWork {
			t.Errorf("work given %v, more than %v", d, syncWork)
		}
		works.Add(1)
	}
	s := open(t, Options{Path: path, SyncHoldsP: true, WhileSyncing: work})
	a := acct(2)
	const n = 600
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 24 {
		wg.Go(func() {
			for i := g; i < n; i += 24 {
				if _, _, err := s.Store(ctx, msg(a, 0, i, 1000, 1<<40), 1000); err != nil {
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
	if c := s.Stats().Commits; c == 0 || c > n {
		t.Fatalf("%d commits for %d stores", c, n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	close(closed)
	if runtime.GOOS == "linux" && works.Load() == 0 {
		t.Error("the work for the write-back's time never ran")
	}
	if late.Load() {
		t.Error("the work ran after Close")
	}
	s = open(t, Options{Path: path})
	got, _, err := s.Retrieve(ctx, RetrieveQuery{Account: a, Now: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("reopened store holds %d messages, stored %d", len(got), n)
	}
}

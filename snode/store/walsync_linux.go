package store

import (
	"runtime"
	"syscall"
	"time"

	"github.com/ncruces/go-sqlite3/vfs"
	"golang.org/x/sys/unix"
)

// sync syncs the log at a commit (Linux).
//
// With synchronous=FULL every commit ends in an fdatasync of the log; on
// the machines we measured on (a virtual disk with a write-back cache)
// that is a write of the commit's frames and then a cache flush, 220–300
// µs alone. In the node it took about 1 ms, and the core idled a fifth of
// the time (docs/PERFORMANCE.md, "One node's stores: a sync that keeps
// its P"):
//
//   - Through a normal system call Go's monitor thread hands the writer's
//     P to another thread once the sync has lasted a tick, so the
//     handlers run meanwhile; but when the disk answers, the syncing
//     thread waits for the running one's time slice to end, then for a P.
//   - Nothing useful ran while the disk wrote.
//
// With Options.SyncHoldsP the sync starts the write-back of the log's
// dirty pages (sync_file_range with SYNC_FILE_RANGE_WRITE only submits
// it), yields so that the goroutines waiting to run, chiefly the
// handlers signing the answers of the batch being committed, use the core
// while the disk writes, and then calls fdatasync without giving up the
// P (a raw system call), so that the writer goes on the moment it
// returns. Commits took 0.44–0.49 ms instead of 0.55–1.1. Durability is
// the same fdatasync as before: sync_file_range only starts it early.
//
// A raw system call keeps the P and Go's stop-the-world phases wait for
// it; slowSync bounds what a stalling disk can do with that. A process
// that runs many stores (an in-process network) leaves SyncHoldsP off:
// their writers would hold every P while they sync.
func (f *walFile) sync(flags vfs.SyncFlag) error {
	file, ok := f.File.(interface{ Fd() uintptr })
	if !f.holdP || !ok {
		return f.File.Sync(flags)
	}
	fd := file.Fd()
	began := time.Now()
	// Errors of the hint are not errors of the sync: fdatasync below
	// reports the write-back's.
	_ = unix.SyncFileRange(int(fd), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	runtime.Gosched()
	if f.work != nil {
		if deadline := began.Add(syncWork); time.Now().Before(deadline) {
			f.work(deadline)
		}
	}
	start := time.Now()
	if !f.mayHoldP(start) {
		return f.File.Sync(flags)
	}
	err := fdatasyncHoldingP(fd)
	f.heldSync(start, time.Since(start))
	return err
}

// fdatasyncHoldingP is fdatasync(2) as a raw system call: the calling
// thread keeps its P for the call's duration (see above).
func fdatasyncHoldingP(fd uintptr) error {
	for {
		_, _, e := syscall.RawSyscall(syscall.SYS_FDATASYNC, fd, 0, 0)
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return e
		}
	}
}

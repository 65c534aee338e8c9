package store

import (
	"sync"
	"time"

	"github.com/ncruces/go-sqlite3/util/vfsutil"
	"github.com/ncruces/go-sqlite3/vfs"
)

// walBufVFS is the name of the VFS the store's connections use: the
// default one, except that writes to the write-ahead log are gathered in
// memory and reach the file in one write when SQLite syncs the log.
//
// SQLite writes a commit's log frames one by one, each as two writes (its
// 24-byte header, then the page), so a commit of 32 stores made about a
// hundred pwrite calls, each unaligned to the file's pages. On the test
// machine those calls cost more than the inserts themselves: 8 µs per
// frame against about 1 µs per frame in one write (docs/sqlite.md).
//
// Durability is unchanged: with synchronous=FULL SQLite syncs the log at
// every commit, after its frames and before it publishes them in the
// WAL index, so the gathered frames are written before the sync and no
// other connection can look for them earlier. The store always sets
// synchronous=FULL; with NORMAL or OFF the log is not synced at commit
// and this VFS must not be used. A read, a size, a truncation or a close
// of the log writes what is gathered first, so the connection itself
// always sees its own frames.
const walBufVFS = "sotto-walbuf"

// walBufHoldVFS is walBufVFS whose log syncs keep the writer's P
// (Options.SyncHoldsP, walsync_linux.go).
const walBufHoldVFS = "sotto-walbuf-holdp"

// walBufMax is the most a log file gathers before it writes.
const walBufMax = 1 << 20

func init() {
	vfs.Register(walBufVFS, walBuf{VFS: vfs.Find("")})
	vfs.Register(walBufHoldVFS, walBuf{VFS: vfs.Find(""), holdP: true})
}

// walBuf wraps a VFS: log files (vfs.OPEN_WAL) get a walFile.
type walBuf struct {
	vfs.VFS
	holdP bool
}

func (v walBuf) Open(name string, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	f, flags, err := vfsutil.WrapOpen(v.VFS, name, flags)
	return v.wrapWAL(f, flags, err)
}

func (v walBuf) OpenFilename(name *vfs.Filename, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	f, flags, err := vfsutil.WrapOpenFilename(v.VFS, name, flags)
	return v.wrapWAL(f, flags, err)
}

func (v walBuf) wrapWAL(f vfs.File, flags vfs.OpenFlag, err error) (vfs.File, vfs.OpenFlag, error) {
	if err != nil || flags&vfs.OPEN_WAL == 0 {
		return f, flags, err
	}
	return &walFile{File: f, holdP: v.holdP}, flags, nil
}

// walFile gathers contiguous writes to a log file: buf holds the bytes
// from off on that are not in the file yet.
type walFile struct {
	vfs.File
	mu  sync.Mutex // SQLite serialises a file's calls; this keeps the buffer safe regardless
	off int64
	buf []byte

	// holdP: syncs keep the P (walsync_linux.go); slowUntil is when they
	// may again after a slow one. Only the connection's calls touch it.
	holdP     bool
	slowUntil time.Time

	// work, when set, runs between the start of a commit's write-back and
	// the sync that waits for it (Options.WhileSyncing), until syncWork
	// after the write-back began. Set once, before the writer runs.
	work func(deadline time.Time)
}

// syncWork is how long after starting a commit's write-back the writer
// does work (walFile.work) before it waits for the disk. On the test
// machine the sync still waited about 150 µs after 300 µs, and the node
// then signed nearly nine answers in ten with nonces made meanwhile;
// budgets from 120 to 400 µs did not differ in stores a second beyond the
// machine's noise (docs/PERFORMANCE.md, "Signing nonces made while the
// disk writes").
const syncWork = 300 * time.Microsecond

func (f *walFile) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.off + int64(len(f.buf))
	switch {
	case len(f.buf) > 0 && off >= f.off && off+int64(len(p)) <= end:
		// A frame rewritten within the gathered range (SQLite rewrites
		// a frame when a transaction changes its page again).
		copy(f.buf[off-f.off:], p)
		return len(p), nil
	case len(f.buf) > 0 && off == end:
	default:
		if err := f.flushLocked(); err != nil {
			return 0, err
		}
		f.off = off
	}
	f.buf = append(f.buf, p...)
	if len(f.buf) >= walBufMax {
		if err := f.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flushLocked writes the gathered bytes. On an error they are dropped:
// SQLite fails the transaction, whose frames the log then never counts.
func (f *walFile) flushLocked() error {
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.File.WriteAt(f.buf, f.off)
	f.off += int64(len(f.buf))
	f.buf = f.buf[:0]
	if cap(f.buf) > walBufMax*2 {
		f.buf = nil
	}
	return err
}

func (f *walFile) flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flushLocked()
}

func (f *walFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *walFile) Sync(flags vfs.SyncFlag) error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.sync(flags)
}

func (f *walFile) Size() (int64, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.File.Size()
}

func (f *walFile) Truncate(size int64) error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *walFile) Close() error {
	err := f.flush()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

// The optional methods SQLite uses on a log file.

func (f *walFile) Unwrap() vfs.File { return f.File }

func (f *walFile) SizeHint(size int64) error {
	if err := f.flush(); err != nil {
		return err
	}
	return vfsutil.WrapSizeHint(f.File, size)
}

func (f *walFile) ChunkSize(size int) { vfsutil.WrapChunkSize(f.File, size) }

func (f *walFile) HasMoved() (bool, error) { return vfsutil.WrapHasMoved(f.File) }

// mayHoldP reports whether a sync starting at now may keep the P: not
// within slowFor of a sync that took longer than slowSync.
func (f *walFile) mayHoldP(now time.Time) bool { return !now.Before(f.slowUntil) }

// heldSync records a sync that kept the P, started at start and took took.
func (f *walFile) heldSync(start time.Time, took time.Duration) {
	if took > slowSync {
		f.slowUntil = start.Add(took + slowFor)
	}
}

// A sync that keeps its P stops the process's stop-the-world phases for
// as long as it lasts, so a disk that stalls would stall the whole
// process with it: after a sync longer than slowSync the log uses the
// normal system call for slowFor, then tries again.
const (
	slowSync = 10 * time.Millisecond
	slowFor  = 10 * time.Second
)

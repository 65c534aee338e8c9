package store

import (
	"bytes"
	"testing"

	"github.com/ncruces/go-sqlite3/util/vfsutil"
	"github.com/ncruces/go-sqlite3/vfs"
)

// countFile counts the writes that reach a file.
type countFile struct {
	vfsutil.SliceFile
	writes, syncs int
}

func (f *countFile) WriteAt(p []byte, off int64) (int, error) {
	f.writes++
	return f.SliceFile.WriteAt(p, off)
}

func (f *countFile) Sync(vfs.SyncFlag) error { f.syncs++; return nil }

func TestWALFileGathers(t *testing.T) {
	base := &countFile{}
	f := &walFile{File: base}
	hdr, page := bytes.Repeat([]byte{1}, 24), bytes.Repeat([]byte{2}, 4096)
	off := int64(32)
	for range 3 {
		for _, p := range [][]byte{hdr, page} {
			if n, err := f.WriteAt(p, off); n != len(p) || err != nil {
				t.Fatalf("write: %d %v", n, err)
			}
			off += int64(len(p))
		}
	}
	if base.writes != 0 {
		t.Fatalf("%d writes reached the file before the sync", base.writes)
	}
	// a frame rewritten inside the gathered range stays gathered
	if _, err := f.WriteAt(bytes.Repeat([]byte{3}, 4096), 32+24); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(vfs.SYNC_FULL); err != nil {
		t.Fatal(err)
	}
	if base.writes != 1 || base.syncs != 1 {
		t.Fatalf("after sync: %d writes, %d syncs; want 1, 1", base.writes, base.syncs)
	}
	want := make([]byte, off)
	for i, o := 0, 32; i < 3; i++ {
		copy(want[o:], hdr)
		copy(want[o+24:], page)
		o += 24 + 4096
	}
	copy(want[32+24:], bytes.Repeat([]byte{3}, 4096))
	if !bytes.Equal(base.SliceFile, want) {
		t.Fatal("file content differs from the writes")
	}

	// a write elsewhere (the log restarting at its start) writes the
	// gathered bytes first; reads and sizes see every write
	if _, err := f.WriteAt(hdr, off); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(page, 0); err != nil {
		t.Fatal(err)
	}
	if base.writes != 2 {
		t.Fatalf("a write out of sequence left %d writes; want 2", base.writes)
	}
	got := make([]byte, 4096)
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, page) {
		t.Fatalf("read of a gathered write: %v", err)
	}
	if sz, err := f.Size(); err != nil || sz != off+24 {
		t.Fatalf("size %d %v; want %d", sz, err, off+24)
	}
	if err := f.Close(); err != nil || base.writes != 3 {
		t.Fatalf("close: %v, %d writes", err, base.writes)
	}
}

// TestStoreUsesWALBuf checks that the connections that write use the
// gathering VFS, and only with synchronous=FULL, which it needs.
func TestStoreUsesWALBuf(t *testing.T) {
	if !bytes.Contains([]byte(dsn("/x", false, walBufVFS)), []byte("vfs="+walBufVFS)) || !bytes.Contains([]byte(dsn("/x", false, walBufVFS)), []byte("synchronous(full)")) {
		t.Fatalf("writer DSN without %s and synchronous=FULL: %s", walBufVFS, dsn("/x", false, walBufVFS))
	}
	if vfs.Find(walBufVFS) == nil {
		t.Fatalf("%s not registered", walBufVFS)
	}
}

//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFileModes: the database, its WAL and its shared-memory file are
// readable by the owner only (0600), with a umask that would give 0644,
// while open and after close; a database an older build left 0644 is
// narrowed when opened.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "client.db")
	check := func(stage string, want ...string) {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			seen[e.Name()] = true
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s: %s has mode %04o, want 0600", stage, e.Name(), m)
			}
		}
		for _, w := range want {
			if !seen[w] {
				t.Errorf("%s: no %s (files: %v)", stage, w, seen)
			}
		}
	}
	s, err := Open(ctx, path, testKey(5))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "profile_name", "x"); err != nil {
		t.Fatal(err)
	}
	check("open", "client.db", "client.db-wal", "client.db-shm")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed", "client.db")

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(ctx, path, testKey(5))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetSetting(ctx, "profile_name", "y"); err != nil {
		t.Fatal(err)
	}
	check("reopened", "client.db", "client.db-wal", "client.db-shm")
}

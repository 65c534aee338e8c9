package ports

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestReserve(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	lo, hi := fixedPortRange()
	if lo < 10000 || hi <= lo {
		t.Fatalf("range %d-%d", lo, hi)
	}
	got, err := Reserve(ip, 20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint16]bool{}
	for _, p := range got {
		if seen[p] {
			t.Fatalf("port %d twice in %v", p, got)
		}
		seen[p] = true
		if p < lo || p >= hi {
			t.Errorf("port %d outside %d-%d", p, lo, hi)
		}
		// Released: the caller can bind it.
		ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, p).String())
		if err != nil {
			t.Fatalf("bind reserved port: %v", err)
		}
		ln.Close()
	}
}

// TestClaim: a port this process claimed is not handed out again, one a
// live process holds is refused, and one whose process exited is taken
// over.
func TestClaim(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dir := filepath.Join(os.TempDir(), "sotto-ports-"+strconv.Itoa(os.Getuid()))
	if !claim(12345) {
		t.Fatal("first claim refused")
	}
	if claim(12345) {
		t.Error("own claim handed out twice")
	}
	if err := os.WriteFile(filepath.Join(dir, "12346"), []byte(strconv.Itoa(os.Getppid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if claim(12346) {
		t.Error("port of a live process (our parent) claimed")
	}
	// A pid beyond any the kernel hands out.
	if err := os.WriteFile(filepath.Join(dir, "12347"), []byte("2147483646"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !claim(12347) {
		t.Error("port of an exited process not taken over")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "12347")); err != nil || string(b) != strconv.Itoa(os.Getpid()) {
		t.Errorf("record after the takeover: %q %v", b, err)
	}
	// Reserve skips claimed ports: none of its ports is one claimed above.
	got, err := Reserve(netip.MustParseAddr("127.0.0.1"), 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if p == 12345 || p == 12346 || p == 12347 {
			t.Errorf("Reserve returned claimed port %d", p)
		}
		if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(int(p)))); err != nil {
			t.Errorf("port %d has no record: %v", p, err)
		}
	}
}

// TestRecordDir: the record directory is created for this user alone, and
// one that others can write is not used.
func TestRecordDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dir, err := recordDir()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, want 0700", fi.Mode().Perm())
	}
	if !claim(12345) {
		t.Fatal("claim refused")
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := recordDir(); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Fatalf("world-writable directory: %v", err)
	}
	// The directory is refused, so the record is not read: every port
	// counts as free and nothing is written.
	if !claim(12345) || !claim(12346) {
		t.Error("claim refused with an unusable directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "12346")); err == nil {
		t.Error("record written to a world-writable directory")
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}

	// A symbolic link in its place is refused too.
	t.Setenv("TMPDIR", t.TempDir())
	target := t.TempDir()
	if err := os.Symlink(target, filepath.Join(os.TempDir(), "sotto-ports-"+strconv.Itoa(os.Getuid()))); err != nil {
		t.Skip("no symbolic links:", err)
	}
	if _, err := recordDir(); err == nil {
		t.Fatal("symbolic link accepted")
	}
}

package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// names lists the entries of dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func check(t *testing.T, path string, data string, perm fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != data {
		t.Errorf("%s holds %q, want %q", path, got, data)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), perm)
	}
}

func TestWriteNew(t *testing.T) {
	// The permissions are applied whatever the umask (commonly 022).
	for _, perm := range []fs.FileMode{0o600, 0o644, 0o666, 0o400} {
		dir := t.TempDir()
		path := filepath.Join(dir, "f.json")
		if err := Write(path, []byte("hello\n"), perm); err != nil {
			t.Fatal(err)
		}
		check(t, path, "hello\n", perm)
		if got := names(t, dir); !slices.Equal(got, []string{"f.json"}) {
			t.Errorf("directory holds %q", got)
		}
	}
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("a much longer old content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	check(t, path, "new", 0o600)
	if err := Write(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	check(t, path, "", 0o640)
	if got := names(t, dir); !slices.Equal(got, []string{"f"}) {
		t.Errorf("directory holds %q", got)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	// The directory does not exist.
	if err := Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Error("wrote into a missing directory")
	}
	// The rename fails: path is a directory that is not empty.
	path := filepath.Join(dir, "taken")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("x"), 0o600); err == nil {
		t.Error("replaced a directory")
	}
	if got := names(t, dir); !slices.Equal(got, []string{"taken"}) {
		t.Errorf("directory holds %q after the errors, want only the old entry", got)
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("the directory in the way was changed: %v %v", fi, err)
	}
}

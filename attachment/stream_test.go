package attachment

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// patternFile is a large plaintext that exists nowhere in memory: byte i
// is a function of i.
type patternFile struct {
	size, off int64
}

func patternByte(i int64) byte { return byte(i*7 + i>>13) }

func (p *patternFile) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.size-p.off)]
	for i := range b {
		b[i] = patternByte(p.off + int64(i))
	}
	p.off += int64(len(b))
	return len(b), nil
}

func (p *patternFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		p.off = off
	case io.SeekCurrent:
		p.off += off
	case io.SeekEnd:
		p.off = p.size + off
	}
	return p.off, nil
}

func patternSHA256(t *testing.T, n int64) [32]byte {
	h := sha256.New()
	if _, err := io.Copy(h, &patternFile{size: n}); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Both forms stream a 100 MB file from a reader to a file and back without
// holding it in memory: what they allocate is a few buffers, not the file.
// (Under the race detector, 12 MB: the same paths, in less time.)
func TestStreamLargeFile(t *testing.T) {
	size := int64(100 << 20)
	if raceEnabled {
		size = 12 << 20
	}
	const budget = 4 << 20
	want := patternSHA256(t, size)
	dir := t.TempDir()

	t.Run("deterministic", func(t *testing.T) {
		f, err := os.Create(filepath.Join(dir, "det"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var key Key
		var n int64
		if a := allocated(func() { key, n, err = Encrypt(f, &patternFile{size: size}, &testSeed, DomainAttachment) }); a > budget {
			t.Errorf("Encrypt allocated %d bytes", a)
		}
		if err != nil || n != EncryptedSize(size) {
			t.Fatalf("Encrypt: %d bytes, %v", n, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		var m int64
		if a := allocated(func() { m, err = Decrypt(h, f, &key) }); a > budget {
			t.Errorf("Decrypt allocated %d bytes", a)
		}
		if err != nil || m != size || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("Decrypt: %d bytes, %v", m, err)
		}
	})

	t.Run("legacy", func(t *testing.T) {
		f, err := os.Create(filepath.Join(dir, "legacy"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		key, iv := legacyKeyIV(t)
		var digest [32]byte
		var n int64
		if a := allocated(func() { digest, n, err = EncryptLegacy(f, &patternFile{size: size}, size, &key, &iv) }); a > budget {
			t.Errorf("EncryptLegacy allocated %d bytes", a)
		}
		if err != nil || n != LegacyEncryptedSize(size) {
			t.Fatalf("EncryptLegacy: %d bytes, %v", n, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if a := allocated(func() { err = DecryptLegacy(h, f, &key, digest[:], size, dir) }); a > budget {
			t.Errorf("DecryptLegacy allocated %d bytes", a)
		}
		if err != nil || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("DecryptLegacy: %v", err)
		}
	})
}

package serverauth

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestDecodeHexOrBase64(t *testing.T) {
	n := []byte("0123456789abcdef")
	for _, s := range []string{hex.EncodeToString(n), base64.StdEncoding.EncodeToString(n), base64.RawStdEncoding.EncodeToString(n)} {
		if b, err := DecodeHexOrBase64(s, 16); err != nil || string(b) != string(n) {
			t.Errorf("%q: %x, %v", s, b, err)
		}
	}
	for _, s := range []string{"", "AAAA", hex.EncodeToString(n)[:30] + "zz", base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xff})} {
		if _, err := DecodeHexOrBase64(s, 16); err == nil {
			t.Errorf("%q decoded", s)
		}
	}
}

func FuzzDecodeHexOrBase64(f *testing.F) {
	f.Add("07"+strings.Repeat("00", 32), 33)
	f.Add(strings.Repeat("A", 44), 33)
	f.Fuzz(func(t *testing.T, s string, size int) {
		if size < 0 || size > 128 {
			return
		}
		b, err := DecodeHexOrBase64(s, size)
		if err == nil && len(b) != size {
			t.Fatalf("%q: %d bytes, want %d", s, len(b), size)
		}
	})
}

package fileserver

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// testdata/fileid.json was computed with Python's hashlib, the expression
// session-file-server uses (see its "source").
func TestContentIDVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/fileid.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []struct {
			Len  *int   `json:"len"`
			Text string `json:"text"`
			ID   string `json:"id"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Vectors) < 5 {
		t.Fatalf("vectors: %v", err)
	}
	for _, v := range f.Vectors {
		data := []byte(v.Text)
		if v.Len != nil {
			data = make([]byte, *v.Len)
			for i := range data {
				data[i] = byte(7*i + 3)
			}
		}
		if got := ContentID(data); string(got) != v.ID {
			t.Errorf("%d bytes: %s, want %s", len(data), got, v.ID)
		}
		if id, err := ParseFileID(v.ID); err != nil || id != ContentID(data) {
			t.Errorf("parse %s: %v", v.ID, err)
		}
	}
}

func TestParseFileID(t *testing.T) {
	good := []string{strings.Repeat("A", 44), "tKO2VVg1JPHwgZuvqK_7bDHJeSr4UJ_8i13ETlwAn0jB", "1", "0", "9007199254740991", "123456"}
	for _, s := range good {
		if id, err := ParseFileID(s); err != nil || string(id) != s {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{"", strings.Repeat("A", 43), strings.Repeat("A", 45), strings.Repeat("A", 43) + "=", strings.Repeat("A", 43) + "+",
		strings.Repeat("A", 43) + "/", "00", "01", "+1", "-1", "9007199254740992", "99999999999999999", "1e5", "12a", " 1", "..", "a/b"}
	for _, s := range bad {
		var ie *IDError
		if _, err := ParseFileID(s); !errors.As(err, &ie) {
			t.Errorf("%q accepted (%v)", s, err)
		}
	}
	if FileID("123").Legacy() != true || FileID(strings.Repeat("A", 44)).Legacy() {
		t.Fatal("Legacy")
	}
}

func TestRandomLegacyID(t *testing.T) {
	seen := map[FileID]bool{}
	for range 1000 {
		id, err := randomLegacyID()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseFileID(string(id)); err != nil || !id.Legacy() || seen[id] {
			t.Fatalf("%s: %v", id, err)
		}
		seen[id] = true
	}
}

// Legacy ids below 10 have a one-character directory.
func TestShortLegacyIDPath(t *testing.T) {
	s, err := openStore(t.Context(), t.TempDir(), 0, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	now := time.Unix(1_760_000_000, 0)
	unlock := s.locks.lock("7")
	m, err := s.write(t.Context(), "7", []byte("seven"), now, time.Hour)
	unlock()
	if err != nil || m.Size != 5 {
		t.Fatal(err)
	}
	if _, data, err := s.get(t.Context(), "7", now); err != nil || string(data) != "seven" {
		t.Fatalf("get: %q %v", data, err)
	}
}

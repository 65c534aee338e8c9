package fileserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sotto.dev/internal/serverauth"

	"sotto.dev/attachment"
)

func FuzzParseFileID(f *testing.F) {
	for _, s := range []string{strings.Repeat("A", 44), "123", "0", "9007199254740992", "", "01", "-_" + strings.Repeat("x", 42)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseFileID(s)
		if err != nil {
			return
		}
		if string(id) != s {
			t.Fatalf("%q parsed as %q", s, id)
		}
		if !id.Legacy() {
			if b, err := base64.URLEncoding.DecodeString(s); err != nil || len(b) != attachment.FileIDHashSize {
				t.Fatalf("%q: not 33 bytes of base64 (%v)", s, err)
			}
		} else if id.legacyInt() >= 1<<legacyIDBits {
			t.Fatalf("%q too large", s)
		}
	})
}

func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{"0", "30", "-1", " 60 ", "1814400", "1814401", "1e3", "", "+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseTTL(s, DefaultFileTTL)
		if ok && (d < 0 || d > DefaultFileTTL || d%time.Second != 0) {
			t.Fatalf("%q: %v", s, d)
		}
	})
}

func FuzzParseLegacyUpload(f *testing.F) {
	for _, s := range []string{`{"file":"AAAA"}`, `{"file":null}`, `{}`, `[]`, `{"file":"a","file":"b"}`, `{"file":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := parseLegacyUpload(b)
		if !ok {
			return
		}
		again, _ := json.Marshal(map[string]string{"file": s})
		if s2, ok := parseLegacyUpload(again); !ok || s2 != s {
			t.Fatalf("%q parsed as %q, re-encoded as %q", b, s, s2)
		}
	})
}

// FuzzRoutes sends arbitrary inner requests (what an onion request may
// carry) to the API: every answer is one of the statuses the API gives,
// and an error other than an authentication failure is Session's
// {"status_code": N}.
func FuzzRoutes(f *testing.F) {
	f.Add("POST", "/file", "", "", []byte("hello"))
	f.Add("POST", "/files", "", "", []byte(`{"file":"aGk="}`))
	f.Add("GET", "/file/"+strings.Repeat("A", 44), "", "", []byte(nil))
	f.Add("POST", "/file/"+strings.Repeat("A", 44)+"/extend", "X-FS-TTL", "60", []byte(nil))
	f.Add("GET", "/session_version?platform=desktop", "X-FS-Pubkey", "07", []byte(nil))
	f.Add("GET", "/files/123", "", "", []byte(nil))
	keys, _ := KeysFromSeed(testSeed)
	cfg := testConfig(f.TempDir())
	cfg.MaxFileSize = 4096
	s, err := New(cfg, Deps{Keys: keys, Clock: newTestClock()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	mux := s.routes()
	codes := []int{200, 400, 401, 404, 405, 413, 425, 500, 502, 507}
	f.Fuzz(func(t *testing.T, method, endpoint, hk, hv string, body []byte) {
		u, err := url.ParseRequestURI(endpoint)
		if err != nil || !strings.HasPrefix(endpoint, "/") || !validMethod(method) {
			return
		}
		r, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		if hk != "" {
			r.Header.Set(hk, hv)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if !slices.Contains(codes, w.Code) {
			t.Fatalf("%s %s: status %d", method, endpoint, w.Code)
		}
		if w.Code >= 400 && w.Code != 405 && w.Header().Get("Content-Type") == "application/json" &&
			w.Body.String() != `{"status_code":`+strconv.Itoa(w.Code)+`}` {
			t.Fatalf("%s %s: %d %s", method, endpoint, w.Code, w.Body)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range []byte(m) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func FuzzVersionAuth(f *testing.F) {
	f.Add("07"+strings.Repeat("ab", 32), "1760000000", strings.Repeat("A", 86)+"==", "platform=desktop", []byte{})
	f.Add("", "", "", "", []byte("x"))
	f.Add("0700", "x", "!", "a=b", []byte(nil))
	now := time.Unix(1_760_000_000, 0)
	f.Fuzz(func(t *testing.T, pk, ts, sig, query string, body []byte) {
		h := http.Header{}
		for k, v := range map[string]string{headerPubkey: pk, headerTimestamp: ts, headerSignature: sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		id, ok, err := checkVersionAuth(h, "GET", "/session_version", query, body, now)
		if err != nil {
			var ae *authError
			if ae, _ = err.(*authError); ae == nil || ae.status < 400 {
				t.Fatalf("error %v", err)
			}
			return
		}
		if ok && !bytes.Equal(id.Bytes()[1:], mustDecode(pk)[1:]) {
			t.Fatal("id is not the header's key")
		}
	})
}

func mustDecode(s string) []byte {
	b, _ := serverauth.DecodeHexOrBase64(s, 33)
	return b
}

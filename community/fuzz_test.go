package community

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"sotto.dev/sessionproto"
)

// FuzzVerifyAuth: any header values are answered with a status of §5.4 or
// accepted, never a panic; an accepted request names a 00/15/25 id.
func FuzzVerifyAuth(f *testing.F) {
	f.Add("1598932d4bccbe595a8789d7eb1629cefc483a0eaddc7e20e8fe5c771efafd9af5", "1642472103", "CdB5nyKVmQGCw6s0Bvv8Ww==",
		"gYqpWZX6fnF4Gb2xQM3xaXs0WIYEI49+B8q4mUUEg8Rw0ObaHUWfoWjMHMArAtP9QlORfiydsKWz1o6zdPVeCQ==", "/room/the-best-room/messages/recent?limit=25", []byte(nil))
	f.Add("00bac6e71efd7dfa4a83c98ed24f254ab2c267f9ccdb172a5280a0444ad24e89cc", "-1", "09d0799f2295990182c3ab3406fbfc5b", "", "/", []byte("x"))
	spk := [32]byte{0xc3, 0xb3, 0xc6, 0xf3}
	f.Fuzz(func(t *testing.T, pk, ts, nonce, sig, path string, body []byte) {
		h := http.Header{}
		h.Set(headerPubkey, pk)
		h.Set(headerTimestamp, ts)
		h.Set(headerNonce, nonce)
		h.Set(headerSignature, sig)
		sg, ok, err := verifyAuth(h, authRequest{"GET", path, body}, spk, time.Unix(1642472103, 0), false, newNonceCache(4))
		if err != nil {
			switch err.(*authError).status {
			case 400, 401, 425, 429:
			default:
				t.Fatalf("status %d", err.(*authError).status)
			}
			return
		}
		if ok {
			if _, isKey := authorKey(sg.id); !isKey && sg.id[:2] != "05" {
				t.Fatalf("accepted id %q", sg.id)
			}
		}
	})
}

// FuzzParsePostBody round-trips accepted bodies.
func FuzzParsePostBody(f *testing.F) {
	f.Add([]byte(`{"data":"aGk=","signature":"` + base64.StdEncoding.EncodeToString(make([]byte, 64)) + `"}`))
	f.Add([]byte(`{"data":"aGk=","signature":"AA==","whisper_to":"05` + string(bytes.Repeat([]byte("ab"), 32)) + `","whisper_mods":true}`))
	f.Add([]byte(`{"data":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePostBody(b)
		if err != nil {
			return
		}
		if len(p.Signature) != 64 {
			t.Fatalf("accepted %+v", p)
		}
		m := map[string]any{"data": base64.StdEncoding.EncodeToString(p.Data), "signature": base64.StdEncoding.EncodeToString(p.Signature),
			"whisper_mods": p.WhisperMods}
		if p.WhisperTo != "" {
			m["whisper_to"] = p.WhisperTo
		}
		if p.Files != nil {
			m["files"] = p.Files
		}
		again, _ := json.Marshal(m)
		q, err := parsePostBody(again)
		if err != nil || !bytes.Equal(q.Data, p.Data) || !bytes.Equal(q.Signature, p.Signature) || q.WhisperTo != p.WhisperTo || q.WhisperMods != p.WhisperMods || !slices.Equal(q.Files, p.Files) {
			t.Fatalf("round trip: %+v, %v; was %+v", q, err, p)
		}
	})
}

// FuzzParseBatch: accepted batches have 1–128 subrequests with an
// upper-case method and an absolute path.
func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(`[{"method":"GET","path":"/capabilities"},{"method":"POST","path":"/room/a/message","json":{"data":"aGk="}}]`))
	f.Add([]byte(`[{"method":"PUT","path":"/x?y=1&z","b64":"aGk=","headers":{"a":"b"}},{"method":"POST","path":"/%41","bytes":"hi"}]`))
	f.Add([]byte(`[{"method":"GET","path":"rooms"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		subs, err := parseBatch(b)
		if err != nil {
			return
		}
		if len(subs) == 0 || len(subs) > maxSubrequests {
			t.Fatalf("%d subrequests", len(subs))
		}
		for _, s := range subs {
			if s.method == "" || len(s.path) == 0 || s.path[0] != '/' {
				t.Fatalf("accepted %+v", s)
			}
		}
	})
}

// FuzzParseID accepts exactly the decimal strings that fit an int64.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"0", "123", "-1", "+1", "1e3", "999999999999999999", "9223372036854775808", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseID(s)
		if !ok {
			return
		}
		if strconv.FormatInt(n, 10) != s && "0"+strconv.FormatInt(n, 10) != s && len(s) > 0 && s[0] != '0' {
			t.Fatalf("%q parsed as %d", s, n)
		}
		if n < 0 {
			t.Fatalf("%q parsed as %d", s, n)
		}
	})
}

// FuzzDispatch: any method, path and body through the router of a live
// store answers with a status, never a panic.
func FuzzDispatch(f *testing.F) {
	h := newHarness(f, nil)
	h.addRoom("lobby")
	for _, p := range []string{"/rooms", "/room/lobby", "/room/lobby/messages/since/0", "/room/lobby/message/1", "/room/lobby/pollInfo/x", "/batch", "//", "/room//"} {
		f.Add("GET", p, []byte(nil))
	}
	f.Add("POST", "/batch", []byte(`[{"method":"GET","path":"/room/lobby/messages/recent?limit=-3"}]`))
	f.Add("POST", "/user/15"+strings.Repeat("ab", 32)+"/ban", []byte(`{"rooms":["lobby"],"timeout":1e300}`))
	f.Add("POST", "/user/05"+strings.Repeat("ab", 32)+"/moderator", []byte(`{"global":true,"admin":false,"moderator":true,"visible":null}`))
	f.Add("PUT", "/room/lobby", []byte(`{"name":"x","description":null,"default_read":1}`))
	f.Add("PUT", "/room/lobby/reaction/1/a/b", []byte(`{}`))
	f.Add("DELETE", "/room/lobby/reactions/1", []byte(nil))
	f.Add("POST", "/inbox/15"+strings.Repeat("cd", 32), []byte(`{"message":"aGk="}`))
	f.Add("GET", "/outbox/since/0", []byte(nil))
	f.Add("POST", "/room/lobby/file", []byte("data"))
	f.Add("POST", "/room/lobby/pin/1", []byte(nil))
	u := h.newUser(sessionproto.SOGSOptions{})
	user, err := h.srv.Store().User(f.Context(), u.id, h.clock.Now(), true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		c := &call{ctx: t.Context(), method: method, path: path, body: body, user: user, now: h.clock.Now()}
		if _, r := h.srv.dispatch(c, true); r.code < 200 || r.code > 599 {
			t.Fatalf("status %d", r.code)
		}
	})
}

// FuzzParseDMBody: accepted bodies carry a non-empty message.
func FuzzParseDMBody(f *testing.F) {
	f.Add([]byte(`{"message":"aGk="}`))
	f.Add([]byte(`{"message":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if msg, ok := parseDMBody(b); ok && len(msg) == 0 {
			t.Fatal("accepted an empty message")
		}
	})
}

// FuzzUploadFilename: names have no path separators or control
// characters and are valid UTF-8 of at most 255 bytes.
func FuzzUploadFilename(f *testing.F) {
	f.Add(`attachment; filename="a.jpg"`)
	f.Add(`attachment; filename*=UTF-8''%E2%9C%93.txt`)
	f.Fuzz(func(t *testing.T, h string) {
		name := uploadFilename(h)
		if name == nil {
			return
		}
		if *name == "" || len(*name) > 255 || !utf8.ValidString(*name) || strings.ContainsAny(*name, "/\\\x00\n") {
			t.Fatalf("name %q from %q", *name, h)
		}
	})
}

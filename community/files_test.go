package community

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sotto.dev/sessionproto"
)

// TestRoomFiles: upload, download (directly, through onion v4 and in a
// batch), expiry, and a post keeping its attachment.
func TestRoomFiles(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxFileSize = 1000 })
	h.addRoom("lobby")
	u := h.newUser(sessionproto.SOGSOptions{})
	data := bytes.Repeat([]byte("file "), 100)

	upload := func(body []byte, disposition string) reply {
		t.Helper()
		hs := u.headers(http.MethodPost, "/room/lobby/file", body)
		if disposition != "" {
			hs["Content-Disposition"] = disposition
		}
		return h.do(http.MethodPost, "/room/lobby/file", hs, body)
	}
	r := upload(data, `attachment; filename="../cat.jpg"`)
	wantCode(t, "upload", r, http.StatusCreated)
	var up struct {
		ID int64 `json:"id"`
	}
	r.json(t, &up)

	get := u.call(http.MethodGet, "/room/lobby/file/"+itoa(up.ID), nil)
	if get.code != http.StatusOK || !bytes.Equal(get.body, data) {
		t.Fatalf("download: %d, %d bytes", get.code, len(get.body))
	}
	req := httptest.NewRequest(http.MethodGet, "/room/lobby/file/"+itoa(up.ID)+"/cat.jpg", nil)
	w := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK || w.Header().Get("Content-Disposition") != `attachment; filename=cat.jpg` || w.Header().Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("download with a name: %d %v", w.Code, w.Header())
	}
	h.viaV4 = true
	if got := u.call(http.MethodGet, "/room/lobby/file/"+itoa(up.ID), nil); !bytes.Equal(got.body, data) {
		t.Fatalf("onion download: %d", got.code)
	}
	// In a batch: uploaded as b64, downloaded as base64.
	batch, _ := json.Marshal([]map[string]any{
		{"method": "POST", "path": "/room/lobby/file", "b64": base64.StdEncoding.EncodeToString([]byte("tiny")), "headers": map[string]string{"content-disposition": `attachment; filename="t.txt"`}},
		{"method": "GET", "path": "/room/lobby/file/" + itoa(up.ID)},
	})
	var subs []subResp
	u.call(http.MethodPost, "/batch", batch).json(t, &subs)
	var b64 string
	if len(subs) != 2 || subs[0].Code != http.StatusCreated || json.Unmarshal(subs[1].Body, &b64) != nil || b64 != base64.StdEncoding.EncodeToString(data) {
		t.Fatalf("batch: %+v", subs)
	}
	h.viaV4 = false

	// Errors.
	wantCode(t, "empty", upload(nil, ""), http.StatusBadRequest)
	wantCode(t, "too large", upload(make([]byte, 1001), ""), http.StatusRequestEntityTooLarge)
	wantCode(t, "anonymous", h.do(http.MethodPost, "/room/lobby/file", nil, data), http.StatusUnauthorized)
	wantCode(t, "no file", u.call(http.MethodGet, "/room/lobby/file/999", nil), http.StatusNotFound)
	if err := h.srv.Store().SetRoomDefaults(context.Background(), "lobby", true, true, false); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "no upload permission", upload(data, ""), http.StatusForbidden)
	if err := h.srv.Store().SetRoomDefaults(context.Background(), "lobby", true, true, true); err != nil {
		t.Fatal(err)
	}

	// A file attached to a post is kept FileExpiry from the post; the
	// other expires FileExpiry after its upload.
	r = upload([]byte("attached"), "")
	var att struct {
		ID int64 `json:"id"`
	}
	r.json(t, &att)
	h.clock.Add(FileExpiry - time.Hour)
	post := []byte("see attachment")
	body, _ := json.Marshal(map[string]any{"data": base64.StdEncoding.EncodeToString(post), "signature": base64.StdEncoding.EncodeToString(u.sign(post)),
		"files": []int64{att.ID}})
	wantCode(t, "post with a file", u.call(http.MethodPost, "/room/lobby/message", body), http.StatusCreated)
	h.clock.Add(2 * time.Hour)
	wantCode(t, "expired upload", u.call(http.MethodGet, "/room/lobby/file/"+itoa(up.ID), nil), http.StatusNotFound)
	if got := u.call(http.MethodGet, "/room/lobby/file/"+itoa(att.ID), nil); got.code != http.StatusOK || string(got.body) != "attached" {
		t.Fatalf("attached file: %d %q", got.code, got.body)
	}
}

func TestUploadFilename(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`attachment; filename="a.jpg"`, "a.jpg"},
		{`attachment; filename="dir/sub\\b.png"`, "b.png"},
		{`attachment; filename*=UTF-8''%E2%9C%93.txt`, "✓.txt"},
		{`attachment`, ""},
		{`attachment; filename="a` + "\x01" + `b"`, "ab"},
		{``, ""},
		{`;;;`, ""},
	} {
		got := uploadFilename(tc.in)
		if (got == nil) != (tc.want == "") || got != nil && *got != tc.want {
			t.Errorf("uploadFilename(%q) = %v, want %q", tc.in, got, tc.want)
		}
	}
}

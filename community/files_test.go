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

// TestRoomImage: an admin makes a room file the room's image (PUT room
// with "image"); room info shows image_id, the image outlives the file
// expiry, and the image it replaces expires FileExpiry later.
func TestRoomImage(t *testing.T) {
	h := newHarness(t, nil)
	h.addRoom("lobby")
	h.addRoom("other")
	admin, member := h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{})
	if err := h.srv.Store().SetModerator(context.Background(), "", admin.id, true, false, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	upload := func(room string, data []byte) int64 {
		t.Helper()
		r := admin.call(http.MethodPost, "/room/"+room+"/file", data)
		wantCode(t, "upload", r, http.StatusCreated)
		var up struct {
			ID int64 `json:"id"`
		}
		r.json(t, &up)
		return up.ID
	}
	first, second, elsewhere := upload("lobby", []byte("first image")), upload("lobby", []byte("second image")), upload("other", []byte("x"))
	setImage := func(u *user, id int64) reply {
		return u.call(http.MethodPut, "/room/lobby", jsonBody(map[string]any{"image": id}))
	}
	imageID := func() any {
		var info map[string]any
		member.call(http.MethodGet, "/room/lobby", nil).json(t, &info)
		return info["image_id"]
	}
	if id := imageID(); id != nil {
		t.Fatalf("image_id before one is set: %v", id)
	}
	wantCode(t, "image by a member", setImage(member, first), http.StatusForbidden)
	wantCode(t, "image of another room", setImage(admin, elsewhere), http.StatusNotFound)
	wantCode(t, "unknown image", setImage(admin, 999), http.StatusNotFound)
	wantCode(t, "not a file id", admin.call(http.MethodPut, "/room/lobby", jsonBody(map[string]any{"image": "x"})), http.StatusBadRequest)
	wantCode(t, "image", setImage(admin, first), http.StatusOK)
	if id := imageID(); id != float64(first) {
		t.Fatalf("image_id %v, want %d", id, first)
	}
	h.clock.Add(FileExpiry + time.Hour)
	if got := member.call(http.MethodGet, "/room/lobby/file/"+itoa(first), nil); got.code != http.StatusOK || string(got.body) != "first image" {
		t.Fatalf("the image after the file expiry: %d %q", got.code, got.body)
	}
	wantCode(t, "expired file as image", setImage(admin, second), http.StatusNotFound)
	third := upload("lobby", []byte("third image"))
	wantCode(t, "image replaced", admin.call(http.MethodPut, "/room/lobby", jsonBody(map[string]any{"image": third, "name": "Lobby"})), http.StatusOK)
	if id := imageID(); id != float64(third) {
		t.Fatalf("image_id %v, want %d", id, third)
	}
	h.clock.Add(FileExpiry - time.Hour)
	wantCode(t, "old image before its expiry", member.call(http.MethodGet, "/room/lobby/file/"+itoa(first), nil), http.StatusOK)
	h.clock.Add(2 * time.Hour)
	wantCode(t, "old image after its expiry", member.call(http.MethodGet, "/room/lobby/file/"+itoa(first), nil), http.StatusNotFound)
	wantCode(t, "the image", member.call(http.MethodGet, "/room/lobby/file/"+itoa(third), nil), http.StatusOK)
}

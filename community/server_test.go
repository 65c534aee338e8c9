package community

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sotto.dev/identity"
	"sotto.dev/sessionproto"
)

// msgJSON is a message object as a client decodes it.
type msgJSON struct {
	ID          int64    `json:"id"`
	SessionID   string   `json:"session_id"`
	Posted      float64  `json:"posted"`
	Edited      *float64 `json:"edited"`
	Seqno       int64    `json:"seqno"`
	Data        *string  `json:"data"`
	Signature   *string  `json:"signature"`
	Deleted     bool     `json:"deleted"`
	Whisper     bool     `json:"whisper"`
	WhisperMods *bool    `json:"whisper_mods"`
	WhisperTo   *string  `json:"whisper_to"`
}

func postBodyFor(u *user, data []byte) []byte {
	b, _ := json.Marshal(map[string]any{
		"data": base64.StdEncoding.EncodeToString(data), "signature": base64.StdEncoding.EncodeToString(u.sign(data))})
	return b
}

func (u *user) post(token string, data []byte) msgJSON {
	u.h.t.Helper()
	r := u.call(http.MethodPost, "/room/"+token+"/message", postBodyFor(u, data))
	wantCode(u.h.t, "post", r, http.StatusCreated)
	var m msgJSON
	r.json(u.h.t, &m)
	return m
}

func (u *user) messages(path string) []msgJSON {
	u.h.t.Helper()
	r := u.call(http.MethodGet, path, nil)
	wantCode(u.h.t, path, r, http.StatusOK)
	var ms []msgJSON
	r.json(u.h.t, &ms)
	return ms
}

func ids(ms []msgJSON) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// TestMessagesFlow posts, polls, edits and deletes through both
// transports, with 15-blinded (both nonce derivations), 25-blinded and
// unblinded signers.
func TestMessagesFlow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		viaV4 bool
		opts  sessionproto.SOGSOptions
		b25   bool
	}{
		{"direct-blind15", false, sessionproto.SOGSOptions{}, false},
		{"onion-blind15-desktop-nonce", true, sessionproto.SOGSOptions{Nonce: identity.NonceSeed}, false},
		{"direct-unblinded", false, sessionproto.SOGSOptions{Unblinded: true}, false},
		{"onion-blind25", true, sessionproto.SOGSOptions{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.RequireBlind = !tc.opts.Unblinded })
			h.viaV4 = tc.viaV4
			h.addRoom("lobby")
			alice, bob := h.newUser(tc.opts), h.newUser(tc.opts)
			if tc.b25 {
				alice, bob = h.newUser25(), h.newUser25()
			}

			// Padded data is stored unpadded and re-padded on output.
			first := sessionproto.Pad([]byte("hello"))
			m1 := alice.post("lobby", first)
			if m1.SessionID != alice.id || m1.Seqno != 1 || m1.Data == nil || *m1.Data != base64.StdEncoding.EncodeToString(first) {
				t.Fatalf("posted message %+v", m1)
			}
			h.clock.Add(time.Second)
			m2 := bob.post("lobby", []byte("unpadded"))
			m3 := alice.post("lobby", sessionproto.PadLegacy([]byte("third")))

			all := bob.messages("/room/lobby/messages/since/0")
			if !slices.Equal(ids(all), []int64{m1.ID, m2.ID, m3.ID}) {
				t.Fatalf("since 0: %v", ids(all))
			}
			if got := all[0]; *got.Data != *m1.Data || *got.Signature != *m1.Signature || got.Posted != m1.Posted {
				t.Fatalf("polled %+v, posted %+v", got, m1)
			}
			if got := bob.messages("/room/lobby/messages/recent?limit=2"); !slices.Equal(ids(got), []int64{m3.ID, m2.ID}) {
				t.Fatalf("recent: %v", ids(got))
			}
			if got := bob.messages("/room/lobby/messages/before/" + itoa(m3.ID)); !slices.Equal(ids(got), []int64{m2.ID, m1.ID}) {
				t.Fatalf("before: %v", ids(got))
			}
			if got := bob.messages("/room/lobby/messages/since/" + itoa(m3.Seqno)); len(got) != 0 {
				t.Fatalf("since the last: %v", ids(got))
			}

			// Edit: a seqno bump; only the author may.
			edited := sessionproto.Pad([]byte("hello, edited"))
			wantCode(t, "edit by another", bob.call(http.MethodPut, "/room/lobby/message/"+itoa(m1.ID), postBodyFor(bob, edited)), http.StatusForbidden)
			wantCode(t, "edit", alice.call(http.MethodPut, "/room/lobby/message/"+itoa(m1.ID), postBodyFor(alice, edited)), http.StatusOK)
			got := bob.messages("/room/lobby/messages/since/" + itoa(m3.Seqno))
			if len(got) != 1 || got[0].ID != m1.ID || got[0].Edited == nil || *got[0].Data != base64.StdEncoding.EncodeToString(edited) {
				t.Fatalf("after edit: %+v", got)
			}
			seq := got[0].Seqno

			// Delete: the author may; the poll shows it deleted.
			wantCode(t, "delete by another", bob.call(http.MethodDelete, "/room/lobby/message/"+itoa(m1.ID), nil), http.StatusForbidden)
			wantCode(t, "delete", alice.call(http.MethodDelete, "/room/lobby/message/"+itoa(m1.ID), nil), http.StatusOK)
			got = bob.messages("/room/lobby/messages/since/" + itoa(seq))
			if len(got) != 1 || !got[0].Deleted || got[0].Data != nil || got[0].Signature != nil {
				t.Fatalf("after delete: %+v", got)
			}
			wantCode(t, "deleted message", bob.call(http.MethodGet, "/room/lobby/message/"+itoa(m1.ID), nil), http.StatusNotFound)
			wantCode(t, "delete again", alice.call(http.MethodDelete, "/room/lobby/message/"+itoa(m1.ID), nil), http.StatusNotFound)
			if got := bob.messages("/room/lobby/messages/recent"); !slices.Equal(ids(got), []int64{m3.ID, m2.ID}) {
				t.Fatalf("recent after delete: %v", ids(got))
			}

			// Anonymous reads are allowed; the message by id round trips.
			r := h.do(http.MethodGet, "/room/lobby/message/"+itoa(m2.ID), nil, nil)
			wantCode(t, "anonymous read", r, http.StatusOK)
			var one msgJSON
			r.json(t, &one)
			if one.ID != m2.ID || *one.Data != base64.StdEncoding.EncodeToString([]byte("unpadded")) {
				t.Fatalf("message: %+v", one)
			}
		})
	}
}

// TestJSONShape checks field presence against pysogs: optional fields are
// omitted, not null; data is null only for a deleted message.
func TestJSONShape(t *testing.T) {
	h := newHarness(t, nil)
	h.addRoom("lobby")
	u := h.newUser(sessionproto.SOGSOptions{})
	r := u.call(http.MethodPost, "/room/lobby/message", postBodyFor(u, []byte("x")))
	wantCode(t, "post", r, http.StatusCreated)
	var m map[string]any
	r.json(t, &m)
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if got, want := keys(m), []string{"data", "id", "posted", "reactions", "seqno", "session_id", "signature"}; !slices.Equal(got, want) {
		t.Fatalf("message fields %v, want %v", got, want)
	}
	u.messages("/room/lobby/messages/recent") // a poll records activity
	r = u.call(http.MethodGet, "/room/lobby", nil)
	wantCode(t, "room", r, http.StatusOK)
	m = nil
	r.json(t, &m)
	if got, want := keys(m), []string{"active_users", "active_users_cutoff", "admins", "created", "info_updates", "message_sequence",
		"moderators", "name", "read", "token", "upload", "write"}; !slices.Equal(got, want) {
		t.Fatalf("room fields %v, want %v", got, want)
	}
	if m["active_users"].(float64) != 1 || m["message_sequence"].(float64) != 1 || m["active_users_cutoff"].(float64) != 604800 {
		t.Fatalf("room: %v", m)
	}
	r = h.do(http.MethodGet, "/rooms", nil, nil)
	wantCode(t, "rooms", r, http.StatusOK)
	var rooms []map[string]any
	r.json(t, &rooms)
	if len(rooms) != 1 || rooms[0]["token"] != "lobby" || rooms[0]["write"] != true {
		t.Fatalf("rooms (anonymous): %v", rooms)
	}
	// pollInfo: details only when info_updates differs.
	var poll map[string]any
	r = u.call(http.MethodGet, "/room/lobby/pollInfo/0", nil)
	wantCode(t, "pollInfo", r, http.StatusOK)
	r.json(t, &poll)
	if _, ok := poll["details"]; ok || poll["token"] != "lobby" || poll["write"] != true {
		t.Fatalf("pollInfo 0: %v", poll)
	}
	poll = nil
	u.call(http.MethodGet, "/room/lobby/pollInfo/7", nil).json(t, &poll)
	if d, ok := poll["details"].(map[string]any); !ok || d["token"] != "lobby" {
		t.Fatalf("pollInfo 7: %v", poll)
	}
}

func TestCapabilities(t *testing.T) {
	h := newHarness(t, nil)
	var c struct {
		Capabilities []string `json:"capabilities"`
		Missing      []string `json:"missing"`
	}
	r := h.do(http.MethodGet, "/capabilities", nil, nil)
	wantCode(t, "capabilities", r, http.StatusOK)
	r.json(t, &c)
	if !slices.Equal(c.Capabilities, []string{"blind", "reactions", "sogs"}) || c.Missing != nil {
		t.Fatalf("capabilities: %+v", c)
	}
	wantCode(t, "required present", h.do(http.MethodGet, "/capabilities?required=sogs,blind", nil, nil), http.StatusOK)
	r = h.do(http.MethodGet, "/capabilities?required=sogs,teleport", nil, nil)
	wantCode(t, "required missing", r, http.StatusPreconditionFailed)
	c.Missing = nil
	r.json(t, &c)
	if !slices.Equal(c.Missing, []string{"teleport"}) {
		t.Fatalf("412 body: %s", r.body)
	}
}

// TestErrorCodes produces every status of spec §5.4 and the brief.
func TestErrorCodes(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PostLimit, c.PostInterval = 2, time.Minute })
	h.addRoom("lobby")
	closed := h.addRoom("closed")
	ctx := context.Background()
	if err := h.srv.Store().SetRoomDefaults(ctx, closed.Token, true, false, false); err != nil {
		t.Fatal(err)
	}
	u := h.newUser(sessionproto.SOGSOptions{})
	const path = "/room/lobby/messages/recent"

	hdr := func(mut func(map[string]string)) map[string]string {
		hs := u.headers(http.MethodGet, path, nil)
		mut(hs)
		return hs
	}
	cases := []struct {
		name    string
		headers map[string]string
		code    int
	}{
		{"missing nonce", hdr(func(m map[string]string) { delete(m, headerNonce) }), 400},
		{"bad pubkey hex", hdr(func(m map[string]string) { m[headerPubkey] = "15zz" + m[headerPubkey][4:] }), 400},
		{"05 pubkey", hdr(func(m map[string]string) { m[headerPubkey] = "05" + m[headerPubkey][2:] }), 400},
		{"unblinded when blinding is required", func() map[string]string {
			v := h.newUser(sessionproto.SOGSOptions{Unblinded: true})
			return v.headers(http.MethodGet, path, nil)
		}(), 400},
		{"short nonce", hdr(func(m map[string]string) { m[headerNonce] = "AAAA" }), 400},
		{"bad signature encoding", hdr(func(m map[string]string) { m[headerSignature] = "!!" }), 400},
		{"bad timestamp", hdr(func(m map[string]string) { m[headerTimestamp] = "12a" }), 400},
		{"signature for another path", func() map[string]string {
			return u.headers(http.MethodGet, "/room/lobby/messages/recent?limit=1", nil)
		}(), 401},
		{"signature by another key", hdr(func(m map[string]string) {
			m[headerSignature] = h.newUser(sessionproto.SOGSOptions{}).headers(http.MethodGet, path, nil)[headerSignature]
		}), 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.name, h.do(http.MethodGet, path, tc.headers, nil), tc.code)
		})
	}

	// 425: timestamps more than a day off, and a replayed nonce.
	old := u.headers(http.MethodGet, path, nil)
	h.clock.Add(24*time.Hour + time.Second)
	wantCode(t, "old timestamp", h.do(http.MethodGet, path, old, nil), http.StatusTooEarly)
	h.clock.Add(-2 * (24*time.Hour + time.Second))
	wantCode(t, "future timestamp", h.do(http.MethodGet, path, old, nil), http.StatusTooEarly)
	h.clock.Add(24*time.Hour + time.Second)
	once := u.headers(http.MethodGet, path, nil)
	wantCode(t, "first use", h.do(http.MethodGet, path, once, nil), http.StatusOK)
	wantCode(t, "replayed nonce", h.do(http.MethodGet, path, once, nil), http.StatusTooEarly)

	// 401 without authentication where it is required; 403 without write
	// permission and when banned; 404 for no room or message.
	data := []byte("hi")
	wantCode(t, "anonymous post", h.do(http.MethodPost, "/room/lobby/message", nil, postBodyFor(u, data)), http.StatusUnauthorized)
	wantCode(t, "post to read-only room", u.call(http.MethodPost, "/room/closed/message", postBodyFor(u, data)), http.StatusForbidden)
	wantCode(t, "delete in read-only room", u.call(http.MethodDelete, "/room/closed/message/1", nil), http.StatusForbidden)
	wantCode(t, "no room", u.call(http.MethodGet, "/room/nowhere", nil), http.StatusNotFound)
	wantCode(t, "no message", u.call(http.MethodGet, "/room/lobby/message/99", nil), http.StatusNotFound)
	wantCode(t, "no route", u.call(http.MethodGet, "/room/lobby/nothing", nil), http.StatusNotFound)
	wantCode(t, "whisper by a non-moderator", u.call(http.MethodPost, "/room/lobby/message",
		[]byte(`{"data":"aGk=","signature":"`+base64.StdEncoding.EncodeToString(u.sign(data))+`","whisper_mods":true}`)), http.StatusForbidden)

	// 400 for malformed posts.
	for _, body := range []string{`{`, `[]`, `{"data":"aGk="}`, `{"data":"!","signature":"AA=="}`, `{"data":"aGk=","signature":"AA=="}`} {
		wantCode(t, "bad post "+body, u.call(http.MethodPost, "/room/lobby/message", []byte(body)), http.StatusBadRequest)
	}
	bad := postBodyFor(u, data)
	bad = bytes.Replace(bad, []byte("aGk="), []byte("aGo="), 1) // data "hj", signed "hi"
	wantCode(t, "post with a wrong signature", u.call(http.MethodPost, "/room/lobby/message", bad), http.StatusBadRequest)

	// 429: the third post within the interval.
	u.post("lobby", data)
	u.post("lobby", data)
	wantCode(t, "third post", u.call(http.MethodPost, "/room/lobby/message", postBodyFor(u, data)), http.StatusTooManyRequests)
	h.clock.Add(time.Minute)
	u.post("lobby", data)

	if err := h.srv.Store().SetBanned(ctx, u.id, true, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "banned", u.call(http.MethodGet, path, nil), http.StatusForbidden)
}

// TestWhispers: a moderator whispers to one user and to the moderators;
// others do not see them.
func TestWhispers(t *testing.T) {
	h := newHarness(t, nil)
	h.addRoom("lobby")
	mod, alice, bob := h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{})
	if err := h.srv.Store().SetModerator(context.Background(), "lobby", mod.id, false, true, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	data := []byte("psst")
	body, _ := json.Marshal(map[string]any{"data": base64.StdEncoding.EncodeToString(data),
		"signature": base64.StdEncoding.EncodeToString(mod.sign(data)), "whisper_to": alice.id})
	r := mod.call(http.MethodPost, "/room/lobby/message", body)
	wantCode(t, "whisper", r, http.StatusCreated)
	var w msgJSON
	r.json(t, &w)
	if !w.Whisper || w.WhisperTo == nil || *w.WhisperTo != alice.id || w.WhisperMods == nil || *w.WhisperMods {
		t.Fatalf("whisper: %s", r.body)
	}
	body, _ = json.Marshal(map[string]any{"data": base64.StdEncoding.EncodeToString(data),
		"signature": base64.StdEncoding.EncodeToString(mod.sign(data)), "whisper_mods": true})
	wantCode(t, "whisper to mods", mod.call(http.MethodPost, "/room/lobby/message", body), http.StatusCreated)
	for _, tc := range []struct {
		u    *user
		want int
	}{{mod, 2}, {alice, 1}, {bob, 0}} {
		if got := tc.u.messages("/room/lobby/messages/since/0"); len(got) != tc.want {
			t.Errorf("%s sees %d whispers, want %d", tc.u.id[:8], len(got), tc.want)
		}
	}
	var room map[string]any
	mod.call(http.MethodGet, "/room/lobby", nil).json(t, &room)
	if room["moderator"] != true || !slices.Contains(room["moderators"].([]any), any(mod.id)) {
		t.Fatalf("room for its moderator: %v", room)
	}
}

type subResp struct {
	Code    int               `json:"code"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// TestBatchAndSequence runs subrequests as the batch's user: /batch runs
// them all, /sequence stops at the first failure.
func TestBatchAndSequence(t *testing.T) {
	for _, viaV4 := range []bool{false, true} {
		h := newHarness(t, nil)
		h.viaV4 = viaV4
		h.addRoom("lobby")
		u := h.newUser(sessionproto.SOGSOptions{})
		data := []byte("batched")
		post, _ := json.Marshal(map[string]string{"data": base64.StdEncoding.EncodeToString(data),
			"signature": base64.StdEncoding.EncodeToString(u.sign(data))})
		reqs, _ := json.Marshal([]map[string]any{
			{"method": "GET", "path": "/capabilities"},
			{"method": "POST", "path": "/room/lobby/message", "json": json.RawMessage(post)},
			{"method": "GET", "path": "/room/nowhere/messages/since/0"},
			{"method": "GET", "path": "/room/lobby/messages/since/0?limit=5"},
		})
		for _, tc := range []struct {
			path  string
			codes []int
		}{{"/batch", []int{200, 201, 404, 200}}, {"/sequence", []int{200, 201, 404}}} {
			r := u.call(http.MethodPost, tc.path, reqs)
			wantCode(t, tc.path, r, http.StatusOK)
			var subs []subResp
			r.json(t, &subs)
			var codes []int
			for _, s := range subs {
				codes = append(codes, s.Code)
			}
			if !slices.Equal(codes, tc.codes) {
				t.Fatalf("%s (v4 %v): codes %v, want %v", tc.path, viaV4, codes, tc.codes)
			}
			if subs[1].Headers["content-type"] != "application/json" {
				t.Fatalf("sub-response headers %v", subs[1].Headers)
			}
			var m msgJSON
			if err := json.Unmarshal(subs[1].Body, &m); err != nil || m.SessionID != u.id {
				t.Fatalf("posted in a batch: %s", subs[1].Body)
			}
			var text string
			if err := json.Unmarshal(subs[2].Body, &text); err != nil {
				t.Fatalf("error body %s is not base64 text", subs[2].Body)
			}
		}
		for _, body := range []string{`{}`, `[]`, `[{"method":"GET","path":"rooms"}]`, `[{"method":"get","path":"/rooms"}]`,
			`[{"method":"POST","path":"/batch","json":[]}]`, `[{"method":"POST","path":"/x","json":{},"b64":""}]`} {
			r := u.call(http.MethodPost, "/batch", []byte(body))
			if strings.Contains(body, `"/batch"`) {
				var subs []subResp
				wantCode(t, "nested batch", r, http.StatusOK)
				r.json(t, &subs)
				if len(subs) != 1 || subs[0].Code != http.StatusBadRequest {
					t.Fatalf("nested batch: %s", r.body)
				}
				continue
			}
			wantCode(t, "batch "+body, r, http.StatusBadRequest)
		}
	}
}

// TestStoreReopen: rooms, messages and the schema version survive a
// restart.
func TestStoreReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_760_000_000, 0)
	r, err := s.AddRoom(ctx, "lobby", "Lobby", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRoom(ctx, "lobby", "Other", nil, now.Add(time.Second)); err != ErrRoomExists {
		t.Fatalf("adding a room twice: %v", err)
	}
	if _, err := s.AddRoom(ctx, "bad token", "", nil, now); err != ErrBadToken {
		t.Fatalf("bad token: %v", err)
	}
	u, err := s.User(ctx, "15"+strings.Repeat("ab", 32), now, true)
	if err != nil {
		t.Fatal(err)
	}
	padded := sessionproto.Pad([]byte("x"))
	if _, err := s.AddPost(ctx, r, u, Post{Data: padded, Signature: make([]byte, 64)}, now); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := s.db.QueryRowContext(ctx, "SELECT data FROM messages").Scan(&stored); err != nil || string(stored) != "x" {
		t.Fatalf("stored %q, %v; want the unpadded data", stored, err)
	}
	s.Close()
	if s, err = OpenStore(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err = s.Room(ctx, "lobby")
	if err != nil || r.MessageSequence != 1 {
		t.Fatalf("room after reopen: %+v, %v", r, err)
	}
	ms, err := s.Messages(ctx, r, nil, false, Query{Recent: true, Limit: 10})
	if err != nil || len(ms) != 1 || !bytes.Equal(ms[0].Data, padded) {
		t.Fatalf("messages after reopen: %v, %v", ms, err)
	}
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != len(migrations) {
		t.Fatalf("user_version %d, %v", v, err)
	}
	if err := s.RemoveRoom(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Room(ctx, "lobby"); err != ErrNoRoom {
		t.Fatalf("removed room: %v", err)
	}
}

// TestEmptyPost: pysogs accepts empty data; it is served as empty, not as
// deleted.
func TestEmptyPost(t *testing.T) {
	h := newHarness(t, nil)
	h.addRoom("lobby")
	u := h.newUser(sessionproto.SOGSOptions{})
	for _, data := range [][]byte{{}, {0x80}, {0x80, 0, 0}} {
		m := u.post("lobby", data)
		got := u.messages("/room/lobby/messages/since/" + itoa(m.Seqno-1))
		if len(got) != 1 || got[0].Deleted || got[0].Data == nil || *got[0].Data != base64.StdEncoding.EncodeToString(data) {
			t.Fatalf("posted %x, polled %+v", data, got)
		}
	}
}

// TestSlowMode: one post per slow-mode period per user; moderators are
// exempt.
func TestSlowMode(t *testing.T) {
	h := newHarness(t, nil)
	h.addRoom("lobby")
	u, mod := h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{})
	ctx := context.Background()
	if err := h.srv.Store().SetModerator(ctx, "lobby", mod.id, false, true, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Store().SetSlowMode(ctx, "lobby", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	u.post("lobby", []byte("one"))
	h.clock.Add(9 * time.Second)
	wantCode(t, "within the period", u.call(http.MethodPost, "/room/lobby/message", postBodyFor(u, []byte("two"))), http.StatusTooManyRequests)
	mod.post("lobby", []byte("m1"))
	mod.post("lobby", []byte("m2"))
	h.clock.Add(time.Second)
	u.post("lobby", []byte("three"))
	if err := h.srv.Store().SetSlowMode(ctx, "nowhere", time.Second); err != ErrNoRoom {
		t.Fatalf("slow mode of no room: %v", err)
	}
}

// TestMigrateFromV1: a database of schema 1 with a message is brought up
// to date, the message keeping its data and getting its seqno_data.
func TestMigrateFromV1(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Rebuild the file as schema 1.
	if err := os.Remove(filepath.Join(dir, DBFileName)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", dsn(filepath.Join(dir, DBFileName)))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0], "PRAGMA user_version = 1",
		"INSERT INTO rooms (token, name, created, message_sequence) VALUES ('lobby', 'Lobby', 1, 3)",
		"INSERT INTO users (session_id, created, last_active) VALUES ('15" + strings.Repeat("ab", 32) + "', 1, 1)",
		"INSERT INTO messages (room, user, posted, seqno, data, data_size, signature) VALUES (1, 1, 1, 3, x'6869', 2, zeroblob(64))",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if s, err = OpenStore(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Room(ctx, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Messages(ctx, r, nil, false, Query{Since: new(int64), Limit: 10})
	if err != nil || len(ms) != 1 || string(ms[0].Data) != "hi" || ms[0].ReactionOnly {
		t.Fatalf("after migrating: %+v, %v", ms, err)
	}
}

package community

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"sotto.dev/sessionproto"
)

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestModeration: a global admin appoints a room moderator, who bans a
// poster for an hour and deletes all their posts; the banned user gets 403
// until the ban expires; bans lift; room settings change.
func TestModeration(t *testing.T) {
	h := newHarness(t, nil)
	h.addRoom("lobby")
	h.addRoom("other")
	ctx := context.Background()
	admin, mod, spammer, reader := h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{}),
		h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{})
	if err := h.srv.Store().SetModerator(ctx, "", admin.id, true, false, h.clock.Now()); err != nil {
		t.Fatal(err)
	}

	// Appointing takes an admin; the mod is visible in the room only.
	wantCode(t, "appoint by a non-admin", mod.call(http.MethodPost, "/user/"+mod.id+"/moderator",
		jsonBody(map[string]any{"rooms": []string{"lobby"}, "moderator": true})), http.StatusForbidden)
	wantCode(t, "appoint", admin.call(http.MethodPost, "/user/"+mod.id+"/moderator",
		jsonBody(map[string]any{"rooms": []string{"lobby"}, "moderator": true})), http.StatusOK)
	for _, bad := range []map[string]any{
		{"rooms": []string{"lobby"}},
		{"rooms": []string{"lobby"}, "global": true, "moderator": true},
		{"rooms": []string{"lobby"}, "admin": true, "moderator": false},
		{"rooms": []string{"*", "lobby"}, "moderator": true},
	} {
		wantCode(t, "bad appointment", admin.call(http.MethodPost, "/user/"+mod.id+"/moderator", jsonBody(bad)), http.StatusBadRequest)
	}
	wantCode(t, "appoint in no room", admin.call(http.MethodPost, "/user/"+mod.id+"/moderator",
		jsonBody(map[string]any{"rooms": []string{"nowhere"}, "moderator": true})), http.StatusNotFound)
	var room map[string]any
	reader.call(http.MethodGet, "/room/lobby", nil).json(t, &room)
	if !slices.Contains(room["moderators"].([]any), any(mod.id)) || slices.Contains(room["admins"].([]any), any(admin.id)) {
		t.Fatalf("lobby lists %v / %v", room["moderators"], room["admins"])
	}
	if _, ok := room["hidden_admins"]; ok {
		t.Fatal("hidden admins shown to a reader")
	}
	room = nil
	mod.call(http.MethodGet, "/room/lobby", nil).json(t, &room)
	if !slices.Contains(room["hidden_admins"].([]any), any(admin.id)) || room["moderator"] != true {
		t.Fatalf("lobby for its moderator: %v", room)
	}

	posts := []int64{spammer.post("lobby", []byte("spam 1")).ID, spammer.post("lobby", []byte("spam 2")).ID}
	keep := reader.post("lobby", []byte("hello")).ID

	// The room moderator bans in the lobby only, for an hour.
	wantCode(t, "ban elsewhere", mod.call(http.MethodPost, "/user/"+spammer.id+"/ban",
		jsonBody(map[string]any{"rooms": []string{"other"}})), http.StatusForbidden)
	wantCode(t, "global ban by a room mod", mod.call(http.MethodPost, "/user/"+spammer.id+"/ban",
		jsonBody(map[string]any{"global": true})), http.StatusForbidden)
	wantCode(t, "ban", mod.call(http.MethodPost, "/user/"+spammer.id+"/ban",
		jsonBody(map[string]any{"rooms": []string{"lobby"}, "timeout": 3600})), http.StatusOK)
	wantCode(t, "banned read", spammer.call(http.MethodGet, "/room/lobby/messages/recent", nil), http.StatusForbidden)
	wantCode(t, "banned post", spammer.call(http.MethodPost, "/room/lobby/message", postBodyFor(spammer, []byte("x"))), http.StatusForbidden)
	spammer.post("other", []byte("still allowed elsewhere"))

	// Deleting all of a user's posts: their own or a moderator's call.
	wantCode(t, "delete all by another", reader.call(http.MethodDelete, "/room/lobby/all/"+spammer.id, nil), http.StatusForbidden)
	wantCode(t, "delete all", mod.call(http.MethodDelete, "/room/lobby/all/"+spammer.id, nil), http.StatusOK)
	if got := reader.messages("/room/lobby/messages/recent"); !slices.Equal(ids(got), []int64{keep}) {
		t.Fatalf("after delete all: %v (spam was %v)", ids(got), posts)
	}

	h.clock.Add(time.Hour + time.Second)
	wantCode(t, "after the ban", spammer.call(http.MethodGet, "/room/lobby/messages/recent", nil), http.StatusOK)
	wantCode(t, "ban for good", mod.call(http.MethodPost, "/user/"+spammer.id+"/ban",
		jsonBody(map[string]any{"rooms": []string{"*"}})), http.StatusOK)
	wantCode(t, "banned again", spammer.call(http.MethodGet, "/room/lobby/messages/recent", nil), http.StatusForbidden)
	wantCode(t, "unban", mod.call(http.MethodPost, "/user/"+spammer.id+"/unban",
		jsonBody(map[string]any{"rooms": []string{"lobby"}})), http.StatusOK)
	wantCode(t, "unbanned", spammer.call(http.MethodGet, "/room/lobby/messages/recent", nil), http.StatusOK)

	// A global ban by the global admin stops every request.
	wantCode(t, "global ban", admin.call(http.MethodPost, "/user/"+spammer.id+"/ban", jsonBody(map[string]any{"global": true})), http.StatusOK)
	wantCode(t, "globally banned", spammer.call(http.MethodGet, "/capabilities", nil), http.StatusForbidden)
	wantCode(t, "global unban", admin.call(http.MethodPost, "/user/"+spammer.id+"/unban", jsonBody(map[string]any{"global": true})), http.StatusOK)
	wantCode(t, "globally unbanned", spammer.call(http.MethodGet, "/capabilities", nil), http.StatusOK)

	// A 05 Session ID names the account's blinded id on this server.
	wantCode(t, "ban by Session ID", mod.call(http.MethodPost, "/user/"+reader.keys.SessionID().String()+"/ban",
		jsonBody(map[string]any{"rooms": []string{"lobby"}})), http.StatusOK)
	wantCode(t, "banned by Session ID", reader.call(http.MethodGet, "/room/lobby/messages/recent", nil), http.StatusForbidden)
	wantCode(t, "bad id", mod.call(http.MethodPost, "/user/zz/ban", jsonBody(map[string]any{"rooms": []string{"lobby"}})), http.StatusNotFound)

	// Removing the moderator.
	wantCode(t, "remove mod", admin.call(http.MethodPost, "/user/"+mod.id+"/moderator",
		jsonBody(map[string]any{"rooms": []string{"lobby"}, "moderator": false})), http.StatusOK)
	wantCode(t, "ex-mod bans", mod.call(http.MethodPost, "/user/"+spammer.id+"/ban",
		jsonBody(map[string]any{"rooms": []string{"lobby"}})), http.StatusForbidden)

	// Room settings: admins only; info_updates moves so pollers refetch.
	var before map[string]any
	mod.call(http.MethodGet, "/room/lobby", nil).json(t, &before)
	wantCode(t, "update by a non-admin", mod.call(http.MethodPut, "/room/lobby", jsonBody(map[string]any{"name": "x"})), http.StatusForbidden)
	wantCode(t, "empty update", admin.call(http.MethodPut, "/room/lobby", jsonBody(map[string]any{})), http.StatusBadRequest)
	wantCode(t, "update", admin.call(http.MethodPut, "/room/lobby",
		jsonBody(map[string]any{"name": "The\x01 Lobby", "description": "Say hi\n", "default_write": false})), http.StatusOK)
	var poll map[string]any
	mod.call(http.MethodGet, "/room/lobby/pollInfo/"+itoa(int64(before["info_updates"].(float64))), nil).json(t, &poll)
	d, ok := poll["details"].(map[string]any)
	if !ok || d["name"] != "The Lobby" || d["description"] != "Say hi\n" || poll["write"] != false {
		t.Fatalf("after update: %v", poll)
	}
	wantCode(t, "write after default_write false", mod.call(http.MethodPost, "/room/lobby/message", postBodyFor(mod, []byte("x"))), http.StatusForbidden)
}

// TestPinning: admins pin and unpin; room info lists the pins, oldest
// first; deleting a pinned message unpins it.
func TestPinning(t *testing.T) {
	h := newHarness(t, nil)
	h.addRoom("lobby")
	admin, u := h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{})
	if err := h.srv.Store().SetModerator(context.Background(), "lobby", admin.id, true, true, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	a, b := u.post("lobby", []byte("a")), u.post("lobby", []byte("b"))
	type pin struct {
		ID       int64   `json:"id"`
		PinnedAt float64 `json:"pinned_at"`
		PinnedBy string  `json:"pinned_by"`
	}
	pins := func() ([]pin, int64) {
		t.Helper()
		var room struct {
			Pinned      []pin `json:"pinned_messages"`
			InfoUpdates int64 `json:"info_updates"`
		}
		u.call(http.MethodGet, "/room/lobby", nil).json(t, &room)
		return room.Pinned, room.InfoUpdates
	}
	wantCode(t, "pin by a non-admin", u.call(http.MethodPost, "/room/lobby/pin/"+itoa(a.ID), nil), http.StatusForbidden)
	wantCode(t, "pin no message", admin.call(http.MethodPost, "/room/lobby/pin/999", nil), http.StatusNotFound)
	wantCode(t, "pin b", admin.call(http.MethodPost, "/room/lobby/pin/"+itoa(b.ID), nil), http.StatusOK)
	h.clock.Add(time.Second)
	wantCode(t, "pin a", admin.call(http.MethodPost, "/room/lobby/pin/"+itoa(a.ID), nil), http.StatusOK)
	got, info := pins()
	if len(got) != 2 || got[0].ID != b.ID || got[1].ID != a.ID || got[0].PinnedBy != admin.id || got[1].PinnedAt != got[0].PinnedAt+1 {
		t.Fatalf("pins: %+v", got)
	}
	wantCode(t, "delete pinned", u.call(http.MethodDelete, "/room/lobby/message/"+itoa(b.ID), nil), http.StatusOK)
	got, info2 := pins()
	if len(got) != 1 || got[0].ID != a.ID || info2 <= info {
		t.Fatalf("after deleting a pinned message: %+v, info_updates %d → %d", got, info, info2)
	}
	wantCode(t, "pin deleted", admin.call(http.MethodPost, "/room/lobby/pin/"+itoa(b.ID), nil), http.StatusNotFound)
	r := admin.call(http.MethodPost, "/room/lobby/unpin/all", nil)
	wantCode(t, "unpin all", r, http.StatusOK)
	var un struct {
		Unpinned    int64 `json:"unpinned"`
		InfoUpdates int64 `json:"info_updates"`
	}
	r.json(t, &un)
	if _, info3 := pins(); un.Unpinned != 1 || un.InfoUpdates != info3 || info3 <= info2 {
		t.Fatalf("unpin all: %s (info_updates now %d)", r.body, info3)
	}
	if got, _ := pins(); len(got) != 0 {
		t.Fatalf("after unpin all: %+v", got)
	}
	wantCode(t, "pin a again", admin.call(http.MethodPost, "/room/lobby/pin/"+itoa(a.ID), nil), http.StatusOK)
	r = admin.call(http.MethodPost, "/room/lobby/unpin/"+itoa(a.ID), nil)
	wantCode(t, "unpin a", r, http.StatusOK)
	var one map[string]any
	r.json(t, &one)
	if one["unpinned"] != true {
		t.Fatalf("unpin: %s", r.body)
	}
	one = nil
	admin.call(http.MethodPost, "/room/lobby/unpin/"+itoa(a.ID), nil).json(t, &one)
	if one["unpinned"] != false {
		t.Fatalf("unpin again: %v", one)
	}
	if got, _ := pins(); len(got) != 0 {
		t.Fatalf("after unpin: %+v", got)
	}
	var raw map[string]any
	u.call(http.MethodGet, "/room/lobby", nil).json(t, &raw)
	if _, ok := raw["pinned_messages"]; ok {
		t.Fatal("pinned_messages present with no pins")
	}
}

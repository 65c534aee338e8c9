package community

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"sotto.dev/sessionproto"
)

type reactionJSON struct {
	Index    int      `json:"index"`
	Count    int64    `json:"count"`
	Reactors []string `json:"reactors"`
	You      bool     `json:"you"`
}

type reactedMsg struct {
	ID        int64                    `json:"id"`
	Seqno     int64                    `json:"seqno"`
	Data      *string                  `json:"data"`
	Reactions map[string]*reactionJSON `json:"reactions"`
	raw       map[string]json.RawMessage
}

func (u *user) reacted(path string) []reactedMsg {
	u.h.t.Helper()
	r := u.call(http.MethodGet, path, nil)
	wantCode(u.h.t, path, r, http.StatusOK)
	var ms []reactedMsg
	r.json(u.h.t, &ms)
	var raws []map[string]json.RawMessage
	r.json(u.h.t, &raws)
	for i := range ms {
		ms[i].raw = raws[i]
	}
	return ms
}

func (u *user) react(method string, id int64, reaction string) (bool, int64) {
	u.h.t.Helper()
	r := u.call(method, "/room/lobby/reaction/"+itoa(id)+"/"+reaction, nil)
	wantCode(u.h.t, method+" reaction", r, http.StatusOK)
	var out map[string]any
	r.json(u.h.t, &out)
	key := "added"
	if method == http.MethodDelete {
		key = "removed"
	}
	changed, ok := out[key].(bool)
	if !ok || len(out) != 2 {
		u.h.t.Fatalf("%s reaction: %s", method, r.body)
	}
	return changed, int64(out["seqno"].(float64))
}

// TestReactions: add and remove reactions, reaction-only poll updates
// (t=r), reactors, and moderators clearing reactions.
func TestReactions(t *testing.T) {
	h := newHarness(t, nil)
	h.addRoom("lobby")
	alice, bob, mod := h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{})
	if err := h.srv.Store().SetModerator(context.Background(), "lobby", mod.id, false, true, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	m := alice.post("lobby", []byte("react to me"))

	added, seq1 := bob.react(http.MethodPut, m.ID, "👍")
	if !added || seq1 != m.Seqno+1 {
		t.Fatalf("first reaction: %v, seqno %d after %d", added, seq1, m.Seqno)
	}
	if added, seq := bob.react(http.MethodPut, m.ID, "👍"); added || seq != seq1 {
		t.Fatalf("same reaction again: %v %d", added, seq)
	}
	h.clock.Add(time.Second)
	alice.react(http.MethodPut, m.ID, "👍")
	_, seq3 := alice.react(http.MethodPut, m.ID, "❤️")

	// Without t=r, reaction changes are not updates; with it, they are
	// reaction-only updates.
	if got := bob.reacted("/room/lobby/messages/since/" + itoa(m.Seqno)); len(got) != 0 {
		t.Fatalf("since without t=r: %+v", got)
	}
	got := bob.reacted("/room/lobby/messages/since/" + itoa(m.Seqno) + "?t=r")
	if len(got) != 1 || got[0].ID != m.ID || got[0].Seqno != seq3 || len(got[0].raw) != 3 {
		t.Fatalf("reaction update: %+v", got)
	}
	up := got[0].Reactions["👍"]
	if up == nil || up.Count != 2 || up.Index != 0 || !up.You || !slices.Equal(up.Reactors, []string{bob.id, alice.id}) {
		t.Fatalf("👍: %+v", up)
	}
	if heart := got[0].Reactions["❤️"]; heart == nil || heart.Count != 1 || heart.Index != 1 || heart.You {
		t.Fatalf("❤️: %+v", heart)
	}
	// A poll from before the post gets the whole message with reactions.
	got = bob.reacted("/room/lobby/messages/since/0?t=r&reactors=1")
	if len(got) != 1 || got[0].Data == nil || got[0].Reactions["👍"].Count != 2 || len(got[0].Reactions["👍"].Reactors) != 1 {
		t.Fatalf("full message: %+v", got)
	}
	got = bob.reacted("/room/lobby/messages/recent?reactors=0")
	if _, ok := got[0].Reactions["👍"]; !ok || got[0].Reactions["👍"].Reactors != nil {
		t.Fatalf("reactors=0: %+v", got[0].Reactions["👍"])
	}

	var reactors [][]any
	bob.call(http.MethodGet, "/room/lobby/reactors/"+itoa(m.ID)+"/👍", nil).json(t, &reactors)
	if len(reactors) != 2 || reactors[0][0] != bob.id || reactors[1][0] != alice.id || reactors[1][1].(float64) != reactors[0][1].(float64)+1 {
		t.Fatalf("reactors: %v", reactors)
	}
	bob.call(http.MethodGet, "/room/lobby/reactors/"+itoa(m.ID)+"/👍?limit=1", nil).json(t, &reactors)
	if len(reactors) != 1 {
		t.Fatalf("reactors limit 1: %v", reactors)
	}

	if removed, _ := bob.react(http.MethodDelete, m.ID, "👍"); !removed {
		t.Fatal("remove: not removed")
	}
	if removed, _ := bob.react(http.MethodDelete, m.ID, "👍"); removed {
		t.Fatal("remove again: removed")
	}

	// Moderators clear one kind or all.
	wantCode(t, "clear by a non-mod", bob.call(http.MethodDelete, "/room/lobby/reactions/"+itoa(m.ID), nil), http.StatusForbidden)
	var cleared struct {
		Removed int64 `json:"removed"`
		Seqno   int64 `json:"seqno"`
	}
	mod.call(http.MethodDelete, "/room/lobby/reactions/"+itoa(m.ID)+"/❤️", nil).json(t, &cleared)
	if cleared.Removed != 1 {
		t.Fatalf("clear ❤️: %+v", cleared)
	}
	mod.call(http.MethodDelete, "/room/lobby/reactions/"+itoa(m.ID), nil).json(t, &cleared)
	if cleared.Removed != 1 {
		t.Fatalf("clear all: %+v", cleared)
	}
	if got := bob.reacted("/room/lobby/messages/recent"); len(got[0].Reactions) != 0 {
		t.Fatalf("after clearing: %+v", got[0].Reactions)
	}

	// Through a batch, with the reaction URL-encoded in the path.
	batch, _ := json.Marshal([]map[string]any{{"method": "PUT", "path": "/room/lobby/reaction/" + itoa(m.ID) + "/" + url.PathEscape("🎉"), "json": map[string]any{}}})
	r := bob.call(http.MethodPost, "/batch", batch)
	if !strings.Contains(string(r.body), `"added":true`) {
		t.Fatalf("batch reaction: %s", r.body)
	}
	if got := bob.reacted("/room/lobby/messages/recent"); got[0].Reactions["🎉"] == nil {
		t.Fatalf("batch reaction missing: %+v", got[0].Reactions)
	}

	// Errors.
	wantCode(t, "anonymous", h.do(http.MethodPut, "/room/lobby/reaction/"+itoa(m.ID)+"/👍", nil, nil), http.StatusUnauthorized)
	wantCode(t, "too long", bob.call(http.MethodPut, "/room/lobby/reaction/"+itoa(m.ID)+"/"+strings.Repeat("x", 13), nil), http.StatusBadRequest)
	wantCode(t, "no message", bob.call(http.MethodPut, "/room/lobby/reaction/999/👍", nil), http.StatusNotFound)
	wantCode(t, "delete", alice.call(http.MethodDelete, "/room/lobby/message/"+itoa(m.ID), nil), http.StatusOK)
	wantCode(t, "deleted message", bob.call(http.MethodPut, "/room/lobby/reaction/"+itoa(m.ID)+"/👍", nil), http.StatusNotFound)
	wantCode(t, "reactors of a deleted message", bob.call(http.MethodGet, "/room/lobby/reactors/"+itoa(m.ID)+"/🎉", nil), http.StatusNotFound)
}

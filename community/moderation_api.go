package community

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// targets resolves the user an endpoint acts on (pysogs AnySessionID with
// try_blinding): a 00, 15 or 25 id is that user; a 05 Session ID, which
// never signs requests here, stands for its blinded ids on this server:
// the ones already known, or else all three candidates (both signs of
// 15, and 25), since which one the account will use is not known.
func (s *Server) targets(c *call, sid string) ([]*User, bool, error) {
	return s.store.Targets(c.ctx, s.pk, sid, c.now)
}

// Targets resolves sid as the user endpoints do (see targets); ok is false
// for an id that is not a 00, 05, 15 or 25 id.
func (s *Store) Targets(ctx context.Context, serverPK [32]byte, sid string, now time.Time) (users []*User, ok bool, err error) {
	id, err := key.ParseSessionID(sid)
	if err != nil {
		return nil, false, nil
	}
	var cands []string
	switch id.Prefix() {
	case key.PrefixBlind15, key.PrefixBlind25:
		cands = []string{id.String()}
	case key.PrefixUnblinded:
		// An unblinded key is known by its Session ID (signerID).
		cands = []string{signerID(id.Bytes())}
	case key.PrefixStandard:
		b15, err := identity.Blind15IDs(id, serverPK)
		if err != nil {
			return nil, false, nil
		}
		b25, err := identity.Blind25ID(id, serverPK)
		if err != nil {
			return nil, false, nil
		}
		// The Session ID itself too: a user of an unblinded server.
		all := []string{b15[0].String(), b15[1].String(), b25.String(), id.String()}
		for _, cand := range all {
			u, err := s.User(ctx, cand, now, false)
			if err != nil {
				return nil, false, err
			}
			if u != nil {
				cands = append(cands, cand)
			}
		}
		if len(cands) == 0 {
			cands = all
		}
	default:
		return nil, false, nil
	}
	var out []*User
	for _, cand := range cands {
		u, err := s.User(ctx, cand, now, true)
		if err != nil {
			return nil, false, err
		}
		out = append(out, u)
	}
	return out, true, nil
}

// roomsOrGlobal reads "rooms" (tokens, or ["*"] for every room where the
// caller may act) or "global": true from a moderation body and checks that
// the caller is a moderator (admin: an admin) of all of them (pysogs
// extract_rooms_or_global). rooms nil with a nil response means global.
func (s *Server) roomsOrGlobal(c *call, body map[string]json.RawMessage, admin bool) ([]*Room, *response) {
	bad := errResp(http.StatusBadRequest)
	forbidden := errResp(http.StatusForbidden)
	var tokens []string
	var global bool
	if v, ok := body["rooms"]; ok && string(v) != "null" {
		if json.Unmarshal(v, &tokens) != nil {
			return nil, &bad
		}
	}
	if v, ok := body["global"]; ok && string(v) != "null" {
		if json.Unmarshal(v, &global) != nil {
			return nil, &bad
		}
	}
	if len(tokens) > 0 && global || len(tokens) == 0 && !global {
		return nil, &bad
	}
	if global {
		if !c.user.Moderator || admin && !c.user.Admin {
			return nil, &forbidden
		}
		return nil, nil
	}
	if len(tokens) > 1 && slices.Contains(tokens, "*") {
		return nil, &bad
	}
	allowed := func(r *Room) (bool, error) {
		p, err := s.store.Perms(c.ctx, r, c.user, c.now)
		return p.Admin || !admin && p.Moderator, err
	}
	var rooms []*Room
	if tokens[0] == "*" {
		all, err := s.store.Rooms(c.ctx)
		if err != nil {
			resp := s.storeErr("rooms", err)
			return nil, &resp
		}
		for _, r := range all {
			if ok, err := allowed(r); err != nil {
				resp := s.storeErr("permissions", err)
				return nil, &resp
			} else if ok {
				rooms = append(rooms, r)
			}
		}
		if len(rooms) == 0 {
			return nil, &forbidden
		}
		return rooms, nil
	}
	for _, t := range tokens {
		r, err := s.store.Room(c.ctx, t)
		if err != nil {
			resp := s.storeErr("room", err)
			return nil, &resp
		}
		if ok, err := allowed(r); err != nil {
			resp := s.storeErr("permissions", err)
			return nil, &resp
		} else if !ok {
			return nil, &forbidden
		}
		rooms = append(rooms, r)
	}
	return rooms, nil
}

// optBool reads an optional boolean field (absent or null: nil).
func optBool(body map[string]json.RawMessage, name string) (*bool, bool) {
	v, ok := body[name]
	if !ok || string(v) == "null" {
		return nil, true
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		return nil, false
	}
	return &b, true
}

// userAction serves POST /user/<sid>/moderator|ban|unban.
func (s *Server) userAction(c *call, sid, action string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(c.body, &body) != nil || body == nil {
		return errResp(http.StatusBadRequest)
	}
	users, ok, err := s.targets(c, sid)
	if err != nil {
		return s.storeErr("target user", err)
	}
	if !ok {
		return errResp(http.StatusNotFound)
	}
	rooms, resp := s.roomsOrGlobal(c, body, action == "moderator")
	if resp != nil {
		return *resp
	}
	switch action {
	case "moderator":
		mod, ok1 := optBool(body, "moderator")
		admin, ok2 := optBool(body, "admin")
		visible, ok3 := optBool(body, "visible")
		if !ok1 || !ok2 || !ok3 || mod == nil && admin == nil || admin != nil && *admin && mod != nil && !*mod {
			return errResp(http.StatusBadRequest)
		}
		if admin != nil && *admin {
			mod = nil
		}
		if admin != nil && !*admin && mod != nil && !*mod {
			admin = nil
		}
		ch := ModChange{Moderator: mod, Admin: admin, Visible: rooms != nil}
		if visible != nil {
			ch.Visible = *visible
		}
		err = s.store.ChangeModerator(c.ctx, rooms, users, ch)
	case "ban":
		var until *time.Time
		if v, ok := body["timeout"]; ok && string(v) != "null" {
			var secs float64
			if json.Unmarshal(v, &secs) != nil || secs <= 0 || secs > 100*365*86400 {
				return errResp(http.StatusBadRequest)
			}
			t := c.now.Add(time.Duration(secs * float64(time.Second)))
			until = &t
		}
		err = s.store.Ban(c.ctx, rooms, users, until)
	case "unban":
		err = s.store.Unban(c.ctx, rooms, users)
	}
	if err != nil {
		return s.storeErr(action, err)
	}
	return jsonResp(http.StatusOK, map[string]any{})
}

// deleteAll serves DELETE /room/<token>/all/<sid>: a moderator, or the
// user themself, deletes all their messages in the room; an admin's only
// an admin.
func (s *Server) deleteAll(c *call, r *Room, p Perms, rest []string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	users, ok, err := s.targets(c, rest[1])
	if err != nil {
		return s.storeErr("target user", err)
	}
	if !ok {
		return errResp(http.StatusNotFound)
	}
	if !p.Moderator && (len(users) != 1 || users[0].ID != c.user.ID) {
		return errResp(http.StatusForbidden)
	}
	// Only admins delete all of an admin's posts (pysogs delete_all_posts).
	for _, u := range users {
		tp, err := s.store.Perms(c.ctx, r, u, c.now)
		if err != nil {
			return s.storeErr("permissions", err)
		}
		if tp.Admin && !p.Admin && u.ID != c.user.ID {
			return errResp(http.StatusForbidden)
		}
	}
	if _, err := s.store.DeleteAllFrom(c.ctx, r, users, c.now); err != nil {
		return s.storeErr("delete all", err)
	}
	return jsonResp(http.StatusOK, map[string]any{})
}

// updateRoom serves PUT /room/<token> (admins): name, description and the
// default permissions (pysogs rooms.py update_room).
func (s *Server) updateRoom(c *call, r *Room, p Perms, _ []string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	if !p.Admin {
		return textResp(http.StatusForbidden, "This endpoint requires admin room permissions")
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(c.body, &body) != nil || body == nil {
		return errResp(http.StatusBadRequest)
	}
	var name *string
	var desc **string
	if v, ok := body["name"]; ok {
		var n string
		if json.Unmarshal(v, &n) != nil {
			return errResp(http.StatusBadRequest)
		}
		n = stripControl(n, false)
		name = &n
	}
	if v, ok := body["description"]; ok {
		var d *string
		if json.Unmarshal(v, &d) != nil {
			return errResp(http.StatusBadRequest)
		}
		if d != nil {
			t := stripControl(*d, true)
			if t == "" {
				d = nil
			} else {
				d = &t
			}
		}
		desc = &d
	}
	var image *int64
	if v, ok := body["image"]; ok {
		// A file uploaded to this room becomes its image (image_id).
		if json.Unmarshal(v, &image) != nil || image == nil {
			return errResp(http.StatusBadRequest)
		}
	}
	read, ok1 := optBool(body, "default_read")
	write, ok2 := optBool(body, "default_write")
	upload, ok3 := optBool(body, "default_upload")
	others := name != nil || desc != nil || read != nil || write != nil || upload != nil
	if !ok1 || !ok2 || !ok3 || !others && image == nil {
		return errResp(http.StatusBadRequest)
	}
	if image != nil {
		err := s.store.SetRoomImage(c.ctx, r, *image, c.now)
		if errors.Is(err, ErrNoFile) {
			return textResp(http.StatusNotFound, "No such file in this room")
		}
		if err != nil {
			return s.storeErr("set room image", err)
		}
	}
	if others {
		if err := s.store.UpdateRoom(c.ctx, r, name, desc, read, write, upload); err != nil {
			return s.storeErr("update room", err)
		}
	}
	return jsonResp(http.StatusOK, map[string]any{})
}

// stripControl drops control characters below 0x20 (keeping tab and
// newline in descriptions), as pysogs does.
func stripControl(s string, keepTabNL bool) string {
	b := make([]rune, 0, len(s))
	for _, r := range s {
		if r < 0x20 && !(keepTabNL && (r == '\t' || r == '\n')) {
			continue
		}
		b = append(b, r)
	}
	return string(b)
}

// pin serves POST /room/<token>/pin/<id>, /unpin/<id> and /unpin/all
// (admins; pysogs routes/messages.py): {"info_updates"}, with "unpinned"
// (a boolean, or the count for /unpin/all) for the unpins.
func (s *Server) pin(c *call, r *Room, p Perms, rest []string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	if !p.Admin {
		return textResp(http.StatusForbidden, "This endpoint requires admin room permissions")
	}
	all := rest[0] == "unpin" && rest[1] == "all"
	id, ok := parseID(rest[1])
	if !ok && !all {
		return errResp(http.StatusNotFound)
	}
	out := map[string]any{}
	if rest[0] == "pin" {
		if err := s.store.Pin(c.ctx, r, c.user, id, c.now); err != nil {
			return s.storeErr("pin", err)
		}
	} else {
		n, err := s.store.Unpin(c.ctx, r, id, all)
		if err != nil {
			return s.storeErr("unpin", err)
		}
		if all {
			out["unpinned"] = n
		} else {
			out["unpinned"] = n > 0
		}
	}
	after, err := s.store.Room(c.ctx, r.Token)
	if err != nil {
		return s.storeErr("room", err)
	}
	out["info_updates"] = after.InfoUpdates
	return jsonResp(http.StatusOK, out)
}

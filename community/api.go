package community

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"sotto.dev/key"
)

// activeCutoff is the period active_users counts (pysogs
// ROOM_DEFAULT_ACTIVE_THRESHOLD, 7 days).
const activeCutoff = 7 * 24 * time.Hour

// Message query limits (pysogs routes/rooms.py get_int_param).
const (
	defaultLimit    = 100
	maxLimit        = 256
	defaultReactors = 4
	maxReactors     = 20
)

// call is one request to the API: a direct or onion request, or a batch
// subrequest, which inherits its batch's user.
type call struct {
	ctx    context.Context
	method string
	path   string
	query  url.Values
	body   []byte
	user   *User // nil: anonymous
	now    time.Time
	// headers are the request's (a batch subrequest's own "headers").
	headers map[string]string
}

// header returns a request header by its canonical name.
func (c *call) header(name string) string { return c.headers[name] }

// response is an answer: a status, a content type and a body, and for a
// file its Content-Disposition.
type response struct {
	code        int
	contentType string
	body        []byte
	disposition string
}

func textResp(code int, msg string) response {
	return response{code: code, contentType: "text/plain; charset=utf-8", body: []byte(msg)}
}

func jsonResp(code int, v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return textResp(http.StatusInternalServerError, "Internal error")
	}
	return response{code: code, contentType: "application/json", body: b}
}

func errResp(code int) response { return textResp(code, http.StatusText(code)) }

// statusFor maps store errors to HTTP statuses (the one place).
func statusFor(err error) int {
	switch {
	case errors.Is(err, ErrNoRoom), errors.Is(err, ErrNoMessage):
		return http.StatusNotFound
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrBadArgument):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (s *Server) storeErr(op string, err error) response {
	code := statusFor(err)
	if code == http.StatusInternalServerError {
		s.log.Error(op, "err", err)
	}
	return errResp(code)
}

// dispatch routes c; top is false for a batch subrequest, which may not be
// a batch itself. It returns the endpoint's name (a metric label) and the
// response.
func (s *Server) dispatch(c *call, top bool) (string, response) {
	seg := strings.Split(strings.TrimPrefix(c.path, "/"), "/")
	if !strings.HasPrefix(c.path, "/") {
		return "other", errResp(http.StatusNotFound)
	}
	m := c.method
	switch {
	case len(seg) == 1 && seg[0] == "capabilities" && m == http.MethodGet:
		return "capabilities", s.capabilities(c)
	case len(seg) == 1 && seg[0] == "rooms" && m == http.MethodGet:
		return "rooms", s.rooms(c)
	case len(seg) == 1 && (seg[0] == "batch" || seg[0] == "sequence") && m == http.MethodPost:
		if !top {
			return seg[0], textResp(http.StatusBadRequest, "Invalid batch subrequest: nested batch requests are not allowed")
		}
		return seg[0], s.batch(c, seg[0] == "sequence")
	case len(seg) == 3 && seg[0] == "user" && m == http.MethodPost && (seg[2] == "moderator" || seg[2] == "ban" || seg[2] == "unban"):
		return "user/" + seg[2], s.userAction(c, seg[1], seg[2])
	case seg[0] == "inbox" || seg[0] == "outbox":
		return s.dmRoute(c, seg)
	case len(seg) >= 2 && seg[0] == "room":
		return s.roomRoute(c, seg[1], seg[2:])
	}
	return "other", errResp(http.StatusNotFound)
}

// roomRoute serves /room/<token>/...
func (s *Server) roomRoute(c *call, token string, rest []string) (string, response) {
	m := c.method
	var ep string
	var h func(*call, *Room, Perms, []string) response
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		ep, h = "room", s.roomInfo
	case len(rest) == 0 && m == http.MethodPut:
		ep, h = "room/update", s.updateRoom
	case len(rest) == 1 && rest[0] == "file" && m == http.MethodPost:
		ep, h = "file/upload", s.uploadFile
	case (len(rest) == 2 || len(rest) == 3) && rest[0] == "file" && m == http.MethodGet:
		ep, h = "file", s.getFile
	case len(rest) >= 3 && rest[0] == "reaction" && (m == http.MethodPut || m == http.MethodDelete):
		ep, h = "reaction", s.react
	case len(rest) >= 2 && rest[0] == "reactions" && m == http.MethodDelete:
		ep, h = "reactions", s.clearReactions
	case len(rest) >= 3 && rest[0] == "reactors" && m == http.MethodGet:
		ep, h = "reactors", s.reactors
	case len(rest) == 2 && (rest[0] == "pin" || rest[0] == "unpin") && m == http.MethodPost:
		ep, h = rest[0], s.pin
	case len(rest) == 2 && rest[0] == "all" && m == http.MethodDelete:
		ep, h = "all", s.deleteAll
	case len(rest) == 2 && rest[0] == "pollInfo" && m == http.MethodGet:
		ep, h = "pollInfo", s.pollInfo
	case len(rest) == 3 && rest[0] == "messages" && rest[1] == "since" && m == http.MethodGet,
		len(rest) == 3 && rest[0] == "messages" && rest[1] == "before" && m == http.MethodGet,
		len(rest) == 2 && rest[0] == "messages" && rest[1] == "recent" && m == http.MethodGet:
		ep, h = "messages/"+rest[1], s.messages
	case len(rest) == 2 && rest[0] == "message" && m == http.MethodGet:
		ep, h = "message", s.messages
	case len(rest) == 1 && rest[0] == "message" && m == http.MethodPost:
		ep, h = "post", s.post
	case len(rest) == 2 && rest[0] == "message" && m == http.MethodPut:
		ep, h = "edit", s.edit
	case len(rest) == 2 && rest[0] == "message" && m == http.MethodDelete:
		ep, h = "delete", s.deleteMessage
	default:
		return "other", errResp(http.StatusNotFound)
	}
	r, p, err := s.store.RoomPerms(c.ctx, token, c.user, c.now)
	if err != nil {
		return ep, s.storeErr("load room", err)
	}
	if !p.Read {
		if c.user == nil {
			return ep, textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
		}
		return ep, errResp(http.StatusForbidden)
	}
	return ep, h(c, r, p, rest)
}

// parseID parses a non-negative decimal integer path segment or query
// value, as Flask's int converter does (digits only).
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func (s *Server) capabilities(c *call) response {
	caps := []string{capSOGS, capReactions}
	if s.cfg.RequireBlind {
		caps = append(caps, capBlind)
	}
	slices.Sort(caps)
	out := map[string]any{"capabilities": caps}
	if req := c.query.Get("required"); req != "" {
		var missing []string
		for _, want := range strings.Split(req, ",") {
			if want != "" && !slices.Contains(caps, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			out["missing"] = missing
			return jsonResp(http.StatusPreconditionFailed, out)
		}
	}
	return jsonResp(http.StatusOK, out)
}

// touchActivity records the caller's activity in r, at most every
// touchEvery.
func (s *Server) touchActivity(c *call, r *Room) {
	if c.user == nil || !s.touch.due(roomUser{r.ID, c.user.ID}, c.now) {
		return
	}
	if err := s.store.Touch(c.ctx, r, c.user, c.now); err != nil {
		s.log.Warn("record activity", "err", err)
	}
}

// roomJSON is pysogs's get_one_room: optional fields are omitted, not null.
func (s *Server) roomJSON(c *call, r *Room, p Perms) (map[string]any, error) {
	mods, admins, hmods, hadmins, err := s.store.Mods(c.ctx, r)
	if err != nil {
		return nil, err
	}
	active, err := s.store.ActiveUsers(c.ctx, r, c.now.Add(-activeCutoff))
	if err != nil {
		return nil, err
	}
	rr := map[string]any{
		"token":               r.Token,
		"name":                r.Name,
		"info_updates":        r.InfoUpdates,
		"message_sequence":    r.MessageSequence,
		"created":             r.Created,
		"active_users":        active,
		"active_users_cutoff": int64(activeCutoff / time.Second),
		"moderators":          nonNil(mods),
		"admins":              nonNil(admins),
		"read":                p.Read,
		"write":               p.Write,
		"upload":              p.Upload,
	}
	if r.Description != nil {
		rr["description"] = *r.Description
	}
	if r.Image != nil {
		rr["image_id"] = *r.Image
	}
	pins, err := s.store.Pins(c.ctx, r)
	if err != nil {
		return nil, err
	}
	if len(pins) > 0 {
		rr["pinned_messages"] = pins
	}
	if p.Moderator {
		// Hidden moderators are shown to moderators only.
		if len(hmods) > 0 {
			rr["hidden_moderators"] = hmods
		}
		if len(hadmins) > 0 {
			rr["hidden_admins"] = hadmins
		}
	}
	addModFields(rr, r, p, c.user)
	return rr, nil
}

func addModFields(rr map[string]any, r *Room, p Perms, u *User) {
	if p.Moderator {
		rr["moderator"] = true
		rr["default_read"] = r.DefaultRead
		rr["default_write"] = r.DefaultWrite
		rr["default_upload"] = r.DefaultUpload
	}
	if p.Admin {
		rr["admin"] = true
	}
	if u != nil {
		if u.Moderator {
			rr["global_moderator"] = true
		}
		if u.Admin {
			rr["global_admin"] = true
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) roomInfo(c *call, r *Room, p Perms, _ []string) response {
	rr, err := s.roomJSON(c, r, p)
	if err != nil {
		return s.storeErr("room info", err)
	}
	return jsonResp(http.StatusOK, rr)
}

// rooms lists the rooms the caller may read, by token.
func (s *Server) rooms(c *call) response {
	rooms, err := s.store.Rooms(c.ctx)
	if err != nil {
		return s.storeErr("list rooms", err)
	}
	out := []map[string]any{}
	for _, r := range rooms {
		p, err := s.store.Perms(c.ctx, r, c.user, c.now)
		if err != nil {
			return s.storeErr("list rooms", err)
		}
		if !p.Read {
			continue
		}
		rr, err := s.roomJSON(c, r, p)
		if err != nil {
			return s.storeErr("list rooms", err)
		}
		out = append(out, rr)
	}
	return jsonResp(http.StatusOK, out)
}

func (s *Server) pollInfo(c *call, r *Room, p Perms, rest []string) response {
	since, ok := parseID(rest[1])
	if !ok {
		return errResp(http.StatusNotFound)
	}
	s.touchActivity(c, r)
	active, err := s.store.ActiveUsers(c.ctx, r, c.now.Add(-activeCutoff))
	if err != nil {
		return s.storeErr("poll info", err)
	}
	out := map[string]any{
		"token":        r.Token,
		"active_users": active,
		"read":         p.Read,
		"write":        p.Write,
		"upload":       p.Upload,
	}
	if r.InfoUpdates != since {
		rr, err := s.roomJSON(c, r, p)
		if err != nil {
			return s.storeErr("poll info", err)
		}
		out["details"] = rr
	}
	addModFields(out, r, p, c.user)
	return jsonResp(http.StatusOK, out)
}

// intParam reads an integer query parameter as pysogs get_int_param with
// truncate: absent is def, out-of-range values are clamped, non-integers
// are refused.
func intParam(q url.Values, name string, def, lo, hi int) (int, bool) {
	v := q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return min(max(n, lo), hi), true
}

func (s *Server) messages(c *call, r *Room, p Perms, rest []string) response {
	var q Query
	var ok bool
	single := rest[0] == "message"
	switch {
	case single:
		var id int64
		if id, ok = parseID(rest[1]); !ok {
			return errResp(http.StatusNotFound)
		}
		q.Single, q.Limit = &id, 1
	default:
		var limit int
		if limit, ok = intParam(c.query, "limit", defaultLimit, 1, maxLimit); !ok {
			return textResp(http.StatusBadRequest, "Invalid limit")
		}
		q.Limit = limit
		q.ReactionUpdates = rest[1] == "since" && strings.Contains(c.query.Get("t"), "r")
		switch rest[1] {
		case "recent":
			q.Recent = true
		default:
			n, ok := parseID(rest[2])
			if !ok {
				return errResp(http.StatusNotFound)
			}
			if rest[1] == "since" {
				q.Since = &n
			} else {
				q.Before = &n
			}
		}
	}
	if q.ReactorLimit, ok = intParam(c.query, "reactors", defaultReactors, 0, maxReactors); !ok {
		return textResp(http.StatusBadRequest, "Invalid reactors")
	}
	s.touchActivity(c, r)
	msgs, err := s.store.Messages(c.ctx, r, c.user, p.Moderator, q)
	if err != nil {
		return s.storeErr("messages", err)
	}
	var b []byte
	switch {
	case single && len(msgs) == 0:
		return errResp(http.StatusNotFound)
	case single:
		b, err = s.msgs.appendMessage(nil, msgs[0])
	default:
		b, err = s.msgs.appendMessages(make([]byte, 0, 512*len(msgs)+2), msgs)
	}
	if err != nil {
		return s.storeErr("encode messages", err)
	}
	return response{code: http.StatusOK, contentType: "application/json", body: b}
}

// messageJSON is pysogs's message object: data and signature in base64,
// data null and deleted true once deleted; edited and the whisper fields
// only when set; reactions always. A reaction-only update is {id, seqno,
// reactions}.
// msgOut is a message as the API returns it; its fields are in key order,
// as a map's keys were encoded before (a struct allocates less).
type msgOut struct {
	Data        *string              `json:"data"`
	Deleted     bool                 `json:"deleted,omitempty"`
	Edited      *float64             `json:"edited,omitempty"`
	ID          int64                `json:"id"`
	Posted      float64              `json:"posted"`
	Reactions   map[string]*Reaction `json:"reactions"`
	Seqno       int64                `json:"seqno"`
	SessionID   string               `json:"session_id"`
	Signature   *string              `json:"signature,omitempty"`
	Whisper     bool                 `json:"whisper,omitempty"`
	WhisperMods *bool                `json:"whisper_mods,omitempty"`
	WhisperTo   *string              `json:"whisper_to,omitempty"`
}

// reactionsOut is a message whose reactions alone changed.
type reactionsOut struct {
	ID        int64                `json:"id"`
	Reactions map[string]*Reaction `json:"reactions"`
	Seqno     int64                `json:"seqno"`
}

func messageJSON(m *Message) any {
	reactions := m.Reactions
	if reactions == nil {
		reactions = map[string]*Reaction{}
	}
	if m.ReactionOnly {
		return &reactionsOut{ID: m.ID, Reactions: reactions, Seqno: m.Seqno}
	}
	out := &msgOut{ID: m.ID, SessionID: m.SessionID, Posted: m.Posted, Seqno: m.Seqno, Reactions: reactions, Edited: m.Edited}
	if m.Data == nil {
		out.Deleted = true
	} else {
		data, sig := base64.StdEncoding.EncodeToString(m.Data), base64.StdEncoding.EncodeToString(m.Signature)
		out.Data, out.Signature = &data, &sig
	}
	if m.WhisperTo != nil || m.WhisperMods {
		mods := m.WhisperMods
		out.Whisper, out.WhisperMods, out.WhisperTo = true, &mods, m.WhisperTo
	}
	return out
}

// postBody is the JSON body of POST and PUT /room/<token>/message.
type postBody struct {
	Data        []byte
	Signature   []byte
	WhisperTo   string
	WhisperMods bool
	Files       []int64
}

// parsePostBody parses {"data": b64, "signature": b64, "whisper_to"?:
// id, "whisper_mods"?: bool, "files"?: [file ids]}: the signature is 64
// bytes, at most 100 files; unknown fields are ignored, as pysogs does.
func parsePostBody(b []byte) (postBody, error) {
	var raw struct {
		Data        *string `json:"data"`
		Signature   *string `json:"signature"`
		WhisperTo   *string `json:"whisper_to"`
		WhisperMods *bool   `json:"whisper_mods"`
		Files       []int64 `json:"files"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return postBody{}, errors.New("body is not a JSON object")
	}
	if raw.Data == nil || raw.Signature == nil {
		return postBody{}, errors.New("data and signature are required")
	}
	var p postBody
	var err error
	if p.Data, err = base64.StdEncoding.Strict().DecodeString(*raw.Data); err != nil {
		return postBody{}, errors.New("data is not base64")
	}
	if p.Signature, err = base64.StdEncoding.Strict().DecodeString(*raw.Signature); err != nil || len(p.Signature) != 64 {
		return postBody{}, errors.New("signature is not 64 bytes of base64")
	}
	if raw.WhisperTo != nil {
		id, err := key.ParseSessionID(*raw.WhisperTo)
		if err != nil {
			return postBody{}, errors.New("whisper_to is not a Session ID")
		}
		p.WhisperTo = id.String()
	}
	if raw.WhisperMods != nil {
		p.WhisperMods = *raw.WhisperMods
	}
	if len(raw.Files) > 100 {
		return postBody{}, errors.New("too many files")
	}
	p.Files = raw.Files
	return p, nil
}

// verifyPostSig checks a post's signature by its author's key (spec
// §5.5): a blinded poster signs the data as posted with its 15 or 25 key,
// an ordinary Ed25519 signature. pysogs checks none (receiving clients
// do); this server refuses blinded posts that would fail there. Unblinded
// posters (known by their 05 Session ID) sign with their X25519 key
// (XEdDSA, legacy), whose sign bit the server cannot know, so their
// signatures are left to clients.
func verifyPostSig(sessionID string, data, sig []byte) bool {
	if len(sessionID) == 66 && sessionID[:2] == "05" {
		return true
	}
	pk, ok := authorKey(sessionID)
	return ok && ed25519Verify(pk, data, sig)
}

func (s *Server) post(c *call, r *Room, p Perms, _ []string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	if !p.Write {
		return errResp(http.StatusForbidden)
	}
	b, err := parsePostBody(c.body)
	if err != nil {
		return textResp(http.StatusBadRequest, "Invalid post: "+err.Error())
	}
	if !verifyPostSig(c.user.SessionID, b.Data, b.Signature) {
		return textResp(http.StatusBadRequest, "Invalid post: signature verification failed")
	}
	post := Post{Data: b.Data, Signature: b.Signature, WhisperMods: b.WhisperMods, Files: b.Files}
	if b.WhisperTo != "" || b.WhisperMods {
		// Only moderators whisper (pysogs Room.add_post).
		if !p.Moderator {
			return errResp(http.StatusForbidden)
		}
		if b.WhisperTo != "" {
			if post.WhisperTo, err = s.store.User(c.ctx, b.WhisperTo, c.now, true); err != nil {
				return s.storeErr("whisper recipient", err)
			}
		}
	}
	if !p.Admin && !s.posts.allow(roomUser{r.ID, c.user.ID}, c.now) {
		s.m.rateLimited.WithLabelValues("posts").Inc()
		return textResp(http.StatusTooManyRequests, "Rate limited: too many posts")
	}
	if !p.Moderator && !s.slow.allow(roomUser{r.ID, c.user.ID}, time.Duration(r.SlowMode*float64(time.Second)), c.now) {
		s.m.rateLimited.WithLabelValues("slow_mode").Inc()
		return textResp(http.StatusTooManyRequests, "Rate limited: this room is in slow mode")
	}
	m, err := s.store.AddPost(c.ctx, r, c.user, post, c.now)
	if err != nil {
		return s.storeErr("add post", err)
	}
	s.m.posts.Inc()
	return jsonResp(http.StatusCreated, messageJSON(m))
}

func (s *Server) edit(c *call, r *Room, p Perms, rest []string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	id, ok := parseID(rest[1])
	if !ok {
		return errResp(http.StatusNotFound)
	}
	if !p.Write {
		return errResp(http.StatusForbidden)
	}
	b, err := parsePostBody(c.body)
	if err != nil || b.WhisperTo != "" || b.WhisperMods {
		return textResp(http.StatusBadRequest, "Invalid edit")
	}
	if !verifyPostSig(c.user.SessionID, b.Data, b.Signature) {
		return textResp(http.StatusBadRequest, "Invalid edit: signature verification failed")
	}
	if err := s.store.EditPost(c.ctx, r, c.user, id, b.Data, b.Signature, b.Files, c.now); err != nil {
		return s.storeErr("edit post", err)
	}
	return jsonResp(http.StatusOK, map[string]any{})
}

func (s *Server) deleteMessage(c *call, r *Room, p Perms, rest []string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	id, ok := parseID(rest[1])
	if !ok {
		return errResp(http.StatusNotFound)
	}
	// Deleting takes write permission, even one's own post (pysogs
	// remove_message).
	if !p.Write {
		return errResp(http.StatusForbidden)
	}
	if err := s.store.DeletePost(c.ctx, r, c.user, p.Moderator, id, c.now); err != nil {
		return s.storeErr("delete post", err)
	}
	return jsonResp(http.StatusOK, map[string]any{})
}

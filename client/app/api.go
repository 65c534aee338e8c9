package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/key"
)

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleIndex)
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /api/state", s.handleState)
	m.HandleFunc("POST /api/onboard/new", s.handleOnboardNew)
	m.HandleFunc("POST /api/onboard/create", s.handleOnboardCreate)
	m.HandleFunc("POST /api/onboard/restore", s.handleOnboardRestore)
	m.HandleFunc("POST /api/unlock", s.handleUnlock)
	m.HandleFunc("GET /api/events", s.withEngine(func(w http.ResponseWriter, r *http.Request, c *client.Client) {
		s.handleEvents(w, r)
	}))
	m.HandleFunc("GET /api/conversations", s.withEngine(s.handleConversations))
	m.HandleFunc("GET /api/conversations/{id}", s.withPeer(s.handleConversation))
	m.HandleFunc("GET /api/conversations/{id}/messages", s.withPeer(s.handleMessages))
	m.HandleFunc("GET /api/conversations/{id}/search", s.withPeer(s.handleSearch))
	m.HandleFunc("POST /api/conversations/{id}/messages", s.withPeer(s.handleSend))
	m.HandleFunc("POST /api/conversations/{id}/read", s.withPeer(s.handleRead))
	m.HandleFunc("POST /api/conversations/{id}/typing", s.withPeer(s.handleTyping))
	m.HandleFunc("POST /api/conversations/{id}/accept", s.withPeer(s.handleAccept))
	m.HandleFunc("POST /api/conversations/{id}/decline", s.withPeer(s.handleDecline))
	m.HandleFunc("POST /api/conversations/{id}/block", s.withPeer(s.handleBlock))
	m.HandleFunc("POST /api/conversations/{id}/disappearing", s.withPeer(s.handleDisappearing))
	m.HandleFunc("POST /api/conversations/{id}/messages/{msg}/unsend", s.withPeer(s.handleUnsend))
	m.HandleFunc("POST /api/conversations/{id}/messages/{msg}/react", s.withPeer(s.handleReact))
	m.HandleFunc("POST /api/profile", s.withEngine(s.handleProfile))
	m.HandleFunc("GET /api/network", s.withEngine(s.handleNetwork))
	m.HandleFunc("GET /api/attachments/{att}", s.withEngine(s.handleAttachment))
	m.HandleFunc("POST /api/conversations/{id}/attachments", s.withPeer(s.handleUpload))
	m.HandleFunc("GET /api/blocked", s.withEngine(s.handleBlocked))
	s.groupRoutes(m)
	s.communityRoutes(m)
	s.settingsRoutes(m)
	s.mux = m
}

// Errors the API maps to status codes (statusOf).
var (
	errNoAccount = errors.New("no account is open")
	errBadInput  = errors.New("bad request")
)

// statusOf maps an error to its HTTP status: the one place the API does.
func statusOf(err error) int {
	var ns *client.NotSentError
	var ce *client.CommunityError
	switch {
	case errors.Is(err, errNoAccount):
		return http.StatusConflict
	case errors.Is(err, errBadInput), errors.Is(err, client.ErrBadRecipient), errors.Is(err, client.ErrEmptyMessage),
		errors.Is(err, client.ErrTooLong), errors.Is(err, client.ErrTimer), errors.Is(err, client.ErrNotOurs):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound), errors.Is(err, client.ErrNoMessage), errors.Is(err, client.ErrNoRequest),
		errors.Is(err, client.ErrNoGroup), errors.Is(err, client.ErrNotJoined):
		return http.StatusNotFound
	case errors.Is(err, client.ErrNotAdmin):
		return http.StatusForbidden
	case errors.Is(err, client.ErrNoNetwork):
		return http.StatusServiceUnavailable
	case errors.As(err, &ns):
		return http.StatusAccepted
	case errors.As(err, &ce) && (ce.Status == http.StatusForbidden || ce.Status == http.StatusNotFound):
		return ce.Status
	case errors.As(err, &ce):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// fail answers with err's status and a message for the page.
func (s *Server) fail(w http.ResponseWriter, err error) {
	st := statusOf(err)
	msg := err.Error()
	if st == http.StatusInternalServerError {
		s.log.Warn("app: request failed", "err", err)
	}
	writeJSON(w, st, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// readJSON decodes the request body into v.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.Join(errBadInput, err)
	}
	return nil
}

// begin starts a handler that calls the network: it reads the JSON body
// into req (none when req is nil) and returns the call's context, bounded
// by requestTimeout. For a bad body it answers and ok is false; else the
// caller defers cancel.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, req any) (ctx context.Context, cancel context.CancelFunc, ok bool) {
	if req != nil {
		if err := readJSON(r, req); err != nil {
			s.fail(w, err)
			return nil, nil, false
		}
	}
	ctx, cancel = context.WithTimeout(r.Context(), requestTimeout)
	return ctx, cancel, true
}

func (s *Server) withEngine(fn func(http.ResponseWriter, *http.Request, *client.Client)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := s.engine()
		if c == nil {
			s.fail(w, errNoAccount)
			return
		}
		fn(w, r, c)
	}
}

func (s *Server) withPeer(fn func(http.ResponseWriter, *http.Request, *client.Client, key.SessionID)) http.HandlerFunc {
	return s.withEngine(func(w http.ResponseWriter, r *http.Request, c *client.Client) {
		id, err := key.ParseSessionID(r.PathValue("id"))
		if err == nil && id.Prefix() != key.PrefixStandard && id.Prefix() != key.PrefixGroup {
			err = errors.New("not a person's (05) or a group's (03) ID")
		}
		if err != nil {
			s.fail(w, errors.Join(errBadInput, err))
			return
		}
		fn(w, r, c, id)
	})
}

// requestTimeout bounds what one API call waits for the network.
const requestTimeout = 30 * time.Second

type jsonRef struct {
	Author string `json:"author"`
	SentAt int64  `json:"sent_at"`
	Body   string `json:"body,omitempty"`
	ID     int64  `json:"id,omitempty"`
}

type jsonReaction struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
	Mine  bool   `json:"mine,omitempty"`
}

type jsonMessage struct {
	ID           int64            `json:"id"`
	Conversation string           `json:"conversation"`
	Author       string           `json:"author"`
	Out          bool             `json:"out"`
	SentAt       int64            `json:"sent_at"`
	Body         string           `json:"body"`
	State        string           `json:"state"`
	Quote        *jsonRef         `json:"quote,omitempty"`
	Unsent       bool             `json:"unsent,omitempty"`
	Reactions    []jsonReaction   `json:"reactions,omitempty"`
	ExpiresAt    int64            `json:"expires_at,omitempty"`
	Attachments  []jsonAttachment `json:"attachments,omitempty"`
}

// toJSON converts m, looking up the body of the message it quotes.
func (s *Server) toJSON(ctx context.Context, c *client.Client, m *store.Message) *jsonMessage {
	j := &jsonMessage{
		ID: m.ID, Conversation: m.Conversation.String(), Author: m.Author.String(),
		Out: m.Direction == store.Outgoing, SentAt: m.SentAt, Body: m.Body, State: m.State.String(),
		Unsent: m.Unsent, ExpiresAt: m.ExpiresAt,
	}
	if m.Quote != nil {
		j.Quote = &jsonRef{Author: m.Quote.Author.String(), SentAt: m.Quote.SentAt}
		if q, err := c.Store().FindMessage(ctx, m.Conversation, *m.Quote); err == nil {
			j.Quote.Body, j.Quote.ID = q.Body, q.ID
		}
	}
	if atts, err := c.AttachmentsOf(ctx, m.ID); err == nil && len(atts) > 0 {
		j.Attachments = toJSONAttachments(atts)
	}
	self := c.SessionID()
	idx := map[string]int{}
	for _, r := range m.Reactions {
		i, ok := idx[r.Emoji]
		if !ok {
			i = len(j.Reactions)
			idx[r.Emoji] = i
			j.Reactions = append(j.Reactions, jsonReaction{Emoji: r.Emoji})
		}
		j.Reactions[i].Count++
		if r.Reactor == self {
			j.Reactions[i].Mine = true
		}
	}
	return j
}

type jsonSummary struct {
	Peer       string       `json:"peer"`
	Name       string       `json:"name"`
	NoteToSelf bool         `json:"note_to_self,omitempty"`
	Group      bool         `json:"group,omitempty"`
	Activity   int64        `json:"activity"`
	Unread     int          `json:"unread"`
	Last       *jsonMessage `json:"last,omitempty"`
}

func (s *Server) summaries(ctx context.Context, c *client.Client, list []*store.Summary) []jsonSummary {
	out := make([]jsonSummary, 0, len(list))
	for _, sm := range list {
		j := jsonSummary{
			Peer: sm.Peer.String(), Name: sm.DisplayName, Activity: sm.LastActivity, Unread: sm.Unread,
			NoteToSelf: sm.Peer == c.SessionID(), Group: sm.Peer.Prefix() == key.PrefixGroup,
		}
		if sm.Last != nil {
			j.Last = s.toJSON(ctx, c, sm.Last)
		}
		out = append(out, j)
	}
	return out
}

func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request, c *client.Client) {
	ctx := r.Context()
	inbox, err := c.Store().Inbox(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	reqs, err := c.Store().Requests(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"inbox": s.summaries(ctx, c, inbox), "requests": s.summaries(ctx, c, reqs),
	})
}

func (s *Server) handleConversation(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	ctx := r.Context()
	out := map[string]any{"peer": peer.String(), "note_to_self": peer == c.SessionID(), "group": peer.Prefix() == key.PrefixGroup}
	name := ""
	if ct, err := c.Store().Contact(ctx, peer); err == nil {
		name = ct.DisplayName
		if ct.Nickname != "" {
			name = ct.Nickname
		}
		out["blocked"] = ct.Blocked
	} else if !errors.Is(err, store.ErrNotFound) {
		s.fail(w, err)
		return
	}
	if g, err := c.Store().Group(ctx, peer); err == nil {
		name = g.Name
	}
	out["name"] = name
	req, err := c.Store().IsRequest(ctx, peer)
	if err != nil {
		s.fail(w, err)
		return
	}
	out["request"] = req
	if cv, err := c.Store().Conversation(ctx, peer); err == nil {
		out["mode"], out["timer"] = cv.ExpiryMode.String(), cv.ExpiryTimer
	}
	writeJSON(w, http.StatusOK, out)
}

// pageSize is how many messages a page of history holds by default.
const pageSize = 50

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	ctx := r.Context()
	limit := pageSize
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 500 {
			s.fail(w, errors.Join(errBadInput, errors.New("limit is 1 to 500")))
			return
		}
		limit = n
	}
	var msgs []*store.Message
	var err error
	if v := r.URL.Query().Get("before"); v != "" {
		before, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			s.fail(w, errors.Join(errBadInput, perr))
			return
		}
		msgs, err = c.Store().HistoryBefore(ctx, peer, before, limit)
	} else {
		msgs, err = c.Store().History(ctx, peer, limit)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make([]*jsonMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, s.toJSON(ctx, c, m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out, "more": len(msgs) == limit})
}

// searchLimit is how many matches a search in a conversation returns.
const searchLimit = 50

// handleSearch finds the text q in the whole conversation, newest first.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > 200 {
		s.fail(w, errors.Join(errBadInput, errors.New("q is 1 to 200 bytes")))
		return
	}
	msgs, err := c.Store().SearchConversation(ctx, peer, q, searchLimit)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make([]*jsonMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, s.toJSON(ctx, c, m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	var req struct {
		Body  string `json:"body"`
		Quote int64  `json:"quote,omitempty"`
	}
	ctx, cancel, ok := s.begin(w, r, &req)
	if !ok {
		return
	}
	defer cancel()
	var opt client.SendOptions
	if req.Quote != 0 {
		q, err := c.Store().Message(ctx, req.Quote)
		if err != nil || q.Conversation != peer {
			s.fail(w, errors.Join(errBadInput, errors.New("the quoted message is not in this conversation")))
			return
		}
		ref := q.Ref()
		opt.Quote = &ref
	}
	m, err := c.Send(ctx, peer, strings.TrimRight(req.Body, "\n"), opt)
	if m == nil {
		s.fail(w, err)
		return
	}
	status := http.StatusOK
	if err != nil {
		status = statusOf(err) // saved and queued: 202
	}
	writeJSON(w, status, s.toJSON(ctx, c, m))
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	read, err := c.MarkRead(r.Context(), peer)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"read": len(read)})
}

func (s *Server) handleTyping(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	var req struct {
		Typing bool `json:"typing"`
	}
	ctx, cancel, ok := s.begin(w, r, &req)
	if !ok {
		return
	}
	defer cancel()
	if peer == c.SessionID() {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	if err := c.SendTyping(ctx, peer, req.Typing); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// peerAction runs a call on the peer, with the JSON request read into req
// (none when req is nil).
func (s *Server) peerAction(req any, fn func(ctx context.Context, c *client.Client, peer key.SessionID) error) func(http.ResponseWriter, *http.Request, *client.Client, key.SessionID) {
	return func(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
		ctx, cancel, ok := s.begin(w, r, req)
		if !ok {
			return
		}
		defer cancel()
		if err := fn(ctx, c, peer); err != nil {
			s.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	}
}

func (s *Server) handleAccept(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	s.peerAction(nil, func(ctx context.Context, c *client.Client, p key.SessionID) error { return c.Accept(ctx, p) })(w, r, c, peer)
}

func (s *Server) handleDecline(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	s.peerAction(nil, func(ctx context.Context, c *client.Client, p key.SessionID) error { return c.Decline(ctx, p) })(w, r, c, peer)
}

func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	var req struct {
		Blocked bool `json:"blocked"`
	}
	s.peerAction(&req, func(ctx context.Context, c *client.Client, p key.SessionID) error {
		return c.Block(ctx, p, req.Blocked)
	})(w, r, c, peer)
}

func (s *Server) handleDisappearing(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	var req struct {
		Mode    string `json:"mode"`
		Seconds int64  `json:"seconds"`
	}
	s.peerAction(&req, func(ctx context.Context, c *client.Client, p key.SessionID) error {
		var mode store.ExpiryMode
		switch req.Mode {
		case "off":
			mode = store.ExpiryOff
		case "after-read":
			mode = store.ExpiryAfterRead
		case "after-send":
			mode = store.ExpiryAfterSend
		default:
			return errors.Join(errBadInput, errors.New(`mode is "off", "after-read" or "after-send"`))
		}
		return c.SetDisappearing(ctx, p, mode, time.Duration(req.Seconds)*time.Second)
	})(w, r, c, peer)
}

// msgID reads the {msg} path value.
func msgID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("msg"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errors.Join(errBadInput, errors.New("bad message id"))
	}
	return id, nil
}

func (s *Server) handleUnsend(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	id, err := msgID(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	ctx, cancel, ok := s.begin(w, r, nil)
	if !ok {
		return
	}
	defer cancel()
	m, err := c.Unsend(ctx, peer, id)
	if m == nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toJSON(ctx, c, m))
}

func (s *Server) handleReact(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	id, err := msgID(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	var req struct {
		Emoji  string `json:"emoji"`
		Remove bool   `json:"remove"`
	}
	ctx, cancel, ok := s.begin(w, r, &req)
	if !ok {
		return
	}
	defer cancel()
	if req.Emoji == "" || len(req.Emoji) > 32 {
		s.fail(w, errors.Join(errBadInput, errors.New("an emoji is 1 to 32 bytes")))
		return
	}
	m, err := c.React(ctx, peer, id, req.Emoji, req.Remove)
	if m == nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toJSON(ctx, c, m))
}

func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req struct {
		Name string `json:"name"`
	}
	ctx, cancel, ok := s.begin(w, r, &req)
	if !ok {
		return
	}
	defer cancel()
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 100 {
		s.fail(w, errors.Join(errBadInput, errors.New("a display name is 1 to 100 bytes")))
		return
	}
	if err := c.SetProfileName(ctx, name); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": name})
}

func (s *Server) handleNetwork(w http.ResponseWriter, r *http.Request, c *client.Client) {
	st := c.NetworkStatus()
	type hop struct {
		Key  string `json:"key"`
		Addr string `json:"addr"`
	}
	paths := [][]hop{}
	for _, p := range st.Paths {
		hops := make([]hop, len(p))
		for i, h := range p {
			hops[i] = hop{Key: h.Key.String(), Addr: h.Addr.String()}
		}
		paths = append(paths, hops)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"configured": st.Configured, "connected": st.Connected, "nodes": st.Nodes, "paths": paths,
	})
}

func (s *Server) handleBlocked(w http.ResponseWriter, r *http.Request, c *client.Client) {
	contacts, err := c.Store().Contacts(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	type blocked struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	out := []blocked{}
	for _, ct := range contacts {
		if ct.Blocked {
			name := ct.DisplayName
			if ct.Nickname != "" {
				name = ct.Nickname
			}
			out = append(out, blocked{ID: ct.SessionID.String(), Name: name})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"blocked": out})
}

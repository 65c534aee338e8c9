package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/key"
)

// Communities: join by URL, the joined rooms, a room's posts (read from
// the store, which the engine's community loop fills; the page polls
// it), posting, reactions and the moderator actions. A room is named in
// requests as "<server>/<token>", as the engine's API takes it. Blinded
// DMs land in the sender's conversation as a message request (the
// engine does that), so the conversation list shows them.

// maxRoomPosts is how many of a room's latest posts the page is sent.
const maxRoomPosts = 200

func (s *Server) communityRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/rooms", s.withEngine(s.handleRooms))
	m.HandleFunc("POST /api/rooms", s.withEngine(s.handleJoinRoom))
	m.HandleFunc("GET /api/room", s.withEngine(s.handleRoom))
	m.HandleFunc("GET /api/room/posts", s.withEngine(s.handleRoomPosts))
	m.HandleFunc("POST /api/room/post", s.withEngine(s.handleRoomPost))
	m.HandleFunc("POST /api/room/react", s.withEngine(s.handleRoomReact))
	m.HandleFunc("POST /api/room/delete", s.withEngine(s.handleRoomDelete))
	m.HandleFunc("POST /api/room/ban", s.withEngine(s.handleRoomBan))
	m.HandleFunc("POST /api/room/leave", s.withEngine(s.handleRoomLeave))
	m.HandleFunc("POST /api/room/dm", s.withEngine(s.handleRoomDM))
}

func roomName(cm *store.Community) string { return cm.Server + "/" + cm.Room }

type jsonRoom struct {
	Room   string `json:"room"`
	Name   string `json:"name"`
	Server string `json:"server"`
}

func (s *Server) handleRooms(w http.ResponseWriter, r *http.Request, c *client.Client) {
	list, err := c.Communities(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make([]jsonRoom, 0, len(list))
	for _, cm := range list {
		out = append(out, jsonRoom{Room: roomName(cm), Name: cm.Name, Server: cm.Server})
	}
	writeJSON(w, http.StatusOK, map[string]any{"rooms": out})
}

func (s *Server) handleJoinRoom(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req struct {
		URL string `json:"url"`
	}
	ctx, cancel, ok := s.begin(w, r, &req)
	if !ok {
		return
	}
	defer cancel()
	u := strings.TrimSpace(req.URL)
	if _, _, err := client.ParseRoom(u); err != nil {
		s.fail(w, errors.Join(errBadInput, err))
		return
	}
	cm, err := c.JoinCommunity(ctx, u)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, jsonRoom{Room: roomName(cm), Name: cm.Name, Server: cm.Server})
}

// roomOf finds the joined room named by the "room" query value.
func roomOf(ctx context.Context, c *client.Client, room string) (*store.Community, error) {
	rm, _, err := client.ParseRoom(room)
	if err != nil {
		return nil, errors.Join(errBadInput, err)
	}
	return c.Store().Community(ctx, rm.Server, rm.Token)
}

// handleRoom describes a room: its name, whether the user may write and
// moderate there (asked of the server), and the ID the room knows the
// user by.
func (s *Server) handleRoom(w http.ResponseWriter, r *http.Request, c *client.Client) {
	room := r.URL.Query().Get("room")
	cm, err := roomOf(r.Context(), c, room)
	if err != nil {
		s.fail(w, err)
		return
	}
	me, err := c.RoomUserID(cm)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := map[string]any{"room": roomName(cm), "name": cm.Name, "me": me}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	if info, err := c.RoomDetails(ctx, roomName(cm)); err == nil {
		out["name"], out["description"], out["write"] = info.Name, info.Description, info.Write
		out["moderator"] = info.Moderator || info.Admin || info.GlobalModerator || info.GlobalAdmin
		out["active_users"] = info.ActiveUsers
	} else {
		// Offline: what is stored, and a word why the rest is missing.
		out["offline"] = err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}

type jsonPost struct {
	ID        int64            `json:"id"`
	Author    string           `json:"author"`
	Name      string           `json:"name"`
	Posted    int64            `json:"posted"`
	SentAt    int64            `json:"sent_at"`
	Body      string           `json:"body"`
	QuoteID   int64            `json:"quote_id,omitempty"`
	Reactions map[string]int64 `json:"reactions,omitempty"`
	Mine      bool             `json:"mine,omitempty"`
	Whisper   bool             `json:"whisper,omitempty"`
}

// handleRoomPosts returns the room's latest posts, oldest first; with
// poll=1 it first polls the room once (after the user posted).
func (s *Server) handleRoomPosts(w http.ResponseWriter, r *http.Request, c *client.Client) {
	room := r.URL.Query().Get("room")
	cm, err := roomOf(r.Context(), c, room)
	if err != nil {
		s.fail(w, err)
		return
	}
	var posts []*store.Post
	if r.URL.Query().Get("poll") == "1" {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		posts, err = c.ReadRoom(ctx, roomName(cm))
		cancel()
	} else {
		posts, err = c.Store().Posts(r.Context(), cm.Server, cm.Room)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	me, _ := c.RoomUserID(cm)
	if len(posts) > maxRoomPosts {
		posts = posts[len(posts)-maxRoomPosts:]
	}
	out := make([]jsonPost, 0, len(posts))
	for _, p := range posts {
		j := jsonPost{ID: p.ID, Author: p.Author, Name: p.Name, Posted: p.Posted, SentAt: p.SentAt, Body: p.Body,
			QuoteID: p.QuoteID, Mine: p.Author == me, Whisper: p.WhisperTo != "" || p.WhisperMods}
		if p.Reactions != "" {
			_ = json.Unmarshal([]byte(p.Reactions), &j.Reactions)
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"posts": out})
}

// roomAction reads a JSON request naming a joined room and runs fn.
func roomAction[T any](s *Server, w http.ResponseWriter, r *http.Request, c *client.Client, req *T, room func(*T) string,
	fn func(ctx context.Context, room string) error) {
	ctx, cancel, ok := s.begin(w, r, req)
	if !ok {
		return
	}
	defer cancel()
	cm, err := roomOf(ctx, c, room(req))
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := fn(ctx, roomName(cm)); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

type roomReq struct {
	Room      string `json:"room"`
	Body      string `json:"body,omitempty"`
	Quote     int64  `json:"quote,omitempty"`
	ID        int64  `json:"id,omitempty"`
	Emoji     string `json:"emoji,omitempty"`
	Add       bool   `json:"add,omitempty"`
	User      string `json:"user,omitempty"`
	DeleteAll bool   `json:"delete_all,omitempty"`
}

func roomField(q *roomReq) string { return q.Room }

func (s *Server) handleRoomPost(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req roomReq
	roomAction(s, w, r, c, &req, roomField, func(ctx context.Context, room string) error {
		var opt client.PostOptions
		if req.Quote != 0 {
			opt.Quote = &req.Quote
		}
		_, err := c.PostToRoom(ctx, room, strings.TrimRight(req.Body, "\n"), opt)
		return err
	})
}

// handleRoomDM sends a message to a post's author, known by the blinded
// ID the room shows, through the room's server.
func (s *Server) handleRoomDM(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req roomReq
	roomAction(s, w, r, c, &req, roomField, func(ctx context.Context, room string) error {
		to, err := key.ParseBlindedID(req.User)
		if err != nil {
			return errors.Join(errBadInput, err)
		}
		return c.SendCommunityDM(ctx, room, to, req.Body)
	})
}

func (s *Server) handleRoomReact(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req roomReq
	roomAction(s, w, r, c, &req, roomField, func(ctx context.Context, room string) error {
		if req.ID <= 0 || req.Emoji == "" {
			return errors.Join(errBadInput, errors.New("a reaction needs a post and an emoji"))
		}
		return c.ReactInRoom(ctx, room, req.ID, req.Emoji, req.Add)
	})
}

func (s *Server) handleRoomDelete(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req roomReq
	roomAction(s, w, r, c, &req, roomField, func(ctx context.Context, room string) error {
		if req.ID <= 0 {
			return errors.Join(errBadInput, errors.New("no post given"))
		}
		return c.DeletePost(ctx, room, req.ID)
	})
}

func (s *Server) handleRoomBan(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req roomReq
	roomAction(s, w, r, c, &req, roomField, func(ctx context.Context, room string) error {
		if _, err := key.ParseBlindedID(req.User); err != nil {
			if _, err := key.ParseSessionID(req.User); err != nil {
				return errors.Join(errBadInput, errors.New("not an account ID"))
			}
		}
		return c.BanFromRoom(ctx, room, req.User, req.DeleteAll)
	})
}

func (s *Server) handleRoomLeave(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req roomReq
	roomAction(s, w, r, c, &req, roomField, func(ctx context.Context, room string) error { return c.LeaveCommunity(ctx, room) })
}

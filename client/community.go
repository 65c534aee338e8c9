package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/onion"
	"sotto.dev/sessionproto"
	"sotto.dev/wire"
)

// Communities (docs/community.md, session-protocol.md §5): every request
// goes to the community server as an onion v4 request through the
// client's paths (as file server requests do), signed with the SOGS
// headers of the user's 15-blinded key for that server, so that the
// server never sees the Session ID or the user's address. A server whose
// capabilities lack "blind" is signed for with the account's own key
// (X-SOGS-Pubkey 00…), as Session clients do there: that server learns
// the Session ID.

// Room names a community room: the server's base URL, the room token and
// the server's X25519 key.
type Room struct {
	Server string // base URL, no trailing slash
	Token  string
	PubKey [32]byte
}

// URL is the room's join URL, https://host/room?public_key=<hex>.
func (r Room) URL() string {
	return r.Server + "/" + r.Token + "?public_key=" + hex.EncodeToString(r.PubKey[:])
}

// ErrNotJoined is returned for a room the user has not joined.
var ErrNotJoined = errors.New("client: community room not joined")

// CommunityError is a community server's refusal.
type CommunityError struct {
	Op     string
	Status int
	Body   string
}

func (e *CommunityError) Error() string {
	return fmt.Sprintf("client: community: %s: status %d", e.Op, e.Status)
}

// ParseRoom parses a join URL (https://host/room?public_key=<hex>) or a
// <server url>/<room> without key; hasKey reports whether the key was
// given.
func ParseRoom(s string) (r Room, hasKey bool, err error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Room{}, false, fmt.Errorf("client: community room %q: want http(s)://host/room", s)
	}
	token := strings.Trim(u.Path, "/")
	if _, err := config.CanonicalRoom(token); err != nil || token == "" || strings.Contains(token, "/") {
		return Room{}, false, fmt.Errorf("client: community room %q: want http(s)://host/room", s)
	}
	// Servers are named by their canonical URL, as in the user-groups
	// config (no path, the port only when not the default).
	if r.Server, err = config.CanonicalURL(u.Scheme + "://" + u.Host); err != nil {
		return Room{}, false, fmt.Errorf("client: community room %q: %w", s, err)
	}
	r.Token = token
	if k := u.Query().Get("public_key"); k != "" {
		b, err := hex.DecodeString(k)
		if err != nil || len(b) != 32 {
			return Room{}, false, fmt.Errorf("client: community room %q: public_key is not 64 hex digits", s)
		}
		r.PubKey = [32]byte(b)
		hasKey = true
	}
	return r, hasKey, nil
}

// ParseServer parses a server URL, with or without ?public_key=.
func ParseServer(s string) (server string, pk [32]byte, hasKey bool, err error) {
	r, hasKey, err := ParseRoom(strings.TrimSuffix(strings.SplitN(s, "?", 2)[0], "/") + "/x?" + query(s))
	if err != nil {
		return "", pk, false, fmt.Errorf("client: community server %q", s)
	}
	return r.Server, r.PubKey, hasKey, nil
}

func query(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// room resolves s to a joined room (its key from the store when s has
// none).
func (c *Client) room(ctx context.Context, s string) (*store.Community, error) {
	r, _, err := ParseRoom(s)
	if err != nil {
		return nil, err
	}
	cm, err := c.db.Community(ctx, r.Server, r.Token)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotJoined, r.Server, r.Token)
	}
	return cm, err
}

// serverKey finds the key of server among the joined rooms.
func (c *Client) serverKey(ctx context.Context, server string) ([32]byte, bool) {
	list, err := c.db.Communities(ctx)
	if err != nil {
		return [32]byte{}, false
	}
	for _, cm := range list {
		if cm.Server == server {
			return cm.PubKey, true
		}
	}
	return [32]byte{}, false
}

// CommunityID is the user's 15-blinded ID for the server with key pk,
// the ID a blinded room shows (RoomUserID is the one a given room shows).
func (c *Client) CommunityID(pk [32]byte) (key.BlindedID, error) {
	kp, err := c.keys.Blind15(pk)
	if err != nil {
		return key.BlindedID{}, err
	}
	return kp.ID(), nil
}

// RoomUserID is the ID the room shows for the user: the 15-blinded ID,
// or in a room of a server without blinding the Session ID (the client
// signs with 00 and its Ed25519 key there, which session-pysogs, and this
// project's server, record as the Session ID).
func (c *Client) RoomUserID(cm *store.Community) (string, error) {
	if cm.Unblinded {
		return c.keys.SessionID().String(), nil
	}
	id, err := c.CommunityID(cm.PubKey)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// unblindedServer reports whether server takes no blinded IDs, as found
// when a room of it was joined.
func (c *Client) unblindedServer(ctx context.Context, server string) bool {
	if v, ok := c.unblinded.Load(server); ok {
		return v.(bool)
	}
	list, err := c.db.Communities(ctx)
	if err != nil {
		return false
	}
	for _, cm := range list {
		if cm.Server == server {
			c.unblinded.Store(server, cm.Unblinded)
			return cm.Unblinded
		}
	}
	return false
}

// sogs sends one signed request to the community server (path escaped,
// with its query) and decodes a 2xx JSON answer into out (when not nil).
func (c *Client) sogs(ctx context.Context, server string, pk [32]byte, method, path string, body []byte, out any) error {
	var h map[string]string
	if len(body) > 0 {
		h = map[string]string{"Content-Type": "application/json"}
	}
	r, err := c.sogsRaw(ctx, server, pk, method, path, body, h)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			return fmt.Errorf("client: community: %s %s: bad answer: %w", method, path, err)
		}
	}
	return nil
}

// sogsRaw sends one signed request with the extra headers h and returns
// a 2xx answer as it came (a CommunityError otherwise).
func (c *Client) sogsRaw(ctx context.Context, server string, pk [32]byte, method, path string, body []byte, h map[string]string) (onion.V4Response, error) {
	if c.net == nil {
		return onion.V4Response{}, ErrNoNetwork
	}
	dest, prefix, err := serverDest(server, key.OnionPublic(pk))
	if err != nil {
		return onion.V4Response{}, err
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	// The signature covers the URL-decoded path (§5.4); the request
	// carries it escaped.
	signed, err := url.PathUnescape(path)
	if err != nil {
		return onion.V4Response{}, fmt.Errorf("client: community: path %q: %w", path, err)
	}
	opts := sessionproto.SOGSOptions{Unblinded: c.unblindedServer(ctx, server)}
	auth, err := sessionproto.SOGSHeaders(c.keys, pk, c.now().Unix(), nonce, method, signed, body, opts)
	if err != nil {
		return onion.V4Response{}, err
	}
	for k, v := range h {
		auth[k] = v
	}
	r, err := c.net.serverCall(ctx, dest, onion.V4RequestInfo{Method: method, Endpoint: prefix + path, Headers: auth}, body)
	if err != nil {
		return onion.V4Response{}, err
	}
	if r.Code < 200 || r.Code > 299 {
		return onion.V4Response{}, &CommunityError{Op: method + " " + strings.SplitN(path, "?", 2)[0], Status: r.Code, Body: string(r.Body)}
	}
	return r, nil
}

// RoomInfo is a room as the server describes it (GET /room/<token>; the
// hidden staff and the defaults only to its moderators).
type RoomInfo struct {
	Token            string       `json:"token"`
	Name             string       `json:"name"`
	Description      string       `json:"description,omitempty"`
	ActiveUsers      int64        `json:"active_users"`
	InfoUpdates      int64        `json:"info_updates"`
	MessageSequence  int64        `json:"message_sequence"`
	Read             bool         `json:"read"`
	Write            bool         `json:"write"`
	Upload           bool         `json:"upload"`
	Moderator        bool         `json:"moderator,omitempty"`
	Admin            bool         `json:"admin,omitempty"`
	GlobalModerator  bool         `json:"global_moderator,omitempty"`
	GlobalAdmin      bool         `json:"global_admin,omitempty"`
	Moderators       []string     `json:"moderators,omitempty"`
	Admins           []string     `json:"admins,omitempty"`
	HiddenModerators []string     `json:"hidden_moderators,omitempty"`
	HiddenAdmins     []string     `json:"hidden_admins,omitempty"`
	DefaultRead      *bool        `json:"default_read,omitempty"`
	DefaultWrite     *bool        `json:"default_write,omitempty"`
	DefaultUpload    *bool        `json:"default_upload,omitempty"`
	ImageID          *int64       `json:"image_id,omitempty"`
	Pinned           []PinnedPost `json:"pinned_messages,omitempty"`
}

// PinnedPost is a pinned post of a room.
type PinnedPost struct {
	ID       int64   `json:"id"`
	PinnedAt float64 `json:"pinned_at"`
	PinnedBy string  `json:"pinned_by"`
}

// CommunityRooms lists the rooms of server (a URL with ?public_key=, or
// of a server the user has joined a room of).
func (c *Client) CommunityRooms(ctx context.Context, server string) ([]RoomInfo, error) {
	base, pk, hasKey, err := ParseServer(server)
	if err != nil {
		return nil, err
	}
	if !hasKey {
		if pk, hasKey = c.serverKey(ctx, base); !hasKey {
			return nil, fmt.Errorf("client: community server %s: no key known; give ?public_key=<hex>", base)
		}
	}
	var rooms []RoomInfo
	if err := c.sogs(ctx, base, pk, http.MethodGet, "/rooms", nil, &rooms); err != nil {
		return nil, err
	}
	return rooms, nil
}

// JoinCommunity joins the room at u (a join URL, or <server>/<room> of a
// server whose key is known): it asks the server whether it takes
// blinded IDs (else the client signs there with its own key, as Session
// does), asks it for the room, then stores it (and records it in the
// user-groups object). Joining a joined room again refreshes its name.
func (c *Client) JoinCommunity(ctx context.Context, u string) (*store.Community, error) {
	r, hasKey, err := ParseRoom(u)
	if err != nil {
		return nil, err
	}
	if !hasKey {
		if r.PubKey, hasKey = c.serverKey(ctx, r.Server); !hasKey {
			return nil, fmt.Errorf("client: community server %s: no key known; use the join URL with ?public_key=", r.Server)
		}
	}
	// The capabilities are asked with the blinded key, which every
	// server takes; a server without "blind" wants unblinded requests
	// (session-desktop roomHasBlindEnabled), and gets them from here on.
	var caps struct {
		Capabilities []string `json:"capabilities"`
	}
	if err := c.sogs(ctx, r.Server, r.PubKey, http.MethodGet, "/capabilities", nil, &caps); err != nil {
		return nil, err
	}
	unblinded := !slices.Contains(caps.Capabilities, "blind")
	c.unblinded.Store(r.Server, unblinded)
	var info RoomInfo
	if err := c.sogs(ctx, r.Server, r.PubKey, http.MethodGet, "/room/"+r.Token, nil, &info); err != nil {
		return nil, err
	}
	cm := &store.Community{Server: r.Server, Room: r.Token, PubKey: r.PubKey, Name: info.Name, Info: info.InfoUpdates, JoinedAt: c.nowMillis(),
		Unblinded: unblinded}
	if err := c.db.SaveCommunity(ctx, cm); err != nil {
		return nil, err
	}
	c.setUserCommunity(ctx, cm, false)
	return c.db.Community(ctx, r.Server, r.Token)
}

// LeaveCommunity forgets the room and the posts read from it.
func (c *Client) LeaveCommunity(ctx context.Context, room string) error {
	cm, err := c.room(ctx, room)
	if err != nil {
		return err
	}
	if err := c.db.DeleteCommunity(ctx, cm.Server, cm.Room); err != nil {
		return err
	}
	c.setUserCommunity(ctx, cm, true)
	return nil
}

// Communities lists the joined rooms.
func (c *Client) Communities(ctx context.Context) ([]*store.Community, error) {
	return c.db.Communities(ctx)
}

// PostOptions are the options of PostToRoom.
type PostOptions struct {
	// Quote is the server ID of a post of the room to reply to.
	Quote *int64
	// Files are uploaded to the room's file endpoint and attached.
	Files []OutgoingFile
	// WhisperTo makes the post a whisper to this user (an ID as the room
	// shows it), WhisperMods one to the room's moderators; moderators
	// only (the server answers 403 to others).
	WhisperTo   string
	WhisperMods bool
}

// PostToRoom posts body in the room: a Content with a VisibleMessage,
// padded as libsession pads it and signed with the 15-blinded key
// (spec §5.5), or with XEdDSA by the account's X25519 key in a room
// without blinding, as Session desktop signs there. It returns the
// post's server ID.
func (c *Client) PostToRoom(ctx context.Context, room, body string, opt PostOptions) (int64, error) {
	cm, err := c.room(ctx, room)
	if err != nil {
		return 0, err
	}
	if strings.TrimSpace(body) == "" && len(opt.Files) == 0 {
		return 0, ErrEmptyMessage
	}
	if len(body) > MaxBodyLen {
		return 0, ErrTooLong
	}
	if !utf8.ValidString(body) {
		return 0, errors.New("client: message is not valid UTF-8")
	}
	if opt.WhisperTo != "" {
		if err := checkUserID(opt.WhisperTo); err != nil {
			return 0, err
		}
	}
	sentAt := c.nextTimestamp()
	dm := &wire.DataMessage{Timestamp: proto.Uint64(uint64(sentAt))}
	if body != "" {
		dm.Body = proto.String(body)
	}
	var fileIDs []int64
	if len(opt.Files) > 0 {
		ptrs, err := c.uploadRoomFiles(ctx, cm, opt.Files)
		if err != nil {
			return 0, err
		}
		for _, p := range ptrs {
			fileIDs = append(fileIDs, int64(p.GetId()))
		}
		dm.Attachments = ptrs
	}
	if err := c.db.Update(ctx, func(tx *store.Tx) error { return c.decorate(ctx, tx, dm) }); err != nil {
		return 0, err
	}
	if opt.Quote != nil {
		q, err := c.fetchPost(ctx, cm, *opt.Quote)
		if err != nil {
			return 0, err
		}
		dm.Quote = &wire.DataMessage_Quote{Id: proto.Uint64(uint64(q.SentAt)), Author: proto.String(q.Author), Text: proto.String(q.Body)}
	}
	raw, err := proto.Marshal(&wire.Content{DataMessage: dm, SigTimestamp: proto.Uint64(uint64(sentAt))})
	if err != nil {
		return 0, err
	}
	data := sessionproto.Pad(raw)
	sig, err := c.signPost(cm, data)
	if err != nil {
		return 0, err
	}
	post := postRequest{
		Data:        base64.StdEncoding.EncodeToString(data),
		Signature:   base64.StdEncoding.EncodeToString(sig[:]),
		WhisperTo:   opt.WhisperTo,
		WhisperMods: opt.WhisperMods,
		Files:       fileIDs,
	}
	req, _ := json.Marshal(post)
	var m roomMessage
	if err := c.sogs(ctx, cm.Server, cm.PubKey, http.MethodPost, "/room/"+cm.Room+"/message", req, &m); err != nil {
		return 0, err
	}
	return m.ID, nil
}

// postRequest is the body of POST /room/<token>/message (spec §5.5).
type postRequest struct {
	Data        string  `json:"data"`
	Signature   string  `json:"signature"`
	WhisperTo   string  `json:"whisper_to,omitempty"`
	WhisperMods bool    `json:"whisper_mods,omitempty"`
	Files       []int64 `json:"files,omitempty"`
}

// signPost signs a post's data as the room's author: with the 15-blinded
// key, or in a room without blinding with XEdDSA by the X25519 key
// (session-protocol.md §5.5: desktop's curve25519-js sign; verified
// against the sign-0 Ed25519 form of the X25519 key, §10.11).
func (c *Client) signPost(cm *store.Community, data []byte) ([64]byte, error) {
	if !cm.Unblinded {
		return c.keys.Blind15Sign(cm.PubKey, data, identity.NonceSK64)
	}
	x := c.keys.X25519Private()
	defer clear(x[:])
	return identity.XEd25519Sign(&x, data, rand.Reader)
}

// roomMessage is an item of messages/since (spec §5.5).
type roomMessage struct {
	ID          int64           `json:"id"`
	SessionID   string          `json:"session_id"`
	Posted      float64         `json:"posted"`
	Seqno       int64           `json:"seqno"`
	Data        *string         `json:"data"`
	Signature   string          `json:"signature"`
	Deleted     bool            `json:"deleted"`
	Reactions   json.RawMessage `json:"reactions"`
	WhisperMods bool            `json:"whisper_mods"`
	WhisperTo   *string         `json:"whisper_to"`
}

// fetchPost is a post of the room from the store, or else the server.
func (c *Client) fetchPost(ctx context.Context, cm *store.Community, id int64) (*store.Post, error) {
	posts, err := c.db.Posts(ctx, cm.Server, cm.Room)
	if err != nil {
		return nil, err
	}
	for _, p := range posts {
		if p.ID == id {
			return p, nil
		}
	}
	var m roomMessage
	if err := c.sogs(ctx, cm.Server, cm.PubKey, http.MethodGet, "/room/"+cm.Room+"/message/"+strconv.FormatInt(id, 10), nil, &m); err != nil {
		return nil, err
	}
	p, ok := c.decodePost(cm, &m)
	if !ok || p.Deleted {
		return nil, ErrNoMessage
	}
	return p, nil
}

// decodePost checks a message's signature against its author and
// decodes its Content; ok is false for a message to drop (bad signature
// or not a post). A deleted message decodes as Deleted.
func (c *Client) decodePost(cm *store.Community, m *roomMessage) (p *store.Post, ok bool) {
	p = &store.Post{Server: cm.Server, Room: cm.Room, ID: m.ID, Author: m.SessionID, Posted: int64(m.Posted * 1000),
		Reactions: reactionCounts(m.Reactions), WhisperMods: m.WhisperMods}
	if m.WhisperTo != nil {
		p.WhisperTo = *m.WhisperTo
	}
	if m.Data == nil || m.Deleted {
		p.Deleted = true
		return p, true
	}
	data, err := base64.StdEncoding.DecodeString(*m.Data)
	if err != nil {
		return nil, false
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) != 64 || !verifyPost(m.SessionID, data, sig) {
		return nil, false
	}
	var content wire.Content
	if err := proto.Unmarshal(sessionproto.Unpad(data), &content); err != nil || content.DataMessage == nil {
		return nil, false
	}
	p.Body = content.DataMessage.GetBody()
	p.Name = content.DataMessage.GetProfile().GetDisplayName()
	p.SentAt = int64(content.GetSigTimestamp())
	if ts := content.DataMessage.GetTimestamp(); ts != 0 && ts <= math.MaxInt64 {
		p.SentAt = int64(ts)
	}
	if p.SentAt <= 0 {
		p.SentAt = p.Posted
	}
	if q := content.DataMessage.GetQuote(); q != nil && q.GetId() <= math.MaxInt64 {
		p.QuoteID = int64(q.GetId())
	}
	p.Files = roomFiles(content.DataMessage.GetAttachments())
	return p, true
}

// verifyPost checks a post's signature by the key its author shows: an
// Ed25519 signature by a blinded (15/25) key, or for an unblinded author
// (05 and the X25519 key, or 00 and the Ed25519 key as some servers
// may show it) an XEdDSA signature by the X25519 key, checked against
// its sign-0 Ed25519 form (session-protocol.md §5.5, §10.11).
func verifyPost(author string, data, sig []byte) bool {
	if id, err := key.ParseBlindedID(author); err == nil {
		pub := id.Key()
		return ed25519.Verify(pub[:], data, sig)
	}
	id, err := key.ParseSessionID(author)
	if err != nil {
		return false
	}
	x := key.BoxPublic(id.Key())
	switch id.Prefix() {
	case key.PrefixStandard:
	case key.PrefixUnblinded:
		if x, err = identity.Ed25519ToX25519(key.AccountPublic(id.Key())); err != nil {
			return false
		}
	default:
		return false
	}
	pub, err := identity.XEd25519Public(x)
	if err != nil {
		return false
	}
	return ed25519.Verify(pub[:], data, sig)
}

// reactionCounts reduces a message's reactions to {emoji: count} JSON.
func reactionCounts(raw json.RawMessage) string {
	var rs map[string]struct {
		Count int `json:"count"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &rs) != nil {
		return "{}"
	}
	out := map[string]int{}
	for e, r := range rs {
		if r.Count > 0 {
			out[e] = r.Count
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// ReadRoom polls the room once and returns its posts (not deleted),
// oldest first.
func (c *Client) ReadRoom(ctx context.Context, room string) ([]*store.Post, error) {
	cm, err := c.room(ctx, room)
	if err != nil {
		return nil, err
	}
	if err := c.pollServer(ctx, cm.Server, []*store.Community{cm}); err != nil {
		return nil, err
	}
	return c.db.Posts(ctx, cm.Server, cm.Room)
}

// communityPollInterval is how often Serve polls the joined rooms (Session
// polls a community every few seconds).
const communityPollInterval = 4 * time.Second

// communityLoop polls the joined rooms until ctx is done.
func (c *Client) communityLoop(ctx context.Context) {
	for sleep(ctx, max(c.cfg.PollInterval, communityPollInterval)) {
		if err := c.PollCommunities(ctx); err != nil && ctx.Err() == nil {
			c.log.Debug("community poll failed", "error", err)
		}
	}
}

// PollCommunities polls every joined room, one /batch per server.
func (c *Client) PollCommunities(ctx context.Context) error {
	list, err := c.db.Communities(ctx)
	if err != nil {
		return err
	}
	byServer := map[string][]*store.Community{}
	var order []string
	for _, cm := range list {
		if byServer[cm.Server] == nil {
			order = append(order, cm.Server)
		}
		byServer[cm.Server] = append(byServer[cm.Server], cm)
	}
	var errs []error
	for _, s := range order {
		if err := c.pollServer(ctx, s, byServer[s]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pollLimit is how many messages one messages/since returns at most.
const pollLimit = 256

// pollServer polls rooms of one server in one /batch: for each room its
// pollInfo and messages since its position (with reaction updates), and
// the user's blinded DM inbox (not on a server without blinding, whose
// inbox takes only blinded signers); and stores what came.
func (c *Client) pollServer(ctx context.Context, server string, rooms []*store.Community) error {
	type sub struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	}
	reqs := make([]sub, 0, 2*len(rooms))
	for _, cm := range rooms {
		reqs = append(reqs,
			sub{http.MethodGet, "/room/" + cm.Room + "/pollInfo/" + strconv.FormatInt(cm.Info, 10)},
			sub{http.MethodGet, "/room/" + cm.Room + "/messages/since/" + strconv.FormatInt(cm.Seqno, 10) + "?t=r&limit=" + strconv.Itoa(pollLimit)})
	}
	withInbox := !c.unblindedServer(ctx, server)
	if withInbox {
		inbox, err := c.inboxPath(ctx, server)
		if err != nil {
			return err
		}
		reqs = append(reqs, sub{http.MethodGet, inbox})
	}
	body, _ := json.Marshal(reqs)
	var resps []struct {
		Code int             `json:"code"`
		Body json.RawMessage `json:"body"`
	}
	if err := c.sogs(ctx, server, rooms[0].PubKey, http.MethodPost, "/batch", body, &resps); err != nil {
		return err
	}
	if len(resps) != len(reqs) {
		return fmt.Errorf("client: community: batch of %d answered with %d", len(reqs), len(resps))
	}
	var errs []error
	if withInbox {
		in := resps[len(resps)-1]
		if err := c.ingestInbox(ctx, rooms[0], in.Code, in.Body); err != nil {
			errs = append(errs, err)
		}
	}
	for i, cm := range rooms {
		info, msgs := resps[2*i], resps[2*i+1]
		if info.Code != http.StatusOK {
			errs = append(errs, &CommunityError{Op: "pollInfo " + cm.Room, Status: info.Code, Body: string(info.Body)})
			continue
		}
		if msgs.Code != http.StatusOK {
			errs = append(errs, &CommunityError{Op: "messages " + cm.Room, Status: msgs.Code, Body: string(msgs.Body)})
			continue
		}
		var pi struct {
			Details *RoomInfo `json:"details"`
		}
		if err := json.Unmarshal(info.Body, &pi); err != nil {
			errs = append(errs, fmt.Errorf("client: community: pollInfo %s: %w", cm.Room, err))
			continue
		}
		if d := pi.Details; d != nil {
			if err := c.db.SetCommunityInfo(ctx, cm.Server, cm.Room, d.Name, d.InfoUpdates); err != nil {
				errs = append(errs, err)
			}
		}
		var list []roomMessage
		if err := json.Unmarshal(msgs.Body, &list); err != nil {
			errs = append(errs, fmt.Errorf("client: community: messages %s: %w", cm.Room, err))
			continue
		}
		if err := c.storePosts(ctx, cm, list); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// storePosts stores a messages/since answer and moves the position.
func (c *Client) storePosts(ctx context.Context, cm *store.Community, list []roomMessage) error {
	if len(list) == 0 {
		return nil
	}
	return c.db.Update(ctx, func(tx *store.Tx) error {
		seq := cm.Seqno
		for i := range list {
			m := &list[i]
			seq = max(seq, m.Seqno)
			if m.SessionID == "" && !m.Deleted && m.Data == nil { // reaction-only update
				if err := tx.SetPostReactions(ctx, cm.Server, cm.Room, m.ID, reactionCounts(m.Reactions)); err != nil {
					return err
				}
				continue
			}
			p, ok := c.decodePost(cm, m)
			if !ok {
				c.log.Debug("community post dropped", "room", cm.Room, "id", m.ID)
				continue
			}
			if err := tx.SavePost(ctx, p); err != nil {
				return err
			}
		}
		cm.Seqno = seq
		return tx.SetCommunitySeqno(ctx, cm.Server, cm.Room, seq)
	})
}

// React adds (or with add false removes) the user's emoji reaction to a
// post of the room.
func (c *Client) ReactInRoom(ctx context.Context, room string, id int64, emoji string, add bool) error {
	cm, err := c.room(ctx, room)
	if err != nil {
		return err
	}
	if emoji == "" || len(emoji) > 12 {
		return errors.New("client: reaction must be one emoji")
	}
	method := http.MethodPut
	if !add {
		method = http.MethodDelete
	}
	return c.sogs(ctx, cm.Server, cm.PubKey, method, "/room/"+cm.Room+"/reaction/"+strconv.FormatInt(id, 10)+"/"+url.PathEscape(emoji), nil, nil)
}

// DeletePost deletes a post of the room: the user's own, or anyone's for
// a moderator.
func (c *Client) DeletePost(ctx context.Context, room string, id int64) error {
	cm, err := c.room(ctx, room)
	if err != nil {
		return err
	}
	return c.sogs(ctx, cm.Server, cm.PubKey, http.MethodDelete, "/room/"+cm.Room+"/message/"+strconv.FormatInt(id, 10), nil, nil)
}

// UnbanFromRoom lifts a ban of user from the room (moderators).
func (c *Client) UnbanFromRoom(ctx context.Context, room, user string) error {
	cm, err := c.room(ctx, room)
	if err != nil {
		return err
	}
	if err := checkUserID(user); err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"rooms": []string{cm.Room}})
	return c.sogs(ctx, cm.Server, cm.PubKey, http.MethodPost, "/user/"+user+"/unban", body, nil)
}

// checkUserID checks an ID as a room shows its users (15, 25 or 05).
func checkUserID(user string) error {
	if _, err := key.ParseBlindedID(user); err == nil {
		return nil
	}
	if _, err := key.ParseSessionID(user); err == nil {
		return nil
	}
	return fmt.Errorf("client: %q is not an account ID", user)
}

// BanFromRoom bans user (an ID as the room shows it) from the room, a
// moderator action; with deleteAll its posts in the room are deleted too.
func (c *Client) BanFromRoom(ctx context.Context, room, user string, deleteAll bool) error {
	cm, err := c.room(ctx, room)
	if err != nil {
		return err
	}
	if err := checkUserID(user); err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"rooms": []string{cm.Room}})
	if err := c.sogs(ctx, cm.Server, cm.PubKey, http.MethodPost, "/user/"+user+"/ban", body, nil); err != nil {
		return err
	}
	if deleteAll {
		return c.sogs(ctx, cm.Server, cm.PubKey, http.MethodDelete, "/room/"+cm.Room+"/all/"+user, nil, nil)
	}
	return nil
}

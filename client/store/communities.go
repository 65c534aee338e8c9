package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Community is a community room the user joined.
type Community struct {
	Server   string // base URL, no trailing slash
	Room     string // room token
	PubKey   [32]byte
	Name     string
	Seqno    int64 // the messages/since position
	Info     int64 // the room's info_updates last seen (pollInfo)
	JoinedAt int64 // ms
	// Unblinded is a room of a server without blinding ("blind" not in
	// its capabilities): the client signs with its own key there.
	Unblinded bool
}

// Post is a room's message as read from the server.
type Post struct {
	Server, Room string
	ID           int64
	Author       string // the ID the room shows (15, 25 or 05)
	Name         string // the author's display name, from the post
	Posted       int64  // ms, the server's time
	SentAt       int64  // ms, the post's own timestamp, which quotes name
	Body         string
	QuoteID      int64  // sent-at of the quoted post, 0 if none
	Reactions    string // JSON {emoji: count}
	Deleted      bool
	Files        []RoomFile // files of the room attached to the post
	WhisperTo    string     // a whisper to this ID (as the room shows it)
	WhisperMods  bool       // a whisper to the room's moderators
}

// RoomFile is a file a post points at, kept by the room's server (not
// encrypted, as Session posts them).
type RoomFile struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	Name        string `json:"name,omitempty"`
	ContentType string `json:"type,omitempty"`
	Size        int64  `json:"size"`
}

const communityColumns = `server, room, pubkey, name, seqno, info, joined_at, unblinded`

func scanCommunity(r rowScanner) (*Community, error) {
	var c Community
	var pk []byte
	if err := r.Scan(&c.Server, &c.Room, &pk, &c.Name, &c.Seqno, &c.Info, &c.JoinedAt, &c.Unblinded); err != nil {
		return nil, err
	}
	if len(pk) != 32 {
		return nil, fmt.Errorf("store: community %s/%s: key of %d bytes", c.Server, c.Room, len(pk))
	}
	c.PubKey = [32]byte(pk)
	return &c, nil
}

// SaveCommunity inserts c, or updates its key, name and signing mode
// (keeping the poll position).
func (o ops) SaveCommunity(ctx context.Context, c *Community) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO communities (`+communityColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (server, room) DO UPDATE SET pubkey = excluded.pubkey, name = excluded.name, unblinded = excluded.unblinded`,
		c.Server, c.Room, c.PubKey[:], c.Name, c.Seqno, c.Info, c.JoinedAt, c.Unblinded)
	if err != nil {
		return fmt.Errorf("store: save community: %w", err)
	}
	return nil
}

// SetCommunitySeqno moves a room's poll position forward (never back, as
// two polls may overlap).
func (o ops) SetCommunitySeqno(ctx context.Context, server, room string, seqno int64) error {
	if _, err := o.q.ExecContext(ctx, `UPDATE communities SET seqno = max(seqno, ?) WHERE server = ? AND room = ?`, seqno, server, room); err != nil {
		return fmt.Errorf("store: community position: %w", err)
	}
	return nil
}

// SetCommunityInfo records a room's name and info_updates from its
// pollInfo details.
func (o ops) SetCommunityInfo(ctx context.Context, server, room, name string, info int64) error {
	if _, err := o.q.ExecContext(ctx, `UPDATE communities SET name = ?, info = ? WHERE server = ? AND room = ?`, name, info, server, room); err != nil {
		return fmt.Errorf("store: community info: %w", err)
	}
	return nil
}

// Community returns the joined room, or ErrNotFound.
func (o ops) Community(ctx context.Context, server, room string) (*Community, error) {
	c, err := scanCommunity(o.q.QueryRowContext(ctx, `SELECT `+communityColumns+` FROM communities WHERE server = ? AND room = ?`, server, room))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: community: %w", err)
	}
	return c, nil
}

// Communities lists the joined rooms by server and token.
func (o ops) Communities(ctx context.Context) ([]*Community, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+communityColumns+` FROM communities ORDER BY server, room`)
	if err != nil {
		return nil, fmt.Errorf("store: communities: %w", err)
	}
	defer rows.Close()
	var out []*Community
	for rows.Next() {
		c, err := scanCommunity(rows)
		if err != nil {
			return nil, fmt.Errorf("store: communities: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCommunity forgets a room and its posts.
func (o ops) DeleteCommunity(ctx context.Context, server, room string) error {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM community_posts WHERE server = ? AND room = ?`, server, room); err != nil {
		return fmt.Errorf("store: leave community: %w", err)
	}
	if _, err := o.q.ExecContext(ctx, `DELETE FROM communities WHERE server = ? AND room = ?`, server, room); err != nil {
		return fmt.Errorf("store: leave community: %w", err)
	}
	return nil
}

// SavePost inserts or replaces a room's post.
func (o ops) SavePost(ctx context.Context, p *Post) error {
	reactions := p.Reactions
	if reactions == "" {
		reactions = "{}"
	}
	files := []byte("[]")
	if len(p.Files) > 0 {
		var err error
		if files, err = json.Marshal(p.Files); err != nil {
			return fmt.Errorf("store: save post: %w", err)
		}
	}
	_, err := o.q.ExecContext(ctx, `INSERT INTO community_posts (server, room, id, author, name, posted, sent_at, body, quote_id, reactions, deleted,
			files, whisper_to, whisper_mods)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (server, room, id) DO UPDATE SET author = excluded.author, name = excluded.name, posted = excluded.posted,
			sent_at = excluded.sent_at,
			body = excluded.body, quote_id = excluded.quote_id, reactions = excluded.reactions, deleted = excluded.deleted,
			files = excluded.files, whisper_to = excluded.whisper_to, whisper_mods = excluded.whisper_mods`,
		p.Server, p.Room, p.ID, p.Author, p.Name, p.Posted, p.SentAt, p.Body, p.QuoteID, reactions, p.Deleted,
		string(files), p.WhisperTo, p.WhisperMods)
	if err != nil {
		return fmt.Errorf("store: save post: %w", err)
	}
	return nil
}

// SetPostReactions replaces a post's reactions (a reaction-only update).
func (o ops) SetPostReactions(ctx context.Context, server, room string, id int64, reactions string) error {
	_, err := o.q.ExecContext(ctx, `UPDATE community_posts SET reactions = ? WHERE server = ? AND room = ? AND id = ?`, reactions, server, room, id)
	if err != nil {
		return fmt.Errorf("store: post reactions: %w", err)
	}
	return nil
}

// Posts lists a room's posts that are not deleted, oldest first.
func (o ops) Posts(ctx context.Context, server, room string) ([]*Post, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT server, room, id, author, name, posted, sent_at, body, quote_id, reactions, deleted,
			files, whisper_to, whisper_mods
		FROM community_posts WHERE server = ? AND room = ? AND deleted = 0 ORDER BY id`, server, room)
	if err != nil {
		return nil, fmt.Errorf("store: posts: %w", err)
	}
	defer rows.Close()
	var out []*Post
	for rows.Next() {
		var p Post
		var files string
		if err := rows.Scan(&p.Server, &p.Room, &p.ID, &p.Author, &p.Name, &p.Posted, &p.SentAt, &p.Body, &p.QuoteID, &p.Reactions, &p.Deleted,
			&files, &p.WhisperTo, &p.WhisperMods); err != nil {
			return nil, fmt.Errorf("store: posts: %w", err)
		}
		if err := json.Unmarshal([]byte(files), &p.Files); err != nil {
			return nil, fmt.Errorf("store: post %d files: %w", p.ID, err)
		}
		out = append(out, &p)
	}
	return out, rows.Err()
}

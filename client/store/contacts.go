package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"sotto.dev/key"
)

// Contact is what we know about another account.
type Contact struct {
	SessionID   key.SessionID
	DisplayName string // from their profile; may be empty
	Approved    bool   // we accepted them (or wrote to them first)
	ApprovedMe  bool   // they accepted us (or wrote to us)
	Blocked     bool
	CreatedAt   int64
	UpdatedAt   int64
	// Nickname is the name we gave them (synced across our devices).
	Nickname string
	// PicURL and PicKey are their profile picture, when known.
	PicURL string
	PicKey []byte
	// Priority orders the conversation: > 0 pinned (higher first), 0
	// normal, -1 hidden.
	Priority int64
}

// Name is the name to show: the nickname, else the display name.
func (c *Contact) Name() string {
	if c.Nickname != "" {
		return c.Nickname
	}
	return c.DisplayName
}

const contactColumns = `session_id, display_name, approved, approved_me, blocked, created_at, updated_at, nickname, pic_url, pic_key, priority`

func scanContact(r rowScanner) (*Contact, error) {
	var c Contact
	var id string
	var approved, approvedMe, blocked int
	if err := r.Scan(&id, &c.DisplayName, &approved, &approvedMe, &blocked, &c.CreatedAt, &c.UpdatedAt,
		&c.Nickname, &c.PicURL, &c.PicKey, &c.Priority); err != nil {
		return nil, err
	}
	var err error
	if c.SessionID, err = parseID(id); err != nil {
		return nil, err
	}
	c.Approved, c.ApprovedMe, c.Blocked = approved != 0, approvedMe != 0, blocked != 0
	return &c, nil
}

// Contact returns the contact id, or ErrNotFound.
func (o ops) Contact(ctx context.Context, id key.SessionID) (*Contact, error) {
	c, err := scanContact(o.q.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE session_id = ?`, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: contact: %w", err)
	}
	return c, nil
}

// Contacts returns every contact that is approved, blocked or named,
// ordered by display name and ID.
func (o ops) Contacts(ctx context.Context) ([]*Contact, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE approved = 1 OR blocked = 1 OR display_name != '' OR nickname != ''
		ORDER BY display_name = '', display_name, session_id`)
	if err != nil {
		return nil, fmt.Errorf("store: contacts: %w", err)
	}
	defer rows.Close()
	var out []*Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("store: contacts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: contacts: %w", err)
	}
	return out, nil
}

// contactField updates one column of a contact, creating the row if needed.
func (o ops) contactField(ctx context.Context, id key.SessionID, column string, value any, now int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO contacts (session_id, `+column+`, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (session_id) DO UPDATE SET `+column+` = excluded.`+column+`, updated_at = excluded.updated_at`,
		id.String(), value, now, now)
	if err != nil {
		return fmt.Errorf("store: update contact %s: %w", column, err)
	}
	return nil
}

// SetApproved records whether we accept messages from id.
func (o ops) SetApproved(ctx context.Context, id key.SessionID, v bool, now int64) error {
	return o.contactField(ctx, id, "approved", boolInt(v), now)
}

// SetApprovedMe records whether id accepted our messages.
func (o ops) SetApprovedMe(ctx context.Context, id key.SessionID, v bool, now int64) error {
	return o.contactField(ctx, id, "approved_me", boolInt(v), now)
}

// SetBlocked blocks or unblocks id.
func (o ops) SetBlocked(ctx context.Context, id key.SessionID, v bool, now int64) error {
	return o.contactField(ctx, id, "blocked", boolInt(v), now)
}

// SetDisplayName records id's display name.
func (o ops) SetDisplayName(ctx context.Context, id key.SessionID, name string, now int64) error {
	return o.contactField(ctx, id, "display_name", name, now)
}

// SetNickname records the name we gave id ("" for none).
func (o ops) SetNickname(ctx context.Context, id key.SessionID, name string, now int64) error {
	return o.contactField(ctx, id, "nickname", name, now)
}

// SetPriority records id's conversation priority (> 0 pinned, -1 hidden).
func (o ops) SetPriority(ctx context.Context, id key.SessionID, p int64, now int64) error {
	return o.contactField(ctx, id, "priority", p, now)
}

// SetContactPicture records id's profile picture (url and 32-byte key;
// both empty for none).
func (o ops) SetContactPicture(ctx context.Context, id key.SessionID, url string, picKey []byte, now int64) error {
	if err := o.contactField(ctx, id, "pic_url", url, now); err != nil {
		return err
	}
	if picKey == nil {
		picKey = []byte{}
	}
	return o.contactField(ctx, id, "pic_key", picKey, now)
}

// Conversation is a one-to-one conversation's settings.
type Conversation struct {
	Peer         key.SessionID
	CreatedAt    int64
	LastActivity int64
	ExpiryMode   ExpiryMode
	ExpiryTimer  uint32 // seconds
	// ReadUpTo: incoming messages sent at or before it (ms) are read, here
	// or on another of our devices.
	ReadUpTo int64
}

// EnsureConversation creates the conversation with peer if it does not
// exist and moves its last activity to at (if later).
func (o ops) EnsureConversation(ctx context.Context, peer key.SessionID, at int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO conversations (id, created_at, last_activity) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET last_activity = max(last_activity, excluded.last_activity)`, peer.String(), at, at)
	if err != nil {
		return fmt.Errorf("store: conversation: %w", err)
	}
	return nil
}

// Conversation returns the conversation with peer, or ErrNotFound.
func (o ops) Conversation(ctx context.Context, peer key.SessionID) (*Conversation, error) {
	var c Conversation
	var mode int8
	err := o.q.QueryRowContext(ctx, `SELECT created_at, last_activity, expiry_mode, expiry_timer, read_up_to FROM conversations WHERE id = ?`,
		peer.String()).Scan(&c.CreatedAt, &c.LastActivity, &mode, &c.ExpiryTimer, &c.ReadUpTo)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: conversation: %w", err)
	}
	c.Peer, c.ExpiryMode = peer, ExpiryMode(mode)
	return &c, nil
}

// SetDisappearing sets the conversation's disappearing-messages mode and
// timer (seconds), creating the conversation if needed.
func (o ops) SetDisappearing(ctx context.Context, peer key.SessionID, mode ExpiryMode, timer uint32, now int64) error {
	if mode == ExpiryOff {
		timer = 0
	}
	_, err := o.q.ExecContext(ctx, `INSERT INTO conversations (id, created_at, last_activity, expiry_mode, expiry_timer)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET expiry_mode = excluded.expiry_mode, expiry_timer = excluded.expiry_timer`,
		peer.String(), now, now, int8(mode), timer)
	if err != nil {
		return fmt.Errorf("store: set disappearing: %w", err)
	}
	return nil
}

// SetReadUpTo moves the read position of the conversation with peer, if
// it exists, to upTo (ms) when that is later.
func (o ops) SetReadUpTo(ctx context.Context, peer key.SessionID, upTo int64) error {
	_, err := o.q.ExecContext(ctx, `UPDATE conversations SET read_up_to = max(read_up_to, ?) WHERE id = ?`, upTo, peer.String())
	if err != nil {
		return fmt.Errorf("store: set read position: %w", err)
	}
	return nil
}

// DeleteConversation removes the conversation with peer and its messages.
func (o ops) DeleteConversation(ctx context.Context, peer key.SessionID) error {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM messages WHERE conversation = ?`, peer.String()); err != nil {
		return fmt.Errorf("store: delete conversation: %w", err)
	}
	if _, err := o.q.ExecContext(ctx, `DELETE FROM conversations WHERE id = ?`, peer.String()); err != nil {
		return fmt.Errorf("store: delete conversation: %w", err)
	}
	return nil
}

// Summary is one line of the inbox or of the requests list.
type Summary struct {
	Peer         key.SessionID
	DisplayName  string // the nickname we gave them, else their display name; a group's name
	LastActivity int64
	Messages     int
	Unread       int
	Last         *Message // the latest message, nil if none
	ExpiryMode   ExpiryMode
	ExpiryTimer  uint32
	Priority     int64 // > 0 pinned; hidden conversations are not listed
}

// Inbox lists the conversations with accepted, unblocked peers (and Note to
// Self), pinned ones first (highest priority first), then most recent
// first. Hidden conversations (priority < 0) are left out.
func (o ops) Inbox(ctx context.Context) ([]*Summary, error) {
	return o.summaries(ctx, `SELECT c.id FROM conversations c LEFT JOIN contacts k ON k.session_id = c.id
		WHERE c.id NOT IN (SELECT session_id FROM requests) AND COALESCE(k.blocked, 0) = 0 AND COALESCE(k.priority, 0) >= 0
		ORDER BY COALESCE(k.priority, 0) DESC, c.last_activity DESC, c.id`)
}

// Requests lists the senders waiting in message requests, most recent
// first.
func (o ops) Requests(ctx context.Context) ([]*Summary, error) {
	return o.summaries(ctx, `SELECT r.session_id FROM requests r LEFT JOIN contacts k ON k.session_id = r.session_id
		WHERE COALESCE(k.blocked, 0) = 0 ORDER BY r.last_seen DESC, r.session_id`)
}

func (o ops) summaries(ctx context.Context, idQuery string) ([]*Summary, error) {
	rows, err := o.q.QueryContext(ctx, idQuery)
	if err != nil {
		return nil, fmt.Errorf("store: list conversations: %w", err)
	}
	var ids []key.SessionID
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list conversations: %w", err)
		}
		id, err := parseID(s)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("store: list conversations: %w", err)
	}
	out := make([]*Summary, 0, len(ids))
	for _, id := range ids {
		s, err := o.summary(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (o ops) summary(ctx context.Context, peer key.SessionID) (*Summary, error) {
	s := &Summary{Peer: peer}
	var mode int8
	err := o.q.QueryRowContext(ctx, `SELECT
			COALESCE((SELECT last_activity FROM conversations WHERE id = ?1), 0),
			COALESCE((SELECT expiry_mode FROM conversations WHERE id = ?1), 0),
			COALESCE((SELECT expiry_timer FROM conversations WHERE id = ?1), 0),
			COALESCE((SELECT CASE WHEN nickname != '' THEN nickname ELSE display_name END FROM contacts WHERE session_id = ?1),
				(SELECT name FROM groups WHERE id = ?1), ''),
			COALESCE((SELECT priority FROM contacts WHERE session_id = ?1), 0),
			(SELECT count(*) FROM messages WHERE conversation = ?1),
			(SELECT count(*) FROM messages WHERE conversation = ?1 AND direction = 0 AND read_at = 0 AND unsent = 0)`,
		peer.String()).Scan(&s.LastActivity, &mode, &s.ExpiryTimer, &s.DisplayName, &s.Priority, &s.Messages, &s.Unread)
	if err != nil {
		return nil, fmt.Errorf("store: conversation summary: %w", err)
	}
	s.ExpiryMode = ExpiryMode(mode)
	last, err := o.History(ctx, peer, 1)
	if err != nil {
		return nil, err
	}
	if len(last) == 1 {
		s.Last = last[0]
	}
	return s, nil
}

// AddRequest puts id in the message requests (or refreshes its last_seen).
func (o ops) AddRequest(ctx context.Context, id key.SessionID, at int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO requests (session_id, first_seen, last_seen) VALUES (?, ?, ?)
		ON CONFLICT (session_id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`, id.String(), at, at)
	if err != nil {
		return fmt.Errorf("store: add request: %w", err)
	}
	return nil
}

// RemoveRequest takes id out of the message requests; it reports whether
// id was there.
func (o ops) RemoveRequest(ctx context.Context, id key.SessionID) (bool, error) {
	res, err := o.q.ExecContext(ctx, `DELETE FROM requests WHERE session_id = ?`, id.String())
	if err != nil {
		return false, fmt.Errorf("store: remove request: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: remove request: %w", err)
	}
	return n > 0, nil
}

// IsRequest reports whether id is waiting in the message requests.
func (o ops) IsRequest(ctx context.Context, id key.SessionID) (bool, error) {
	var n int
	if err := o.q.QueryRowContext(ctx, `SELECT count(*) FROM requests WHERE session_id = ?`, id.String()).Scan(&n); err != nil {
		return false, fmt.Errorf("store: is request: %w", err)
	}
	return n > 0, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"sotto.dev/key"
)

// Direction says who wrote a message.
type Direction int8

// Directions.
const (
	Incoming Direction = 0
	Outgoing Direction = 1
)

func (d Direction) String() string {
	if d == Outgoing {
		return "out"
	}
	return "in"
}

// State is a message's delivery state. Outgoing messages move from
// StateSending to StateSent (stored in the recipient's swarm), StateDelivered
// (the recipient's client fetched it) and StateRead (the recipient read it),
// or to StateFailed when every attempt to store it failed. Incoming messages
// are StateReceived.
type State int8

// Delivery states.
const (
	StateSending   State = 1
	StateSent      State = 2
	StateDelivered State = 3
	StateRead      State = 4
	StateFailed    State = 5
	StateReceived  State = 6
)

var stateNames = map[State]string{
	StateSending: "sending", StateSent: "sent", StateDelivered: "delivered",
	StateRead: "read", StateFailed: "failed", StateReceived: "received",
}

// String returns the state's name ("sending", "sent", ...).
func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("state(%d)", int8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ExpiryMode is a disappearing-messages mode; the values are those of
// SessionProtos Content.ExpirationType (session-protocol.md §2.4).
type ExpiryMode int8

// Disappearing-message modes.
const (
	ExpiryOff       ExpiryMode = 0
	ExpiryAfterRead ExpiryMode = 1
	ExpiryAfterSend ExpiryMode = 2
)

// String returns "off", "after-read" or "after-send".
func (m ExpiryMode) String() string {
	switch m {
	case ExpiryAfterRead:
		return "after-read"
	case ExpiryAfterSend:
		return "after-send"
	}
	return "off"
}

// MarshalText implements encoding.TextMarshaler.
func (m ExpiryMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Ref names a message the way Session does: its author and its sent
// timestamp (Quote.id, Reaction.id, UnsendRequest.timestamp).
type Ref struct {
	Author key.SessionID
	SentAt int64
}

// Reaction is one emoji reaction on a message.
type Reaction struct {
	Reactor key.SessionID
	Emoji   string
	At      int64
}

// Message is a stored message.
type Message struct {
	ID           int64
	Conversation key.SessionID // the peer (our own ID for Note to Self)
	Author       key.SessionID
	Direction    Direction
	SentAt       int64 // envelope timestamp, ms
	ReceivedAt   int64
	ServerHash   string // hash in the swarm it was stored to or retrieved from
	SyncHash     string // outgoing: hash of the copy in our own swarm
	Body         string
	State        State
	ExpiryMode   ExpiryMode
	ExpiryTimer  uint32 // seconds
	ExpiresAt    int64  // 0 while not scheduled
	ReadAt       int64  // incoming: when we read it; outgoing: when the peer did
	Quote        *Ref
	Unsent       bool
	Reactions    []Reaction
}

// Ref returns the message's Session reference.
func (m *Message) Ref() Ref { return Ref{Author: m.Author, SentAt: m.SentAt} }

const messageColumns = `id, conversation, author, direction, sent_at, received_at, server_hash, sync_hash,
	body, state, expiry_mode, expiry_timer, expires_at, read_at, quote_ts, quote_author, unsent`

type rowScanner interface{ Scan(dest ...any) error }

func scanMessage(r rowScanner) (*Message, error) {
	var (
		m                 Message
		conv, author, qa  string
		qts               int64
		unsent            int
		dir, state, emode int8
	)
	err := r.Scan(&m.ID, &conv, &author, &dir, &m.SentAt, &m.ReceivedAt, &m.ServerHash, &m.SyncHash,
		&m.Body, &state, &emode, &m.ExpiryTimer, &m.ExpiresAt, &m.ReadAt, &qts, &qa, &unsent)
	if err != nil {
		return nil, err
	}
	m.Direction, m.State, m.ExpiryMode, m.Unsent = Direction(dir), State(state), ExpiryMode(emode), unsent != 0
	if m.Conversation, err = parseID(conv); err != nil {
		return nil, err
	}
	if m.Author, err = parseID(author); err != nil {
		return nil, err
	}
	if qts != 0 {
		qid, err := parseID(qa)
		if err != nil {
			return nil, err
		}
		m.Quote = &Ref{Author: qid, SentAt: qts}
	}
	return &m, nil
}

// parseID reads a Session ID this package wrote.
func parseID(s string) (key.SessionID, error) {
	id, err := key.ParseSessionID(s)
	if err != nil {
		return key.SessionID{}, fmt.Errorf("store: corrupt session ID in database: %w", err)
	}
	return id, nil
}

// InsertMessage stores m unless a message with the same conversation,
// author and sent timestamp exists. It returns the row id (of the existing
// message when there was one) and whether m was inserted; m.ID is set.
func (o ops) InsertMessage(ctx context.Context, m *Message) (id int64, inserted bool, err error) {
	var qts int64
	var qa string
	if m.Quote != nil {
		qts, qa = m.Quote.SentAt, m.Quote.Author.String()
	}
	res, err := o.q.ExecContext(ctx, `INSERT INTO messages (conversation, author, direction, sent_at, received_at,
		server_hash, sync_hash, body, state, expiry_mode, expiry_timer, expires_at, read_at, quote_ts, quote_author, unsent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conversation, author, sent_at) DO NOTHING`,
		m.Conversation.String(), m.Author.String(), int8(m.Direction), m.SentAt, m.ReceivedAt,
		m.ServerHash, m.SyncHash, m.Body, int8(m.State), int8(m.ExpiryMode), m.ExpiryTimer, m.ExpiresAt,
		m.ReadAt, qts, qa, boolInt(m.Unsent))
	if err != nil {
		return 0, false, fmt.Errorf("store: insert message: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, false, fmt.Errorf("store: insert message: %w", err)
	}
	if n == 1 {
		id, err = res.LastInsertId()
		if err != nil {
			return 0, false, fmt.Errorf("store: insert message: %w", err)
		}
		m.ID = id
		return id, true, nil
	}
	err = o.q.QueryRowContext(ctx, `SELECT id FROM messages WHERE conversation = ? AND author = ? AND sent_at = ?`,
		m.Conversation.String(), m.Author.String(), m.SentAt).Scan(&id)
	if err != nil {
		return 0, false, fmt.Errorf("store: find existing message: %w", err)
	}
	m.ID = id
	return id, false, nil
}

// Message returns the message with row id id, with its reactions.
func (o ops) Message(ctx context.Context, id int64) (*Message, error) {
	m, err := scanMessage(o.q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: message: %w", err)
	}
	return m, o.loadReactions(ctx, []*Message{m})
}

// FindMessage returns the message of conversation conv named by ref.
func (o ops) FindMessage(ctx context.Context, conv key.SessionID, ref Ref) (*Message, error) {
	m, err := scanMessage(o.q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE conversation = ? AND author = ? AND sent_at = ?`, conv.String(), ref.Author.String(), ref.SentAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: find message: %w", err)
	}
	return m, o.loadReactions(ctx, []*Message{m})
}

// FindByAuthor returns a message written by author at sentAt in any
// conversation (an unsend names no conversation), or ErrNotFound.
func (o ops) FindByAuthor(ctx context.Context, ref Ref) (*Message, error) {
	m, err := scanMessage(o.q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE author = ? AND sent_at = ? ORDER BY id LIMIT 1`, ref.Author.String(), ref.SentAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: find message: %w", err)
	}
	return m, o.loadReactions(ctx, []*Message{m})
}

// History returns the last limit messages of conversation conv (all of them
// when limit <= 0), oldest first. The order is the same on every device:
// by sent timestamp, then by author (two authors may send in the same
// millisecond), then by arrival.
func (o ops) History(ctx context.Context, conv key.SessionID, limit int) ([]*Message, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := o.q.QueryContext(ctx, `SELECT `+messageColumns+` FROM (
		SELECT * FROM messages WHERE conversation = ? ORDER BY sent_at DESC, author DESC, id DESC LIMIT ?
	) ORDER BY sent_at, author, id`, conv.String(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	msgs, err := collectMessages(rows)
	if err != nil {
		return nil, err
	}
	return msgs, o.loadReactions(ctx, msgs)
}

// MessagesBySent returns the messages of conv written by author with the
// given sent timestamps (the targets of a receipt).
func (o ops) MessagesBySent(ctx context.Context, conv, author key.SessionID, sentAt []int64) ([]*Message, error) {
	if len(sentAt) == 0 {
		return nil, nil
	}
	args := []any{conv.String(), author.String()}
	for _, t := range sentAt {
		args = append(args, t)
	}
	rows, err := o.q.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE conversation = ? AND author = ? AND sent_at IN (`+placeholders(len(sentAt))+`) ORDER BY sent_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: messages by timestamp: %w", err)
	}
	return collectMessages(rows)
}

func collectMessages(rows *sql.Rows) ([]*Message, error) {
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: read message: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read messages: %w", err)
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func (o ops) loadReactions(ctx context.Context, msgs []*Message) error {
	if len(msgs) == 0 {
		return nil
	}
	byID := make(map[int64]*Message, len(msgs))
	args := make([]any, 0, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
		args = append(args, m.ID)
	}
	// SQLite allows 32766 parameters; histories larger than that are
	// loaded in chunks.
	const chunk = 500
	for len(args) > 0 {
		n := min(chunk, len(args))
		part := args[:n]
		args = args[n:]
		rows, err := o.q.QueryContext(ctx, `SELECT message_id, reactor, emoji, at FROM reactions
			WHERE message_id IN (`+placeholders(len(part))+`) ORDER BY at, reactor, emoji`, part...)
		if err != nil {
			return fmt.Errorf("store: reactions: %w", err)
		}
		for rows.Next() {
			var id, at int64
			var reactor, emoji string
			if err := rows.Scan(&id, &reactor, &emoji, &at); err != nil {
				rows.Close()
				return fmt.Errorf("store: reactions: %w", err)
			}
			rid, err := parseID(reactor)
			if err != nil {
				rows.Close()
				return err
			}
			m := byID[id]
			m.Reactions = append(m.Reactions, Reaction{Reactor: rid, Emoji: emoji, At: at})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("store: reactions: %w", err)
		}
	}
	return nil
}

// SetState sets message id's delivery state.
func (o ops) SetState(ctx context.Context, id int64, st State) error {
	return o.exec1(ctx, "set state", `UPDATE messages SET state = ? WHERE id = ?`, int8(st), id)
}

// SetSent records that outgoing message id was stored in the recipient's
// swarm under hash: its state becomes sent unless it already moved on.
func (o ops) SetSent(ctx context.Context, id int64, hash string) error {
	return o.exec1(ctx, "set sent", `UPDATE messages SET server_hash = ?,
		state = CASE WHEN state IN (?, ?) THEN ? ELSE state END WHERE id = ?`,
		hash, int8(StateSending), int8(StateFailed), int8(StateSent), id)
}

// SetSyncHash records the hash of outgoing message id's copy in our own swarm.
func (o ops) SetSyncHash(ctx context.Context, id int64, hash string) error {
	return o.exec1(ctx, "set sync hash", `UPDATE messages SET sync_hash = ? WHERE id = ?`, hash, id)
}

// SetServerHash records the swarm hash of message id.
func (o ops) SetServerHash(ctx context.Context, id int64, hash string) error {
	return o.exec1(ctx, "set server hash", `UPDATE messages SET server_hash = ? WHERE id = ?`, hash, id)
}

// SetExpiresAt schedules the deletion of message id (0 cancels it).
func (o ops) SetExpiresAt(ctx context.Context, id int64, at int64) error {
	return o.exec1(ctx, "set expiry", `UPDATE messages SET expires_at = ? WHERE id = ?`, at, id)
}

// AdvanceOutgoing moves our messages in conv with the given sent timestamps
// to state to (StateDelivered or StateRead) when they are not already
// there or beyond, and returns the messages that changed. For StateRead,
// readAt is recorded.
func (o ops) AdvanceOutgoing(ctx context.Context, conv, self key.SessionID, sentAt []int64, to State, readAt int64) ([]*Message, error) {
	msgs, err := o.MessagesBySent(ctx, conv, self, sentAt)
	if err != nil {
		return nil, err
	}
	var changed []*Message
	for _, m := range msgs {
		if m.Direction != Outgoing || m.State == StateFailed || m.State == StateRead || (to == StateDelivered && m.State == StateDelivered) {
			continue
		}
		m.State = to
		if to == StateRead {
			m.ReadAt = readAt
		}
		if err := o.exec1(ctx, "advance state", `UPDATE messages SET state = ?, read_at = ? WHERE id = ?`, int8(m.State), m.ReadAt, m.ID); err != nil {
			return nil, err
		}
		changed = append(changed, m)
	}
	return changed, nil
}

// MarkRead marks every unread incoming message of conv sent at or before
// upTo as read at readAt, starts the timer of those that disappear after
// being read, and returns them.
func (o ops) MarkRead(ctx context.Context, conv key.SessionID, upTo, readAt int64) ([]*Message, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE conversation = ? AND direction = ? AND read_at = 0 AND sent_at <= ? ORDER BY sent_at, id`,
		conv.String(), int8(Incoming), upTo)
	if err != nil {
		return nil, fmt.Errorf("store: unread: %w", err)
	}
	msgs, err := collectMessages(rows)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		m.ReadAt = readAt
		if m.ExpiryMode == ExpiryAfterRead && m.ExpiryTimer > 0 {
			m.ExpiresAt = readAt + int64(m.ExpiryTimer)*1000
		}
		if err := o.exec1(ctx, "mark read", `UPDATE messages SET read_at = ?, expires_at = ? WHERE id = ?`,
			m.ReadAt, m.ExpiresAt, m.ID); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// MarkUnsent blanks message id after an unsend: the body, the
// reactions and the attachments go, a placeholder row stays so that history shows where it was.
func (o ops) MarkUnsent(ctx context.Context, id int64) error {
	if err := o.exec1(ctx, "unsend", `UPDATE messages SET unsent = 1, body = '', quote_ts = 0, quote_author = '' WHERE id = ?`, id); err != nil {
		return err
	}
	_, err := o.q.ExecContext(ctx, `DELETE FROM reactions WHERE message_id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: unsend: %w", err)
	}
	return o.DeleteAttachments(ctx, id)
}

// DeleteMessage removes message id and its reactions.
func (o ops) DeleteMessage(ctx context.Context, id int64) error {
	return o.exec1(ctx, "delete message", `DELETE FROM messages WHERE id = ?`, id)
}

// DueExpiries returns the messages whose disappearing timer ran out at now.
func (o ops) DueExpiries(ctx context.Context, now int64) ([]*Message, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE expires_at > 0 AND expires_at <= ? ORDER BY expires_at, id`, now)
	if err != nil {
		return nil, fmt.Errorf("store: due expiries: %w", err)
	}
	return collectMessages(rows)
}

// NextExpiry returns the earliest scheduled deletion, or 0 if none.
func (o ops) NextExpiry(ctx context.Context) (int64, error) {
	var at sql.NullInt64
	if err := o.q.QueryRowContext(ctx, `SELECT MIN(expires_at) FROM messages WHERE expires_at > 0`).Scan(&at); err != nil {
		return 0, fmt.Errorf("store: next expiry: %w", err)
	}
	return at.Int64, nil
}

// SetReaction adds (add true) or removes reactor's emoji on message id.
// It reports whether anything changed.
func (o ops) SetReaction(ctx context.Context, id int64, reactor key.SessionID, emoji string, add bool, at int64) (bool, error) {
	var res sql.Result
	var err error
	if add {
		res, err = o.q.ExecContext(ctx, `INSERT INTO reactions (message_id, reactor, emoji, at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, id, reactor.String(), emoji, at)
	} else {
		res, err = o.q.ExecContext(ctx, `DELETE FROM reactions WHERE message_id = ? AND reactor = ? AND emoji = ?`,
			id, reactor.String(), emoji)
	}
	if err != nil {
		return false, fmt.Errorf("store: reaction: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: reaction: %w", err)
	}
	return n > 0, nil
}

// exec1 runs a statement that must change exactly one row.
func (o ops) exec1(ctx context.Context, what, query string, args ...any) error {
	res, err := o.q.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

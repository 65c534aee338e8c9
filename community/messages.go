package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"sotto.dev/sessionproto"
)

// Message is a message's row, as a reader sees it.
type Message struct {
	ID          int64
	SessionID   string
	Posted      float64
	Edited      *float64
	Seqno       int64
	Data        []byte // re-padded to its posted length; nil once deleted
	Signature   []byte
	WhisperTo   *string
	WhisperMods bool
	// ReactionOnly marks a since-poll update of the reactions alone: only
	// ID, Seqno and Reactions are meaningful.
	ReactionOnly bool
	// Reactions by reaction string (deleted messages have none).
	Reactions map[string]*Reaction
	// reacted is set when the message may have reactions (a reactions
	// row exists): only those are looked up.
	reacted bool
}

// unpad strips Session message padding as pysogs does before storing
// (utils.remove_session_message_padding); pad restores it to size.
func unpad(data []byte) []byte { return sessionproto.Unpad(data) }

func pad(data []byte, size int64) []byte {
	if int64(len(data)) >= size {
		return data
	}
	out := make([]byte, size)
	copy(out, data)
	out[len(data)] = 0x80
	return out
}

// Post is a new message.
type Post struct {
	Data, Signature []byte
	WhisperTo       *User
	WhisperMods     bool
	// Files are ids of the poster's recent uploads to attach (kept for
	// FileExpiry from now).
	Files []int64
}

const (
	qBumpSeq       = "UPDATE rooms SET message_sequence = message_sequence + 1 WHERE id = ? RETURNING message_sequence"
	qInsertMessage = `INSERT INTO messages (room, user, posted, seqno, seqno_data, data, data_size, signature, whisper_to, whisper_mods)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
)

// AddPost stores a post by u in r and returns it; it is durable when
// AddPost returns (its COMMIT may be shared with other writes: group.go).
func (s *Store) AddPost(ctx context.Context, r *Room, u *User, p Post, now time.Time) (*Message, error) {
	var m *Message
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var seq int64
		if err := s.db.txQueryRow(ctx, tx, qBumpSeq, r.ID).Scan(&seq); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNoRoom
			}
			return err
		}
		var whisperTo *int64
		m = &Message{SessionID: u.SessionID, Posted: unixf(now), Seqno: seq, Data: p.Data, Signature: p.Signature, WhisperMods: p.WhisperMods}
		if p.WhisperTo != nil {
			whisperTo = &p.WhisperTo.ID
			m.WhisperTo = &p.WhisperTo.SessionID
		}
		if err := s.db.txQueryRow(ctx, tx, qInsertMessage,
			r.ID, u.ID, m.Posted, seq, seq, unpad(p.Data), len(p.Data), p.Signature, whisperTo, p.WhisperMods).Scan(&m.ID); err != nil {
			return err
		}
		return attachFiles(ctx, tx, r, u, m.ID, p.Files, now, FileExpiry)
	})
	if errors.Is(err, ErrNoRoom) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("add post: %w", err)
	}
	return m, nil
}

// author returns the poster of message id in r, or ErrNoMessage (also for
// a deleted message).
func author(ctx context.Context, tx *sql.Tx, r *Room, id int64) (int64, error) {
	var user int64
	err := tx.QueryRowContext(ctx, "SELECT user FROM messages WHERE room = ? AND id = ? AND data IS NOT NULL", r.ID, id).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoMessage
	}
	return user, err
}

func bumpSeq(ctx context.Context, tx *sql.Tx, r *Room) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, qBumpSeq, r.ID).Scan(&seq)
	return seq, err
}

// EditPost replaces the data and signature of u's message id in r and
// attaches files; only its author may edit a message.
func (s *Store) EditPost(ctx context.Context, r *Room, u *User, id int64, data, sig []byte, files []int64, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	by, err := author(ctx, tx, r, id)
	if err != nil {
		return err
	}
	if by != u.ID {
		return ErrForbidden
	}
	seq, err := bumpSeq(ctx, tx, r)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE messages SET data = ?, data_size = ?, signature = ?, edited = ?, seqno = ?, seqno_data = ? WHERE id = ?",
		unpad(data), len(data), sig, unixf(now), seq, seq, id); err != nil {
		return err
	}
	if err := attachFiles(ctx, tx, r, u, id, files, now, FileExpiry); err != nil {
		return err
	}
	return tx.Commit()
}

// DeletePost deletes message id in r: its author or a moderator may. The
// row stays, without data, so that pollers see the deletion.
func (s *Store) DeletePost(ctx context.Context, r *Room, u *User, mod bool, id int64, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	by, err := author(ctx, tx, r, id)
	if err != nil {
		return err
	}
	if by != u.ID && !mod {
		return ErrForbidden
	}
	seq, err := bumpSeq(ctx, tx, r)
	if err != nil {
		return err
	}
	if err := markDeleted(ctx, tx, r, id, seq, now); err != nil {
		return err
	}
	return tx.Commit()
}

// markDeleted deletes message id's data, reactions and pin, as seqno seq.
func markDeleted(ctx context.Context, tx *sql.Tx, r *Room, id, seq int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, "UPDATE messages SET data = NULL, data_size = NULL, signature = NULL, edited = ?, seqno = ?, seqno_data = ? WHERE id = ?",
		unixf(now), seq, seq, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM reactions WHERE message = ?", id); err != nil {
		return err
	}
	return unpinDeleted(ctx, tx, r, id)
}

// unpinDeleted drops the pin of a deleted message, bumping info_updates
// when there was one.
func unpinDeleted(ctx context.Context, tx *sql.Tx, r *Room, id int64) error {
	res, err := tx.ExecContext(ctx, "DELETE FROM pinned_messages WHERE message = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		_, err = tx.ExecContext(ctx, "UPDATE rooms SET info_updates = info_updates + 1 WHERE id = ?", r.ID)
	}
	return err
}

// Query selects messages (pysogs Room.get_messages_for): exactly one of
// Since, Before, Recent or Single.
type Query struct {
	Since  *int64 // seqno: messages (deleted ones too) updated after it, by seqno
	Before *int64 // id: messages before it, newest first
	Recent bool   // the newest messages first
	Single *int64 // one message by id
	Limit  int
	// ReactionUpdates (since polls with t=r) adds messages whose reactions
	// alone changed, as reaction-only updates.
	ReactionUpdates bool
	// ReactorLimit is how many reactors to list per reaction (0: none).
	ReactorLimit int
}

// Messages returns the messages of r matching q that reader (nil:
// anonymous; mod: a moderator) may see: whispers only to their sender,
// recipient and, for whisper_mods, the moderators.
func (s *Store) Messages(ctx context.Context, r *Room, reader *User, mod bool, q Query) ([]*Message, error) {
	var readerID int64 = -1
	if reader != nil {
		readerID = reader.ID
	}
	where := `m.room = ? AND (m.whisper_to IS NULL AND NOT m.whisper_mods OR m.user = ? OR m.whisper_to = ? OR (m.whisper_mods AND ?))`
	args := []any{r.ID, readerID, readerID, mod}
	order := ""
	switch {
	case q.Since != nil && q.ReactionUpdates:
		where += " AND m.seqno > ?"
		args = append(args, *q.Since)
		order = "m.seqno"
	case q.Since != nil:
		where += " AND m.seqno > ? AND m.seqno_data > ?"
		args = append(args, *q.Since, *q.Since)
		order = "m.seqno"
	case q.Before != nil:
		where += " AND m.data IS NOT NULL AND m.id < ?"
		args = append(args, *q.Before)
		order = "m.id DESC"
	case q.Recent:
		where += " AND m.data IS NOT NULL"
		order = "m.id DESC"
	case q.Single != nil:
		where += " AND m.data IS NOT NULL AND m.id = ?"
		args = append(args, *q.Single)
		order = "m.id"
	default:
		return nil, ErrBadArgument
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT m.id, u.session_id, m.posted, m.edited, m.seqno, m.seqno_data, m.data, m.data_size, m.signature, w.session_id, m.whisper_mods,
			EXISTS (SELECT 1 FROM reactions r WHERE r.message = m.id)
		FROM messages m JOIN users u ON u.id = m.user LEFT JOIN users w ON w.id = m.whisper_to
		WHERE `+where+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		m := &Message{}
		var size sql.NullInt64
		var whisperTo sql.NullString
		var seqData int64
		if err := rows.Scan(&m.ID, &m.SessionID, &m.Posted, &m.Edited, &m.Seqno, &seqData, &m.Data, &size, &m.Signature, &whisperTo, &m.WhisperMods, &m.reacted); err != nil {
			return nil, err
		}
		m.ReactionOnly = q.Since != nil && seqData <= *q.Since
		if m.Data != nil {
			m.Data = pad(m.Data, size.Int64)
		} else if size.Valid {
			m.Data = []byte{} // an empty post
		}
		if whisperTo.Valid {
			m.WhisperTo = &whisperTo.String
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return out, s.addReactions(ctx, out, readerID, q.ReactorLimit)
}

package community

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Reaction is one reaction on a message as a reader sees it (pysogs
// Room.get_reactions).
type Reaction struct {
	Index    int      `json:"index"` // display order: first added first
	Count    int64    `json:"count"`
	Reactors []string `json:"reactors,omitempty"` // the first ReactorLimit reactors
	You      bool     `json:"you,omitempty"`
}

// ErrBadReaction is a reaction that is not 1–12 Unicode code points.
var ErrBadReaction = errors.New("community: a reaction is 1 to 12 characters")

// ValidReaction reports whether r can be a reaction: 1–12 code points of
// valid UTF-8.
func ValidReaction(r string) bool {
	n := utf8.RuneCountInString(r)
	return utf8.ValidString(r) && n >= 1 && n <= 12
}

// addReactions fills the reactions of msgs (deleted ones have none); it
// looks up only those marked reacted.
func (s *Store) addReactions(ctx context.Context, msgs []*Message, reader int64, reactorLimit int) error {
	byID := map[int64]*Message{}
	var ids []any
	for _, m := range msgs {
		m.Reactions = map[string]*Reaction{}
		if m.reacted && (m.Data != nil || m.ReactionOnly) {
			byID[m.ID] = m
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	rows, err := s.db.QueryContext(ctx, `SELECT r.id, r.message, r.reaction, COUNT(*), MAX(ur.user = ?)
		FROM reactions r JOIN user_reactions ur ON ur.reaction = r.id
		WHERE r.message IN `+in+` GROUP BY r.id ORDER BY r.id`, append([]any{reader}, ids...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	byReaction := map[int64]*Reaction{}
	for rows.Next() {
		var rid, mid int64
		var text string
		re := &Reaction{}
		if err := rows.Scan(&rid, &mid, &text, &re.Count, &re.You); err != nil {
			return err
		}
		m := byID[mid]
		re.Index = len(m.Reactions)
		m.Reactions[text] = re
		byReaction[rid] = re
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if reactorLimit <= 0 || len(byReaction) == 0 {
		return nil
	}
	rrows, err := s.db.QueryContext(ctx, `SELECT rid, sid FROM (
		SELECT r.id AS rid, u.session_id AS sid, ROW_NUMBER() OVER (PARTITION BY r.id ORDER BY ur.at, ur.user) AS n
		FROM reactions r JOIN user_reactions ur ON ur.reaction = r.id JOIN users u ON u.id = ur.user
		WHERE r.message IN `+in+`) WHERE n <= ? ORDER BY rid, n`, append(ids, reactorLimit)...)
	if err != nil {
		return err
	}
	defer rrows.Close()
	for rrows.Next() {
		var rid int64
		var sid string
		if err := rrows.Scan(&rid, &sid); err != nil {
			return err
		}
		if re := byReaction[rid]; re != nil {
			re.Reactors = append(re.Reactors, sid)
		}
	}
	return rrows.Err()
}

// regular checks that id is an undeleted message of r that is not a
// whisper: the only ones reactions apply to.
func regular(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, r *Room, id int64) error {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM messages WHERE id = ? AND room = ? AND data IS NOT NULL AND whisper_to IS NULL AND NOT whisper_mods", id, r.ID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoMessage
	}
	return err
}

// bumpReactions gives message id the room's next seqno for a change of
// its reactions and returns it.
func bumpReactions(ctx context.Context, tx *sql.Tx, r *Room, id int64) (int64, error) {
	seq, err := bumpSeq(ctx, tx, r)
	if err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, "UPDATE messages SET seqno = ? WHERE id = ?", seq, id)
	return seq, err
}

func messageSeqno(ctx context.Context, tx *sql.Tx, id int64) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, "SELECT seqno FROM messages WHERE id = ?", id).Scan(&seq)
	return seq, err
}

// React adds (add) or removes u's reaction to message id of r; changed
// reports whether it did anything, and seqno is the message's seqno after.
func (s *Store) React(ctx context.Context, r *Room, u *User, id int64, reaction string, add bool, now time.Time) (changed bool, seqno int64, err error) {
	if !ValidReaction(reaction) {
		return false, 0, ErrBadReaction
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, 0, err
	}
	defer tx.Rollback()
	if err := regular(ctx, tx, r, id); err != nil {
		return false, 0, err
	}
	var res sql.Result
	if add {
		if _, err := tx.ExecContext(ctx, "INSERT INTO reactions (message, reaction) VALUES (?, ?) ON CONFLICT DO NOTHING", id, reaction); err != nil {
			return false, 0, err
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO user_reactions (reaction, user, at)
			SELECT id, ?, ? FROM reactions WHERE message = ? AND reaction = ? ON CONFLICT DO NOTHING`, u.ID, unixf(now), id, reaction)
	} else {
		res, err = tx.ExecContext(ctx, "DELETE FROM user_reactions WHERE user = ? AND reaction = (SELECT id FROM reactions WHERE message = ? AND reaction = ?)",
			u.ID, id, reaction)
	}
	if err != nil {
		return false, 0, err
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		seq, err := messageSeqno(ctx, tx, id)
		return false, seq, err
	}
	if !add {
		if _, err := tx.ExecContext(ctx, "DELETE FROM reactions WHERE message = ? AND reaction = ? AND NOT EXISTS (SELECT 1 FROM user_reactions WHERE reaction = reactions.id)", id, reaction); err != nil {
			return false, 0, err
		}
	}
	seq, err := bumpReactions(ctx, tx, r, id)
	if err != nil {
		return false, 0, err
	}
	return true, seq, tx.Commit()
}

// ClearReactions removes every reaction (reaction nil) or every one of a
// kind from message id of r and returns how many user reactions it
// removed and the message's seqno after.
func (s *Store) ClearReactions(ctx context.Context, r *Room, id int64, reaction *string) (int64, int64, error) {
	if reaction != nil && !ValidReaction(*reaction) {
		return 0, 0, ErrBadReaction
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	if err := regular(ctx, tx, r, id); err != nil {
		return 0, 0, err
	}
	where, args := "message = ?", []any{id}
	if reaction != nil {
		where, args = "message = ? AND reaction = ?", []any{id, *reaction}
	}
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM user_reactions WHERE reaction IN (SELECT id FROM reactions WHERE "+where+")", args...).Scan(&n); err != nil {
		return 0, 0, err
	}
	if n == 0 {
		seq, err := messageSeqno(ctx, tx, id)
		return 0, seq, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM reactions WHERE "+where, args...); err != nil {
		return 0, 0, err
	}
	seq, err := bumpReactions(ctx, tx, r, id)
	if err != nil {
		return 0, 0, err
	}
	return n, seq, tx.Commit()
}

// Reactor is one user's reaction: who and when.
type Reactor struct {
	SessionID string
	At        float64
}

// Reactors lists who reacted with reaction to message id of r, first
// first; limit 0 lists all.
func (s *Store) Reactors(ctx context.Context, r *Room, id int64, reaction string, limit int) ([]Reactor, error) {
	if !ValidReaction(reaction) {
		return nil, ErrBadReaction
	}
	if err := regular(ctx, s.db, r, id); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT u.session_id, ur.at FROM reactions re JOIN user_reactions ur ON ur.reaction = re.id
		JOIN users u ON u.id = ur.user WHERE re.message = ? AND re.reaction = ? ORDER BY ur.at, ur.user LIMIT ?`, id, reaction, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Reactor{}
	for rows.Next() {
		var rc Reactor
		if err := rows.Scan(&rc.SessionID, &rc.At); err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, rows.Err()
}

// reactionArg is the reaction of a reaction path: everything after the
// message id, "/" included (pysogs <path:reaction>).
func reactionArg(rest []string) string { return strings.Join(rest[2:], "/") }

// react serves PUT and DELETE /room/<token>/reaction/<id>/<reaction>:
// {"added"|"removed": bool, "seqno"}.
func (s *Server) react(c *call, r *Room, p Perms, rest []string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	id, ok := parseID(rest[1])
	if !ok {
		return errResp(http.StatusNotFound)
	}
	add := c.method == http.MethodPut
	changed, seq, err := s.store.React(c.ctx, r, c.user, id, reactionArg(rest), add, c.now)
	if errors.Is(err, ErrBadReaction) {
		return textResp(http.StatusBadRequest, "Invalid reaction")
	}
	if err != nil {
		return s.storeErr("react", err)
	}
	key := "removed"
	if add {
		key = "added"
	}
	return jsonResp(http.StatusOK, map[string]any{key: changed, "seqno": seq})
}

// clearReactions serves DELETE /room/<token>/reactions/<id>[/<reaction>]
// (moderators): {"removed": count, "seqno"}.
func (s *Server) clearReactions(c *call, r *Room, p Perms, rest []string) response {
	if c.user == nil {
		return textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	if !p.Moderator {
		return textResp(http.StatusForbidden, "This endpoint requires moderator room permissions")
	}
	id, ok := parseID(rest[1])
	if !ok {
		return errResp(http.StatusNotFound)
	}
	var reaction *string
	if len(rest) > 2 {
		re := reactionArg(rest)
		reaction = &re
	}
	n, seq, err := s.store.ClearReactions(c.ctx, r, id, reaction)
	if errors.Is(err, ErrBadReaction) {
		return textResp(http.StatusBadRequest, "Invalid reaction")
	}
	if err != nil {
		return s.storeErr("clear reactions", err)
	}
	return jsonResp(http.StatusOK, map[string]any{"removed": n, "seqno": seq})
}

// reactors serves GET /room/<token>/reactors/<id>/<reaction>[?limit=N]:
// [[session id, unix time], ...], first reactor first.
func (s *Server) reactors(c *call, r *Room, p Perms, rest []string) response {
	id, ok := parseID(rest[1])
	if !ok {
		return errResp(http.StatusNotFound)
	}
	limit, ok := intParam(c.query, "limit", 0, -1, 1<<20)
	if !ok {
		return textResp(http.StatusBadRequest, "Invalid limit")
	}
	rs, err := s.store.Reactors(c.ctx, r, id, reactionArg(rest), limit)
	if errors.Is(err, ErrBadReaction) {
		return textResp(http.StatusBadRequest, "Invalid reaction")
	}
	if err != nil {
		return s.storeErr("reactors", err)
	}
	out := make([][2]any, len(rs))
	for i, rc := range rs {
		out[i] = [2]any{rc.SessionID, rc.At}
	}
	return jsonResp(http.StatusOK, out)
}

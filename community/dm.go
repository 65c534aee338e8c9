package community

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"sotto.dev/key"
)

// DMExpiry is how long a blinded direct message waits in an inbox
// (pysogs DM_EXPIRY).
const DMExpiry = 15 * 24 * time.Hour

// DM is a blinded direct message in the server's inbox (spec §5.5–5.6):
// the server holds only the ciphertext and the two blinded ids.
type DM struct {
	ID        int64
	PostedAt  float64
	ExpiresAt float64
	Sender    string
	Recipient string
	Data      []byte
}

// SendDM stores data for to from u; it expires after ttl. It also deletes
// some expired messages.
func (s *Store) SendDM(ctx context.Context, from, to *User, data []byte, now time.Time, ttl time.Duration) (*DM, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE expires_at <= ? LIMIT 100)", unixf(now)); err != nil {
		return nil, err
	}
	d := &DM{PostedAt: unixf(now), ExpiresAt: unixf(now.Add(ttl)), Sender: from.SessionID, Recipient: to.SessionID}
	if err := tx.QueryRowContext(ctx, "INSERT INTO inbox (recipient, sender, posted_at, expires_at, data) VALUES (?, ?, ?, ?, ?) RETURNING id",
		to.ID, from.ID, d.PostedAt, d.ExpiresAt, data).Scan(&d.ID); err != nil {
		return nil, err
	}
	return d, tx.Commit()
}

// DMs lists u's unexpired inbox (out: outbox) messages after id since,
// oldest first.
func (s *Store) DMs(ctx context.Context, u *User, out bool, since int64, limit int, now time.Time) ([]*DM, error) {
	col := "m.recipient"
	if out {
		col = "m.sender"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT m.id, m.posted_at, m.expires_at, f.session_id, t.session_id, m.data
		FROM inbox m JOIN users f ON f.id = m.sender JOIN users t ON t.id = m.recipient
		WHERE `+col+` = ? AND m.id > ? AND m.expires_at > ? ORDER BY m.id LIMIT ?`, u.ID, since, unixf(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []*DM
	for rows.Next() {
		d := &DM{}
		if err := rows.Scan(&d.ID, &d.PostedAt, &d.ExpiresAt, &d.Sender, &d.Recipient, &d.Data); err != nil {
			return nil, err
		}
		msgs = append(msgs, d)
	}
	return msgs, rows.Err()
}

// ClearInbox deletes all of u's received messages and returns how many.
func (s *Store) ClearInbox(ctx context.Context, u *User) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM inbox WHERE recipient = ?", u.ID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func dmJSON(d *DM, withMessage bool) map[string]any {
	m := map[string]any{"id": d.ID, "posted_at": d.PostedAt, "expires_at": d.ExpiresAt, "sender": d.Sender, "recipient": d.Recipient}
	if withMessage {
		m["message"] = base64.StdEncoding.EncodeToString(d.Data)
	}
	return m
}

func blinded(sid string) bool {
	return len(sid) == 66 && (strings.HasPrefix(sid, "15") || strings.HasPrefix(sid, "25"))
}

// dmRoute serves the blinded DM endpoints (pysogs routes/dm.py): GET
// /inbox, /inbox/since/<id>, /outbox, /outbox/since/<id>, POST
// /inbox/<blinded id>, DELETE /inbox. The mailbox endpoints need a blinded
// signer.
func (s *Server) dmRoute(c *call, seg []string) (string, response) {
	box := seg[0]
	ep := box
	if c.user == nil {
		return ep, textResp(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	switch {
	case box == "inbox" && len(seg) == 2 && c.method == http.MethodPost:
		return "inbox/send", s.sendDM(c, seg[1])
	case !blinded(c.user.SessionID):
		return ep, textResp(http.StatusUnauthorized, "This endpoint requires a blinded id")
	case box == "inbox" && len(seg) == 1 && c.method == http.MethodDelete:
		n, err := s.store.ClearInbox(c.ctx, c.user)
		if err != nil {
			return ep, s.storeErr("clear inbox", err)
		}
		return "inbox/delete", jsonResp(http.StatusOK, map[string]any{"deleted": n})
	case c.method != http.MethodGet:
		return ep, errResp(http.StatusNotFound)
	case len(seg) == 1:
		return ep, s.box(c, box == "outbox", nil)
	case len(seg) == 3 && seg[1] == "since":
		id, ok := parseID(seg[2])
		if !ok {
			return ep, errResp(http.StatusNotFound)
		}
		return ep + "/since", s.box(c, box == "outbox", &id)
	}
	return ep, errResp(http.StatusNotFound)
}

// box lists the inbox or outbox; a since poll with nothing new is a 304.
func (s *Server) box(c *call, out bool, since *int64) response {
	limit, ok := intParam(c.query, "limit", defaultLimit, 1, maxLimit)
	if !ok {
		return textResp(http.StatusBadRequest, "Invalid limit")
	}
	var after int64
	if since != nil {
		after = *since
	}
	msgs, err := s.store.DMs(c.ctx, c.user, out, after, limit, c.now)
	if err != nil {
		return s.storeErr("mailbox", err)
	}
	if len(msgs) == 0 && since != nil {
		return response{code: http.StatusNotModified, contentType: "text/plain; charset=utf-8"}
	}
	list := make([]map[string]any, len(msgs))
	for i, d := range msgs {
		list[i] = dmJSON(d, true)
	}
	return jsonResp(http.StatusOK, list)
}

// sendDM serves POST /inbox/<blinded id> {"message": base64}: 201 with the
// message's details but not its body; 404 for a recipient the server has
// never seen or has banned.
func (s *Server) sendDM(c *call, to string) response {
	id, err := key.ParseSessionID(to)
	if err != nil || (id.Prefix() != key.PrefixBlind15 && id.Prefix() != key.PrefixBlind25) {
		return errResp(http.StatusNotFound)
	}
	recip, err := s.store.User(c.ctx, id.String(), c.now, false)
	if err != nil {
		return s.storeErr("recipient", err)
	}
	if recip == nil || recip.Banned {
		return errResp(http.StatusNotFound)
	}
	msg, ok := parseDMBody(c.body)
	if !ok {
		return textResp(http.StatusBadRequest, "Invalid message")
	}
	d, err := s.store.SendDM(c.ctx, c.user, recip, msg, c.now, DMExpiry)
	if err != nil {
		return s.storeErr("send DM", err)
	}
	return jsonResp(http.StatusCreated, dmJSON(d, false))
}

// parseDMBody parses {"message": base64} with a non-empty message.
func parseDMBody(b []byte) ([]byte, bool) {
	var body struct {
		Message *string `json:"message"`
	}
	if json.Unmarshal(b, &body) != nil || body.Message == nil {
		return nil, false
	}
	msg, err := base64.StdEncoding.Strict().DecodeString(*body.Message)
	return msg, err == nil && len(msg) > 0
}

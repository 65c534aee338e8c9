package community

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ModChange is a change to a user's moderator and admin flags (pysogs
// routes/users.py set_mod, after its normalisation): Admin and Moderator
// nil leave a flag alone.
type ModChange struct {
	Moderator, Admin *bool
	Visible          bool
}

func boolp(b bool) *bool { return &b }

// SetModerator makes sid a moderator (admin: an admin) of the room token,
// or of the whole server when token is empty; visible moderators are
// listed in room info.
func (s *Store) SetModerator(ctx context.Context, token, sid string, admin, visible bool, now time.Time) error {
	u, err := s.User(ctx, sid, now, true)
	if err != nil {
		return err
	}
	var rooms []*Room
	if token != "" {
		r, err := s.Room(ctx, token)
		if err != nil {
			return err
		}
		rooms = []*Room{r}
	}
	ch := ModChange{Moderator: boolp(true), Visible: visible}
	if admin {
		ch = ModChange{Admin: boolp(true), Visible: visible}
	}
	return s.ChangeModerator(ctx, rooms, []*User{u}, ch)
}

// ChangeModerator applies ch to users in rooms, or globally when rooms is
// nil, and bumps the rooms' info_updates.
func (s *Store) ChangeModerator(ctx context.Context, rooms []*Room, users []*User, ch ModChange) error {
	var set string
	withVisible := true
	switch {
	case ch.Admin != nil && *ch.Admin:
		set = "moderator = 1, admin = 1, visible_mod = ?"
	case ch.Admin != nil && ch.Moderator != nil && *ch.Moderator:
		set = "moderator = 1, admin = 0, visible_mod = ?"
	case ch.Admin != nil:
		set, withVisible = "admin = 0", false
	case ch.Moderator != nil && *ch.Moderator:
		set = "moderator = 1, visible_mod = ?"
	case ch.Moderator != nil:
		set, withVisible = "moderator = 0, admin = 0", false
	default:
		return ErrBadArgument
	}
	args := func(id ...any) []any {
		if !withVisible {
			return id
		}
		return append([]any{ch.Visible}, id...)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, u := range users {
		if rooms == nil {
			if _, err := tx.ExecContext(ctx, "UPDATE users SET "+set+" WHERE id = ?", args(u.ID)...); err != nil {
				return err
			}
			continue
		}
		for _, r := range rooms {
			if _, err := tx.ExecContext(ctx, "INSERT INTO room_users (room, user) VALUES (?, ?) ON CONFLICT DO NOTHING", r.ID, u.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE room_users SET "+set+" WHERE room = ? AND user = ?", args(r.ID, u.ID)...); err != nil {
				return err
			}
		}
	}
	if err := bumpInfo(ctx, tx, rooms); err != nil {
		return err
	}
	return tx.Commit()
}

func bumpInfo(ctx context.Context, tx *sql.Tx, rooms []*Room) error {
	if rooms == nil {
		_, err := tx.ExecContext(ctx, "UPDATE rooms SET info_updates = info_updates + 1")
		return err
	}
	for _, r := range rooms {
		if _, err := tx.ExecContext(ctx, "UPDATE rooms SET info_updates = info_updates + 1 WHERE id = ?", r.ID); err != nil {
			return err
		}
	}
	return nil
}

// Ban bans users from rooms, or from the server when rooms is nil, until
// until (nil: for good). Moderators cannot be banned from a room they
// moderate (Perms ignores the ban).
func (s *Store) Ban(ctx context.Context, rooms []*Room, users []*User, until *time.Time) error {
	var u any
	if until != nil {
		u = unixf(*until)
	}
	return s.setBan(ctx, rooms, users, true, u)
}

// Unban lifts the bans of users from rooms, or their server ban when rooms
// is nil; room and server bans are independent.
func (s *Store) Unban(ctx context.Context, rooms []*Room, users []*User) error {
	return s.setBan(ctx, rooms, users, false, nil)
}

func (s *Store) setBan(ctx context.Context, rooms []*Room, users []*User, banned bool, until any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, u := range users {
		if rooms == nil {
			if _, err := tx.ExecContext(ctx, "UPDATE users SET banned = ?, banned_until = ? WHERE id = ?", banned, until, u.ID); err != nil {
				return err
			}
			continue
		}
		for _, r := range rooms {
			if _, err := tx.ExecContext(ctx, `INSERT INTO room_users (room, user, banned, banned_until) VALUES (?, ?, ?, ?)
				ON CONFLICT (room, user) DO UPDATE SET banned = excluded.banned, banned_until = excluded.banned_until`,
				r.ID, u.ID, banned, until); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// SetBanned bans (or unbans) sid from the whole server, for good.
func (s *Store) SetBanned(ctx context.Context, sid string, banned bool, now time.Time) error {
	u, err := s.User(ctx, sid, now, true)
	if err != nil {
		return err
	}
	if banned {
		return s.Ban(ctx, nil, []*User{u}, nil)
	}
	return s.Unban(ctx, nil, []*User{u})
}

// DeleteAllFrom deletes every message of users in r, each with a seqno
// bump, and returns how many it deleted.
func (s *Store) DeleteAllFrom(ctx context.Context, r *Room, users []*User, now time.Time) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n := 0
	for _, u := range users {
		rows, err := tx.QueryContext(ctx, "SELECT id FROM messages WHERE room = ? AND user = ? AND data IS NOT NULL ORDER BY id", r.ID, u.ID)
		if err != nil {
			return 0, err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, err
			}
			ids = append(ids, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return 0, err
		}
		for _, id := range ids {
			seq, err := bumpSeq(ctx, tx, r)
			if err != nil {
				return 0, err
			}
			if err := markDeleted(ctx, tx, r, id, seq, now); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, tx.Commit()
}

// UpdateRoom changes a room's name, description (a nil pointer inside
// description clears it) and default permissions; nil leaves a field
// alone. It bumps info_updates.
func (s *Store) UpdateRoom(ctx context.Context, r *Room, name *string, description **string, read, write, upload *bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, f := range []struct {
		col string
		set bool
		v   any
	}{
		{"name", name != nil, deref(name)},
		{"description", description != nil, derefDesc(description)},
		{"default_read", read != nil, deref(read)},
		{"default_write", write != nil, deref(write)},
		{"default_upload", upload != nil, deref(upload)},
	} {
		if f.set {
			if _, err := tx.ExecContext(ctx, "UPDATE rooms SET "+f.col+" = ? WHERE id = ?", f.v, r.ID); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE rooms SET info_updates = info_updates + 1 WHERE id = ?", r.ID); err != nil {
		return err
	}
	return tx.Commit()
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func derefDesc(d **string) any {
	if d == nil || *d == nil {
		return nil
	}
	return **d
}

// SetPerms overrides users' read, write and upload permissions in rooms
// (nil leaves one alone; clear drops all three overrides, back to the
// room's defaults).
func (s *Store) SetPerms(ctx context.Context, rooms []*Room, users []*User, read, write, upload *bool, clear bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range rooms {
		for _, u := range users {
			if _, err := tx.ExecContext(ctx, "INSERT INTO room_users (room, user) VALUES (?, ?) ON CONFLICT DO NOTHING", r.ID, u.ID); err != nil {
				return err
			}
			if clear {
				if _, err := tx.ExecContext(ctx, "UPDATE room_users SET read = NULL, write = NULL, upload = NULL WHERE room = ? AND user = ?", r.ID, u.ID); err != nil {
					return err
				}
				continue
			}
			for _, f := range []struct {
				col string
				v   *bool
			}{{"read", read}, {"write", write}, {"upload", upload}} {
				if f.v == nil {
					continue
				}
				if _, err := tx.ExecContext(ctx, "UPDATE room_users SET "+f.col+" = ? WHERE room = ? AND user = ?", *f.v, r.ID, u.ID); err != nil {
					return err
				}
			}
		}
	}
	return tx.Commit()
}

// Pin is a pinned message in room info.
type Pin struct {
	ID       int64   `json:"id"`
	PinnedAt float64 `json:"pinned_at"`
	PinnedBy string  `json:"pinned_by"`
}

// Pin pins message id of r (an undeleted message that is not a whisper),
// or refreshes its pin; it bumps info_updates.
func (s *Store) Pin(ctx context.Context, r *Room, by *User, id int64, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO pinned_messages (room, message, pinned_at, pinned_by)
		SELECT room, id, ?, ? FROM messages WHERE id = ? AND room = ? AND data IS NOT NULL AND whisper_to IS NULL AND NOT whisper_mods
		ON CONFLICT (message) DO UPDATE SET pinned_at = excluded.pinned_at, pinned_by = excluded.pinned_by`,
		unixf(now), by.ID, id, r.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoMessage
	}
	if err := bumpInfo(ctx, tx, []*Room{r}); err != nil {
		return err
	}
	return tx.Commit()
}

// Unpin unpins message id of r, or every message when all is set, and
// returns how many it unpinned; it bumps info_updates when that is not 0.
func (s *Store) Unpin(ctx context.Context, r *Room, id int64, all bool) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	q, args := "DELETE FROM pinned_messages WHERE room = ? AND message = ?", []any{r.ID, id}
	if all {
		q, args = "DELETE FROM pinned_messages WHERE room = ?", []any{r.ID}
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		if err := bumpInfo(ctx, tx, []*Room{r}); err != nil {
			return 0, err
		}
	}
	return n, tx.Commit()
}

// Pins lists r's pinned messages, oldest pin first.
func (s *Store) Pins(ctx context.Context, r *Room) ([]Pin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.message, p.pinned_at, u.session_id FROM pinned_messages p JOIN users u ON u.id = p.pinned_by
		WHERE p.room = ? ORDER BY p.pinned_at, p.message`, r.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Pin
	for rows.Next() {
		var p Pin
		if err := rows.Scan(&p.ID, &p.PinnedAt, &p.PinnedBy); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

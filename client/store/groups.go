package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"sotto.dev/key"
)

// GroupState is where the user stands in a closed group.
type GroupState int8

// Group states.
const (
	// GroupJoined: the user is a member (or admin) and polls the group.
	GroupJoined GroupState = iota
	// GroupInvited: an invitation waits for the user's accept or decline;
	// the group is not polled.
	GroupInvited
	// GroupRemoved: an admin removed the user; history stays, nothing is
	// polled or sent.
	GroupRemoved
	// GroupDestroyed: the group was disbanded.
	GroupDestroyed
	// GroupLeft: the user left.
	GroupLeft
)

var groupStateNames = [...]string{"joined", "invited", "removed", "destroyed", "left"}

func (s GroupState) String() string {
	if s >= 0 && int(s) < len(groupStateNames) {
		return groupStateNames[s]
	}
	return fmt.Sprintf("GroupState(%d)", int8(s))
}

// MarshalText implements encoding.TextMarshaler (JSON output).
func (s GroupState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Group is a closed (03) group as the local database keeps it.
type Group struct {
	ID   key.SessionID
	Name string
	// Secret is the group's 64-byte Ed25519 key when the user is an admin.
	Secret []byte
	// AuthData is the member's 100-byte subaccount auth data.
	AuthData []byte
	// The dumps of the user's keys, info and members objects.
	KeysDump, InfoDump, MembersDump []byte
	State                           GroupState
	Inviter                         key.SessionID // zero when we created the group
	InvitedAt, JoinedAt, UpdatedAt  int64         // ms
}

// Admin reports whether the user holds the group's key.
func (g *Group) Admin() bool { return len(g.Secret) > 0 }

const groupColumns = `id, name, secret, auth_data, keys_dump, info_dump, members_dump, state, inviter, invited_at, joined_at, updated_at`

func scanGroup(r rowScanner) (*Group, error) {
	var (
		g           Group
		id, inviter string
		state       int8
	)
	err := r.Scan(&id, &g.Name, &g.Secret, &g.AuthData, &g.KeysDump, &g.InfoDump, &g.MembersDump, &state, &inviter,
		&g.InvitedAt, &g.JoinedAt, &g.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if g.ID, err = parseID(id); err != nil {
		return nil, err
	}
	if inviter != "" {
		if g.Inviter, err = parseID(inviter); err != nil {
			return nil, err
		}
	}
	g.State = GroupState(state)
	return &g, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// SaveGroup inserts or replaces g.
func (o ops) SaveGroup(ctx context.Context, g *Group) error {
	inviter := ""
	if !g.Inviter.IsZero() {
		inviter = g.Inviter.String()
	}
	_, err := o.q.ExecContext(ctx, `INSERT INTO groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret = excluded.secret, auth_data = excluded.auth_data,
			keys_dump = excluded.keys_dump, info_dump = excluded.info_dump, members_dump = excluded.members_dump,
			state = excluded.state, inviter = excluded.inviter, invited_at = excluded.invited_at,
			joined_at = excluded.joined_at, updated_at = excluded.updated_at`,
		g.ID.String(), g.Name, nonNil(g.Secret), nonNil(g.AuthData), nonNil(g.KeysDump), nonNil(g.InfoDump), nonNil(g.MembersDump),
		int8(g.State), inviter, g.InvitedAt, g.JoinedAt, g.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: save group: %w", err)
	}
	return nil
}

// Group returns the group id, or ErrNotFound.
func (o ops) Group(ctx context.Context, id key.SessionID) (*Group, error) {
	g, err := scanGroup(o.q.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = ?`, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: group: %w", err)
	}
	return g, nil
}

// Groups lists the groups, in the given states (every state when none is
// given), by ID.
func (o ops) Groups(ctx context.Context, states ...GroupState) ([]*Group, error) {
	q := `SELECT ` + groupColumns + ` FROM groups`
	args := make([]any, len(states))
	for i, s := range states {
		args[i] = int8(s)
	}
	if len(states) > 0 {
		q += ` WHERE state IN (` + placeholders(len(states)) + `)`
	}
	rows, err := o.q.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: groups: %w", err)
	}
	defer rows.Close()
	var out []*Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("store: groups: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: groups: %w", err)
	}
	return out, nil
}

// SaveGroupDumps stores the dumps of a group's keys, info and members
// objects (a nil dump leaves that column alone).
func (o ops) SaveGroupDumps(ctx context.Context, id key.SessionID, keys, info, members []byte, now int64) error {
	res, err := o.q.ExecContext(ctx, `UPDATE groups SET keys_dump = COALESCE(?, keys_dump), info_dump = COALESCE(?, info_dump),
		members_dump = COALESCE(?, members_dump), updated_at = ? WHERE id = ?`, keys, info, members, now, id.String())
	if err != nil {
		return fmt.Errorf("store: save group dumps: %w", err)
	}
	return rowsOne(res, "save group dumps")
}

// SetGroupState moves the group to state st.
func (o ops) SetGroupState(ctx context.Context, id key.SessionID, st GroupState, now int64) error {
	res, err := o.q.ExecContext(ctx, `UPDATE groups SET state = ?, updated_at = ?,
		joined_at = CASE WHEN ? = 0 AND joined_at = 0 THEN ? ELSE joined_at END WHERE id = ?`,
		int8(st), now, int8(st), now, id.String())
	if err != nil {
		return fmt.Errorf("store: set group state: %w", err)
	}
	return rowsOne(res, "set group state")
}

// SetGroupName records the group's name.
func (o ops) SetGroupName(ctx context.Context, id key.SessionID, name string, now int64) error {
	_, err := o.q.ExecContext(ctx, `UPDATE groups SET name = ?, updated_at = ? WHERE id = ?`, name, now, id.String())
	if err != nil {
		return fmt.Errorf("store: set group name: %w", err)
	}
	return nil
}

// DeleteGroup forgets the group, its conversation, its messages and its
// retrieve positions.
func (o ops) DeleteGroup(ctx context.Context, id key.SessionID) error {
	if err := o.DeleteConversation(ctx, id); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM last_hashes WHERE account = ?`, `DELETE FROM requests WHERE session_id = ?`,
		`DELETE FROM group_waiting WHERE group_id = ?`, `DELETE FROM groups WHERE id = ?`} {
		if _, err := o.q.ExecContext(ctx, q, id.String()); err != nil {
			return fmt.Errorf("store: delete group: %w", err)
		}
	}
	return nil
}

func rowsOne(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// FindByHash returns the message of conversation conv stored under swarm
// hash hash (a group message, as its sender or a receiver knows it), or
// ErrNotFound.
func (o ops) FindByHash(ctx context.Context, conv key.SessionID, hash string) (*Message, error) {
	if hash == "" {
		return nil, ErrNotFound
	}
	m, err := scanMessage(o.q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE conversation = ?1 AND (server_hash = ?2 OR sync_hash = ?2) ORDER BY id LIMIT 1`, conv.String(), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: find message: %w", err)
	}
	return m, o.loadReactions(ctx, []*Message{m})
}

// DeleteBefore deletes the messages of conversation conv sent before
// before (ms), and the attachments of those sent before attachBefore (ms;
// 0 for none), as a group's info asks (session-protocol.md §6.2, info
// "d" and "D"). It reports how many rows went.
func (o ops) DeleteBefore(ctx context.Context, conv key.SessionID, before, attachBefore int64) (int64, error) {
	var n int64
	if attachBefore > 0 {
		res, err := o.q.ExecContext(ctx, `DELETE FROM attachments WHERE message_id IN
			(SELECT id FROM messages WHERE conversation = ? AND sent_at < ?)`, conv.String(), attachBefore)
		if err != nil {
			return 0, fmt.Errorf("store: delete before: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if before > 0 {
		res, err := o.q.ExecContext(ctx, `DELETE FROM messages WHERE conversation = ? AND sent_at < ?`, conv.String(), before)
		if err != nil {
			return 0, fmt.Errorf("store: delete before: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// OutboxFor lists the outbox items of the local message messageID.
func (o ops) OutboxFor(ctx context.Context, messageID int64) ([]*OutboxItem, error) {
	return o.outboxQuery(ctx, `message_id = ? ORDER BY id`, messageID)
}

// WaitingMessage is a message of a group's swarm kept until a key opens
// it: a group message (namespace 11), or an info or members config
// message (13, 14).
type WaitingMessage struct {
	Namespace int16
	Hash      string
	Data      []byte
	TS        int64 // swarm timestamp (ms)
	Expires   int64 // swarm expiry (ms)
}

// AddGroupWaiting keeps a message of the group that no key opens yet.
func (o ops) AddGroupWaiting(ctx context.Context, id key.SessionID, m WaitingMessage) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO group_waiting (group_id, namespace, hash, data, ts, expires) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, id.String(), m.Namespace, m.Hash, m.Data, m.TS, m.Expires)
	if err != nil {
		return fmt.Errorf("store: keep waiting group message: %w", err)
	}
	return nil
}

// DeleteGroupWaiting forgets a waiting message (opened, or given up).
func (o ops) DeleteGroupWaiting(ctx context.Context, id key.SessionID, hash string) error {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM group_waiting WHERE group_id = ? AND hash = ?`, id.String(), hash); err != nil {
		return fmt.Errorf("store: delete waiting group message: %w", err)
	}
	return nil
}

// GroupWaiting returns the group's waiting messages (of every namespace)
// that have not expired at now (ms), oldest first, and forgets the
// expired ones.
func (o ops) GroupWaiting(ctx context.Context, id key.SessionID, now int64) ([]WaitingMessage, error) {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM group_waiting WHERE group_id = ? AND expires <= ?`, id.String(), now); err != nil {
		return nil, fmt.Errorf("store: expire waiting group messages: %w", err)
	}
	rows, err := o.q.QueryContext(ctx, `SELECT namespace, hash, data, ts, expires FROM group_waiting WHERE group_id = ? ORDER BY ts, hash`, id.String())
	if err != nil {
		return nil, fmt.Errorf("store: waiting group messages: %w", err)
	}
	defer rows.Close()
	var out []WaitingMessage
	for rows.Next() {
		var m WaitingMessage
		if err := rows.Scan(&m.Namespace, &m.Hash, &m.Data, &m.TS, &m.Expires); err != nil {
			return nil, fmt.Errorf("store: waiting group messages: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

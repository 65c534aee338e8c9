package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"sotto.dev/key"
)

// LastHash returns the hash of the last message retrieved from node for
// account and namespace ns, or "" when nothing was retrieved there yet.
//
// The position is kept per node because each node lists an account's
// messages in its own insertion order: a hash that marks "everything before
// this" on one node may not mean the same on another, where a message
// replicated late sits after it. A node we have not polled yet is read from
// the start and the processed-hash set drops what we already have.
func (o ops) LastHash(ctx context.Context, account key.SessionID, node string, ns int16) (string, error) {
	var h string
	err := o.q.QueryRowContext(ctx, `SELECT hash FROM last_hashes WHERE account = ? AND node = ? AND namespace = ?`,
		account.String(), node, ns).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: last hash: %w", err)
	}
	return h, nil
}

// SetLastHash records the retrieve position for node, account and ns.
func (o ops) SetLastHash(ctx context.Context, account key.SessionID, node string, ns int16, hash string, now int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO last_hashes (account, node, namespace, hash, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account, node, namespace) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
		account.String(), node, ns, hash, now)
	if err != nil {
		return fmt.Errorf("store: set last hash: %w", err)
	}
	return nil
}

// MarkSeen records that the message with swarm hash hash was processed,
// remembering it until expiresAt (the message's own expiry, after which no
// node returns it). It reports whether the hash was new.
func (o ops) MarkSeen(ctx context.Context, hash string, expiresAt int64) (bool, error) {
	res, err := o.q.ExecContext(ctx, `INSERT INTO seen_hashes (hash, expires_at) VALUES (?, ?)
		ON CONFLICT (hash) DO NOTHING`, hash, expiresAt)
	if err != nil {
		return false, fmt.Errorf("store: mark seen: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: mark seen: %w", err)
	}
	if n == 1 {
		return true, nil
	}
	_, err = o.q.ExecContext(ctx, `UPDATE seen_hashes SET expires_at = max(expires_at, ?) WHERE hash = ?`, expiresAt, hash)
	if err != nil {
		return false, fmt.Errorf("store: mark seen: %w", err)
	}
	return false, nil
}

// Seen reports whether hash was already processed.
func (o ops) Seen(ctx context.Context, hash string) (bool, error) {
	var n int
	if err := o.q.QueryRowContext(ctx, `SELECT count(*) FROM seen_hashes WHERE hash = ?`, hash).Scan(&n); err != nil {
		return false, fmt.Errorf("store: seen: %w", err)
	}
	return n > 0, nil
}

// PruneSeen forgets processed hashes whose messages expired before now.
func (o ops) PruneSeen(ctx context.Context, now int64) (int64, error) {
	res, err := o.q.ExecContext(ctx, `DELETE FROM seen_hashes WHERE expires_at < ?`, now)
	if err != nil {
		return 0, fmt.Errorf("store: prune seen: %w", err)
	}
	return res.RowsAffected()
}

// Setting returns the value of key and whether it is set.
func (o ops) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := o.q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: setting: %w", err)
	}
	return v, true, nil
}

// SetSetting sets key to value.
func (o ops) SetSetting(ctx context.Context, key, value string) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: set setting: %w", err)
	}
	return nil
}

// OutboxKind says what an outbox item carries.
type OutboxKind int8

// Outbox kinds.
const (
	// OutboxMessage is a message to the recipient's swarm.
	OutboxMessage OutboxKind = 1
	// OutboxSync is the copy of one of our messages for our own swarm.
	OutboxSync OutboxKind = 2
	// OutboxControl is a control message (receipt, unsend, request
	// response, expiry update) to a peer's or our own swarm.
	OutboxControl OutboxKind = 3
	// OutboxDelete deletes messages from our own swarm; Data holds their
	// hashes separated by newlines.
	OutboxDelete OutboxKind = 4
	// OutboxExpire shortens the expiry of messages in our own swarm to
	// Expiry; Data holds their hashes separated by newlines.
	OutboxExpire OutboxKind = 5
	// OutboxReceipt is a receipt waiting for its delay to end: Data is
	// the serialized ReceiptMessage, not yet encrypted, so that receipts
	// due to the same peer in the meantime join it. The client seals it
	// (into an OutboxControl item) when it first tries to deliver it.
	OutboxReceipt OutboxKind = 6
)

// OutboxItem is an encrypted message waiting to be stored in a swarm.
type OutboxItem struct {
	ID          int64
	MessageID   int64 // the local message it belongs to, 0 for none
	Kind        OutboxKind
	Account     key.SessionID // whose swarm
	Data        []byte        // the stored bytes (before base64)
	Timestamp   int64         // store timestamp, ms
	Expiry      int64         // store expiry, ms
	Attempts    int
	NextAttempt int64
	LastError   string
}

// Enqueue adds it to the outbox and sets it.ID.
func (o ops) Enqueue(ctx context.Context, it *OutboxItem) error {
	var mid any
	if it.MessageID != 0 {
		mid = it.MessageID
	}
	res, err := o.q.ExecContext(ctx, `INSERT INTO outbox (message_id, kind, account, data, timestamp, expiry, attempts, next_attempt, last_error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, mid, int8(it.Kind), it.Account.String(), it.Data, it.Timestamp, it.Expiry,
		it.Attempts, it.NextAttempt, it.LastError)
	if err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	it.ID, err = res.LastInsertId()
	if err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	return nil
}

const outboxColumns = `id, COALESCE(message_id, 0), kind, account, data, timestamp, expiry, attempts, next_attempt, last_error`

func (o ops) outboxQuery(ctx context.Context, where string, args ...any) ([]*OutboxItem, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	defer rows.Close()
	var out []*OutboxItem
	for rows.Next() {
		var it OutboxItem
		var acct string
		var kind int8
		if err := rows.Scan(&it.ID, &it.MessageID, &kind, &acct, &it.Data, &it.Timestamp, &it.Expiry,
			&it.Attempts, &it.NextAttempt, &it.LastError); err != nil {
			return nil, fmt.Errorf("store: outbox: %w", err)
		}
		it.Kind = OutboxKind(kind)
		if it.Account, err = parseID(acct); err != nil {
			return nil, err
		}
		out = append(out, &it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	return out, nil
}

// DueOutbox returns up to limit items whose next attempt is due at now,
// oldest first.
func (o ops) DueOutbox(ctx context.Context, now int64, limit int) ([]*OutboxItem, error) {
	return o.outboxQuery(ctx, `next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`, now, limit)
}

// OutboxItem returns outbox item id.
func (o ops) OutboxItem(ctx context.Context, id int64) (*OutboxItem, error) {
	items, err := o.outboxQuery(ctx, `id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, ErrNotFound
	}
	return items[0], nil
}

// OutboxLen returns the number of items waiting.
func (o ops) OutboxLen(ctx context.Context) (int, error) {
	var n int
	if err := o.q.QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: outbox: %w", err)
	}
	return n, nil
}

// NextOutbox returns the time of the earliest pending attempt and whether
// there is one.
func (o ops) NextOutbox(ctx context.Context) (int64, bool, error) {
	var at sql.NullInt64
	if err := o.q.QueryRowContext(ctx, `SELECT MIN(next_attempt) FROM outbox`).Scan(&at); err != nil {
		return 0, false, fmt.Errorf("store: outbox: %w", err)
	}
	return at.Int64, at.Valid, nil
}

// RetryLater records a failed attempt of item id and when to try again.
func (o ops) RetryLater(ctx context.Context, id int64, next int64, lastErr string) error {
	return o.exec1(ctx, "outbox retry", `UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?`,
		next, lastErr, id)
}

// WaitingOutbox returns the items of kind for account not yet tried and
// due later than after, oldest first.
func (o ops) WaitingOutbox(ctx context.Context, kind OutboxKind, account key.SessionID, after int64) ([]*OutboxItem, error) {
	return o.outboxQuery(ctx, `kind = ? AND account = ? AND attempts = 0 AND next_attempt > ? ORDER BY id`,
		int8(kind), account.String(), after)
}

// OutboxOfKind returns every outbox item of kind, oldest first.
func (o ops) OutboxOfKind(ctx context.Context, kind OutboxKind) ([]*OutboxItem, error) {
	return o.outboxQuery(ctx, `kind = ? ORDER BY id`, int8(kind))
}

// SetOutbox replaces the kind and data of item id.
func (o ops) SetOutbox(ctx context.Context, id int64, kind OutboxKind, data []byte) error {
	return o.exec1(ctx, "outbox set", `UPDATE outbox SET kind = ?, data = ? WHERE id = ?`, int8(kind), data, id)
}

// RemoveOutboxFor deletes the pending sends of message id and reports how
// many there were.
func (o ops) RemoveOutboxFor(ctx context.Context, messageID int64) (int64, error) {
	res, err := o.q.ExecContext(ctx, `DELETE FROM outbox WHERE message_id = ?`, messageID)
	if err != nil {
		return 0, fmt.Errorf("store: outbox remove: %w", err)
	}
	return res.RowsAffected()
}

// RemoveOutbox deletes item id (sent, or given up).
func (o ops) RemoveOutbox(ctx context.Context, id int64) error {
	_, err := o.q.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: outbox remove: %w", err)
	}
	return nil
}

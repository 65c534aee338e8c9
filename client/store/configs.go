package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ConfigObject is the saved state of one config object of the account
// (a libsession dump) with its sync bookkeeping.
type ConfigObject struct {
	Name      string // config.Kind.Name
	Namespace int
	Dump      []byte
	LastPush  int64 // ms; 0 when never pushed from this device
	LastMerge int64 // ms; 0 when nothing was ever merged
	LastError string
}

// ConfigObject returns the saved config object name, or ErrNotFound.
func (o ops) ConfigObject(ctx context.Context, name string) (*ConfigObject, error) {
	c := ConfigObject{Name: name}
	err := o.q.QueryRowContext(ctx, `SELECT namespace, dump, last_push, last_merge, last_error FROM config_objects WHERE name = ?`,
		name).Scan(&c.Namespace, &c.Dump, &c.LastPush, &c.LastMerge, &c.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: config object: %w", err)
	}
	return &c, nil
}

// SaveConfigDump saves the dump of config object name (namespace ns).
func (o ops) SaveConfigDump(ctx context.Context, name string, ns int, dump []byte) error {
	if dump == nil {
		dump = []byte{}
	}
	_, err := o.q.ExecContext(ctx, `INSERT INTO config_objects (name, namespace, dump) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET namespace = excluded.namespace, dump = excluded.dump`, name, ns, dump)
	if err != nil {
		return fmt.Errorf("store: save config dump: %w", err)
	}
	return nil
}

// ConfigPushed records a push of name at (ms), or its failure (errText
// not empty, at ignored).
func (o ops) ConfigPushed(ctx context.Context, name string, at int64, errText string) error {
	q := `UPDATE config_objects SET last_push = ?, last_error = '' WHERE name = ?`
	args := []any{at, name}
	if errText != "" {
		q, args = `UPDATE config_objects SET last_error = ? WHERE name = ?`, []any{errText, name}
	}
	if _, err := o.q.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("store: config pushed: %w", err)
	}
	return nil
}

// ConfigMerged records a merge into name at (ms).
func (o ops) ConfigMerged(ctx context.Context, name string, at int64) error {
	if _, err := o.q.ExecContext(ctx, `UPDATE config_objects SET last_merge = ? WHERE name = ?`, at, name); err != nil {
		return fmt.Errorf("store: config merged: %w", err)
	}
	return nil
}

// ConfigFetched returns the namespaces retrieved from our swarm at least
// once (SetConfigFetched).
func (o ops) ConfigFetched(ctx context.Context) (map[int]bool, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT namespace FROM config_fetched`)
	if err != nil {
		return nil, fmt.Errorf("store: config fetched: %w", err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var ns int
		if err := rows.Scan(&ns); err != nil {
			return nil, fmt.Errorf("store: config fetched: %w", err)
		}
		out[ns] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: config fetched: %w", err)
	}
	return out, nil
}

// SetConfigFetched records that namespace ns was retrieved from our swarm
// (or that there is nothing to retrieve: a new account).
func (o ops) SetConfigFetched(ctx context.Context, ns int) error {
	if _, err := o.q.ExecContext(ctx, `INSERT INTO config_fetched (namespace) VALUES (?) ON CONFLICT DO NOTHING`, ns); err != nil {
		return fmt.Errorf("store: set config fetched: %w", err)
	}
	return nil
}

// ConfigPending is a local change to one field of an item of a config
// object, made before the object's first fetch.
type ConfigPending struct {
	Item  string // a Session ID, or "" for the object itself
	Field string
	Value int64
}

// AddConfigPending records a pending change in namespace ns; recording a
// field again keeps the larger value.
func (o ops) AddConfigPending(ctx context.Context, ns int, p ConfigPending) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO config_pending (namespace, item, field, value) VALUES (?, ?, ?, ?)
		ON CONFLICT (namespace, item, field) DO UPDATE SET value = max(value, excluded.value)`, ns, p.Item, p.Field, p.Value)
	if err != nil {
		return fmt.Errorf("store: add config pending: %w", err)
	}
	return nil
}

// DeleteConfigPending forgets the pending changes of item in namespace
// ns.
func (o ops) DeleteConfigPending(ctx context.Context, ns int, item string) error {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM config_pending WHERE namespace = ? AND item = ?`, ns, item); err != nil {
		return fmt.Errorf("store: delete config pending: %w", err)
	}
	return nil
}

// ConfigPendingOf returns the pending changes of namespace ns, by item
// and field.
func (o ops) ConfigPendingOf(ctx context.Context, ns int) ([]ConfigPending, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT item, field, value FROM config_pending WHERE namespace = ? ORDER BY item, field`, ns)
	if err != nil {
		return nil, fmt.Errorf("store: config pending: %w", err)
	}
	defer rows.Close()
	var out []ConfigPending
	for rows.Next() {
		var p ConfigPending
		if err := rows.Scan(&p.Item, &p.Field, &p.Value); err != nil {
			return nil, fmt.Errorf("store: config pending: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: config pending: %w", err)
	}
	return out, nil
}

// ClearConfigPending forgets every pending change of namespace ns.
func (o ops) ClearConfigPending(ctx context.Context, ns int) error {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM config_pending WHERE namespace = ?`, ns); err != nil {
		return fmt.Errorf("store: clear config pending: %w", err)
	}
	return nil
}

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

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"sotto.dev/key"
)

// Node is a service node as the client learned it from a node list.
type Node struct {
	Ed25519   key.NodePublic
	X25519    key.OnionPublic
	Addr      netip.AddrPort // HTTPS storage address
	LearnedAt int64          // ms: when it first appeared in a list
	Sotto     bool           // it relays the Sotto onion form
	Operator  string         // who runs it (path.Node.Operator); "" when unknown
}

// SaveNodeList replaces the kept node list with nodes, fetched at fetched
// (ms). A node already kept keeps its LearnedAt; a new one gets fetched.
// Guards that are no longer listed are forgotten. Run it in a transaction
// (Store.Update) so that the list is never half written.
func (o ops) SaveNodeList(ctx context.Context, nodes []Node, fetched int64) error {
	keep := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if !n.Addr.IsValid() {
			return fmt.Errorf("store: save node list: node %s has no address", n.Ed25519)
		}
		_, err := o.q.ExecContext(ctx, `INSERT INTO snodes (ed25519, x25519, ip, port, learned_at, sotto, operator) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (ed25519) DO UPDATE SET x25519 = excluded.x25519, ip = excluded.ip, port = excluded.port, sotto = excluded.sotto,
				operator = excluded.operator`,
			n.Ed25519.String(), n.X25519.String(), n.Addr.Addr().String(), int(n.Addr.Port()), fetched, n.Sotto, n.Operator)
		if err != nil {
			return fmt.Errorf("store: save node list: %w", err)
		}
		keep = append(keep, n.Ed25519.String())
	}
	list, err := json.Marshal(keep)
	if err != nil {
		return fmt.Errorf("store: save node list: %w", err)
	}
	for _, q := range []string{
		`DELETE FROM snodes WHERE ed25519 NOT IN (SELECT value FROM json_each(?))`,
		`DELETE FROM guards WHERE ed25519 NOT IN (SELECT value FROM json_each(?))`,
	} {
		if _, err := o.q.ExecContext(ctx, q, string(list)); err != nil {
			return fmt.Errorf("store: save node list: %w", err)
		}
	}
	_, err = o.q.ExecContext(ctx, `INSERT INTO snode_list (id, fetched_at) VALUES (0, ?)
		ON CONFLICT (id) DO UPDATE SET fetched_at = excluded.fetched_at`, fetched)
	if err != nil {
		return fmt.Errorf("store: save node list: %w", err)
	}
	return nil
}

// NodeList returns the kept node list (ordered by key) and when it was
// fetched (ms); no nodes and 0 when none was kept. A row that does not
// parse (a damaged file) is an error: the caller then starts afresh.
func (o ops) NodeList(ctx context.Context) ([]Node, int64, error) {
	var fetched int64
	err := o.q.QueryRowContext(ctx, `SELECT fetched_at FROM snode_list WHERE id = 0`).Scan(&fetched)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: node list: %w", err)
	}
	rows, err := o.q.QueryContext(ctx, `SELECT ed25519, x25519, ip, port, learned_at, sotto, operator FROM snodes ORDER BY ed25519`)
	if err != nil {
		return nil, 0, fmt.Errorf("store: node list: %w", err)
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var ed, x, ip string
		var port int
		var n Node
		if err := rows.Scan(&ed, &x, &ip, &port, &n.LearnedAt, &n.Sotto, &n.Operator); err != nil {
			return nil, 0, fmt.Errorf("store: node list: %w", err)
		}
		if n.Ed25519, err = key.ParseNodePublic(ed); err != nil {
			return nil, 0, fmt.Errorf("store: node list: %w", err)
		}
		if n.X25519, err = key.ParseOnionPublic(x); err != nil {
			return nil, 0, fmt.Errorf("store: node list: %w", err)
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil || port <= 0 || port > 65535 {
			return nil, 0, fmt.Errorf("store: node list: bad address %q port %d", ip, port)
		}
		n.Addr = netip.AddrPortFrom(addr, uint16(port))
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: node list: %w", err)
	}
	return out, fetched, nil
}

// SetGuards replaces the kept guards with guards, in order of preference;
// a guard that is not in the kept node list is skipped. now (ms) is
// recorded for guards not kept before.
func (o ops) SetGuards(ctx context.Context, guards []key.NodePublic, now int64) error {
	old := map[string]int64{}
	rows, err := o.q.QueryContext(ctx, `SELECT ed25519, chosen_at FROM guards`)
	if err != nil {
		return fmt.Errorf("store: set guards: %w", err)
	}
	for rows.Next() {
		var ed string
		var at int64
		if err := rows.Scan(&ed, &at); err != nil {
			rows.Close()
			return fmt.Errorf("store: set guards: %w", err)
		}
		old[ed] = at
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: set guards: %w", err)
	}
	if _, err := o.q.ExecContext(ctx, `DELETE FROM guards`); err != nil {
		return fmt.Errorf("store: set guards: %w", err)
	}
	for i, g := range guards {
		at, ok := old[g.String()]
		if !ok {
			at = now
		}
		_, err := o.q.ExecContext(ctx, `INSERT OR IGNORE INTO guards (ed25519, position, chosen_at)
			SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM snodes WHERE ed25519 = ?)`, g.String(), i, at, g.String())
		if err != nil {
			return fmt.Errorf("store: set guards: %w", err)
		}
	}
	return nil
}

// Guards returns the kept guards in order of preference.
func (o ops) Guards(ctx context.Context) ([]key.NodePublic, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT ed25519 FROM guards ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("store: guards: %w", err)
	}
	defer rows.Close()
	var out []key.NodePublic
	for rows.Next() {
		var ed string
		if err := rows.Scan(&ed); err != nil {
			return nil, fmt.Errorf("store: guards: %w", err)
		}
		g, err := key.ParseNodePublic(ed)
		if err != nil {
			return nil, fmt.Errorf("store: guards: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: guards: %w", err)
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sotto.dev/key"
)

func testNode(i byte) Node {
	var n Node
	n.Ed25519[0], n.X25519[0] = i, i+100
	n.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, i, 1}), 22021)
	n.Sotto = i%2 == 1 // kept as it was listed
	if i%3 != 0 {
		n.Operator = fmt.Sprintf("operator %d", i%2) // and so is the operator, "" included
	}
	return n
}

// TestNodeListAndGuards: the node list and the guards survive a reopen;
// a node keeps when it was first learned; a guard that leaves the list is
// forgotten with it.
func TestNodeListAndGuards(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "client.db")
	s, err := Open(ctx, path, testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if nodes, fetched, err := s.NodeList(ctx); err != nil || len(nodes) != 0 || fetched != 0 {
		t.Fatalf("empty store: %d nodes, fetched %d, %v", len(nodes), fetched, err)
	}
	a, b, c := testNode(1), testNode(2), testNode(3)
	if err := s.Update(ctx, func(tx *Tx) error { return tx.SaveNodeList(ctx, []Node{a, b, c}, 1000) }); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGuards(ctx, []key.NodePublic{c.Ed25519, a.Ed25519, testNode(9).Ed25519}, 1500); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path, testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nodes, fetched, err := s.NodeList(ctx)
	a.LearnedAt, b.LearnedAt, c.LearnedAt = 1000, 1000, 1000
	if err != nil || fetched != 1000 || !slices.Equal(nodes, []Node{a, b, c}) {
		t.Fatalf("reopened: %+v, fetched %d, %v", nodes, fetched, err)
	}
	// The unlisted guard was skipped; the order is kept.
	if g, err := s.Guards(ctx); err != nil || !slices.Equal(g, []key.NodePublic{c.Ed25519, a.Ed25519}) {
		t.Fatalf("guards: %v, %v", g, err)
	}

	// A refresh: c leaves (and stops being a guard), b moves, d is new.
	b2, d := b, testNode(4)
	b2.Addr, b2.Operator = netip.MustParseAddrPort("10.9.9.9:1"), "another operator"
	if err := s.Update(ctx, func(tx *Tx) error { return tx.SaveNodeList(ctx, []Node{d, b2, a}, 2000) }); err != nil {
		t.Fatal(err)
	}
	nodes, fetched, err = s.NodeList(ctx)
	b2.LearnedAt, d.LearnedAt = 1000, 2000
	if err != nil || fetched != 2000 || !slices.Equal(nodes, []Node{a, b2, d}) {
		t.Fatalf("refreshed: %+v, fetched %d, %v", nodes, fetched, err)
	}
	if g, err := s.Guards(ctx); err != nil || !slices.Equal(g, []key.NodePublic{a.Ed25519}) {
		t.Fatalf("guards after the refresh: %v, %v", g, err)
	}
	if err := s.SaveNodeList(ctx, []Node{{Ed25519: a.Ed25519}}, 3000); err == nil {
		t.Fatal("a node without an address was saved")
	}
}

// TestMigrateNodeOperator opens a node list kept before nodes had an
// operator: the nodes survive the migration with an unknown operator, and
// the next list saves the operators.
func TestMigrateNodeOperator(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "client.db")
	all := migrations
	i := slices.IndexFunc(all, func(m string) bool { return strings.Contains(m, "ADD COLUMN operator") })
	if i < 0 {
		t.Fatal("no operator migration")
	}
	migrations = all[:i]
	s, err := Open(ctx, path, testKey(4))
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	a := testNode(1)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO snodes (ed25519, x25519, ip, port, learned_at, sotto) VALUES (?, ?, ?, ?, 1000, 1)`,
		a.Ed25519.String(), a.X25519.String(), a.Addr.Addr().String(), int(a.Addr.Port())); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO snode_list (id, fetched_at) VALUES (0, 1000)`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path, testKey(4))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nodes, fetched, err := s.NodeList(ctx)
	old := a
	old.Operator, old.LearnedAt = "", 1000
	if err != nil || fetched != 1000 || !slices.Equal(nodes, []Node{old}) {
		t.Fatalf("after the migration: %+v, fetched %d, %v", nodes, fetched, err)
	}
	if err := s.SaveNodeList(ctx, []Node{a}, 2000); err != nil {
		t.Fatal(err)
	}
	a.LearnedAt = 1000
	if nodes, _, err := s.NodeList(ctx); err != nil || !slices.Equal(nodes, []Node{a}) || a.Operator == "" {
		t.Fatalf("after a new list: %+v, %v", nodes, err)
	}
}

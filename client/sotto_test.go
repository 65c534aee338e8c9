package client

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestNodeListSottoVersion: a node announcing onion.SottoNodeVersion or
// later is marked as relaying the Sotto onion form; older versions, a
// missing version and a malformed one are not.
func TestNodeListSottoVersion(t *testing.T) {
	node := func(i int, version string) string {
		v := ""
		if version != "" {
			v = `,"storage_server_version":` + version
		}
		return `{"public_ip":"` + fmt.Sprintf("10.0.0.%d", i+1) + `","storage_port":22021,"pubkey_ed25519":"` + strings.Repeat(fmt.Sprintf("%02x", i+1), 32) +
			`","pubkey_x25519":"` + strings.Repeat("1", 64) + `"` + v + `}`
	}
	versions := []string{"[2,11,1]", "[2,12,0]", "[2,11,0]", "[2,10,3]", "", "[2,11]", "[99999,0,0]", `"2.11.1"`, "null", "[2,11,1.5]"}
	want := []bool{true, true, false, false, false, false, true, false, false, false}
	var list []string
	for i, v := range versions {
		list = append(list, node(i, v))
	}
	nodes, err := parseNodeStates(json.RawMessage(`{"service_node_states":[` + strings.Join(list, ",") + `]}`))
	if err != nil || len(nodes) != len(versions) {
		t.Fatalf("%d nodes, %v", len(nodes), err)
	}
	for i, n := range nodes {
		if n.Sotto != want[i] {
			t.Errorf("version %s: Sotto %v", versions[i], n.Sotto)
		}
	}
	if !seedFields["storage_server_version"] {
		t.Error("the client does not ask for storage_server_version")
	}
}

// TestDevnetUsesSottoForm: on a devnet (nodes announce
// onion.SottoNodeVersion) the client's node list marks every node, so its
// requests go in the Sotto form, and a message is delivered.
func TestDevnetUsesSottoForm(t *testing.T) {
	nw, alice, bob := pair(t)
	ctx := context.Background()
	ac, err := Open(Config{Home: t.TempDir(), NetworkFile: nw.NetworkFile(), Logger: slog.New(slog.DiscardHandler)}, alice.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	if _, err := ac.Send(ctx, bob.id(), "through the Sotto form", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := ac.net.manager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodes := m.Nodes()
	if len(nodes) == 0 {
		t.Fatal("no nodes")
	}
	for _, n := range nodes {
		if !n.Sotto {
			t.Fatalf("node %s not marked as relaying the Sotto form", n.Ed25519)
		}
	}
	for _, p := range m.Paths() {
		for _, h := range p.Hops {
			if !h.Sotto {
				t.Fatalf("path hop %s not marked", h.Ed25519)
			}
		}
	}
	if ac.net.sender.SessionOnly || ac.net.sender.Known == nil {
		t.Fatal("the client's sender does not choose the Sotto form")
	}
}

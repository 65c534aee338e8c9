package client

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestNodeListCapabilities: a node whose capabilities hold
// onion.CapSottoOnion is marked as relaying the Sotto onion form; other
// bits, a missing field and a malformed one are not, and the announced
// version no longer counts. Its operator_address is kept as its operator.
func TestNodeListCapabilities(t *testing.T) {
	node := func(i int, caps, extra string) string {
		v := ""
		if caps != "" {
			v = `,"capabilities":` + caps
		}
		return `{"public_ip":"` + fmt.Sprintf("10.0.0.%d", i+1) + `","storage_port":22021,"pubkey_ed25519":"` + strings.Repeat(fmt.Sprintf("%02x", i+1), 32) +
			`","pubkey_x25519":"` + strings.Repeat("1", 64) + `"` + v + extra + `}`
	}
	caps := []string{"1", "3", "4294967295", "0", "2", "", "-1", `"1"`, "null", "1.5", "4294967296", "0", "1"}
	extra := make([]string, len(caps))
	extra[11] = `,"storage_server_version":[2,11,1]` // the old signal alone
	extra[12] = `,"storage_server_version":[2,10,0]`
	want := []bool{true, true, true, false, false, false, false, false, false, false, false, false, true}
	var list []string
	for i, c := range caps {
		list = append(list, node(i, c, extra[i]))
	}
	nodes, err := parseNodeStates(json.RawMessage(`{"service_node_states":[` + strings.Join(list, ",") + `]}`))
	if err != nil || len(nodes) != len(caps) {
		t.Fatalf("%d nodes, %v", len(nodes), err)
	}
	for i, n := range nodes {
		if n.Sotto != want[i] {
			t.Errorf("capabilities %s%s: Sotto %v", caps[i], extra[i], n.Sotto)
		}
	}
	if !seedFields["capabilities"] || !seedFields["operator_address"] {
		t.Error("the client does not ask for capabilities and operator_address")
	}

	operators := []string{`"` + strings.Repeat("ab", 32) + `"`, `"LAbCdEf"`, `""`, "7", `"` + strings.Repeat("x", 129) + `"`}
	wantOp := []string{strings.Repeat("ab", 32), "LAbCdEf", "", "", ""}
	list = list[:0]
	for i, op := range operators {
		list = append(list, node(i, "1", `,"operator_address":`+op))
	}
	nodes, err = parseNodeStates(json.RawMessage(`{"service_node_states":[` + strings.Join(list, ",") + `]}`))
	if err != nil || len(nodes) != len(operators) {
		t.Fatalf("%d nodes, %v", len(nodes), err)
	}
	for i, n := range nodes {
		if n.Operator != wantOp[i] {
			t.Errorf("operator_address %s: operator %q, want %q", operators[i], n.Operator, wantOp[i])
		}
	}
}

// TestDevnetUsesSottoForm: on a devnet (nodes announce
// onion.CapSottoOnion) the client's node list marks every node, so its
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

package client

import (
	"context"
	"testing"
	"time"

	"sotto.dev/client/path"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/onion"
	"sotto.dev/swarm"
)

// TestPathsKeepOperatorsApart runs a CometBFT network of six nodes run by
// three operators, two nodes each, that registered themselves with their
// operators' keys. By both routes a client learns nodes — the proven list
// (docs/nodeproof.md) and a seed's get_n_service_nodes answer — every node
// carries the operator the ledger registered and the Sotto capability its
// uptime proofs announce, and no path of several
// clients holds two nodes of one operator: with three operators for three
// hops, each path has one node of each.
func TestPathsKeepOperatorsApart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT")
	}
	nw := testnet.StartT(t, testnet.Options{Nodes: 6, CometBFT: true, Operators: 3, Swarm: swarm.AssignParams{MinSize: 3, IdealSize: 5}})
	want := map[key.NodePublic]string{}
	operators := map[string]int{}
	for i := range nw.Len() {
		k, err := cli.ReadKey(nw.Node(i).OperatorKey)
		if err != nil {
			t.Fatal(err)
		}
		op := state.Address(k.PublicKey()).String()
		want[nw.Node(i).Ed25519] = op
		operators[op]++
	}
	if len(operators) != 3 {
		t.Fatalf("%d operators for 6 nodes: %v", len(operators), operators)
	}
	file, err := LoadNetwork(nw.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	if file.Ledger == nil {
		t.Fatal("the network file has no ledger section")
	}
	unproven := *file
	unproven.Ledger = nil
	// A node announces its capabilities in its uptime proofs, the first
	// one a block or two after its registration: wait for every node's.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := nw.LedgerClient()
	for {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for i := range nw.Len() {
			ni, err := c.Node(ctx, nw.Node(i).Ed25519)
			if err != nil {
				t.Fatal(err)
			}
			if ni.Caps != onion.CapSottoOnion {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if err := c.WaitHeight(ctx, st.Height+1); err != nil {
			t.Fatalf("%d nodes without their capabilities: %v", missing, err)
		}
	}

	for _, route := range []struct {
		name string
		file *Network
	}{{"proven list", file}, {"get_n_service_nodes", &unproven}} {
		t.Run(route.name, func(t *testing.T) { checkOperatorPaths(t, route.file, want) })
	}
}

// TestPathsKeepOperatorsApartGenesis is TestPathsKeepOperatorsApart on a
// genesis-file network (the ledger's View from a file, no CometBFT), whose
// file names each node's operator_address.
func TestPathsKeepOperatorsApartGenesis(t *testing.T) {
	nw := testnet.StartT(t, testnet.Options{Nodes: 6, Operators: 3})
	want := map[key.NodePublic]string{}
	for i := range nw.Len() {
		want[nw.Node(i).Ed25519] = testnet.OperatorAddress(i % 3).String()
	}
	file, err := LoadNetwork(nw.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	checkOperatorPaths(t, file, want)
}

// checkOperatorPaths bootstraps four clients on file: each learns every
// node with the operator want gives it and its Sotto capability, and none of the paths they use
// or keep holds two nodes of one operator.
func checkOperatorPaths(t *testing.T, file *Network, want map[key.NodePublic]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for c := range 4 {
		n := newNetwork(Config{RequestTimeout: 10 * time.Second}.withDefaults(), file)
		defer n.close()
		if n.proving() != (file.Ledger != nil) {
			t.Fatalf("client %d: proving %v", c, n.proving())
		}
		m, err := n.manager(ctx)
		if err != nil {
			t.Fatal(err)
		}
		nodes := m.Nodes()
		if len(nodes) != len(want) {
			t.Fatalf("client %d: %d nodes", c, len(nodes))
		}
		for _, nd := range nodes {
			if nd.Operator != want[nd.Ed25519] || !nd.Sotto {
				t.Fatalf("client %d: node %s has operator %q (the ledger's: %q), Sotto form %v", c, nd.Ed25519, nd.Operator, want[nd.Ed25519], nd.Sotto)
			}
		}
		var used []path.Path
		for range 4 {
			if err := m.Do(ctx, func(_ context.Context, p path.Path) error {
				used = append(used, p)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range append(used, m.Paths()...) {
			seen := map[string]bool{}
			for _, h := range p.Hops {
				if h.Operator == "" || seen[h.Operator] {
					t.Fatalf("client %d: path %d has operators %v", c, p.ID, hopOperators(p))
				}
				seen[h.Operator] = true
			}
		}
	}
}

func hopOperators(p path.Path) []string {
	var out []string
	for _, h := range p.Hops {
		out = append(out, h.Operator)
	}
	return out
}

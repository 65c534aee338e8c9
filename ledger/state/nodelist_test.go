package state

import (
	"slices"
	"testing"

	"sotto.dev/nodeproof"
)

// TestNodeListHashMatchesNodeproof checks that the ledger commits the node
// list exactly as a client's verifier (package nodeproof) hashes it: the
// labels, the encoding, which nodes are in it and their states. The state
// holds an active node, one unlocking and one still awaiting stake.
func TestNodeListHashMatchesNodeproof(t *testing.T) {
	if AppHashLabel != nodeproof.AppHashLabel || NodeListLabel != nodeproof.NodeListLabel {
		t.Fatal("the ledger's and nodeproof's labels differ")
	}
	h := devnet(t)
	keys := h.solo("alice", "n", 3)
	h.ok(h.register("bob", "waiting", 50*Coin, 0))
	h.ok(h.tx("alice", &Unlock{Node: keys[1]}))

	var list []nodeproof.Node
	for _, n := range h.s.Nodes() {
		if n.Status != StatusActive {
			continue
		}
		pn := nodeproof.Node{Ed25519: n.Key, X25519: n.X25519, IPv4: n.IP, Port: n.Port, SwarmID: n.SwarmID,
			State: nodeproof.StateActive, UnlockHeight: n.UnlockHeight, Version: n.Version, Operator: n.Operator, Caps: n.Caps}
		if n.UnlockHeight != 0 {
			pn.State = nodeproof.StateUnlocking
		}
		list = append(list, pn)
	}
	if len(list) != 3 || list[0].State+list[1].State+list[2].State != 1+1+4 {
		t.Fatalf("test state: %d serving nodes %+v", len(list), list)
	}
	if err := nodeproof.CheckSorted(list); err != nil {
		t.Fatal(err)
	}
	if got, want := h.s.NodeListHash(), nodeproof.NodeListHash(list); got != want {
		t.Fatalf("node-list hash: ledger %x, nodeproof %x", got, want)
	}
	if got, want := h.s.Hash(), nodeproof.AppHash(h.s.StateHash(), nodeproof.NodeListHash(list)); got != want {
		t.Fatalf("app hash: ledger %x, nodeproof %x", got, want)
	}
	// Any change to a served field changes the hash.
	for _, tc := range []struct {
		name string
		edit func(n *nodeproof.Node)
	}{
		{"port", func(n *nodeproof.Node) { n.Port++ }},
		{"operator", func(n *nodeproof.Node) { n.Operator[0] ^= 1 }},
		{"capabilities", func(n *nodeproof.Node) { n.Caps ^= 1 }},
	} {
		edited := slices.Clone(list)
		tc.edit(&edited[2])
		if h.s.NodeListHash() == nodeproof.NodeListHash(edited) {
			t.Errorf("a changed %s left the hash alike", tc.name)
		}
	}
}

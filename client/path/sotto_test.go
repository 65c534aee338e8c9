package path_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"sotto.dev/client/path"
	"sotto.dev/internal/testnet/relaynet"
	"sotto.dev/onion"
	"sotto.dev/snode/relay"
)

// startMixed starts n relays; those at the indexes in old relay only
// Session's form and do not announce the Sotto one.
func startMixed(t *testing.T, n int, old ...int) *network {
	t.Helper()
	nw := relaynet.Start(t, n, func(i int, d relaynet.Deps) (*relay.Relay, error) {
		return relay.New(relay.Config{SessionOnly: slices.Contains(old, i)},
			relay.Deps{X25519Private: d.X25519Private, Directory: d.Directory, Local: d.Local, HTTPClient: d.Client, ServerClient: d.Client})
	})
	net := &network{Network: nw}
	for i, n := range nw.Nodes {
		net.nodes = append(net.nodes, path.Node{Ed25519: n.Hop.Node, X25519: n.Hop.X25519, IP: n.Addr.Addr(), Port: n.Addr.Port(),
			Sotto: !slices.Contains(old, i)})
	}
	return net
}

// TestSenderChoosesForm: with old and new relays mixed, the sender uses
// the Sotto form exactly when every hop and the destination announce it
// (a destination without the flag, as swarm answers give it, is looked up
// in the node list), and every request succeeds either way.
func TestSenderChoosesForm(t *testing.T) {
	net := startMixed(t, 6, 1, 4) // nodes 1 and 4 are old
	m := newClient(t, net, 3)
	routes := [][]int{{0, 2, 3, 5}, {1, 2, 3, 0}, {0, 1, 3, 2}, {0, 2, 4, 3}, {0, 2, 3, 4}, {5, 3, 2, 0}}
	for _, sessionOnly := range []bool{false, true} {
		for _, c := range []onion.Cipher{onion.CipherAESGCM, onion.CipherXChaCha20} {
			s := &path.Sender{Client: net.Client, Cipher: c, SessionOnly: sessionOnly, Known: m.Lookup}
			for _, r := range routes {
				p := path.Path{Hops: []path.Node{net.nodes[r[0]], net.nodes[r[1]], net.nodes[r[2]]}}
				dest := net.nodes[r[3]]
				dest.Sotto = false // as a swarm answer gives it
				want := !sessionOnly && !slices.ContainsFunc(r, func(i int) bool { return !net.nodes[i].Sotto })
				guard := net.Nodes[r[0]].Relay
				before := guard.Stats().Sotto
				resp, err := s.Snode(context.Background(), p, dest, []byte(`{"method":"store","params":{}}`))
				if err != nil || resp.Status != 200 || string(resp.Body) != fmt.Sprintf(`{"method":"store","node":"node%d"}`, r[3]) {
					t.Fatalf("sessionOnly=%v %s %v: %+v %v", sessionOnly, c, r, resp, err)
				}
				if used := guard.Stats().Sotto > before; used != want {
					t.Fatalf("sessionOnly=%v %s %v: Sotto form used %v, want %v", sessionOnly, c, r, used, want)
				}
			}
		}
	}
	// Through the manager's own paths, whatever they are.
	s := &path.Sender{Client: net.Client, Known: m.Lookup}
	for i, dest := range net.nodes {
		if _, err := store(context.Background(), m, s, dest, nil); err != nil {
			t.Fatalf("node%d: %v", i, err)
		}
	}
}

package path_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"

	"sotto.dev/client/path"
	"sotto.dev/internal/testnet/relaynet"
	"sotto.dev/key"
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
	// A server destination needs only the relays to speak the form.
	priv := key.OnionPrivate{9, 9, 8}
	kp, _ := onion.NewKeyPair(priv)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /room/{token}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "room %s", r.PathValue("token")) })
	srv := httptest.NewUnstartedServer(onion.V4Handler(mux, priv))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	server := onion.ServerDest{Host: ap.Addr().String(), Port: ap.Port(), Protocol: "https", X25519: kp.Public()}
	req, _ := onion.EncodeV4Request(onion.V4RequestInfo{Method: "GET", Endpoint: "/room/lobby"}, nil)
	s := &path.Sender{Client: net.Client, Known: m.Lookup}
	for _, r := range [][]int{{0, 2, 3}, {0, 1, 3}, {5, 3, 4}} {
		want := !slices.ContainsFunc(r, func(i int) bool { return !net.nodes[i].Sotto })
		guard := net.Nodes[r[0]].Relay
		before := guard.Stats().Sotto
		resp, err := s.Server(context.Background(), path.Path{Hops: []path.Node{net.nodes[r[0]], net.nodes[r[1]], net.nodes[r[2]]}}, server, req)
		if err != nil || resp.Code != 200 || string(resp.Body) != "room lobby" {
			t.Fatalf("server via %v: %+v %v", r, resp, err)
		}
		if used := guard.Stats().Sotto > before; used != want {
			t.Fatalf("server via %v: Sotto form used %v, want %v", r, used, want)
		}
	}
	// Through the manager's own paths, whatever they are.
	for i, dest := range net.nodes {
		if _, err := store(context.Background(), m, s, dest, nil); err != nil {
			t.Fatalf("node%d: %v", i, err)
		}
	}
}

package path_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"go.uber.org/goleak"

	"sotto.dev/client/path"
	"sotto.dev/internal/testnet/relaynet"
	"sotto.dev/key"
	"sotto.dev/onion"
	"sotto.dev/snode/relay"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// This file runs the client's path manager and sender against real
// relays (internal/testnet/relaynet): HTTPS servers on 127.0.0.1, each a
// snode/relay handler with a small storage stand-in, plus a v4 onion
// destination server.

// network is a relaynet network and its nodes as the path manager sees
// them.
type network struct {
	*relaynet.Network[*relay.Relay]
	nodes []path.Node
}

func startNetwork(t *testing.T, n int) *network {
	t.Helper()
	nw := relaynet.Start(t, n, func(_ int, d relaynet.Deps) (*relay.Relay, error) {
		return relay.New(relay.Config{}, relay.Deps{X25519Private: d.X25519Private, Directory: d.Directory, Local: d.Local, HTTPClient: d.Client, ServerClient: d.Client})
	})
	net := &network{Network: nw}
	for _, n := range nw.Nodes {
		net.nodes = append(net.nodes, path.Node{Ed25519: n.Hop.Node, X25519: n.Hop.X25519, IP: n.Addr.Addr(), Port: n.Addr.Port()})
	}
	return net
}

func newClient(t *testing.T, net *network, seed uint64) *path.Manager {
	t.Helper()
	m, err := path.New(path.Config{AllowSameSubnet: true}, path.Deps{Rand: rand.New(rand.NewPCG(seed, 7))})
	if err != nil {
		t.Fatal(err)
	}
	m.SetNodes(net.nodes)
	return m
}

// store sends one storage RPC to dest through the manager's paths.
func store(ctx context.Context, m *path.Manager, s *path.Sender, dest path.Node, attempts *[]error) (map[string]any, error) {
	var out map[string]any
	err := m.Do(ctx, func(ctx context.Context, p path.Path) error {
		resp, err := s.Snode(ctx, p, dest, []byte(`{"method":"store","params":{"data":"aGk="}}`))
		if attempts != nil {
			*attempts = append(*attempts, err)
		}
		if err != nil {
			return err
		}
		if resp.Status != 200 {
			return path.Permanent(fmt.Errorf("status %d", resp.Status))
		}
		return json.Unmarshal(resp.Body, &out)
	}, dest.Ed25519)
	return out, err
}

func TestEightNodesBothCiphers(t *testing.T) {
	net := startNetwork(t, 8)
	m := newClient(t, net, 1)
	for _, c := range []onion.Cipher{onion.CipherAESGCM, onion.CipherXChaCha20} {
		s := &path.Sender{Client: net.Client, Cipher: c}
		for i, dest := range net.nodes {
			got, err := store(context.Background(), m, s, dest, nil)
			if err != nil {
				t.Fatalf("%s to node%d: %v", c, i, err)
			}
			if got["node"] != fmt.Sprint("node", i) || got["method"] != "store" {
				t.Fatalf("%s to node%d: answered %v", c, i, got)
			}
		}
	}
	for _, p := range m.Paths() {
		if len(p.Hops) != 3 {
			t.Fatalf("path of %d hops", len(p.Hops))
		}
	}
}

func TestV4ServerDestination(t *testing.T) {
	net := startNetwork(t, 6)
	m := newClient(t, net, 2)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /room/{token}/messages/recent", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"room":%q,"auth":%q}]`, r.PathValue("token"), r.Header.Get("X-SOGS-Signature"))
	})
	priv := key.OnionPrivate{9, 9, 9}
	kp, _ := onion.NewKeyPair(priv)
	srv := httptest.NewUnstartedServer(onion.V4Handler(mux, priv))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	dest := onion.ServerDest{Host: ap.Addr().String(), Port: ap.Port(), Protocol: "https", X25519: kp.Public()}
	for _, c := range []onion.Cipher{onion.CipherAESGCM, onion.CipherXChaCha20} {
		s := &path.Sender{Client: net.Client, Cipher: c}
		req, _ := onion.EncodeV4Request(onion.V4RequestInfo{Method: "GET", Endpoint: "/room/lobby/messages/recent",
			Headers: map[string]string{"X-SOGS-Signature": "c2ln"}}, nil)
		var resp onion.V4Response
		err := m.Do(context.Background(), func(ctx context.Context, p path.Path) error {
			var err error
			resp, err = s.Server(ctx, p, dest, req)
			return err
		})
		if err != nil || resp.Code != 200 || string(resp.Body) != `[{"room":"lobby","auth":"c2ln"}]` {
			t.Fatalf("%s: %+v %v", c, resp, err)
		}
	}
}

// TestKilledPathNode stops a node on a path: the request fails on that
// path (504 from the hop before it, or a connection error at a guard) and
// succeeds on another.
func TestKilledPathNode(t *testing.T) {
	for _, position := range []int{0, 1, 2} {
		t.Run(fmt.Sprint("hop", position), func(t *testing.T) {
			net := startNetwork(t, 8)
			m := newClient(t, net, uint64(10+position))
			s := &path.Sender{Client: net.Client}
			if err := m.Do(context.Background(), func(context.Context, path.Path) error { return nil }); err != nil {
				t.Fatal(err)
			}
			victimPath, other := m.Paths()[0], m.Paths()[1]
			victim := victimPath.Hops[position].Ed25519
			net.Nodes[net.Index(victim)].Server.Close()
			// A destination on neither path, and the other path avoided:
			// the first attempt must use the path with the dead node.
			var dest path.Node
			for _, n := range net.nodes {
				if !contains(victimPath, n.Ed25519) && !contains(other, n.Ed25519) {
					dest = n
					break
				}
			}
			var attempts []error
			err := m.Do(context.Background(), func(ctx context.Context, p path.Path) error {
				resp, err := s.Snode(ctx, p, dest, []byte(`{"method":"info","params":{}}`))
				attempts = append(attempts, err)
				if err == nil && resp.Status != 200 {
					return path.Permanent(fmt.Errorf("status %d", resp.Status))
				}
				return err
			}, dest.Ed25519, other.Guard().Ed25519)
			if err != nil {
				t.Fatalf("request failed: %v (attempts %v)", err, attempts)
			}
			if len(attempts) != 2 {
				t.Fatalf("attempts %v, want a failure then a success", attempts)
			}
			var pe *onion.PathError
			var ne *path.NodeError
			switch {
			case position == 0 && !errors.As(attempts[0], &ne):
				t.Fatalf("dead guard gave %v, want a NodeError", attempts[0])
			case position > 0 && (!errors.As(attempts[0], &pe) || pe.Status != 504):
				t.Fatalf("dead hop %d gave %v, want 504", position, attempts[0])
			}
			// Later requests keep working, whatever the destination.
			for i, d := range net.nodes {
				if d.Ed25519 == victim {
					continue
				}
				if _, err := store(context.Background(), m, s, d, nil); err != nil {
					t.Fatalf("request %d after the kill: %v", i, err)
				}
			}
		})
	}
}

func contains(p path.Path, id key.NodePublic) bool {
	for _, n := range p.Hops {
		if n.Ed25519 == id {
			return true
		}
	}
	return false
}

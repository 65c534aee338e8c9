package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"sotto.dev/client/path"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"
)

// forgedStates is a well-formed get_n_service_nodes answer listing nodes
// an attacker made up.
func forgedStates(n int) []byte {
	var states []map[string]any
	for i := range n {
		k := sha256.Sum256([]byte{byte(i)})
		states = append(states, map[string]any{
			"public_ip": "127.0.0.1", "storage_port": 20000 + i,
			"pubkey_ed25519": hex.EncodeToString(k[:]), "pubkey_x25519": hex.EncodeToString(k[:]),
		})
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 0, "result": map[string]any{"service_node_states": states}})
	return b
}

// TestSeedPinning performs the bootstrap attack: someone on the path
// answers for a seed with a node list of their own. Without the pinned
// certificate the client refuses the list and says why; the same server
// behind the pinned certificate is believed, so the pin is the check.
func TestSeedPinning(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/json_rpc" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(forgedStates(12))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	certPin := sha256.Sum256(srv.Certificate().Raw)
	otherPin := sha256.Sum256([]byte("the seed's real certificate"))

	for _, tc := range []struct {
		name string
		pin  [32]byte
		ok   bool
	}{
		{"the pinned certificate", certPin, true},
		{"another certificate", otherPin, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nw := &Network{SeedNodes: []Seed{{URL: srv.URL, CertSHA256: hex.EncodeToString(tc.pin[:])}}, AllowSameSubnet: true}
			n := newNetwork(Config{RequestTimeout: 5 * time.Second}.withDefaults(), nw)
			defer n.close()
			nodes, err := n.fromSeeds(context.Background())
			if tc.ok {
				if err != nil || len(nodes) != 12 {
					t.Fatalf("pinned seed: %d nodes, %v", len(nodes), err)
				}
				return
			}
			var pe *SeedPinError
			if !errors.As(err, &pe) || len(nodes) != 0 {
				t.Fatalf("seed without the pinned certificate: %d nodes, error %v", len(nodes), err)
			}
			if pe.Got != certPin || pe.Want != otherPin || !strings.Contains(err.Error(), "pins") {
				t.Errorf("error does not say which certificate was refused: %v", err)
			}
		})
	}
}

// lyingView is the ledger view of a malicious node: it lists every other
// node with an onion key of the attacker's, so that a client that believed
// it would encrypt every layer of its paths to the attacker.
type lyingView struct {
	ledger.View
	me [32]byte
}

func (v lyingView) Current() *ledger.Snapshot {
	s := v.View.Current()
	out := &ledger.Snapshot{Height: s.Height, Nodes: slices.Clone(s.Nodes)}
	for i := range out.Nodes {
		if out.Nodes[i].Ed25519 != v.me {
			out.Nodes[i].X25519 = sha256.Sum256([]byte("attacker"))
		}
	}
	return out
}

// TestNodeListLiar performs the refresh attack: one node answers
// get_service_nodes with a list of its own making. A refresh that asks it
// together with two honest nodes refuses the lists they disagree on, and a
// refresh whatever nodes it draws never installs the forged keys.
func TestNodeListLiar(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	const liar = 0
	nw := testnet.StartT(t, testnet.Options{Nodes: 10, Swarm: swarm.AssignParams{MinSize: 3, IdealSize: 5},
		View: func(node testnet.NodeInfo, v ledger.View) ledger.View {
			if node.Index != liar {
				return v
			}
			return lyingView{View: v, me: [32]byte(node.Ed25519)}
		}})
	file, err := LoadNetwork(nw.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	// The seeds are honest (they are pinned); the liar is an ordinary node.
	liarNode := nw.Node(liar)
	file.SeedNodes = slices.DeleteFunc(file.SeedNodes, func(s Seed) bool { return s.URL == liarNode.URL })

	n := newNetwork(Config{RequestTimeout: 10 * time.Second}.withDefaults(), file)
	defer n.close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := n.manager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	truth := m.Nodes()
	if len(truth) != 10 {
		t.Fatalf("bootstrap gave %d nodes", len(truth))
	}
	var liarPeer path.Node
	var honest []path.Node
	for _, nd := range truth {
		if [32]byte(nd.Ed25519) == [32]byte(liarNode.Ed25519) {
			liarPeer = nd
		} else {
			honest = append(honest, nd)
		}
	}

	// Requests go through a path of honest nodes that are not asked.
	paths := []path.Path{{Hops: honest[5:8]}}
	// The attack is live: the liar alone hands out its forged list.
	forged, err := n.nodesFromSnode(ctx, paths[0], liarPeer)
	if err != nil || len(forged) != 10 || sameNodes(forged, truth) {
		t.Fatalf("the liar answered %d nodes (%v), not a forged list", len(forged), err)
	}

	got, err := n.nodesFromSnodes(ctx, paths, honest[:3])
	if err != nil || !sameNodes(got, truth) {
		t.Fatalf("three honest nodes: %d nodes, %v", len(got), err)
	}
	got, err = n.nodesFromSnodes(ctx, paths, []path.Node{liarPeer, honest[0], honest[1]})
	var le *NodeListError
	if !errors.As(err, &le) || got != nil {
		t.Fatalf("a refresh that asked the liar accepted %d nodes (error %v)", len(got), err)
	}
	// A swarm answer is one node's word too: the liar names real members
	// with its own onion key and address, and a member of its invention.
	// The client keeps the listed members' own keys and addresses, and
	// drops the unknown one.
	made := sha256.Sum256([]byte("made up"))
	lied := []storagerpc.SnodeInfo{{
		PubkeyEd25519: honest[0].Ed25519.String(), PubkeyX25519: hex.EncodeToString(made[:]),
		IP: "127.0.0.9", PortHTTPS: 1,
	}, {
		PubkeyEd25519: hex.EncodeToString(made[:]), PubkeyX25519: hex.EncodeToString(made[:]),
		IP: "127.0.0.9", PortHTTPS: 1,
	}}
	var acct key.SessionID
	if sw := n.setSwarm(acct, lied); len(sw) != 1 || sw[0] != honest[0] {
		t.Fatalf("swarm from a lying answer: %+v, want only %+v", sw, honest[0])
	}

	// Whatever nodes a refresh draws, through the manager's own paths, it
	// installs the truth: the liar's list is refused, or never asked for.
	if err := m.Do(ctx, func(context.Context, path.Path) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		got, err := n.refreshNodes(ctx)
		if err != nil || !sameNodes(got, truth) {
			t.Fatalf("refresh: %d nodes, %v", len(got), err)
		}
	}
}

// sameNodes compares two node lists by the nodes' keys and addresses. The
// Sotto flag is left out: it follows each node's newest uptime proof, so a
// list fetched before a node's first proof reached the ledger has it off.
func sameNodes(a, b []path.Node) bool {
	cmp := func(x, y path.Node) int { return strings.Compare(x.Ed25519.String(), y.Ed25519.String()) }
	strip := func(l []path.Node) []path.Node {
		l = slices.Clone(l)
		for i := range l {
			l[i].Sotto = false
		}
		slices.SortFunc(l, cmp)
		return l
	}
	return slices.Equal(strip(a), strip(b))
}

func TestIntersectNodeLists(t *testing.T) {
	mk := func(n, from int) []path.Node {
		var out []path.Node
		for i := range n {
			var nd path.Node
			nd.Ed25519[0], nd.Ed25519[1] = byte(from+i), byte((from+i)>>8)
			nd.X25519[0] = byte(from + i)
			nd.Port = 1
			out = append(out, nd)
		}
		return out
	}
	changed := mk(10, 0)
	changed[3].X25519[5] = 0xff
	extra := append(mk(10, 0), mk(1, 900)...)
	big := mk(30, 0)
	bigChanged := slices.Clone(big)
	bigChanged[2].Port = 2
	for _, tc := range []struct {
		name  string
		lists [][]path.Node
		want  int // -1: refused
	}{
		{"small network, all agree", [][]path.Node{mk(10, 0), mk(10, 0), mk(10, 0)}, 10},
		{"small network, one node's key changed", [][]path.Node{mk(10, 0), changed, mk(10, 0)}, -1},
		{"small network, one list adds a node", [][]path.Node{mk(10, 0), extra, mk(10, 0)}, -1},
		{"small network, one list drops a node", [][]path.Node{mk(10, 0), mk(9, 0), mk(10, 0)}, -1},
		{"large network, one changed entry dropped", [][]path.Node{big, bigChanged, big}, 29},
		{"large network, made-up lists", [][]path.Node{big, mk(30, 500), big}, -1},
		{"empty", [][]path.Node{nil, nil, nil}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := intersectNodeLists(tc.lists)
			if tc.want < 0 {
				var le *NodeListError
				if !errors.As(err, &le) {
					t.Fatalf("accepted %d nodes", len(got))
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("%d nodes, %v; want %d", len(got), err, tc.want)
			}
		})
	}
}

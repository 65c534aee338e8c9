package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sotto.dev/client/path"
	"sotto.dev/internal/testnet"
	"sotto.dev/snode"
)

// The tests here give every node and every client an address of its own:
// network namespaces where the test runs as root (the test runs again in a
// namespace of its own, testnet.RunInNetns), loopback addresses elsewhere.
// Each logs the mode it ran in.

// addressNetwork starts a network with one address per node.
func addressNetwork(t *testing.T, opts testnet.Options) *testnet.Network {
	t.Helper()
	opts.Addresses = testnet.PickAddressMode()
	t.Logf("address mode: %s", opts.Addresses)
	return startNetwork(t, opts)
}

// clientDial is test client k's dialer and address.
func clientDial(t *testing.T, nw *testnet.Network, k int) (dialFunc, netip.Addr) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, a, err := nw.ClientDial(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	return d, a
}

func infoStatus(t *testing.T, hc *http.Client, url string) int {
	t.Helper()
	resp, err := hc.Post(url+"/storage_rpc/v1", "application/json", strings.NewReader(`{"method":"info","params":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func dialClient(dial dialFunc) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:     dial,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed node certificates
	}}
}

// TestRateLimitPerClientAddress: a client that spends its address's burst
// is refused with 429; a client at another address is not, and the nodes
// (each at its own address) still replicate and relay for everyone.
func TestRateLimitPerClientAddress(t *testing.T) {
	if testnet.RunInNetns(t) {
		return
	}
	const burst = 5
	nw := addressNetwork(t, testnet.Options{Nodes: 5, Tune: func(_ int, c *snode.Config) {
		c.Limits.ClientRate = 1e-6 // no token comes back during the test
		c.Limits.ClientBurst = burst
	}})
	target := nw.Node(0).URL
	dialA, addrA := clientDial(t, nw, 0)
	dialB, addrB := clientDial(t, nw, 1)
	if addrA == addrB {
		t.Fatal("two clients at one address")
	}
	a, b := dialClient(dialA), dialClient(dialB)
	defer a.CloseIdleConnections()
	defer b.CloseIdleConnections()
	for i := range burst {
		if st := infoStatus(t, a, target); st != http.StatusOK {
			t.Fatalf("client A request %d within the burst: %d", i, st)
		}
	}
	if st := infoStatus(t, a, target); st != http.StatusTooManyRequests {
		t.Fatalf("client A beyond its burst: %d, want 429", st)
	}
	for i := range burst {
		if st := infoStatus(t, b, target); st != http.StatusOK {
			t.Fatalf("client B (another address) request %d: %d; A's limit spilled over", i, st)
		}
	}
	// Node-to-node traffic is no client's: a message sent through onion
	// paths (nodes forward from their own addresses) reaches the
	// recipient, with client A's and B's addresses spent on node 0.
	sw := nw.Node(0).Swarm
	alice, bob := newUser(t, nw, "alice", sw), newUser(t, nw, "bob", sw)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := alice.client().Send(ctx, bob.id(), "past the limits", clientOpts); err != nil {
		t.Fatal(err)
	}
	bob.waitDelivered(alice.id(), []string{"past the limits"}, time.Minute)
}

// TestSlowSendersPerAddress is TestSlowSendersDoNotStarveClients with
// every node, the attacker and the ordinary client at addresses of their
// own.
func TestSlowSendersPerAddress(t *testing.T) {
	if testnet.RunInNetns(t) {
		return
	}
	nw := addressNetwork(t, testnet.Options{Nodes: 10, Swarm: swarmsOf5, PerSubnet: 2, Tune: slowSenderLimits})
	attacker, _ := clientDial(t, nw, 0)
	ordinary, _ := clientDial(t, nw, 1)
	slowSenders(t, nw, attacker, ordinary)
}

// TestPathsAvoidSharedSubnets builds paths over a network of 10 nodes two
// to a /24: no path has two hops in one /24, and a conversation goes
// through such paths (the network file keeps the subnet rule on).
func TestPathsAvoidSharedSubnets(t *testing.T) {
	if testnet.RunInNetns(t) {
		return
	}
	nw := addressNetwork(t, testnet.Options{Nodes: 10, Swarm: swarmsOf5, PerSubnet: 2})
	var nodes []path.Node
	for _, ni := range nw.Nodes() {
		nodes = append(nodes, path.Node{Ed25519: ni.Ed25519, X25519: ni.X25519, IP: ni.Addr.Addr(), Port: ni.Addr.Port()})
	}
	for seed := range uint64(30) {
		m, err := path.New(path.Config{MinPaths: 3}, path.Deps{Rand: rand.New(rand.NewPCG(seed, 1))})
		if err != nil {
			t.Fatal(err)
		}
		m.SetNodes(nodes)
		if err := m.Do(context.Background(), func(context.Context, path.Path) error { return nil }); err != nil {
			t.Fatal(err)
		}
		ps := m.Paths()
		if len(ps) < 3 {
			t.Fatalf("seed %d: %d paths", seed, len(ps))
		}
		for _, p := range ps {
			seen := map[netip.Prefix]bool{}
			for _, h := range p.Hops {
				s, _ := h.IP.Prefix(24)
				if seen[s] {
					t.Fatalf("seed %d: path %d has two hops in %v", seed, p.ID, s)
				}
				seen[s] = true
			}
		}
	}
	sw := nw.Node(0).Swarm
	alice, bob := newUser(t, nw, "alice", sw), newUser(t, nw, "bob", sw)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := alice.client().Send(ctx, bob.id(), "across subnets", clientOpts); err != nil {
		t.Fatal(err)
	}
	bob.waitDelivered(alice.id(), []string{"across subnets"}, time.Minute)
}

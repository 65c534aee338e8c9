package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto.dev/internal/testnet"
	"sotto.dev/snode"
)

// TestSlowSendersDoNotStarveClients performs the cheap denial of service
// on a real node: one address opens many connections and starts storage
// RPC requests whose bodies never finish. The node keeps at most
// MaxConnsPerIP of its connections, reads at most MaxInFlightPerIP of its
// requests' bodies at once (429 for the rest), and takes a request slot
// only once a body is in, so ordinary clients from other addresses (and
// through onion paths) are still answered. On the node before these
// limits, 8 slow bodies held all 8 slots and everyone else got 503.
func TestSlowSendersDoNotStarveClients(t *testing.T) {
	nw := startNetwork(t, testnet.Options{Nodes: 10, Swarm: swarmsOf5, Tune: slowSenderLimits})
	attacker, _ := clientDial(t, nw, 0)
	ordinary, _ := clientDial(t, nw, 1)
	slowSenders(t, nw, attacker, ordinary)
}

// The node limits of the slow-sender tests, and the attack's size.
const (
	slowSlots       = 8
	slowConnsPerIP  = 24
	slowFlightPerIP = 12
	slowAttackConns = 40
)

// slowSenderLimits is the Tune of a slow-sender test's network.
func slowSenderLimits(_ int, c *snode.Config) {
	c.Limits.MaxConcurrentRequests = slowSlots
	c.Limits.MaxConnsPerIP = slowConnsPerIP
	c.Limits.MaxInFlightPerIP = slowFlightPerIP
}

// slowSenders attacks node 0 of nw (its limits slowSenderLimits) with
// slow stores from attacker and checks that the client at ordinary, and a
// conversation through onion paths, are still served.
func slowSenders(t *testing.T, nw *testnet.Network, attacker, ordinary dialFunc) {
	t.Helper()
	target := nw.Node(0)
	results, stop := testnet.SlowStores(target.Addr.String(), attacker, slowAttackConns)
	// At most slowFlightPerIP slow stores are being read at any time;
	// every other connection is closed at accept (beyond slowConnsPerIP
	// open ones) or its request refused with 429. (Which of the two
	// depends on the order the node sees them in; a refused request's
	// connection closes and frees its place.) A 503 or any other answer
	// fails the test, also one to the stores still being read.
	counts := map[int]int{}
	check := func(n int) {
		t.Helper()
		for range n {
			counts[<-results]++
		}
		for st := range counts {
			if st != 0 && st != http.StatusTooManyRequests {
				t.Fatalf("attack results (status: connections; 0 closed unanswered): %v", counts)
			}
		}
	}
	check(slowAttackConns - slowFlightPerIP)
	defer func() {
		stop()
		check(slowFlightPerIP)
	}()

	// Ordinary clients from another address are answered, one after
	// another and all at once up to the node's slots.
	checkServed(t, target.URL, ordinary, slowSlots)

	// And a conversation through onion paths (whose first hops are
	// reached from the nodes' own addresses) goes on.
	alice, bob := newUser(t, nw, "alice", target.Swarm), newUser(t, nw, "bob", target.Swarm)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := alice.client().Send(ctx, bob.id(), "through the flood", clientOpts); err != nil {
		t.Fatal(err)
	}
	bob.waitDelivered(alice.id(), []string{"through the flood"}, time.Minute)
}

// dialFunc opens a connection from one client address.
type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// checkServed makes sure that a client dialing through dial gets answers
// from the node at url: n storage RPC requests at once, then the node list.
func checkServed(t *testing.T, url string, dial dialFunc, n int) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:     dial,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	defer hc.CloseIdleConnections()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := hc.Post(url+"/storage_rpc/v1", "application/json", strings.NewReader(`{"method":"info","params":{}}`))
			if err != nil {
				t.Errorf("info: %v", err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("info behind slow senders: %d %s", resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	resp, err := hc.Post(url+"/json_rpc", "application/json",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"get_n_service_nodes","params":{"fields":{"public_ip":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get_n_service_nodes behind slow senders: %d", resp.StatusCode)
	}
}

package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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
	const (
		slots       = 8
		connsPerIP  = 24
		flightPerIP = 12
		attackConns = 40
		attacker    = "127.0.0.2"
		ordinary    = "127.0.0.3"
	)
	nw := startNetwork(t, testnet.Options{Nodes: 10, Swarm: swarmsOf5, Tune: func(_ int, c *snode.Config) {
		c.Limits.MaxConcurrentRequests = slots
		c.Limits.MaxConnsPerIP = connsPerIP
		c.Limits.MaxInFlightPerIP = flightPerIP
	}})
	target := nw.Node(0)
	addr := target.Addr.String()

	outcomes, stop := slowStores(t, addr, fromIP(attacker), attackConns)
	defer stop()
	// At most flightPerIP slow stores are being read at any time; every
	// other connection is closed at accept (beyond connsPerIP open ones)
	// or its request refused with 429. (Which of the two depends on the
	// order the node sees them in; a refused request's connection closes
	// and frees its place.) A 503 or any other answer fails the test.
	counts := map[outcome]int{}
	for range attackConns - flightPerIP {
		counts[<-outcomes]++
	}
	if counts[answered] != 0 {
		t.Fatalf("attack outcomes: %v", counts)
	}

	// Ordinary clients from another address are answered, one after
	// another and all at once up to the node's slots.
	checkServed(t, target.URL, fromIP(ordinary), slots)

	// And a conversation through onion paths (whose first hops are
	// reached from the nodes' own address) goes on.
	sw := nw.Node(0).Swarm
	alice, bob := newUser(t, nw, "alice", sw), newUser(t, nw, "bob", sw)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := alice.client().Send(ctx, bob.id(), "through the flood", clientOpts); err != nil {
		t.Fatal(err)
	}
	bob.waitDelivered(alice.id(), []string{"through the flood"}, time.Minute)
}

// outcome is what became of one slow store of the attack.
type outcome int

const (
	closed   outcome = iota // the node closed the connection unanswered
	refused                 // the node answered 429
	answered                // answered otherwise: a 503, a 200 (a failure of the test)
)

// dialFunc opens a connection from one client address.
type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// fromIP dials from the local address ip.
func fromIP(ip string) dialFunc {
	return (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}).DialContext
}

// slowStores is the attack: n connections through dial to addr,
// each sending the headers of a large store and one byte of its body. The
// outcome of each connection that the node settles arrives on the channel;
// stop closes every connection.
func slowStores(t *testing.T, addr string, dial dialFunc, n int) (<-chan outcome, func()) {
	outcomes := make(chan outcome, n)
	var (
		mu      sync.Mutex
		conns   []net.Conn
		stopped atomic.Bool
	)
	for range n {
		go func() {
			c, err := dialTLS(dial, addr)
			if err != nil {
				outcomes <- closed // refused at accept, during the handshake
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			_, err = io.WriteString(c, "POST /storage_rpc/v1 HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{")
			if err != nil {
				outcomes <- closed
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			switch {
			case stopped.Load():
				// stop closes the connection: a TLS close sends its alert
				// first, and the node's answer to that end of the body can
				// still arrive before the socket closes. Not the attack's
				// outcome.
				outcomes <- closed
			case err != nil:
				outcomes <- closed
			case resp.StatusCode == http.StatusTooManyRequests:
				outcomes <- refused
			default:
				t.Errorf("a slow store was answered %d", resp.StatusCode)
				outcomes <- answered
			}
		}()
	}
	return outcomes, func() {
		stopped.Store(true)
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
}

// dialTLS opens a TLS connection (HTTP/1.1) through dial.
func dialTLS(dial dialFunc, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

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

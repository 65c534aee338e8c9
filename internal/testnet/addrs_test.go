package testnet

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto.dev/onion"
	"sotto.dev/snode"
)

func TestNodeAddresses(t *testing.T) {
	p := netip.MustParsePrefix("10.77.0.0/16")
	for _, tc := range []struct {
		mode      AddressMode
		i, per    int
		want      string
		client    int
		wantOther string
	}{
		{LoopbackAddresses, 0, 1, "127.1.0.1", 0, "127.254.0.1"},
		{LoopbackAddresses, 5, 1, "127.1.5.1", 3, "127.254.0.4"},
		{LoopbackAddresses, 5, 2, "127.1.2.2", 300, "127.254.1.47"},
		{NetnsAddresses, 0, 1, "10.77.0.2", 0, "10.77.254.1"},
		{NetnsAddresses, 7, 3, "10.77.2.3", 9, "10.77.254.10"},
	} {
		if got := nodeAddr(tc.mode, p, tc.i, tc.per); got.String() != tc.want {
			t.Errorf("%s node %d per %d: %v, want %s", tc.mode, tc.i, tc.per, got, tc.want)
		}
		if got := clientAddr(tc.mode, p, tc.client); got.String() != tc.wantOther {
			t.Errorf("%s client %d: %v, want %s", tc.mode, tc.client, got, tc.wantOther)
		}
	}
	for _, s := range []string{"x", "loop", "127.0.0.1"} {
		if _, err := ParseAddressMode(s); err == nil {
			t.Errorf("ParseAddressMode(%q) accepted", s)
		}
	}
}

// TestOwnAddresses runs a network whose nodes each have an address of
// their own, two to a /24: in network namespaces where the test runs as
// root (in a child process in a namespace of its own), on loopback
// addresses elsewhere. Nodes listen and announce their own address, dial
// their peers from it (a store replicates across the swarm), relay onion
// requests between addresses, and the network file keeps the subnet rule.
func TestOwnAddresses(t *testing.T) {
	if RunInNetns(t) {
		return
	}
	mode := PickAddressMode()
	t.Logf("address mode: %s", mode)
	testOwnAddresses(t, mode)
}

func TestOwnLoopbackAddresses(t *testing.T) {
	testOwnAddresses(t, LoopbackAddresses)
}

func testOwnAddresses(t *testing.T, mode AddressMode) {
	t.Cleanup(func() {
		// Runs after the network's Close: nothing it made is left.
		entries, _ := os.ReadDir("/run/netns")
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "sotto-") {
				t.Errorf("namespace %s left behind", e.Name())
			}
		}
	})
	n := StartT(t, Options{Nodes: 5, Addresses: mode, PerSubnet: 2})
	if n.Addresses() != mode {
		t.Fatalf("Addresses() = %q, want %q", n.Addresses(), mode)
	}
	seen := map[netip.Addr]bool{}
	for i, ni := range n.Nodes() {
		a := ni.Addr.Addr()
		if seen[a] || a == netip.MustParseAddr(DefaultListen) {
			t.Fatalf("node %d: address %v shared", i, a)
		}
		seen[a] = true
		if mode == LoopbackAddresses && !a.IsLoopback() || mode == NetnsAddresses && !a.IsPrivate() {
			t.Fatalf("node %d: address %v does not fit %s", i, a, mode)
		}
		p0, _ := n.Node(i - i%2).Addr.Addr().Prefix(24)
		if !p0.Contains(a) {
			t.Fatalf("node %d at %v is not in the /24 of node %d", i, a, i-i%2)
		}
	}
	for _, ln := range n.Ledger().View().Current().Nodes {
		if !seen[netip.MustParseAddr(ln.PublicIP)] {
			t.Fatalf("the ledger lists %s, not a node's address", ln.PublicIP)
		}
	}

	acct, err := NewAccount()
	if err != nil {
		t.Fatal(err)
	}
	_, members := n.SwarmOf(acct.Key())
	hash := storeMessage(t, n, acct, members[0], []byte("replicated"))
	for _, i := range members[1:] {
		if got := retrieveHashes(t, n, acct, i); !slices.Equal(got, []string{hash}) {
			t.Fatalf("node %d: %v, want [%s]", i, got, hash)
		}
	}
	if r := onionInfo(t, n, []int{0, 2, 4}, 1); r.Status != http.StatusOK {
		t.Fatalf("onion info across addresses: %d", r.Status)
	}

	var nf networkFile
	data, err := os.ReadFile(n.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &nf); err != nil || nf.AllowSameSubnet {
		t.Fatalf("network file: allow_same_subnet %v, %v", nf.AllowSameSubnet, err)
	}

	// A client at an address of its own reaches every node.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial, from, err := n.ClientDial(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if seen[from] {
		t.Fatalf("client address %v is a node's", from)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed node certificates
	defer c.CloseIdleConnections()
	for i := range n.Len() {
		if st, b, err := Post(ctx, c, n.Node(i).URL+"/storage_rpc/v1", []byte(`{"method":"info","params":{}}`)); err != nil || st != http.StatusOK {
			t.Fatalf("node %d from %v: %d %.100s %v", i, from, st, b, err)
		}
	}
}

// TestNodesForwardFromTheirAddress: with one connection and one request
// in flight per client address, many clients at their own addresses send
// onion requests at once through the same three nodes. Nodes reach each
// other from their listed addresses, which are exempt from the per-address
// limits. Regression: when nodes dialed from the host's first loopback
// address (127.0.0.1, no node's), their peers held them to one connection
// and this network never finished starting (nodes stayed "syncing", their
// anti-entropy pulls cut off).
func TestNodesForwardFromTheirAddress(t *testing.T) {
	const clients = 12
	n := StartT(t, Options{Nodes: 5, Addresses: LoopbackAddresses, Tune: func(_ int, c *snode.Config) {
		c.Limits.MaxConnsPerIP = 1
		c.Limits.MaxInFlightPerIP = 1
	}})
	hop := func(i int) onion.Hop {
		ni := n.Node(i)
		return onion.Hop{Node: ni.Ed25519, X25519: ni.X25519}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := make(chan struct{})
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for k := range clients {
		dial, _, err := n.ClientDial(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed node certificates
		defer c.CloseIdleConnections()
		wg.Go(func() {
			<-start
			for range 5 {
				body, key, err := onion.BuildSnodeRequest([]onion.Hop{hop(0), hop(2)}, hop(4), []byte(`{"method":"info","params":{}}`), onion.CipherXChaCha20)
				if err != nil {
					errs <- err
					return
				}
				st, reply, err := Post(ctx, c, n.Node(0).URL+"/onion_req/v2", body)
				if err != nil {
					errs <- err
					return
				}
				r, err := onion.DecodeSnodeResponse(key, st, reply)
				if err != nil || r.Status != http.StatusOK {
					errs <- fmt.Errorf("client %d: HTTP %d, status %d, %v", k, st, r.Status, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSubprocessOwnAddresses: child nodes at loopback addresses of their
// own listen there and relay onion requests between addresses.
func TestSubprocessOwnAddresses(t *testing.T) {
	n := StartT(t, Options{Nodes: 3, Subprocess: true, Addresses: LoopbackAddresses})
	if a := n.Node(1).Addr.Addr(); a != netip.MustParseAddr("127.1.1.1") {
		t.Fatalf("node 1 at %v", a)
	}
	if r := onionInfo(t, n, []int{0, 1}, 2); r.Status != http.StatusOK {
		t.Fatalf("onion info: %d", r.Status)
	}
}

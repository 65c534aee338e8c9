package testnet

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"sotto.dev/internal/linkem"
	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
	"sotto.dev/onion"
)

// onionInfoCtx is onionInfo that returns the transport error, for
// requests that may fail.
func onionInfoCtx(ctx context.Context, t *testing.T, n *Network, hops []int, dest int) (onion.SnodeResponse, error) {
	t.Helper()
	hop := func(i int) onion.Hop {
		ni := n.Node(i)
		return onion.Hop{Node: key.NodePublic(ni.Ed25519), X25519: key.OnionPublic(ni.X25519)}
	}
	var path []onion.Hop
	for _, h := range hops {
		path = append(path, hop(h))
	}
	body, k, err := onion.BuildSnodeRequest(path, hop(dest), []byte(`{"method":"info","params":{}}`), onion.CipherXChaCha20)
	if err != nil {
		t.Fatal(err)
	}
	st, reply, err := Post(ctx, n.HTTPClient(), n.Node(hops[0]).URL+"/onion_req/v2", body)
	if err != nil {
		return onion.SnodeResponse{}, err
	}
	return onion.DecodeSnodeResponse(k, st, reply)
}

// TestLinkedNetwork runs onion requests over emulated links: they work,
// and once a path carried one, the next open no connection.
func TestLinkedNetwork(t *testing.T) {
	n := StartT(t, Options{Nodes: 4, Link: linkem.New(1, linkem.Profile{Delay: 2 * time.Millisecond, Jitter: time.Millisecond})})
	var first map[string]uint64
	for i := range 3 {
		if resp := onionInfo(t, n, []int{0, 1, 2}, 3); resp.Status != 200 {
			t.Fatalf("info through 3 hops: status %d", resp.Status)
		}
		if i == 0 {
			first = n.Link().Opened()
		}
	}
	if got := n.Link().Opened(); !maps.Equal(got, first) {
		t.Errorf("connections opened after the first request %v, after two more %v: want them reused", first, got)
	}
}

// TestStalledRelayConnection is the regression test of the relays' side
// of the stalled-connection bug (see client.TestStalledGuardConnection):
// a relay's requests to its next hop share one HTTP/2 connection, and when
// it stalled the relay waited for its forward timeout (30 s) before it
// answered, for every request on it. The health check (snode.PeerHTTP2)
// closes it within 5 s: the request on it is answered (with an error)
// well before the relay's timeout, and the next one dials afresh.
func TestStalledRelayConnection(t *testing.T) {
	n := StartT(t, Options{Nodes: 4, Link: linkem.New(1, linkem.Profile{})})
	if resp := onionInfo(t, n, []int{0, 1, 2}, 3); resp.Status != 200 {
		t.Fatalf("info through 3 hops: status %d", resp.Status)
	}
	before := n.Link().Opened()["node-00→node-01"]
	n.Link().Stall(NodeEndpoint(0), NodeEndpoint(1))
	// Shorter than the relay's forward timeout: without the health check
	// the guard answers only when that ends.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := onionInfoCtx(ctx, t, n, []int{0, 1, 2}, 3); ctx.Err() != nil {
		t.Fatalf("the request over the stalled connection was not answered before the relay's timeout: %v", err)
	}
	if resp := onionInfo(t, n, []int{0, 1, 2}, 3); resp.Status != 200 {
		t.Fatalf("info after the stall: status %d", resp.Status)
	}
	if got := n.Link().Opened()["node-00→node-01"]; got <= before {
		t.Errorf("node-00 opened no new connection to node-01 after the stall (%d before, %d after)", before, got)
	}
}

// linkedClient is an HTTP client that is endpoint name of the emulated
// links, with a fresh connection pool.
func linkedClient(n *Network, name string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:     n.Dialer(name),
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, // node certificates are self-signed
	}}
}

// TestLinkedProcesses puts what runs outside the test process behind
// emulated links: child nodes, the CometBFT ledger's RPC that they follow,
// and the file and community servers of the network file. Each is reached
// through its proxy (linkem.Opened counts the connections on its link),
// and a partition makes it unreachable until the heal.
func TestLinkedProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT and child processes")
	}
	p := state.DevnetParams()
	p.BlockTime = 200 * time.Millisecond
	link := linkem.New(1, linkem.Profile{Delay: 2 * time.Millisecond})
	n := StartT(t, Options{Nodes: 5, CometBFT: true, Subprocess: true, LedgerParams: &p, Link: link})
	ext := func(to string) string { return linkem.External + "→" + to }
	opened := link.Opened()
	if opened[ext(LedgerEndpoint)] == 0 {
		t.Errorf("no connection on %s: the children do not follow the ledger through its proxy (%v)", ext(LedgerEndpoint), opened)
	}
	for i := range n.Len() {
		if opened[ext(NodeEndpoint(i))] == 0 {
			t.Errorf("no connection on %s: child %d is not behind its proxy (%v)", ext(NodeEndpoint(i)), i, opened)
		}
	}

	// A child node: reached on the client's own link, not across a
	// partition.
	info := []byte(`{"method":"info","params":{}}`)
	cli := linkedClient(n, "cli")
	defer cli.CloseIdleConnections()
	if st, body, err := Post(t.Context(), cli, n.Node(0).URL+"/storage_rpc/v1", info); err != nil || st != http.StatusOK {
		t.Fatalf("info from child 0: %d %.200s %v", st, body, err)
	}
	if got := link.Opened()["cli→"+NodeEndpoint(0)]; got != 1 {
		t.Errorf("connections cli→%s: %d, want 1", NodeEndpoint(0), got)
	}
	link.Partition([]string{"cli"}, []string{NodeEndpoint(0)})
	unreachable := func(what string, call func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := call(ctx); err == nil {
			t.Errorf("%s answered across the partition", what)
		}
	}
	unreachable("child 0", func(ctx context.Context) error {
		c := linkedClient(n, "cli")
		defer c.CloseIdleConnections()
		_, _, err := Post(ctx, c, n.Node(0).URL+"/storage_rpc/v1", info)
		return err
	})
	link.Heal()

	// The ledger's RPC.
	lc, err := ledger.Dial(n.LedgerRPC())
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	before := link.Opened()[ext(LedgerEndpoint)]
	if _, err := lc.Status(t.Context()); err != nil {
		t.Fatalf("ledger status through its proxy: %v", err)
	}
	if got := link.Opened()[ext(LedgerEndpoint)]; got <= before {
		t.Errorf("ledger status opened no connection on %s", ext(LedgerEndpoint))
	}
	link.Partition([]string{linkem.External}, []string{LedgerEndpoint})
	unreachable("the ledger RPC", func(ctx context.Context) error {
		_, err := lc.Status(ctx)
		return err
	})
	link.Heal()

	// File and community servers of the network file.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("served"))
	}))
	defer srv.Close()
	if err := n.SetFileServers([]FileServerEntry{{URL: srv.URL, PubkeyX25519: strings.Repeat("11", 32), PubkeyEd25519: strings.Repeat("22", 32)}}); err != nil {
		t.Fatal(err)
	}
	if err := n.SetCommunities([]CommunityEntry{{URL: srv.URL, Pubkey: strings.Repeat("33", 32), Rooms: []string{"lobby"}}}); err != nil {
		t.Fatal(err)
	}
	var nf networkFile
	if b, err := os.ReadFile(n.NetworkFile()); err != nil || json.Unmarshal(b, &nf) != nil || len(nf.FileServers) != 1 || len(nf.Communities) != 1 {
		t.Fatalf("network file: %v %+v", err, nf)
	}
	for _, s := range []struct{ name, url string }{
		{FileServerEndpoint(0), nf.FileServers[0].URL},
		{CommunityEndpoint(0), nf.Communities[0].URL},
	} {
		if s.url == srv.URL {
			t.Errorf("%s listed at the server's own address %s", s.name, s.url)
		}
		resp, err := cli.Get(s.url)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "served" {
			t.Errorf("%s: %q %v", s.name, body, err)
		}
		if got := link.Opened()["cli→"+s.name]; got != 1 {
			t.Errorf("connections cli→%s: %d, want 1", s.name, got)
		}
		link.Partition([]string{"cli"}, []string{s.name})
		unreachable(s.name, func(ctx context.Context) error {
			c := linkedClient(n, "cli")
			defer c.CloseIdleConnections()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		})
		link.Heal()
	}
	t.Logf("connections opened: %v", link.Opened())
}

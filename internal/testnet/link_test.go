package testnet

import (
	"context"
	"maps"
	"testing"
	"time"

	"sotto.dev/internal/linkem"
	"sotto.dev/key"
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

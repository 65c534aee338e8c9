// Package relaynet runs onion relays for tests: each one an HTTPS server
// on 127.0.0.1 with a relay handler mounted at /onion_req/v2, a map-backed
// directory of their addresses, and a storage stand-in that answers every
// request with its method and the node's name. The relay package's own
// tests and the client's path tests use it. It does not import the relay
// package, whose in-package tests could then not use it; the caller
// builds each relay.
package relaynet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"

	"sotto.dev/key"
	"sotto.dev/onion"
)

// Path is where a relay is mounted (snode/relay.Path).
const Path = "/onion_req/v2"

// Directory is a relay directory backed by a map.
type Directory struct {
	mu sync.RWMutex
	m  map[key.NodePublic]netip.AddrPort
}

// Lookup returns the address of node id.
func (d *Directory) Lookup(id key.NodePublic) (netip.AddrPort, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	a, ok := d.m[id]
	return a, ok
}

func (d *Directory) set(id key.NodePublic, a netip.AddrPort) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[key.NodePublic]netip.AddrPort{}
	}
	d.m[id] = a
}

// Storage stands in for a node's storage RPC: it answers
// {"method":METHOD,"node":Name}, or 400 "invalid json: no `method` field".
type Storage struct{ Name string }

// HandleRPC implements the relay's Local.
func (s Storage) HandleRPC(_ context.Context, body []byte) (int, []byte) {
	var req struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(body, &req) != nil || req.Method == "" {
		return http.StatusBadRequest, []byte("invalid json: no `method` field")
	}
	resp, _ := json.Marshal(map[string]string{"method": req.Method, "node": s.Name})
	return http.StatusOK, resp
}

// Relay is what a relay handler offers the network.
type Relay interface {
	http.Handler
	X25519Public() key.OnionPublic
}

// Deps is what NewRelay gets for node i.
type Deps struct {
	X25519Private key.OnionPrivate // the node's onion key
	Directory     *Directory       // the network's directory
	Local         Storage          // the node's storage stand-in, named "nodeI"
	Client        *http.Client     // trusts every node's certificate
}

// Node is one relay of a network.
type Node[R Relay] struct {
	Hop    onion.Hop // its node ID and onion key
	Addr   netip.AddrPort
	Server *httptest.Server
	Relay  R
}

// Network is a set of relays that know each other.
type Network[R Relay] struct {
	t      testing.TB
	Dir    *Directory
	Nodes  []*Node[R]
	Client *http.Client // trusts every node's certificate
}

// Start starts n relays made by newRelay as HTTPS servers on 127.0.0.1;
// they stop when the test ends. Node i has node ID {i+1, …, 0xed} and onion
// key {i+1, 0x5a}. httptest TLS servers share one certificate, so one
// client trusts them all.
func Start[R Relay](t testing.TB, n int, newRelay func(i int, d Deps) (R, error)) *Network[R] {
	t.Helper()
	nw := &Network[R]{t: t, Dir: &Directory{}}
	for i := range n {
		mux := http.NewServeMux()
		srv := httptest.NewUnstartedServer(mux)
		srv.StartTLS()
		if nw.Client == nil {
			nw.Client = srv.Client()
		}
		r, err := newRelay(i, Deps{
			X25519Private: key.OnionPrivate{byte(i + 1), 0x5a},
			Directory:     nw.Dir,
			Local:         Storage{Name: fmt.Sprintf("node%d", i)},
			Client:        nw.Client,
		})
		if err != nil {
			srv.Close()
			t.Fatal(err)
		}
		mux.Handle("POST "+Path, r)
		var id key.NodePublic
		id[0], id[31] = byte(i+1), 0xed
		addr := netip.MustParseAddrPort(srv.Listener.Addr().String())
		nw.Dir.set(id, addr)
		nw.Nodes = append(nw.Nodes, &Node[R]{Hop: onion.Hop{Node: id, X25519: r.X25519Public()}, Addr: addr, Server: srv, Relay: r})
	}
	t.Cleanup(func() {
		for _, n := range nw.Nodes {
			n.Server.Close()
		}
		if nw.Client != nil {
			nw.Client.CloseIdleConnections()
		}
	})
	return nw
}

// Hops returns the hops of the nodes at the given indexes.
func (nw *Network[R]) Hops(idx ...int) []onion.Hop {
	out := make([]onion.Hop, 0, len(idx))
	for _, i := range idx {
		out = append(out, nw.Nodes[i].Hop)
	}
	return out
}

// Index returns the index of node id, or -1.
func (nw *Network[R]) Index(id key.NodePublic) int {
	for i, n := range nw.Nodes {
		if n.Hop.Node == id {
			return i
		}
	}
	return -1
}

// Post sends an onion request body to the relay of node first and returns
// the status and the reply.
func (nw *Network[R]) Post(first key.NodePublic, body []byte) (int, []byte) {
	nw.t.Helper()
	addr, ok := nw.Dir.Lookup(first)
	if !ok {
		nw.t.Fatal("first hop not in the directory")
	}
	resp, err := nw.Client.Post("https://"+addr.String()+Path, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		nw.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		nw.t.Fatal(err)
	}
	return resp.StatusCode, b
}

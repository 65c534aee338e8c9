package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
)

// countingSeed is a seed of our own in front of a node of nw: a real TLS
// listener, pinned by the network file it returns, that forwards
// /json_rpc to the node and counts the requests it gets.
func countingSeed(t *testing.T, nw *testnet.Network) (*Network, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	target := nw.Node(0).URL + "/json_rpc"
	hc := nw.HTTPClient()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := hc.Post(target, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	file, err := LoadNetwork(nw.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	pin := sha256.Sum256(srv.Certificate().Raw)
	file.SeedNodes = []Seed{{URL: srv.URL, CertSHA256: hex.EncodeToString(pin[:])}}
	return file, &calls
}

// syncRun opens a client on home, does one Sync (up to tries, when the
// first ones fail) and returns the guards its paths used, then closes it.
func syncRun(t *testing.T, a *account, home string, file *Network, tries int) []key.NodePublic {
	t.Helper()
	c, err := Open(Config{Home: home, Network: file, RequestTimeout: 10 * time.Second, Logger: testLogger()}, a.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range tries {
		err := c.Sync(ctx)
		if err == nil {
			break
		}
		if i == tries-1 {
			t.Fatalf("sync: %v", err)
		}
		t.Logf("sync %d: %v", i+1, err)
	}
	m := c.net.paths.Load()
	guards := m.Guards()
	for _, p := range m.Paths() {
		if !slices.Contains(guards, p.Guard().Ed25519) {
			t.Errorf("a path starts at %v, not at a guard %v", p.Guard().Ed25519, guards)
		}
	}
	return guards
}

// keptList reads the node list kept in home.
func keptList(t *testing.T, a *account, home string) ([]store.Node, int64) {
	t.Helper()
	db, err := store.Open(context.Background(), DatabasePath(home), a.kf.DBKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	nodes, fetched, err := db.NodeList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return nodes, fetched
}

// setKept replaces the node list kept in home.
func setKept(t *testing.T, a *account, home string, nodes []store.Node, fetched int64) {
	t.Helper()
	db, err := store.Open(context.Background(), DatabasePath(home), a.kf.DBKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.SaveNodeList(ctx, nodes, fetched) }); err != nil {
		t.Fatal(err)
	}
}

// TestRestartKeepsNodesAndGuards: a client runs, stops and runs again: the
// second run reuses the node list and the guards of the first and makes no
// request to the seed. A kept list that grew old is refreshed from the
// nodes, through paths, not from the seed; only a kept list whose every
// node is unreachable sends the client back to the seed.
func TestRestartKeepsNodesAndGuards(t *testing.T) {
	nw := devnetTuned(t, 8, nil)
	file, seedCalls := countingSeed(t, nw)
	a := newAccount(t, "restart")
	home := t.TempDir()

	first := syncRun(t, a, home, file, 1)
	if n := seedCalls.Load(); n != 1 {
		t.Fatalf("first run: %d requests to the seed, want 1", n)
	}
	if len(first) == 0 {
		t.Fatal("first run chose no guard")
	}
	kept, fetched := keptList(t, a, home)
	if len(kept) != nw.Len() || fetched == 0 {
		t.Fatalf("kept %d nodes (network: %d), fetched %d", len(kept), nw.Len(), fetched)
	}

	second := syncRun(t, a, home, file, 1)
	if n := seedCalls.Load(); n != 1 {
		t.Fatalf("restart: %d requests to the seed, want still 1", n)
	}
	if !slices.Equal(first, second) {
		t.Fatalf("restart changed the guards: %v, then %v", first, second)
	}

	// The kept list is three hours old: the restart refreshes it from
	// three nodes through its paths, and keeps its guards.
	old := time.Now().Add(-3 * time.Hour).UnixMilli()
	setKept(t, a, home, kept, old)
	third := syncRun(t, a, home, file, 1)
	if n := seedCalls.Load(); n != 1 {
		t.Fatalf("stale list: %d requests to the seed, want still 1", n)
	}
	if !slices.Equal(first, third) {
		t.Fatalf("the refresh changed the guards: %v, then %v", first, third)
	}
	if nodes, at := keptList(t, a, home); len(nodes) != nw.Len() || at <= old {
		t.Fatalf("after the refresh: %d nodes kept, fetched %d (was %d)", len(nodes), at, old)
	}

	// Every kept node is unreachable (closed ports): the seed is asked,
	// and the run's first request, though it went to a dead node, works.
	setKept(t, a, home, deadNodes(t, 5), time.Now().UnixMilli())
	syncRun(t, a, home, file, 1)
	if n := seedCalls.Load(); n < 2 {
		t.Fatalf("unreachable kept nodes: %d requests to the seed, want a new one", n)
	}
	if nodes, _ := keptList(t, a, home); len(nodes) != nw.Len() {
		t.Fatalf("after the seed: %d nodes kept, want the network's %d", len(nodes), nw.Len())
	}
}

// TestRestartSomeKeptNodesDead: some of the kept nodes are gone (keys
// the network does not know, ports nothing listens on), the others and the
// kept guards are alive: the first request of the run works, through the
// living nodes, and the seed is not asked.
func TestRestartSomeKeptNodesDead(t *testing.T) {
	nw := devnetTuned(t, 8, nil)
	file, seedCalls := countingSeed(t, nw)
	a := newAccount(t, "somedead")
	home := t.TempDir()

	syncRun(t, a, home, file, 1)
	kept, _ := keptList(t, a, home)
	if len(kept) != nw.Len() {
		t.Fatalf("kept %d nodes (network: %d)", len(kept), nw.Len())
	}
	setKept(t, a, home, append(kept, deadNodes(t, 2)...), time.Now().UnixMilli())
	syncRun(t, a, home, file, 1)
	if n := seedCalls.Load(); n != 1 {
		t.Fatalf("%d requests to the seed, want still 1", n)
	}
}

// deadNodes makes k nodes no network knows, at ports nothing listens on.
func deadNodes(t *testing.T, k int) []store.Node {
	t.Helper()
	var dead []store.Node
	for range k {
		var nd store.Node
		_, _ = rand.Read(nd.Ed25519[:])
		_, _ = rand.Read(nd.X25519[:])
		nd.Addr = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), closedPort(t))
		dead = append(dead, nd)
	}
	return dead
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return uint16(port)
}

func testLogger() *slog.Logger {
	if os.Getenv("SOTTO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

package snode

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"sotto.dev/ledger"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// TestKillNinePeerChild is the peer run by TestKillNinePeer in a child
// process, on the port the genesis lists for it; it does nothing in a
// normal test run.
func TestKillNinePeerChild(t *testing.T) {
	dir := os.Getenv("SNODE_KILL_PEER_DIR")
	if dir == "" {
		t.Skip("helper process for TestKillNinePeer")
	}
	view, err := ledger.NewGenesisView(filepath.Join(dir, "genesis.json"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := quietConfig(filepath.Join(dir, "peer"))
	cfg.SyncHoldsP = true // one node in its own process, as sottod run
	keys, _, err := LoadOrCreateKeys(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range view.Current().Nodes {
		if nd.Ed25519 == keys.Ed25519Public() {
			cfg.ListenAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(nd.StoragePort)))
		}
	}
	node, err := New(cfg, Deps{View: view})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	os.Stdout.WriteString("READY " + node.Addr().String() + "\n")
	if err := node.Serve(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestKillNinePeer stores through an entry node whose swarm peer runs in
// a child process and takes the stores in forwarded batches, kills the
// peer with SIGKILL while batches are in flight, and checks that every
// store for which the peer's entry in the answer was a success is in the
// peer's database: a peer answers a batch only once it is durable.
func TestKillNinePeer(t *testing.T) {
	dir := t.TempDir()
	peerKeys, _, err := LoadOrCreateKeys(filepath.Join(dir, "peer"))
	if err != nil {
		t.Fatal(err)
	}
	entryKeys, _, err := LoadOrCreateKeys(filepath.Join(dir, "entry"))
	if err != nil {
		t.Fatal(err)
	}
	entryPort, peerPort := freePort(t), freePort(t)
	snap := &ledger.Snapshot{Nodes: []ledger.Node{
		{Ed25519: peerKeys.Ed25519Public(), X25519: peerKeys.X25519Public(), PublicIP: "127.0.0.1",
			StoragePort: peerPort, SwarmID: swarmA, State: ledger.StateActive},
		{Ed25519: entryKeys.Ed25519Public(), X25519: entryKeys.X25519Public(), PublicIP: "127.0.0.1",
			StoragePort: entryPort, SwarmID: swarmA, State: ledger.StateActive},
	}}
	genesis := filepath.Join(dir, "genesis.json")
	if err := ledger.WriteGenesis(genesis, snap); err != nil {
		t.Fatal(err)
	}
	cmd, _, exited := startKillChild(t, "TestKillNinePeerChild", "SNODE_KILL_PEER_DIR="+dir)

	view, err := ledger.NewGenesisView(genesis, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := quietConfig(filepath.Join(dir, "entry"))
	cfg.ListenAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(entryPort)))
	entry, err := New(cfg, Deps{View: view})
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- entry.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()

	n := &testNode{node: entry}
	peer := peerKeys.Ed25519Public().String()
	u := newUser(t)
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				// Public and signed namespaces: peers keep proofs of the latter.
				p := u.store(storagerpc.Namespace(2*(k%2)), randomData(t, 200), time.Hour)
				st, body, err := tryDo(n, p)
				if err != nil || st != 200 {
					continue
				}
				var resp storagerpc.SwarmResponse[storagerpc.StoreResult]
				if json.Unmarshal(body, &resp) == nil && resp.Swarm[peer].OK != nil {
					mu.Lock()
					acked = append(acked, p.Hash())
					mu.Unlock()
				}
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	killNineWhenAcked(t, cmd, exited, count, 300, 60*time.Second, func() { close(stop); wg.Wait() })
	mu.Lock()
	defer mu.Unlock()
	batches, stores := batchStats(t, n)
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "peer", StoreFileName)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Fetch(context.Background(), acked)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(acked) {
		t.Fatalf("%d of the %d stores the peer acknowledged survived kill -9", len(recs), len(acked))
	}
	t.Logf("all %d stores the peer acknowledged survived kill -9 (%d batches, %.1f stores each)", len(acked), batches, stores/float64(batches))
}

package snode

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillNinePeerChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SNODE_KILL_PEER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	ready := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "READY ") {
			ready = true
			break
		}
	}
	if !ready {
		cmd.Process.Kill()
		t.Fatalf("child did not start: %v", cmd.Wait())
	}
	exited := make(chan error, 1)
	go func() {
		for sc.Scan() {
		}
		exited <- cmd.Wait()
	}()

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
	eventually(t, 60*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 300 {
			return errNotYet
		}
		return nil
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-exited:
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child did not die by SIGKILL: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child did not exit")
	}
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

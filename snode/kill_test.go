package snode

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sotto.dev/ledger"
	"sotto.dev/snode/store"
)

// TestKillNineChild is the node run by TestKillNine in a child process;
// it does nothing in a normal test run.
func TestKillNineChild(t *testing.T) {
	dir := os.Getenv("SNODE_KILL_CHILD_DIR")
	if dir == "" {
		t.Skip("helper process for TestKillNine")
	}
	view, err := ledger.NewGenesisView(filepath.Join(dir, "genesis.json"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := quietConfig(filepath.Join(dir, "node"))
	cfg.SyncHoldsP = true // one node in its own process, as sottod run
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

// TestKillNine stores through a node in a child process, kills it with
// SIGKILL while stores are in flight, and checks that every acknowledged
// store is in the database.
func TestKillNine(t *testing.T) {
	dir := t.TempDir()
	keys, _, err := LoadOrCreateKeys(filepath.Join(dir, "node"))
	if err != nil {
		t.Fatal(err)
	}
	snap := &ledger.Snapshot{Nodes: []ledger.Node{{
		Ed25519: keys.Ed25519Public(), X25519: keys.X25519Public(), PublicIP: "127.0.0.1",
		StoragePort: 1, SwarmID: swarmA, State: ledger.StateActive,
	}}}
	if err := ledger.WriteGenesis(filepath.Join(dir, "genesis.json"), snap); err != nil {
		t.Fatal(err)
	}
	cmd, addr, exited := startKillChild(t, "TestKillNineChild", "SNODE_KILL_CHILD_DIR="+dir)
	n := &testNode{node: &Node{}}
	n.node.addr, err = parseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}

	u := newUser(t)
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := u.store(0, randomData(t, 200), time.Hour)
				st, _, err := tryDo(n, p)
				if err != nil {
					return // the node died under us
				}
				if st == 200 {
					mu.Lock()
					acked = append(acked, p.Hash())
					mu.Unlock()
				}
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	killNineWhenAcked(t, cmd, exited, count, 300, 30*time.Second, func() { close(stop); wg.Wait() })
	mu.Lock()
	defer mu.Unlock()

	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "node", StoreFileName)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Fetch(context.Background(), acked)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(acked) {
		t.Fatalf("%d of %d acknowledged stores survived kill -9", len(recs), len(acked))
	}
	t.Logf("all %d acknowledged stores survived kill -9", len(acked))
}

// startKillChild starts TestKillNineChild on dir in a child process and
// waits until it serves. It returns the child, its address, and a channel
// that gets the child's exit.
func startKillChild(t *testing.T, run, env string) (*exec.Cmd, string, <-chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+run+"$", "-test.v")
	cmd.Env = append(os.Environ(), env)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	sc := bufio.NewScanner(out)
	addr := ""
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		cmd.Process.Kill()
		t.Fatalf("child did not start: %v", cmd.Wait())
	}
	go func() {
		for sc.Scan() {
		}
		exited <- cmd.Wait()
	}()
	return cmd, addr, exited
}

// killNineWhenAcked waits until count reports at least want acknowledged
// stores, kills the child with SIGKILL while stores are in flight, calls
// stop (which ends the storing goroutines) and waits for the child to die
// by the signal.
func killNineWhenAcked(t *testing.T, cmd *exec.Cmd, exited <-chan error, count func() int, want int, within time.Duration, stop func()) {
	t.Helper()
	eventually(t, within, func() error {
		if count() < want {
			return errNotYet
		}
		return nil
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	stop()
	select {
	case err := <-exited:
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child did not die by SIGKILL: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child did not exit")
	}
}

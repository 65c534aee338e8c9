package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto.dev/internal/testnet"
)

var (
	sottodOnce sync.Once
	sottodBin  string
	sottodErr  error
)

// buildSottod builds cmd/sottod once per test binary; TestMain removes it.
func buildSottod(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build sottod")
	}
	sottodOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sotto-e2e-sottod-")
		if err != nil {
			sottodErr = err
			return
		}
		sottodBin = filepath.Join(dir, "sottod")
		out, err := exec.Command(goBin, "build", "-o", sottodBin, "sotto.dev/cmd/sottod").CombinedOutput()
		if err != nil {
			sottodErr = &buildError{out: string(out), err: err}
		}
	})
	if sottodErr != nil {
		t.Fatalf("build sottod: %v", sottodErr)
	}
	return sottodBin
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// TestSottodProcesses runs the network as real `sottod run` processes (the
// binary operators run), has a conversation through it, kills a node of
// the swarm with SIGKILL and goes on talking while it is down and after it
// is back.
func TestSottodProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sottod and starts a network")
	}
	bin := buildSottod(t)
	nw := startNetwork(t, testnet.Options{Nodes: 5, Sottod: bin})
	ids := make([]uint64, 0, 1)
	for id := range nw.Swarms() {
		ids = append(ids, id)
	}
	if len(ids) != 1 {
		t.Fatalf("swarms: %v", nw.Swarms())
	}
	alice := newUser(t, nw, "alice", ids[0])
	bob := newUser(t, nw, "bob", ids[0])
	warmUp(t, alice, bob)

	if err := nw.Kill(2); err != nil {
		t.Fatal(err)
	}
	tr := sendStream(alice, bob.id(), "node 2 down", 10, 50*time.Millisecond, nil)
	acked, queued := tr.wait(t, 2*time.Minute)
	bob.waitDelivered(alice.id(), append(acked, queued...), time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := nw.Start(ctx, 2); err != nil {
		t.Fatal(err)
	}
	tr = sendStream(bob, alice.id(), "node 2 back", 10, 50*time.Millisecond, nil)
	acked2, queued2 := tr.wait(t, 2*time.Minute)
	alice.waitDelivered(bob.id(), append(acked2, queued2...), time.Minute)
	bob.checkExactlyOnce(alice.id(), acked)
	alice.checkExactlyOnce(bob.id(), acked2)
	waitNodeHolds(t, nw, 2, bob, bob.incomingHashes(alice.id()), time.Minute)

	// The children really are sottod: their logs are sottod's.
	log, err := os.ReadFile(nw.Node(2).LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "serving") {
		t.Fatalf("node 2 log:\n%.2000s", log)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDevnetCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	dir := t.TempDir()
	var out lockedBuffer
	cmd := devnetCmd(&out, io.Discard)
	cmd.SetArgs([]string{"--dir", dir, "--nodes", "4", "--ledger", "genesis", "--quiet"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	want := "devnet ready: " + filepath.Join(dir, "network.json") + "\n"
	deadline := time.Now().Add(time.Minute)
	for out.String() != want {
		select {
		case err := <-done:
			t.Fatalf("devnet ended: %v (stdout %q)", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("stdout %q", out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "network.json")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestDevnetCommandUsage(t *testing.T) {
	var errOut bytes.Buffer
	cmd := devnetCmd(io.Discard, &errOut)
	cmd.SetArgs([]string{"--nodes", "3"})
	err := cmd.Execute()
	var ue *userError
	if err == nil || !strings.Contains(err.Error(), "--dir is required") || !errors.As(err, &ue) || ue.hint == "" {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(errOut.String(), "usage: sottod devnet") {
		t.Fatalf("usage not printed: %q", errOut.String())
	}
	cmd = devnetCmd(io.Discard, io.Discard)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("--help: %v", err)
	}
}

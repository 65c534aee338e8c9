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

	"github.com/spf13/cobra"

	"sotto.dev/snode/daemon"
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
	cmd := devnetCmd()
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
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

// TestUsageHints: a bad command line of devnet or bench (flags, arguments)
// is an error with a hint naming the command's help, and --help is none.
func TestUsageHints(t *testing.T) {
	for _, c := range []struct {
		cmd  func() *cobra.Command
		args []string
		want string
		hint string
	}{
		{devnetCmd, []string{"--nodes", "3"}, "--dir is required", "sottod devnet --help"},
		{devnetCmd, []string{"--dir", "d", "extra"}, "unexpected argument", "sottod devnet --help"},
		{devnetCmd, []string{"--bogus"}, "unknown flag: --bogus", "sottod devnet --help"},
		{benchCmd, nil, "name at least one test", "sottod bench --help"},
		{benchCmd, []string{"-c", "x", "store"}, "invalid argument", "sottod bench --help"},
	} {
		var errOut bytes.Buffer
		cmd := c.cmd()
		cmd.SetArgs(c.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(&errOut)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := cmd.Execute()
		var ue *daemon.Error
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &ue) || ue.Hint != c.hint {
			t.Errorf("%s %q: got %v, want %q with hint %q", c.cmd().Name(), c.args, err, c.want, c.hint)
		}
	}
	for _, mk := range []func() *cobra.Command{devnetCmd, benchCmd} {
		var out bytes.Buffer
		cmd := mk()
		cmd.SetOut(&out)
		cmd.SetArgs([]string{"--help"})
		if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "--help") {
			t.Errorf("%s --help: %v\n%s", cmd.Name(), err, out.String())
		}
	}
}

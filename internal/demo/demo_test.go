package demo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sotto.dev/client/cli"
)

// syncBuffer is a bytes.Buffer safe for the demo's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runDemoCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	t.Setenv("SOTTO_LOG", "")
	var out, errOut syncBuffer
	cmd := Command()
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// TestDemoScript runs the README quickstart path non-interactively: a
// network, two accounts, lines piped in, every one delivered to Bob and
// answered to Alice before the demo exits.
func TestDemoScript(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	dir := t.TempDir()
	out, errOut, err := runDemoCmd(t, "hello bob\n\n  how are you?  \n", "--dir", dir, "--nodes", "5", "--script")
	if err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	for _, want := range []string{
		"network: 5 nodes in 1 swarm, " + filepath.Join(dir, "network", "network.json"),
		"alice: 05", "bob:   05",
		"alice → bob: hello bob",
		"bob got: hello bob (",
		"bob → alice: echo: hello bob",
		"alice got: echo: hello bob",
		"alice got: echo: how are you?",
		"delivered: 2 messages to Bob, 2 answers to Alice",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hint:") {
		t.Errorf("prompt hint without a terminal:\n%s", out)
	}
	aliceID := lineAfter(out, "alice: ")

	// A second run in the same directory continues with the same accounts
	// and network.
	out2, errOut2, err := runDemoCmd(t, "again\n/quit\nnot sent\n", "--dir", dir, "--script")
	if err != nil {
		t.Fatalf("second demo: %v\n%s\n%s", err, out2, errOut2)
	}
	if lineAfter(out2, "alice: ") != aliceID || !strings.Contains(out2, "network: 5 nodes") {
		t.Fatalf("second run changed the accounts or the network:\n%s", out2)
	}
	if !strings.Contains(out2, "delivered: 1 message to Bob, 1 answer to Alice") || strings.Contains(out2, "not sent") {
		t.Fatalf("second run:\n%s", out2)
	}
	if _, err := os.Stat(filepath.Join(dir, "alice", cli.IdentityFile)); err != nil {
		t.Fatal(err)
	}
}

func TestDemoTooFewNodes(t *testing.T) {
	_, _, err := runDemoCmd(t, "", "--nodes", "3")
	var e *cli.Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "--nodes 3 is too small") || !strings.Contains(e.Hint, "--nodes 4") {
		t.Fatalf("got %v", err)
	}
}

func lineAfter(out, prefix string) string {
	for l := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

package testnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"sotto.dev/ledger"
	"sotto.dev/snode"
)

// EnvChild names the environment variable that turns a process into a
// testnet child node: its value is the path of the node's child.json.
const EnvChild = "SOTTO_TESTNET_CHILD"

// childFile is the spec of a child node inside its data directory.
const childFile = "child.json"

// childSpec is what a child process needs to run one node.
type childSpec struct {
	Config   snode.Config `json:"config"`
	Genesis  string       `json:"genesis"`
	LogLevel slog.Level   `json:"log_level"`
}

// ChildMain runs a testnet child node and exits when the process was
// started as one (EnvChild is set); otherwise it returns at once. Call it
// first in the TestMain of any test package that starts a Subprocess
// network, and in any program given as Options.Command:
//
//	func TestMain(m *testing.M) {
//		testnet.ChildMain()
//		os.Exit(m.Run())
//	}
//
// The child logs to stderr (the parent points it at the node's node.log),
// follows the genesis file, and shuts down cleanly on SIGTERM or SIGINT.
func ChildMain() {
	path := os.Getenv(EnvChild)
	if path == "" {
		return
	}
	if err := runChild(path); err != nil {
		fmt.Fprintf(os.Stderr, "testnet child: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func readChildSpec(path string) (*childSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s childSpec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Genesis == "" {
		return nil, fmt.Errorf("%s: no genesis file", path)
	}
	return &s, nil
}

func writeChildSpec(dir string, s *childSpec) (string, error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, childFile)
	return path, writeFileAtomic(path, append(data, '\n'), 0o600)
}

func runChild(specPath string) error {
	spec, err := readChildSpec(specPath)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: spec.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	view, err := ledger.NewGenesisView(spec.Genesis, log, GenesisPoll)
	if err != nil {
		return err
	}
	p, err := newNodeProc(spec.Config, view, log)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	vctx, vstop := context.WithCancel(ctx)
	wg.Go(func() { _ = view.Serve(vctx) })
	err = p.serve(ctx)
	vstop()
	wg.Wait()
	return err
}

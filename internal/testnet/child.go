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
	"time"

	"sotto.dev/internal/atomicfile"
	"sotto.dev/ledger"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/snode"
)

// EnvChild names the environment variable that turns a process into a
// testnet child node: its value is the path of the node's child.json.
const EnvChild = "SOTTO_TESTNET_CHILD"

// childFile is the spec of a child node inside its data directory.
const childFile = "child.json"

// childSpec is what a child process needs to run one node.
type childSpec struct {
	Config snode.Config `json:"config"`
	// Genesis is the genesis file to follow, or LedgerRPC a CometBFT
	// ledger's RPC address; with the ledger the child registers with
	// OperatorKey and does its duties, looking every Poll.
	Genesis     string        `json:"genesis,omitempty"`
	LedgerRPC   string        `json:"ledger_rpc,omitempty"`
	OperatorKey string        `json:"operator_key,omitempty"`
	Poll        time.Duration `json:"poll,omitempty"`
	LogLevel    slog.Level    `json:"log_level"`
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
	if (s.Genesis == "") == (s.LedgerRPC == "") {
		return nil, fmt.Errorf("%s: need a genesis file or a ledger RPC address", path)
	}
	return &s, nil
}

func writeChildSpec(dir string, s *childSpec) (string, error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, childFile)
	return path, atomicfile.Write(path, append(data, '\n'), 0o600)
}

func runChild(specPath string) error {
	spec, err := readChildSpec(specPath)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: spec.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	vctx, vstop := context.WithCancel(ctx)
	defer vstop()
	deps := snode.Deps{Logger: log}
	if spec.LedgerRPC != "" {
		c, err := ledger.Dial(spec.LedgerRPC)
		if err != nil {
			return err
		}
		defer c.Close()
		f := ledger.NewFollower(c, spec.Poll, log.With("component", "ledger"))
		// The ledger answers once it runs; the parent started it first.
		for err := f.Sync(ctx); err != nil; err = f.Sync(ctx) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		op, err := ledgercli.ReadKey(spec.OperatorKey)
		if err != nil {
			return err
		}
		deps.View = f.View()
		deps.Ledger = &snode.LedgerConfig{Client: c, Operator: op, Poll: spec.Poll}
		wg.Go(func() { _ = f.Serve(vctx) })
	} else {
		view, err := ledger.NewGenesisView(spec.Genesis, log, GenesisPoll)
		if err != nil {
			return err
		}
		deps.View = view
		wg.Go(func() { _ = view.Serve(vctx) })
	}
	p, err := newNodeProc(spec.Config, deps)
	if err != nil {
		return err
	}
	return p.serve(ctx)
}

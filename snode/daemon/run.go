package daemon

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"sotto.dev/internal/clierr"
	"sotto.dev/ledger"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/snode"
	"sotto.dev/snode/relay"
)

// Error is a failure meant for a person: Msg (and Err) becomes the
// "error:" line and Hint, when set, the "hint:" line.
type Error = clierr.Error

// Run runs the node of cfg (validated with Validate) until ctx ends or
// the process gets SIGINT or SIGTERM: the node list source, then the node
// and its onion relay. Logs go to logw. The source stops after the node;
// an embedded ledger that stops on its own stops the node.
func Run(ctx context.Context, cfg Config, logw io.Writer) error {
	log := newLogger(cfg, logw)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	src, err := openSource(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer src.Close()
	srcCtx, stopSource := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// Deferred calls run last first: the source stops after the node.
	defer wg.Wait()
	defer stopSource()
	sourceErr := make(chan error, 1)
	wg.Go(func() {
		if err := src.Serve(srcCtx); err != nil {
			sourceErr <- err
		}
	})
	if src.IsGenesisFile() {
		wg.Go(func() { reloadOnHUP(srcCtx, src, log) })
	}

	node, err := startNode(cfg, src, log)
	if err != nil {
		return err
	}
	log.Info("sottod starting", "listen", node.Addr().String(), "admin", adminString(node), "node", node.Keys())
	return serveNode(ctx, node, sourceErr, log)
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openSource opens the node list source cfg names, with the operator key
// and ledger rules it needs.
func openSource(ctx context.Context, cfg Config, log *slog.Logger) (*ledger.Source, error) {
	sc := ledger.SourceConfig{
		GenesisFile: cfg.GenesisFile, RPC: cfg.LedgerRPC,
		Embedded: cfg.LedgerEmbedded, RPCListen: cfg.LedgerRPCListen,
		Logger: log.With("component", "ledger"),
	}
	var err error
	switch {
	case cfg.LedgerEmbedded != "":
		if cfg.LedgerParams != "" {
			p, err := readParams(cfg.LedgerParams)
			if err != nil {
				return nil, &Error{Msg: "ledger params " + cfg.LedgerParams, Err: err, Hint: "write them with 'sottod ledger params --devnet' and edit"}
			}
			sc.Params = &p
		}
		if sc.Operator, err = embeddedOperator(cfg); err != nil {
			return nil, err
		}
	case cfg.LedgerRPC != "":
		if cfg.OperatorKey != "" {
			if sc.Operator, err = ledgercli.ReadKey(cfg.OperatorKey); err != nil {
				return nil, &Error{Msg: "operator key", Err: err, Hint: "create one with 'sottod ledger keygen --out FILE' and fund it"}
			}
		}
	default:
		sc.Logger = log.With("component", "genesis")
	}
	src, err := ledger.OpenSource(ctx, sc)
	switch {
	case err == nil:
		return src, nil
	case cfg.LedgerEmbedded != "":
		return nil, &Error{Msg: "embedded ledger", Err: err}
	case cfg.LedgerRPC != "":
		return nil, &Error{Msg: "ledger", Err: err, Hint: "is the ledger node running and reachable? --ledger takes its CometBFT RPC address, e.g. tcp://127.0.0.1:26657"}
	}
	return nil, &Error{Msg: "genesis", Err: err, Hint: "the genesis file lists the nodes: see docs/operator.md"}
}

// embeddedOperator reads the operator key of an embedded ledger:
// cfg.OperatorKey, or LedgerEmbedded/operator.json, created on first
// start.
func embeddedOperator(cfg Config) (state.Signer, error) {
	keyPath := cfg.OperatorKey
	if keyPath == "" {
		keyPath = filepath.Join(cfg.LedgerEmbedded, "operator.json")
		if err := os.MkdirAll(cfg.LedgerEmbedded, 0o700); err != nil {
			return nil, &Error{Msg: "ledger home", Err: err}
		}
		if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
			if _, err := ledgercli.WriteKey(keyPath); err != nil {
				return nil, &Error{Msg: "operator key", Err: err}
			}
		}
	}
	op, err := ledgercli.ReadKey(keyPath)
	if err != nil {
		return nil, &Error{Msg: "operator key", Err: err, Hint: "create one with 'sottod ledger keygen --out FILE'"}
	}
	return op, nil
}

// reloadOnHUP reloads the genesis file of src at each SIGHUP until ctx
// ends.
func reloadOnHUP(ctx context.Context, src *ledger.Source, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if changed, err := src.Reload(); err != nil {
				log.Warn("genesis reload failed; keeping the previous node list", "err", err)
			} else {
				log.Info("genesis reloaded", "changed", changed)
			}
		}
	}
}

// startNode creates the node on src's view (with its ledger duties when
// src is a ledger) and enables the onion relay unless cfg turns it off.
func startNode(cfg Config, src *ledger.Source, log *slog.Logger) (*snode.Node, error) {
	deps := snode.Deps{Logger: log, View: src.View()}
	if c := src.Client(); c != nil {
		deps.Ledger = &snode.LedgerConfig{Client: c, Operator: src.Operator(), Poll: src.Poll()}
	}
	node, err := snode.New(cfg.Config, deps)
	if err != nil {
		return nil, &Error{Msg: "start node", Err: err}
	}
	if !cfg.NoOnionRelay {
		if _, err := node.EnableOnionRelay(relay.Config{}); err != nil {
			node.Close()
			return nil, err
		}
	}
	return node, nil
}

// serveNode serves node until ctx ends or the source fails.
func serveNode(ctx context.Context, node *snode.Node, sourceErr <-chan error, log *slog.Logger) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	nodeCtx, stopNode := context.WithCancel(ctx)
	defer stopNode() // before wg.Wait: it ends the goroutine below
	sourceFailed := make(chan error, 1)
	wg.Go(func() {
		select {
		case err := <-sourceErr:
			sourceFailed <- err
			stopNode()
		case <-nodeCtx.Done():
		}
	})
	if err := node.Serve(nodeCtx); err != nil {
		return &Error{Msg: "node stopped", Err: err}
	}
	select {
	case err := <-sourceFailed:
		return &Error{Msg: "embedded ledger stopped", Err: err}
	default:
	}
	log.Info("sottod stopped")
	return nil
}

func adminString(n *snode.Node) string {
	if a := n.AdminAddr(); a.IsValid() {
		return a.String()
	}
	return "off"
}

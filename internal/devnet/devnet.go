// Package devnet holds two developer commands of sottod, written against
// internal/testnet and independent of any CLI framework:
//
//   - `sottod devnet`: a whole network in one process on a loopback
//     address (Run), with the client's network file in its directory;
//   - `sottod bench` (also `sotto-bench`): load against nodes over HTTPS
//     and through onion paths, with throughput and latency percentiles
//     (Bench).
//
// Commands lists both for a main to mount.
package devnet

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"sotto.dev/internal/testnet"
)

// DefaultNodes is the size of a new devnet: two swarms (8 + 7) with the
// ledger's devnet swarm sizes.
const DefaultNodes = 15

// Config configures Run.
type Config struct {
	// Dir holds the network (required). Starting again with the same
	// directory keeps every node's identity, port and messages.
	Dir string
	// Nodes is the number of nodes of a new network (0: DefaultNodes; an
	// existing network keeps its size and must be asked for 0 or that).
	Nodes int
	// Listen is the IPv4 address of a new network (default 127.0.0.1).
	Listen string
	// Ledger is where the node list lives: LedgerCometBFT (default) or
	// LedgerGenesis.
	Ledger string
	// LogLevel is the level of the node logs (DIR/node-NN/node.log).
	LogLevel slog.Level
	// Stdout receives the one "devnet ready: DIR/network.json" line.
	Stdout io.Writer
	// Logger receives the devnet's own logs (not the nodes'); nil discards.
	Logger *slog.Logger
	// Ready, if set, is called with the network once it is up (tests).
	Ready func(*testnet.Network)
}

// Ledger kinds.
const (
	// LedgerCometBFT is the embedded CometBFT ledger in DIR/ledger: one
	// validator, one-second blocks, each node's operator funded at
	// genesis; the nodes register themselves, send their uptime proofs
	// and test each other in quorums, so a node that stops is
	// decommissioned. Its RPC URL is in DIR/ledger-rpc.
	LedgerCometBFT = "cometbft"
	// LedgerGenesis is a node list in DIR/genesis.json, followed by the
	// nodes; edit it to change the network.
	LedgerGenesis = "genesis"
)

// ReadyPrefix starts the line Run prints once every node answers.
const ReadyPrefix = "devnet ready: "

// Run starts the devnet, prints the ready line, serves until ctx ends or
// the process gets SIGINT or SIGTERM, and then stops every node cleanly.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Dir == "" {
		return errors.New("devnet: no directory (--dir)")
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch cfg.Ledger {
	case "":
		cfg.Ledger = LedgerCometBFT
	case LedgerCometBFT, LedgerGenesis:
	default:
		return fmt.Errorf("devnet: unknown ledger %q (%s or %s)", cfg.Ledger, LedgerCometBFT, LedgerGenesis)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	nodes := cfg.Nodes
	if nodes == 0 && !exists(filepath.Join(cfg.Dir, testnet.LayoutFile)) {
		nodes = DefaultNodes
	}
	start := time.Now()
	n, err := testnet.Start(ctx, testnet.Options{
		Nodes:    nodes,
		Dir:      cfg.Dir,
		Listen:   cfg.Listen,
		Logger:   cfg.Logger,
		LogFiles: true,
		LogLevel: cfg.LogLevel,
		CometBFT: cfg.Ledger == LedgerCometBFT,
	})
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	attrs := []any{"nodes", n.Len(), "swarms", len(n.Swarms()), "ledger", cfg.Ledger, "elapsed", time.Since(start).Round(time.Millisecond).String()}
	if rpc := n.LedgerRPC(); rpc != "" {
		attrs = append(attrs, "ledger_rpc", rpc)
	}
	cfg.Logger.Info("devnet up", attrs...)
	if _, err := fmt.Fprintln(cfg.Stdout, ReadyPrefix+n.NetworkFile()); err != nil {
		n.Close()
		return fmt.Errorf("devnet: %w", err)
	}
	if cfg.Ready != nil {
		cfg.Ready(n)
	}
	<-ctx.Done()
	cfg.Logger.Info("devnet stopping")
	if err := n.Close(); err != nil {
		return fmt.Errorf("devnet: shutdown: %w", err)
	}
	return nil
}

// Command is a subcommand for sottod (or another main): Run parses args
// (without the command name) and runs until done.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// Commands are the subcommands this package provides: devnet and bench.
func Commands() []Command {
	return []Command{
		{Name: "devnet", Summary: "run a whole network on 127.0.0.1 in one process", Run: DevnetMain},
		{Name: "bench", Summary: "load a node or a devnet and print throughput and latency", Run: BenchMain},
	}
}

// ErrUsage is returned (wrapped) for bad command-line arguments, after the
// usage has been printed.
var ErrUsage = errors.New("usage error")

// DevnetMain is `sottod devnet --dir DIR [--nodes N] [--listen IP]`.
func DevnetMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.Dir, "dir", "", "directory of the network (created on first start; reused to keep identities and data)")
	fs.IntVar(&cfg.Nodes, "nodes", DefaultNodes, "number of service nodes of a new network")
	fs.StringVar(&cfg.Listen, "listen", testnet.DefaultListen, "IPv4 address the nodes listen on")
	fs.StringVar(&cfg.Ledger, "ledger", LedgerCometBFT, "node list source: cometbft (embedded ledger in DIR/ledger) or genesis (DIR/genesis.json)")
	logLevel := fs.String("log-level", "info", "node log level: debug, info, warn, error")
	quiet := fs.Bool("quiet", false, "no devnet logs on stderr (node logs still go to DIR/node-NN/node.log)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sottod devnet --dir DIR [--nodes N] [--listen 127.0.0.1] [--ledger cometbft|genesis]")
		fmt.Fprintln(stderr, "Runs the ledger and N service nodes (swarm storage, onion relay, node list) on one address,")
		fmt.Fprintln(stderr, "writes DIR/network.json for clients (sotto --network DIR/network.json) and")
		fmt.Fprintln(stderr, "serves until interrupted.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the usage was asked for and printed
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	if cfg.Dir == "" {
		fs.Usage()
		return fmt.Errorf("%w: --dir is required", ErrUsage)
	}
	if cfg.Ledger != LedgerCometBFT && cfg.Ledger != LedgerGenesis {
		return fmt.Errorf("%w: --ledger must be %s or %s", ErrUsage, LedgerCometBFT, LedgerGenesis)
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level: %v", ErrUsage, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["nodes"] {
		cfg.Nodes = 0 // a new network gets the default; an existing one keeps its size
	}
	if !set["listen"] {
		cfg.Listen = ""
	}
	cfg.Stdout = stdout
	if !*quiet {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return Run(ctx, cfg)
}

// Package devnet is `sottod devnet`: a whole network in one process on a
// loopback address (Run, on internal/testnet), with the client's network
// file in its directory. The load tool is internal/loadtest.
package devnet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/internal/linkem"
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
	// Addresses gives each node of a new network its own address
	// (testnet.LoopbackAddresses: 127.1.S.1; testnet.NetnsAddresses: a
	// network namespace per node, as root, on a bridge this process
	// makes and removes); "" puts every node on Listen.
	Addresses testnet.AddressMode
	// Ledger is where the node list lives: LedgerCometBFT (default) or
	// LedgerGenesis.
	Ledger string
	// LogLevel is the level of the node logs (DIR/node-NN/node.log).
	LogLevel slog.Level
	// Stdout receives the one "devnet ready: DIR/network.json" line.
	Stdout io.Writer
	// Logger receives the devnet's own logs (not the nodes'); nil discards.
	Logger *slog.Logger
	// Link, if set, emulates every link of the nodes (delay, jitter,
	// bandwidth, loss; internal/linkem); connections from clients in
	// other processes are emulated on the link from linkem.External.
	Link *linkem.Network
	// Ready, if set, is called with the network once it is up (tests).
	Ready func(*testnet.Network)
	// FileServer, if set, makes the file server the devnet runs in DIR/
	// fileserver, registers in the ledger (CometBFT) and lists in the
	// network file (fileserver.go); nil runs none.
	FileServer NewFileServer
	// Community, if set, makes the community server the devnet runs in
	// DIR/community with the room LobbyRoom, registers in the ledger
	// (CometBFT) and lists in the network file (community.go); nil runs
	// none.
	Community NewCommunityServer
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
	if _, err := os.Stat(filepath.Join(cfg.Dir, testnet.LayoutFile)); nodes == 0 && err != nil {
		nodes = DefaultNodes
	}
	start := time.Now()
	n, err := testnet.Start(ctx, testnet.Options{
		Nodes:     nodes,
		Dir:       cfg.Dir,
		Listen:    cfg.Listen,
		Addresses: cfg.Addresses,
		Logger:    cfg.Logger,
		LogFiles:  true,
		LogLevel:  cfg.LogLevel,
		CometBFT:  cfg.Ledger == LedgerCometBFT,
		Link:      cfg.Link,
	})
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	attrs := []any{"nodes", n.Len(), "swarms", len(n.Swarms()), "ledger", cfg.Ledger, "addresses", cmp.Or(string(n.Addresses()), "shared"), "elapsed", time.Since(start).Round(time.Millisecond).String()}
	if rpc := n.LedgerRPC(); rpc != "" {
		attrs = append(attrs, "ledger_rpc", rpc)
	}
	if l := cfg.Link; l != nil {
		p := l.Default()
		attrs = append(attrs, "link_seed", l.Seed(), "latency", p.Delay.String(), "jitter", p.Jitter.String(), "loss", p.Loss, "bandwidth", p.Bandwidth)
	}
	var files *runningFileServer
	if cfg.FileServer != nil {
		if files, err = startFileServer(ctx, cfg, n); err != nil {
			n.Close()
			return fmt.Errorf("devnet: %w", err)
		}
	}
	var comm *runningFileServer
	if cfg.Community != nil {
		if comm, err = startCommunity(ctx, cfg, n); err != nil {
			if files != nil {
				_ = files.stop()
			}
			n.Close()
			return fmt.Errorf("devnet: %w", err)
		}
	}
	cfg.Logger.Info("devnet up", attrs...)
	if _, err := fmt.Fprintln(cfg.Stdout, ReadyPrefix+n.NetworkFile()); err != nil {
		if comm != nil {
			_ = comm.stop()
		}
		if files != nil {
			_ = files.stop()
		}
		n.Close()
		return fmt.Errorf("devnet: %w", err)
	}
	if cfg.Ready != nil {
		cfg.Ready(n)
	}
	<-ctx.Done()
	cfg.Logger.Info("devnet stopping")
	if comm != nil {
		// The servers first: they hold no state the nodes need.
		if err := comm.stop(); err != nil {
			cfg.Logger.Error("community server stopped", "err", err)
		}
	}
	if files != nil {
		// The file server first: it holds no state the nodes need.
		if err := files.stop(); err != nil {
			cfg.Logger.Error("file server stopped", "err", err)
		}
	}
	if err := n.Close(); err != nil {
		return fmt.Errorf("devnet: shutdown: %w", err)
	}
	return nil
}

// ErrUsage is returned (wrapped) for a bad command line.
var ErrUsage = errors.New("usage error")

// Command returns `devnet --dir DIR [--nodes N] [--listen IP] [--ledger
// cometbft|genesis]` for sottod to mount: Run with the flags, the ready
// line on the command's standard output and the devnet's logs on its
// standard error.
func Command() *cobra.Command {
	var cfg Config
	var logLevel, addresses string
	var quiet, files, communities bool
	var link linkem.Flags
	cmd := &cobra.Command{
		Use:   "devnet --dir DIR [--nodes 15] [--listen 127.0.0.1 | --addresses loopback|netns] [--ledger cometbft|genesis] [--latency 25ms --jitter 5ms --loss 0.5% --bandwidth 10Mbit --seed N]",
		Short: "Run a whole network (ledger, nodes, file server, community) on 127.0.0.1 in one process",
		Long: `Run the ledger, N service nodes (swarm storage, onion relay, node list),
a file server and a community server with the room lobby on one address,
write DIR/network.json for clients (sotto --network DIR/network.json) and
serve until interrupted.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q", ErrUsage, args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Dir == "" {
				return fmt.Errorf("%w: --dir is required", ErrUsage)
			}
			if cfg.Ledger != LedgerCometBFT && cfg.Ledger != LedgerGenesis {
				return fmt.Errorf("%w: --ledger must be %s or %s", ErrUsage, LedgerCometBFT, LedgerGenesis)
			}
			mode, err := testnet.ParseAddressMode(addresses)
			if err != nil {
				return fmt.Errorf("%w: --addresses: %v", ErrUsage, err)
			}
			cfg.Addresses = mode
			if err := cfg.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("%w: --log-level: %v", ErrUsage, err)
			}
			if !cmd.Flags().Changed("nodes") {
				cfg.Nodes = 0 // a new network gets the default; an existing one keeps its size
			}
			if !cmd.Flags().Changed("listen") {
				cfg.Listen = ""
			}
			if cfg.Link, err = link.Network(); err != nil {
				return fmt.Errorf("%w: %v", ErrUsage, err)
			}
			if files {
				cfg.FileServer = RealFileServer
			}
			if communities {
				cfg.Community = RealCommunityServer
			}
			cfg.Stdout = cmd.OutOrStdout()
			if !quiet {
				cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			}
			return Run(cmd.Context(), cfg)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fmt.Errorf("%w: %v", ErrUsage, err) })
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "dir", "", "directory of the network (created on first start; reused to keep identities and data)")
	f.IntVar(&cfg.Nodes, "nodes", DefaultNodes, "number of service nodes of a new network")
	f.StringVar(&cfg.Listen, "listen", testnet.DefaultListen, "IPv4 address the nodes listen on")
	f.StringVar(&addresses, "addresses", "shared", "node addresses of a new network: shared (all on --listen), loopback (127.1.S.1 each), netns (a network namespace each; root)")
	f.StringVar(&cfg.Ledger, "ledger", LedgerCometBFT, "node list source: cometbft (embedded ledger in DIR/ledger) or genesis (DIR/genesis.json)")
	f.StringVar(&logLevel, "log-level", "info", "node log level: debug, info, warn, error")
	f.BoolVar(&files, "file-server", true, "run a file server (DIR/fileserver), registered in the ledger and listed in network.json")
	f.BoolVar(&communities, "community", true, "run a community server (DIR/community) with the room lobby, registered in the ledger and listed in network.json")
	f.BoolVar(&quiet, "quiet", false, "no devnet logs on stderr (node logs still go to DIR/node-NN/node.log)")
	link.Add(f)
	return cmd
}

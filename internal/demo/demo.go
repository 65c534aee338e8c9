// Package demo is `sottod demo`: a whole Sotto network on 127.0.0.1 in
// this process (the ledger and the nodes of `sottod devnet`, through
// internal/testnet) and a chat between two new accounts, Alice and Bob,
// whose clients use it as any client would. It lives with the node, not
// in the client: the messenger binary links no server. Failures are
// cli.Error values, as the sotto command line prints them.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/client/cli"
	"sotto.dev/identity"
	"sotto.dev/internal/testnet"
)

// DefaultNodes is the demo network's size: that of `sottod devnet`, two
// swarms.
const DefaultNodes = 15

// Config configures Run.
type Config struct {
	// Dir keeps the network (Dir/network) and the accounts (Dir/alice,
	// Dir/bob); a second run continues them. Empty: a temporary directory
	// removed at the end.
	Dir string
	// Nodes is the size of a new network (an existing one keeps its own).
	Nodes int
	// Script turns the prompt off even on a terminal.
	Script bool
	// Timeout bounds each delivery.
	Timeout time.Duration
	// Stdin holds the lines Alice sends; Stdout gets the conversation.
	Stdin  io.Reader
	Stdout io.Writer
	// Logger receives the network's logs; nil discards them.
	Logger *slog.Logger
}

// Command returns `demo`, for sottod to mount: Run with the flags, the
// conversation on the command's standard output. SOTTO_LOG (debug, info
// or warn) shows the network's logs on standard error, as for `sotto`.
func Command() *cobra.Command {
	cfg := Config{Nodes: DefaultNodes, Timeout: 60 * time.Second}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local network, create Alice and Bob, and chat between them",
		Long: `Start a whole Sotto network on 127.0.0.1 in this process (the ledger and
the nodes of 'sottod devnet'), create two accounts, Alice and Bob, and open a chat:
every line typed is sent from Alice to Bob through 3-hop onion paths, and
Bob's client answers each message it receives.

End with end-of-file (Ctrl-D) or a line "/quit"; the demo then waits
until everything sent was delivered. Without a terminal on standard input
(or with --script) no prompt is shown, so a script can pipe lines in.

Without --dir everything lives in a temporary directory that is removed
at the end. With --dir the network (DIR/network) and the accounts
(DIR/alice, DIR/bob) are kept, and a second run continues them; the
accounts can also be used directly, e.g.
  sotto --home DIR/alice --network DIR/network/network.json inbox`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := cfg
			c.Stdin, c.Stdout = cmd.InOrStdin(), cmd.OutOrStdout()
			c.Logger = envLogger(os.Getenv("SOTTO_LOG"), cmd.ErrOrStderr())
			return Run(cmd.Context(), c)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Dir, "dir", "", "keep the network and the accounts in DIR (default: a temporary directory)")
	fl.IntVar(&cfg.Nodes, "nodes", DefaultNodes, "service nodes of a new demo network")
	fl.BoolVar(&cfg.Script, "script", false, "no prompt: read lines from standard input, send them, exit once delivered")
	fl.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "give up on a delivery after this long")
	return cmd
}

// envLogger is a logger at the level SOTTO_LOG names (debug, info, warn),
// or one that discards.
func envLogger(level string, w io.Writer) *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "warn":
		lvl = slog.LevelWarn
	default:
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// Run starts the network and the two clients, sends every line of
// cfg.Stdin from Alice to Bob (Bob answers each), waits until everything
// was delivered, and stops. SIGINT and SIGTERM interrupt it.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Nodes < 4 {
		return &cli.Error{Msg: fmt.Sprintf("--nodes %d is too small", cfg.Nodes), Hint: "onion paths need 3 relays and a destination: use --nodes 4 or more"}
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, cleanup, err := workDir(cfg.Dir)
	if err != nil {
		return err
	}
	defer cleanup()
	net, err := startNetwork(ctx, dir, cfg.Nodes, cfg.Logger)
	if err != nil {
		return err
	}
	defer net.Close()
	out := cfg.Stdout
	swarms := "swarms"
	if len(net.Swarms()) == 1 {
		swarms = "swarm"
	}
	fmt.Fprintf(out, "network: %d nodes in %d %s, %s\n", net.Len(), len(net.Swarms()), swarms, net.NetworkFile())

	alice, bob, err := openPeers(ctx, dir, net.NetworkFile())
	if err != nil {
		return err
	}
	defer alice.close()
	defer bob.close()
	fmt.Fprintf(out, "alice: %s\n", alice.c.SessionID())
	fmt.Fprintf(out, "bob:   %s\n", bob.c.SessionID())

	t := &tally{changed: make(chan struct{}), sentAt: map[string]time.Time{}, out: out}
	stopClients := serveClients(ctx, alice, bob, t)
	defer stopClients()

	if !cfg.Script && isTerminal(cfg.Stdin) {
		fmt.Fprintln(out, "hint: type a line to send it from Alice to Bob; Bob answers every message. Ctrl-D or /quit ends.")
	}
	if err := sendInput(ctx, cfg.Stdin, alice, bob.c.SessionID(), t, cfg.Timeout); err != nil {
		return err
	}
	return t.waitDelivered(ctx, cfg.Timeout, filepath.Join(net.Dir(), "node-*", "node.log"))
}

// workDir returns dir, or a new temporary directory that cleanup removes.
func workDir(dir string) (_ string, cleanup func(), _ error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "sotto-demo-")
	if err != nil {
		return "", nil, &cli.Error{Msg: "cannot make a temporary directory", Err: err}
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// startNetwork starts the demo network in dir/network with the CometBFT
// ledger: nodes of them when it is new, its own size when it exists.
func startNetwork(ctx context.Context, dir string, nodes int, log *slog.Logger) (*testnet.Network, error) {
	if _, err := os.Stat(filepath.Join(dir, "network", testnet.LayoutFile)); err == nil {
		nodes = 0 // keep the size of the existing network
	}
	net, err := testnet.Start(ctx, testnet.Options{
		Nodes:    nodes,
		Dir:      filepath.Join(dir, "network"),
		LogFiles: true,
		Logger:   log,
		CometBFT: true,
	})
	if err != nil {
		var le *testnet.LayoutError
		if errors.As(err, &le) {
			return nil, &cli.Error{Msg: "cannot reuse the demo network", Err: err, Hint: "use another --dir, or none for a temporary network"}
		}
		return nil, &cli.Error{Msg: "cannot start the demo network", Err: err}
	}
	return net, nil
}

// peer is one of the two demo accounts.
type peer struct {
	name string
	c    *client.Client
	kf   *identity.KeyFile
}

func (p *peer) close() {
	p.c.Close()
	p.kf.Wipe()
}

// openPeers opens Alice's and Bob's clients (accounts in dir/alice and
// dir/bob, created on first use) and sets their display names.
func openPeers(ctx context.Context, dir, networkFile string) (alice, bob *peer, err error) {
	alice, err = openPeer("Alice", filepath.Join(dir, "alice"), networkFile)
	if err != nil {
		return nil, nil, err
	}
	bob, err = openPeer("Bob", filepath.Join(dir, "bob"), networkFile)
	if err != nil {
		alice.close()
		return nil, nil, err
	}
	for _, p := range []*peer{alice, bob} {
		if err := p.c.SetProfileName(ctx, p.name); err != nil {
			alice.close()
			bob.close()
			return nil, nil, &cli.Error{Msg: "cannot set " + p.name + "'s display name", Err: err}
		}
	}
	return alice, bob, nil
}

// openPeer loads (or creates) the account in home, where the sotto
// command line keeps it, and opens its client on the demo network.
func openPeer(name, home, networkFile string) (*peer, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(home, cli.IdentityFile)
	kf, err := identity.LoadKeyFile(path, nil)
	if errors.Is(err, fs.ErrNotExist) {
		k, seed, kerr := identity.NewKeys()
		clear(seed)
		if kerr != nil {
			return nil, kerr
		}
		err = identity.SaveKeyFile(path, k, nil)
		k.Wipe()
		if err == nil {
			kf, err = identity.LoadKeyFile(path, nil)
		}
	}
	if err != nil {
		return nil, &cli.Error{Msg: "cannot set up " + name + "'s identity", Err: err}
	}
	c, err := client.Open(client.Config{Home: home, NetworkFile: networkFile}, kf)
	if err != nil {
		kf.Wipe()
		return nil, &cli.Error{Msg: "cannot open " + name + "'s client", Err: err}
	}
	return &peer{name: name, c: c, kf: kf}, nil
}

// serveClients runs both clients, Bob's answering and Alice's printing of
// the answers until the returned stop is called; stop waits for them.
func serveClients(ctx context.Context, alice, bob *peer, t *tally) (stop func()) {
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, p := range []*peer{alice, bob} {
		wg.Go(func() { _ = p.c.Serve(sctx) })
	}
	wg.Go(func() { answer(sctx, bob, alice.c.SessionID(), t) })
	wg.Go(func() { printAnswers(sctx, alice, bob.c.SessionID(), t) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

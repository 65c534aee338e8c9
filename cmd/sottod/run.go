package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"sotto.dev/ledger"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/snode"
	"sotto.dev/snode/relay"
)

// fileConfig is sottod's configuration file: the node's configuration
// (snode.Config, at the top level) and where the node list comes from.
type fileConfig struct {
	snode.Config
	// GenesisFile is a genesis node list (ledger.GenesisFile); it is
	// reloaded on change and on SIGHUP.
	GenesisFile string `json:"genesis_file,omitempty"`
	// LedgerRPC is the CometBFT RPC address of a ledger node to follow
	// ("tcp://host:26657"); it replaces GenesisFile.
	LedgerRPC string `json:"ledger_rpc,omitempty"`
	// LedgerEmbedded is the home of a single-validator ledger that runs in
	// this process (a devnet of its own; created on first start). It
	// replaces GenesisFile and LedgerRPC.
	LedgerEmbedded string `json:"ledger_embedded,omitempty"`
	// LedgerRPCListen serves the embedded ledger's CometBFT RPC there
	// (for `sottod ledger` commands and other nodes' --ledger). Fixed when
	// the ledger home is created.
	LedgerRPCListen string `json:"ledger_rpc_listen,omitempty"`
	// LedgerParams is a JSON file of ledger rules (`sottod ledger params
	// --devnet`) for a new embedded ledger; default the devnet rules.
	LedgerParams string `json:"ledger_params,omitempty"`
	// OperatorKey is an account key file (`sottod ledger keygen`): with a
	// ledger, the node registers itself with it at start unless the
	// ledger already holds its registration. An embedded ledger funds it
	// in its genesis; without one it is created as LedgerEmbedded/operator.json.
	OperatorKey string `json:"operator_key,omitempty"`
	// LogLevel is debug, info, warn or error; LogJSON selects JSON logs.
	LogLevel string `json:"log_level,omitempty"`
	LogJSON  bool   `json:"log_json,omitempty"`
	// NoOnionRelay turns the /onion_req/v2 endpoint off.
	NoOnionRelay bool `json:"no_onion_relay,omitempty"`
}

func defaultFileConfig() fileConfig {
	return fileConfig{Config: snode.DefaultConfig(), LogLevel: "info"}
}

// loadFileConfig reads path over the defaults; unknown fields are errors.
func loadFileConfig(path string) (fileConfig, error) {
	c := defaultFileConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return c, &userError{msg: "read config", err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, &userError{msg: "config " + path, err: err, hint: "the file is JSON; see docs/operator.md for the fields"}
	}
	if dec.More() {
		return c, &userError{msg: "config " + path + ": trailing data after the JSON object"}
	}
	return c, nil
}

func (c *fileConfig) validate() error {
	var errs []error
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	sources := 0
	for _, s := range []string{c.GenesisFile, c.LedgerRPC, c.LedgerEmbedded} {
		if s != "" {
			sources++
		}
	}
	switch {
	case sources == 0:
		errs = append(errs, errors.New("config: no node list: set genesis_file (--genesis), ledger_rpc (--ledger) or ledger_embedded (--ledger-embedded)"))
	case sources > 1:
		errs = append(errs, errors.New("config: genesis_file, ledger_rpc and ledger_embedded are exclusive"))
	}
	if c.LedgerEmbedded == "" && (c.LedgerRPCListen != "" || c.LedgerParams != "") {
		errs = append(errs, errors.New("config: ledger_rpc_listen and ledger_params need ledger_embedded"))
	}
	if c.OperatorKey != "" && c.GenesisFile != "" {
		errs = append(errs, errors.New("config: operator_key needs a ledger (ledger_rpc or ledger_embedded), not a genesis file"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("config: log_level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func runCmd(stdout, stderr io.Writer) *cobra.Command {
	var configPath string
	var validateOnly bool
	cfg := defaultFileConfig()
	gofs := flag.NewFlagSet("node", flag.ContinueOnError)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the service node",
		Long: `Run the service node: storage RPC, seed bootstrap and onion relay on one
HTTPS port, metrics on the admin address. Flags override the config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			final := defaultFileConfig()
			if configPath != "" {
				var err error
				if final, err = loadFileConfig(configPath); err != nil {
					return err
				}
			}
			// Apply only the flags given on the command line over the file.
			if err := applyFlags(cmd, &final); err != nil {
				return err
			}
			if err := final.validate(); err != nil {
				return &userError{msg: "invalid configuration", err: err, hint: "fix the fields named above; --validate-only checks a configuration without starting"}
			}
			if validateOnly {
				fmt.Fprintln(stdout, "configuration ok")
				return nil
			}
			return run(cmd.Context(), final, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "JSON configuration file")
	f.BoolVar(&validateOnly, "validate-only", false, "check the configuration and exit")
	bindRunFlags(f, &cfg)
	cfg.Config.RegisterFlags(gofs)
	f.AddGoFlagSet(gofs)
	return cmd
}

// bindRunFlags binds sottod's own settings of c (those outside the node's
// Config) to fs, each defaulting to the value c holds.
func bindRunFlags(fs *pflag.FlagSet, c *fileConfig) {
	fs.StringVar(&c.GenesisFile, "genesis", c.GenesisFile, "genesis node list file (reloaded on change and SIGHUP)")
	fs.StringVar(&c.LedgerRPC, "ledger", c.LedgerRPC, "CometBFT RPC address of a ledger node to follow (tcp://host:26657)")
	fs.StringVar(&c.LedgerEmbedded, "ledger-embedded", c.LedgerEmbedded, "run a single-validator ledger in this process with its home in DIR (created on first start)")
	fs.StringVar(&c.LedgerRPCListen, "ledger-rpc-listen", c.LedgerRPCListen, "serve the embedded ledger's CometBFT RPC at this address (tcp://127.0.0.1:26657)")
	fs.StringVar(&c.LedgerParams, "ledger-params", c.LedgerParams, "ledger rules (JSON, 'sottod ledger params --devnet') for a new embedded ledger")
	fs.StringVar(&c.OperatorKey, "operator-key", c.OperatorKey, "account key file: register the node with it at start if the ledger does not list it")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.BoolVar(&c.LogJSON, "log-json", c.LogJSON, "log JSON lines")
	fs.BoolVar(&c.NoOnionRelay, "no-onion-relay", c.NoOnionRelay, "do not serve /onion_req/v2")
}

// applyFlags copies the flags that were set on the command line into dst
// (which holds the file's values): the node flags and sottod's own are
// bound to dst again and given the same values, so only those change.
func applyFlags(cmd *cobra.Command, dst *fileConfig) error {
	gofs := flag.NewFlagSet("node", flag.ContinueOnError)
	gofs.SetOutput(io.Discard)
	dst.Config.RegisterFlags(gofs)
	own := pflag.NewFlagSet("run", pflag.ContinueOnError)
	bindRunFlags(own, dst)
	own.AddGoFlagSet(gofs)
	var err error
	cmd.Flags().Visit(func(f *pflagFlag) {
		if own.Lookup(f.Name) != nil && err == nil {
			err = own.Set(f.Name, f.Value.String())
		}
	})
	if err != nil {
		return &userError{msg: "flags", err: err}
	}
	return nil
}

// run starts the view, the node and the relay, and waits for a signal.
func run(parent context.Context, cfg fileConfig, stderr io.Writer) error {
	level, _ := parseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(stderr, opts)
	if cfg.LogJSON {
		h = slog.NewJSONHandler(stderr, opts)
	}
	log := slog.New(h)

	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	viewCtx, stopView := context.WithCancel(context.Background())
	defer stopView()

	deps := snode.Deps{Logger: log}
	// ledgerErr reports an embedded ledger that stopped on its own.
	ledgerErr := make(chan error, 1)
	switch {
	case cfg.LedgerEmbedded != "":
		e, op, poll, err := openEmbedded(cfg, log.With("component", "ledger"))
		if err != nil {
			return err
		}
		ledgerCtx, stopLedger := context.WithCancel(context.Background())
		// The ledger stops after the node (deferred calls run last first).
		defer wg.Wait()
		defer stopLedger()
		wg.Go(func() {
			if err := e.Serve(ledgerCtx); err != nil {
				ledgerErr <- err
			}
		})
		deps.View = e.View()
		deps.Ledger = &snode.LedgerConfig{Client: e.Client(), Operator: op, Poll: poll}
	case cfg.LedgerRPC != "":
		client, err := ledger.Dial(cfg.LedgerRPC)
		if err != nil {
			return &userError{msg: "ledger", err: err, hint: "--ledger takes the CometBFT RPC address, e.g. tcp://127.0.0.1:26657"}
		}
		defer client.Close()
		f := ledger.NewFollower(client, time.Second, log.With("component", "ledger"))
		// The ledger node may still be starting: try for 30 s.
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		for err = f.Sync(sctx); err != nil && sctx.Err() == nil; err = f.Sync(sctx) {
			select {
			case <-sctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
		cancel()
		if err != nil {
			return &userError{msg: "ledger: first sync", err: err, hint: "is the ledger node running and reachable?"}
		}
		deps.View = f.View()
		deps.Ledger = &snode.LedgerConfig{Client: client}
		if cfg.OperatorKey != "" {
			op, err := ledgercli.ReadKey(cfg.OperatorKey)
			if err != nil {
				return &userError{msg: "operator key", err: err, hint: "create one with 'sottod ledger keygen --out FILE' and fund it"}
			}
			deps.Ledger.Operator = op
		}
		wg.Go(func() { _ = f.Serve(viewCtx) })
	default:
		gv, err := ledger.NewGenesisView(cfg.GenesisFile, log.With("component", "genesis"), 0)
		if err != nil {
			return &userError{msg: "genesis", err: err, hint: "the genesis file lists the nodes: see docs/operator.md"}
		}
		deps.View = gv
		wg.Go(func() { _ = gv.Serve(viewCtx) })
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		wg.Go(func() {
			for {
				select {
				case <-viewCtx.Done():
					return
				case <-hup:
					if changed, err := gv.Reload(); err != nil {
						log.Warn("genesis reload failed; keeping the previous node list", "err", err)
					} else {
						log.Info("genesis reloaded", "changed", changed)
					}
				}
			}
		})
	}

	node, err := snode.New(cfg.Config, deps)
	if err != nil {
		return &userError{msg: "start node", err: err}
	}
	if !cfg.NoOnionRelay {
		if _, err := node.EnableOnionRelay(relay.Config{}); err != nil {
			node.Close()
			return err
		}
	}
	log.Info("sottod starting", "listen", node.Addr().String(), "admin", adminString(node), "node", node.Keys())
	nodeCtx, stopNode := context.WithCancel(ctx)
	defer stopNode()
	ledgerFailed := make(chan error, 1)
	wg.Go(func() {
		select {
		case err := <-ledgerErr:
			ledgerFailed <- err
			stopNode()
		case <-nodeCtx.Done():
		}
	})
	err = node.Serve(nodeCtx)
	stopView()
	if err != nil {
		return &userError{msg: "node stopped", err: err}
	}
	select {
	case err := <-ledgerFailed:
		return &userError{msg: "embedded ledger stopped", err: err}
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

type pflagFlag = pflag.Flag

// EmbeddedChainID is the chain id of a ledger sottod creates with
// --ledger-embedded.
const EmbeddedChainID = "sotto-devnet"

// openEmbedded prepares the embedded ledger of cfg: its home (keys and a
// genesis on first start: the ledger rules, a reward pool and the operator
// account funded) and the operator key the node registers with. poll is a
// fraction of the block time, for the node's ledger duties.
func openEmbedded(cfg fileConfig, log *slog.Logger) (e *ledger.Embedded, op state.Signer, poll time.Duration, err error) {
	params := state.DevnetParams()
	if cfg.LedgerParams != "" {
		if params, err = readParams(cfg.LedgerParams); err != nil {
			return nil, nil, 0, &userError{msg: "ledger params " + cfg.LedgerParams, err: err, hint: "write them with 'sottod ledger params --devnet' and edit"}
		}
	}
	keyPath := cfg.OperatorKey
	if keyPath == "" {
		keyPath = filepath.Join(cfg.LedgerEmbedded, "operator.json")
		if err := os.MkdirAll(cfg.LedgerEmbedded, 0o700); err != nil {
			return nil, nil, 0, &userError{msg: "ledger home", err: err}
		}
		if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
			if _, err := ledgercli.WriteKey(keyPath); err != nil {
				return nil, nil, 0, &userError{msg: "operator key", err: err}
			}
		}
	}
	if op, err = ledgercli.ReadKey(keyPath); err != nil {
		return nil, nil, 0, &userError{msg: "operator key", err: err, hint: "create one with 'sottod ledger keygen --out FILE'"}
	}
	opAddr := state.Address(op.PublicKey())
	g := &state.Genesis{
		Params:   &params,
		Pool:     1_000_000 * state.Coin,
		Accounts: []state.GenesisAccount{{Address: opAddr.String(), Balance: 1_000_000 * state.Coin}},
	}
	e, err = ledger.NewEmbedded(ledger.EmbeddedConfig{
		Dir: cfg.LedgerEmbedded, ChainID: EmbeddedChainID, Genesis: g,
		Home: ledger.HomeConfig{RPCListen: cfg.LedgerRPCListen}, Logger: log,
	})
	if err != nil {
		return nil, nil, 0, &userError{msg: "embedded ledger", err: err}
	}
	return e, op, min(max(params.BlockTime/2, 100*time.Millisecond), time.Second), nil
}

// readParams reads a complete set of ledger rules, as `sottod ledger
// params` prints them; unknown fields are errors.
func readParams(path string) (state.Params, error) {
	var p state.Params
	data, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, err
	}
	return p, p.Validate()
}

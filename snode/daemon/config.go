// Package daemon runs a service node as the sottod process does: its
// configuration (a JSON file under command-line flags), the node list
// source (a genesis file, a ledger node over RPC, or an embedded ledger;
// ledger.OpenSource), the node with its onion relay, logs, and signals
// (SIGINT and SIGTERM stop, SIGHUP reloads a genesis file).
package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"sotto.dev/ledger/state"
	"sotto.dev/snode"
)

// Config is sottod's configuration file: the node's configuration
// (snode.Config, at the top level) and where the node list comes from.
type Config struct {
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

// DefaultConfig is the configuration before a file or flags.
func DefaultConfig() Config {
	c := Config{Config: snode.DefaultConfig(), LogLevel: "info"}
	// A daemon runs one node, so its store's log syncs may keep their P.
	c.SyncHoldsP = true
	return c
}

// LoadConfig reads the file at path over the defaults; unknown fields are
// errors.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return c, &Error{Msg: "read config", Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, &Error{Msg: "config " + path, Err: err, Hint: "the file is JSON; see docs/operator.md for the fields"}
	}
	if dec.More() {
		return c, &Error{Msg: "config " + path + ": trailing data after the JSON object"}
	}
	return c, nil
}

// RegisterFlags binds the configuration to fs, each flag defaulting to
// the value c holds: the node's flags (snode.Config.RegisterFlags) and
// the daemon's own.
func (c *Config) RegisterFlags(fs *pflag.FlagSet) {
	c.Config.RegisterFlags(fs)
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

// Merge returns the configuration a command line gives: the file at path
// (none when empty) over the defaults, and over that the flags of fs
// (bound with RegisterFlags) that were set on the command line.
func Merge(path string, fs *pflag.FlagSet) (Config, error) {
	c := DefaultConfig()
	if path != "" {
		var err error
		if c, err = LoadConfig(path); err != nil {
			return c, err
		}
	}
	// Bind c to flags of its own and give them the values set on the
	// command line: only those fields change.
	own := pflag.NewFlagSet("merge", pflag.ContinueOnError)
	c.RegisterFlags(own)
	var err error
	fs.Visit(func(f *pflag.Flag) {
		if own.Lookup(f.Name) != nil && err == nil {
			err = own.Set(f.Name, f.Value.String())
		}
	})
	if err != nil {
		return c, &Error{Msg: "flags", Err: err}
	}
	return c, nil
}

// Validate names every field that is missing, invalid or in conflict.
func (c *Config) Validate() error {
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

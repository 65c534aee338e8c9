// Package loadtest is the load tool of `sotto-bench` and `sottod bench`:
// stores and signed retrieves at one node over HTTPS, stores through
// 3-hop onion paths, and end-to-end delivery between two clients, each
// with throughput, latency percentiles and CPU time per request. Without
// a network to load it starts a devnet (internal/testnet) of its own.
package loadtest

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/internal/linkem"
)

// DefaultDevnetNodes is the size of the devnet Bench starts when given no
// network: that of `sottod devnet`, two swarms.
const DefaultDevnetNodes = 15

// ErrUsage is returned (wrapped) for a bad command line.
var ErrUsage = errors.New("usage error")

// Command returns the load tool's command, `bench [flags] TEST...`; a
// main mounts it (sottod) or runs it alone (sotto-bench). Results go to
// the command's standard output, progress to its standard error.
func Command() *cobra.Command {
	var cfg BenchConfig
	var asJSON bool
	var link linkem.Flags
	cmd := &cobra.Command{
		Use:   "bench [flags] TEST...",
		Short: "Load a node or a network and report throughput, latency and CPU per request",
		Long: `Load a node over HTTPS (store, retrieve, poll), onion paths (onion) or two
clients (e2e) and print throughput, latency percentiles and CPU time per
request. TEST is store, retrieve, poll, onion, e2e or all.
A node's per-IP rate limit applies: run it with --client-rate 0 to measure capacity.`,
		// Args set explicitly: with the default, cobra takes a TEST given
		// to a root that has subcommands (sotto-bench community) for an
		// unknown command.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("%w: name at least one test (store, retrieve, poll, onion, e2e or all)", ErrUsage)
			}
			cfg.Tests = args
			if len(args) == 1 && args[0] == "all" {
				cfg.Tests = []string{"store", "retrieve", "poll", "onion", "e2e"}
			}
			var err error
			if cfg.Link, err = link.Network(); err != nil {
				return fmt.Errorf("%w: %v", ErrUsage, err)
			}
			cfg.Progress = cmd.ErrOrStderr()
			rs, err := Bench(cmd.Context(), cfg)
			if len(rs) > 0 {
				if asJSON {
					if perr := printJSON(cmd.OutOrStdout(), rs); perr != nil {
						return perr
					}
				} else if perr := printTable(cmd.OutOrStdout(), rs); perr != nil {
					return perr
				}
			}
			return err
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fmt.Errorf("%w: %v", ErrUsage, err) })
	f := cmd.Flags()
	f.StringVar(&cfg.Network, "network", "", "network file of a running network (default: start a devnet in a temporary directory)")
	f.StringVar(&cfg.Node, "node", "", "node that store and retrieve load, https://host:port or host:port (default: the first seed)")
	f.IntVar(&cfg.DevnetNodes, "nodes", DefaultDevnetNodes, "nodes of the devnet started without --network")
	f.IntVarP(&cfg.Concurrency, "concurrency", "c", 32, "requests in flight")
	f.DurationVarP(&cfg.Duration, "duration", "d", 10*time.Second, "duration of each test")
	f.IntVarP(&cfg.Count, "count", "n", 0, "stop each test after this many requests (0: duration only)")
	f.IntVar(&cfg.Size, "size", 100, "message size in bytes")
	f.IntVar(&cfg.Messages, "messages", 10, "messages per account read by retrieve")
	f.IntVar(&cfg.Accounts, "accounts", 64, "accounts that store and retrieve use")
	f.IntVar(&cfg.NodePID, "pid", 0, "process ID of the loaded node on this machine: report its CPU time per request (Linux)")
	f.BoolVar(&cfg.HTTP2, "h2", false, "multiplex over HTTP/2 instead of one HTTP/1.1 connection per worker")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	link.Add(f)
	return cmd
}

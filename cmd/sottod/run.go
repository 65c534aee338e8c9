package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"sotto.dev/snode/daemon"
)

// runCmd is `sottod run`: the configuration file under the flags, checked,
// and the node run by snode/daemon.
func runCmd(stdout, stderr io.Writer) *cobra.Command {
	var configPath string
	var validateOnly bool
	defaults := daemon.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the service node",
		Long: `Run the service node: storage RPC, seed bootstrap and onion relay on one
HTTPS port, metrics on the admin address. Flags override the config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := daemon.Merge(configPath, cmd.Flags())
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return &daemon.Error{Msg: "invalid configuration", Err: err, Hint: "fix the fields named above; --validate-only checks a configuration without starting"}
			}
			if validateOnly {
				fmt.Fprintln(stdout, "configuration ok")
				return nil
			}
			setGCPercent()
			return daemon.Run(cmd.Context(), cfg, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "JSON configuration file")
	f.BoolVar(&validateOnly, "validate-only", false, "check the configuration and exit")
	defaults.RegisterFlags(f)
	return cmd
}

// nodeGCPercent is the garbage collector's target for a node (Go's GOGC):
// the heap may grow to five times what is live before a cycle, instead of
// twice. A node's live heap is small (about 10 MB under load), and at
// 100 the collector took 4-5 % of a loaded node's core; at 400 one node
// made 6-7 % more stores a second in alternating runs, for about 16 MB
// more resident memory (docs/PERFORMANCE.md, "One node's stores: the
// collector's target").
const nodeGCPercent = 400

// setGCPercent applies nodeGCPercent unless the operator set GOGC.
func setGCPercent() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(nodeGCPercent)
	}
}

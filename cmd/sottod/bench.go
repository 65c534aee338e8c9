package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"sotto.dev/internal/devnet"
)

// benchCmd is `sottod bench`, the load tool sotto-bench under the node's
// own binary (internal/devnet, docs/devnet.md): stores and signed
// retrieves at one node, onion stores and end-to-end delivery over a
// network. Its flags are parsed by the devnet package.
func benchCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:                "bench [-node host:port] [-network FILE] [-c 32] [-d 10s] [-pid PID] TEST...",
		Short:              "Load a node or a network and report throughput, latency and CPU per request (sotto-bench)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			err := devnet.BenchMain(ctx, args, stdout, cmd.ErrOrStderr())
			if errors.Is(err, devnet.ErrUsage) {
				return &userError{msg: err.Error(), hint: "sottod bench --help"}
			}
			return err
		},
	}
}

package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"sotto.dev/internal/devnet"
)

// devnetCmd is `sottod devnet`: the ledger and N service nodes on a
// loopback address in this process (internal/devnet, docs/devnet.md). Its
// flags are parsed by the devnet package.
func devnetCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:                "devnet --dir DIR [--nodes 15] [--listen 127.0.0.1] [--ledger cometbft|genesis]",
		Short:              "Run a whole network (ledger and nodes) on 127.0.0.1 in one process",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			err := devnet.DevnetMain(ctx, args, stdout, stderr)
			if errors.Is(err, devnet.ErrUsage) {
				return &userError{msg: err.Error(), hint: "sottod devnet --help"}
			}
			return err
		},
	}
}

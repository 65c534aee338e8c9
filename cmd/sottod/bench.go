package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"sotto.dev/internal/devnet"
	"sotto.dev/internal/loadtest"
	"sotto.dev/snode/daemon"
)

// benchCmd is `sottod bench`, the load tool sotto-bench under the node's
// own binary (internal/loadtest, docs/devnet.md).
func benchCmd() *cobra.Command {
	return withUsageHint(loadtest.Command(), loadtest.ErrUsage, "sottod bench --help")
}

// devnetCmd is `sottod devnet`: the ledger and N service nodes on a
// loopback address in this process (internal/devnet, docs/devnet.md).
func devnetCmd() *cobra.Command {
	return withUsageHint(devnet.Command(), devnet.ErrUsage, "sottod devnet --help")
}

// withUsageHint turns cmd's usage errors (those wrapping usage) into
// failures with hint.
func withUsageHint(cmd *cobra.Command, usage error, hint string) *cobra.Command {
	addHint := func(err error) error {
		if errors.Is(err, usage) {
			return &daemon.Error{Msg: strings.TrimPrefix(err.Error(), usage.Error()+": "), Hint: hint}
		}
		return err
	}
	run, args, flagErr := cmd.RunE, cmd.Args, cmd.FlagErrorFunc()
	cmd.RunE = func(c *cobra.Command, a []string) error { return addHint(run(c, a)) }
	if args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error { return addHint(args(c, a)) }
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return addHint(flagErr(c, err)) })
	return cmd
}

// Command sotto-bench loads a Sotto node or network and prints throughput
// and latency percentiles (also `sottod bench`; see docs/devnet.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"sotto.dev/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	cmd := rootCmd()
	cmd.SetArgs(goStyleFlags(cmd, os.Args[1:]))
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		if errors.Is(err, loadtest.ErrUsage) {
			fmt.Fprintf(os.Stderr, "error: %s\nhint: sotto-bench --help\n", strings.TrimPrefix(err.Error(), loadtest.ErrUsage.Error()+": "))
		} else {
			fmt.Fprintf(os.Stderr, "error: %v\n", err)
		}
		os.Exit(1)
	}
}

// rootCmd is the load tool's command with the community test mounted.
func rootCmd() *cobra.Command {
	cmd := loadtest.Command()
	cmd.Use = "sotto-bench [flags] TEST..."
	cmd.AddCommand(communityCmd())
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd
}

// goStyleFlags rewrites long flags given Go-style with one dash (-json,
// -network=FILE) to two, as pflag wants them. The tool took Go's flag
// syntax before it moved to cobra, and scripts written then
// (../shared/tools/oss) still call it that way. Only names of the command's
// own long flags (or its subcommands') are rewritten, and nothing after
// "--"; one-letter shorthands (-c 32) stay as they are.
func goStyleFlags(cmd *cobra.Command, args []string) []string {
	long := map[string]bool{}
	add := func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
	}
	add(cmd)
	for _, sub := range cmd.Commands() {
		add(sub)
	}
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		if long[name] {
			out[i] = "-" + a
		}
	}
	return out
}

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

	"sotto.dev/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := rootCmd().ExecuteContext(ctx)
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

package cli

import (
	"github.com/spf13/cobra"

	"sotto.dev/config/lsu"
)

// debugLibsessionCmd is `sotto debug libsession`: the JSON-lines command
// language of Session's reference library (docs/config.md) over Sotto's
// config engine, reading commands on stdin and answering on stdout.
func (a *app) debugLibsessionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "libsession",
		Short: "Answer libsession oracle commands (JSON lines on stdin) with Sotto's implementation",
		Long: `Reads one JSON command per line on standard input and writes one JSON reply
per line, in the command language of Session's reference-library oracle
(docs/config.md). Feed the same file to both and compare the replies:

  diff <(lsu-oracle < cmds.jsonl) <(sotto debug libsession < cmds.jsonl)

after dropping the diagnostic "layers" and "rng_draws" fields.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lsu.New(lsu.Options{}).Run(cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
}

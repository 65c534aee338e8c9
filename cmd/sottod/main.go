// Command sottod is the Sotto service node: the swarm storage server
// (sotto.dev/snode) with the onion relay, following the network's node
// list from a ledger node or a genesis file.
//
//	sottod run --config /etc/sottod/sottod.json
//	sottod run --data-dir /var/lib/sottod --public-ip 203.0.113.7 --genesis genesis.json
//	sottod run --config sottod.json --validate-only
//	sottod keygen --data-dir /var/lib/sottod
//	sottod bench --node 127.0.0.1:22021 store retrieve  (the load tool sotto-bench, docs/devnet.md)
//	sottod devnet --dir DIR  (a whole network on 127.0.0.1, docs/devnet.md)
//	sottod demo              (that network and a chat between two new accounts)
//	sottod ledger …          (the ledger node and operator commands, docs/ledger.md)
//	sottod community …       (a community server's ledger registration, docs/community.md)
//
// SIGINT and SIGTERM shut the node down gracefully; SIGHUP reloads the
// genesis file.
package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"sotto.dev/internal/clierr"
	"sotto.dev/internal/demo"
	ledgercli "sotto.dev/ledger/cli"
)

func main() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) }

// Main runs sottod with args and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "sottod",
		Short:         "Sotto service node: swarm storage, onion relay",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(runCmd(stdout, stderr), keygenCmd(stdout), benchCmd(), devnetCmd(), demo.Command())
	root.AddCommand(ledgercli.Commands()...) // sottod ledger …: ledger node and operator commands
	// sottod fileserver …: a file server's ledger registration.
	root.AddCommand(ledgercli.FileServerCommand())
	// sottod community …: a community server's ledger registration.
	root.AddCommand(ledgercli.CommunityCommand())
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		clierr.Print(stderr, err)
		return 1
	}
	return 0
}

package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"sotto.dev/snode"
	"sotto.dev/snode/daemon"
)

func keygenCmd(stdout io.Writer) *cobra.Command {
	var dir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create the node key in the data directory (or show the existing one)",
		Long: `Create the node's Ed25519 identity key (key.json, mode 0600) in the data
directory, or show the key that is already there. The X25519 onion key is
derived from it. Give the public keys to whoever builds the genesis file or
registers the node on the ledger. cert_sha256 is the SHA-256 of the node's
TLS certificate (a function of its key): a network file that lists the
node as a seed pins it.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if dir == "" {
				return &daemon.Error{Msg: "no data directory", Hint: "sottod keygen --data-dir /var/lib/sottod"}
			}
			k, created, err := snode.LoadOrCreateKeys(dir)
			if err != nil {
				return &daemon.Error{Msg: "node key", Err: err}
			}
			ed, x := k.Ed25519Public().String(), k.X25519Public().String()
			pin, err := snode.CertificateSHA256(k)
			if err != nil {
				return &daemon.Error{Msg: "node certificate", Err: err}
			}
			if asJSON {
				return json.NewEncoder(stdout).Encode(map[string]any{"created": created, "pubkey_ed25519": ed, "pubkey_x25519": x,
					"cert_sha256": hex.EncodeToString(pin[:])})
			}
			if created {
				fmt.Fprintln(stdout, "created node key in", dir)
			} else {
				fmt.Fprintln(stdout, "node key already exists in", dir)
			}
			fmt.Fprintln(stdout, "pubkey_ed25519:", ed)
			fmt.Fprintln(stdout, "pubkey_x25519: ", x)
			fmt.Fprintln(stdout, "cert_sha256:   ", hex.EncodeToString(pin[:]))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "data-dir", "", "node data directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

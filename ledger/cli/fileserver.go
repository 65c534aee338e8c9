package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"sotto.dev/fileserver"
	"sotto.dev/key"
	"sotto.dev/ledger/state"
	"sotto.dev/storagerpc"
)

// FileServerCommand returns `fileserver register|update|remove|list`, the
// operator commands of a file server's ledger registration (docs/ledger.md
// "File servers"), for sottod's root. It takes the ledger commands'
// --node, --json and --timeout.
func FileServerCommand() *cobra.Command {
	return newApp(os.Getenv).fileServerRoot()
}

func (a *app) fileServerRoot() *cobra.Command {
	return a.serviceRoot("fileserver", "List an attachment file server in the ledger, change or remove it",
		"A file server's operator lists it in the ledger so that clients find it: its URL, its\n"+
			"X25519 key (onion requests to it) and its Ed25519 key, which signs the registration.\n"+
			"The operator must run a funded service node: one file server per funded node.",
		a.fileServerSetCmd(state.TypeFileServerRegister), a.fileServerSetCmd(state.TypeFileServerUpdate),
		a.fileServerRemoveCmd(), a.fileServerListCmd())
}

// fileServerSetCmd is `register` (t TypeFileServerRegister) or `update`.
func (a *app) fileServerSetCmd(t state.TxType) *cobra.Command {
	var keyFile, serverKey, x25519, url string
	name, short := "register", "List a file server in the ledger"
	if t == state.TypeFileServerUpdate {
		name, short = "update", "Change a listed file server's URL or X25519 key"
	}
	c := &cobra.Command{
		Use:   name + " --key FILE --server-key FILE [--x25519 HEX] --url URL",
		Short: short,
		Long: "The operator's account key signs the transaction and pays its fee; the file server's\n" +
			"Ed25519 key signs that it accepts this operator, URL and X25519 key. --server-key is the\n" +
			"server's key file (sotto-files keeps it in DIR/key.json; its X25519 key is derived from\n" +
			"it) or an account key file with --x25519. The URL is http:// or https://, a host, an\n" +
			"optional port and path, without user info, query or fragment.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op, err := readKeyFile(keyFile)
			if err != nil {
				return err
			}
			srv, x, err := readServerKey(serverKey, x25519)
			if err != nil {
				return err
			}
			// The ledger decides whether a private host is allowed.
			if err := storagerpc.CheckFileServerURL(url, true); err != nil {
				return fail("pass --url http(s)://HOST[:PORT][/PATH]", err, "bad --url")
			}
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd)
			defer cancel()
			what := "file server " + name
			res, err := cl.SubmitFileServer(ctx, op.signer(), srv, t, x, url)
			if err != nil {
				return txErr(err, what, res)
			}
			return a.submitted(what, res, "file server: "+key.FileServerPublic(srv.PublicKey()).String(), "url: "+url)
		},
	}
	f := c.Flags()
	f.StringVar(&keyFile, "key", "", "operator account key file")
	f.StringVar(&serverKey, "server-key", "", "the file server's key file (sotto-files' key.json, or an account key file)")
	f.StringVar(&x25519, "x25519", "", "the file server's X25519 public key (hex; default: derived from a sotto-files key)")
	f.StringVar(&url, "url", "", "the file server's URL")
	return c
}

// readServerKey reads the file server's Ed25519 key from path: a sotto-files
// key file, whose X25519 key is derived from the same seed (x25519, when
// given, must be that key), or an account key file, which needs x25519.
func readServerKey(path, x25519 string) (state.Signer, key.OnionPublic, error) {
	if path == "" {
		return nil, key.OnionPublic{}, fail("pass --server-key FILE with the file server's key (sotto-files keeps it in DIR/key.json)", nil, "no server key")
	}
	var x key.OnionPublic
	if x25519 != "" {
		var err error
		if x, err = key.ParseOnionPublic(x25519); err != nil || x.IsZero() {
			return nil, x, fail("pass --x25519 with the file server's X25519 public key, 64 hex digits", err, "bad --x25519")
		}
	}
	if fk, err := fileserver.LoadKeys(path); err == nil {
		if x25519 != "" && x != fk.X25519Public() {
			return nil, x, fail("leave --x25519 out: it is derived from the key file", nil, "--x25519 is not the key of %s", path)
		}
		return serverSigner{fk}, fk.X25519Public(), nil
	}
	k, err := readKeyFile(path)
	if err != nil {
		return nil, x, err
	}
	if x25519 == "" {
		return nil, x, fail("pass --x25519 with the file server's X25519 public key, or --server-key with sotto-files' key.json", nil, "no X25519 key")
	}
	return k.signer(), x, nil
}

// serverSigner signs with a sotto-files key.
type serverSigner struct{ k *fileserver.Keys }

func (s serverSigner) PublicKey() [32]byte      { return [32]byte(s.k.Ed25519Public()) }
func (s serverSigner) Sign(msg []byte) [64]byte { return s.k.Sign(msg) }

func (a *app) fileServerRemoveCmd() *cobra.Command {
	var keyFile, server string
	c := &cobra.Command{
		Use:   "remove --key FILE --server ED25519",
		Short: "Take a file server off the ledger's list",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op, err := readKeyFile(keyFile)
			if err != nil {
				return err
			}
			k, err := parseKeyArg(server, "file server key")
			if err != nil {
				return err
			}
			ed := key.FileServerPublic(k)
			return a.send(cmd, op, "file server remove", &state.FileServerRemove{Ed25519: ed}, "file server: "+ed.String())
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "operator account key file")
	c.Flags().StringVar(&server, "server", "", "the file server's Ed25519 key (hex)")
	return c
}

func (a *app) fileServerListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Show the file servers the ledger lists",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd)
			defer cancel()
			l, err := cl.FileServers(ctx)
			if err != nil {
				return fail("check --node", err, "cannot read the file server list")
			}
			lines := []string{fmt.Sprintf("height: %d", l.Height), fmt.Sprintf("file servers: %d", len(l.FileServers))}
			for _, fs := range l.FileServers {
				lines = append(lines, "file server: "+fs.PubkeyEd25519, "  url: "+fs.URL, "  x25519: "+fs.PubkeyX25519, "  operator: "+fs.Operator)
			}
			return a.print(l, lines...)
		},
	}
}

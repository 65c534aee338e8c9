package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"sotto.dev/community"
	"sotto.dev/key"
	"sotto.dev/ledger/state"
	"sotto.dev/storagerpc"
)

// CommunityCommand returns `community register|update|remove|list`, the
// operator commands of a community server's ledger registration
// (docs/ledger.md "Communities"), for sottod's root. It takes the ledger
// commands' --node, --json and --timeout.
func CommunityCommand() *cobra.Command {
	return newApp(os.Getenv).communityRoot()
}

func (a *app) communityRoot() *cobra.Command {
	return a.serviceRoot("community", "List a community server and its public rooms in the ledger, change or remove it",
		"A community server's operator lists it in the ledger so that clients find its public\n"+
			"rooms without a central directory: its URL, its public key (X25519: join URLs, onion\n"+
			"requests), the rooms to list, and its Ed25519 key, which signs the registration.\n"+
			"The operator must run a funded service node: one community server per funded node.",
		a.communitySetCmd(state.TypeCommunityRegister), a.communitySetCmd(state.TypeCommunityUpdate),
		a.communityRemoveCmd(), a.communityListCmd())
}

// communitySetCmd is `register` (t TypeCommunityRegister) or `update`.
func (a *app) communitySetCmd(t state.TxType) *cobra.Command {
	var keyFile, serverKey, url string
	var rooms []string
	name, short := "register", "List a community server and its public rooms in the ledger"
	if t == state.TypeCommunityUpdate {
		name, short = "update", "Change a listed community server's URL, key or rooms"
	}
	c := &cobra.Command{
		Use:   name + " --key FILE --server-key FILE --url URL --room TOKEN [--room TOKEN ...]",
		Short: short,
		Long: "The operator's account key signs the transaction and pays its fee; the community server's\n" +
			"Ed25519 key signs that it accepts this operator, URL, public key and room list.\n" +
			"--server-key is sotto-community's DIR/key.json. The URL is the server's base URL:\n" +
			"http:// or https://, a host, an optional port and path, without user info, query or\n" +
			"fragment. Each --room is a room token to list (1 to 32 of them).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op, err := readKeyFile(keyFile)
			if err != nil {
				return err
			}
			if serverKey == "" {
				return fail("pass --server-key FILE with the community server's key (sotto-community keeps it in DIR/key.json)", nil, "no server key")
			}
			ck, err := community.LoadKeys(serverKey)
			if err != nil {
				return fail("pass --server-key with sotto-community's DIR/key.json", err, "cannot read the community server key")
			}
			defer ck.Wipe()
			if err := storagerpc.CheckFileServerURL(url, true); err != nil {
				return fail("pass --url http(s)://HOST[:PORT][/PATH]", err, "bad --url")
			}
			if err := storagerpc.CheckRooms(rooms); err != nil {
				return fail("pass --room TOKEN for each public room, 1 to 32 different tokens", err, "bad --room")
			}
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd)
			defer cancel()
			what := "community " + name
			res, err := cl.SubmitCommunity(ctx, op.signer(), communitySigner{ck}, t, ck.OnionPublic(), url, rooms)
			if err != nil {
				return txErr(err, what, res)
			}
			return a.submitted(what, res, "community: "+ck.Ed25519Public().String(), "url: "+url,
				"pubkey: "+ck.OnionPublic().String(), "rooms: "+strings.Join(rooms, " "))
		},
	}
	f := c.Flags()
	f.StringVar(&keyFile, "key", "", "operator account key file")
	f.StringVar(&serverKey, "server-key", "", "the community server's key file (sotto-community's DIR/key.json)")
	f.StringVar(&url, "url", "", "the community server's base URL")
	f.StringArrayVar(&rooms, "room", nil, "a public room token to list (repeat for each)")
	return c
}

// communitySigner signs with a sotto-community key.
type communitySigner struct{ k *community.Keys }

func (s communitySigner) PublicKey() [32]byte      { return [32]byte(s.k.Ed25519Public()) }
func (s communitySigner) Sign(msg []byte) [64]byte { return s.k.Sign(msg) }

func (a *app) communityRemoveCmd() *cobra.Command {
	var keyFile, server string
	c := &cobra.Command{
		Use:   "remove --key FILE --server ED25519",
		Short: "Take a community server off the ledger's list",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op, err := readKeyFile(keyFile)
			if err != nil {
				return err
			}
			k, err := parseKeyArg(server, "community server key")
			if err != nil {
				return err
			}
			ed := key.FileServerPublic(k)
			return a.send(cmd, op, "community remove", &state.CommunityRemove{Ed25519: ed}, "community: "+ed.String())
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "operator account key file")
	c.Flags().StringVar(&server, "server", "", "the community server's Ed25519 key (hex; `register` prints it)")
	return c
}

func (a *app) communityListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Show the community servers the ledger lists",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd)
			defer cancel()
			l, err := cl.Communities(ctx)
			if err != nil {
				return fail("check --node", err, "cannot read the community list")
			}
			lines := []string{fmt.Sprintf("height: %d", l.Height), fmt.Sprintf("communities: %d", len(l.Communities))}
			for _, c := range l.Communities {
				lines = append(lines, "community: "+c.PubkeyEd25519, "  url: "+c.URL, "  pubkey: "+c.Pubkey,
					"  rooms: "+strings.Join(c.Rooms, " "), "  operator: "+c.Operator)
			}
			return a.print(l, lines...)
		},
	}
}

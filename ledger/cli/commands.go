package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
)

func (a *app) keygenCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Create an account key (an operator's or contributor's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fail("pass --out FILE", nil, "no output file")
			}
			addr, err := writeKeyFile(out)
			if err != nil {
				return err
			}
			return a.print(map[string]string{"address": addr.String(), "file": out},
				"address: "+addr.String(), "file: "+out)
		},
	}
	c.Flags().StringVar(&out, "out", "", "key file to create (mode 0600)")
	return c
}

func (a *app) initCmd() *cobra.Command {
	var home, genesis, p2p, external, rpc, moniker string
	var peers []string
	var loopback bool
	c := &cobra.Command{
		Use:   "init --home DIR [--genesis FILE] [--peers ID@HOST:PORT,...]",
		Short: "Prepare a ledger node home: keys, config and the network's genesis",
		Long: "init writes DIR/config/ledger.json, a p2p key and a consensus key (kept if they exist)\n" +
			"and, with --genesis, the network's genesis file. It prints the node id (peers connect to\n" +
			"ID@HOST:PORT) and the consensus key a network organiser puts in the genesis to make this\n" +
			"node a validator; without that it runs as a full node.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return fail("pass --home DIR", nil, "no home directory")
			}
			info, err := ledger.InitHome(home, ledger.HomeConfig{Moniker: moniker, P2PListen: p2p,
				ExternalAddress: external, Peers: peers, RPCListen: rpc, Loopback: loopback})
			if err != nil {
				return fail("", err, "cannot prepare %s", home)
			}
			chain := ""
			if genesis != "" {
				raw, err := os.ReadFile(genesis)
				if err != nil {
					return fail("", err, "cannot read genesis")
				}
				doc, err := ledger.InstallNetworkGenesis(home, raw)
				if err != nil {
					return fail("get the genesis file from the network's organiser", err, "bad genesis %s", genesis)
				}
				chain = doc.ChainID
			}
			key := hex.EncodeToString(info.ValidatorKey)
			lines := []string{"home: " + home, "node id: " + info.NodeID, "validator key: " + key}
			if chain != "" {
				lines = append(lines, "chain id: "+chain)
			} else {
				lines = append(lines, "hint: copy the network's genesis with --genesis FILE before 'sottod ledger run'")
			}
			return a.print(map[string]string{"home": home, "node_id": info.NodeID, "validator_key": key, "chain_id": chain}, lines...)
		},
	}
	f := c.Flags()
	f.StringVar(&home, "home", "", "ledger home directory")
	f.StringVar(&genesis, "genesis", "", "the network's genesis file")
	f.StringVar(&p2p, "p2p", "tcp://0.0.0.0:26656", "p2p listen address")
	f.StringVar(&external, "external", "", "address announced to peers (HOST:PORT)")
	f.StringSliceVar(&peers, "peers", nil, "persistent peers, ID@HOST:PORT")
	f.StringVar(&rpc, "rpc", "tcp://127.0.0.1:26657", "RPC listen address (\"\" for none)")
	f.StringVar(&moniker, "moniker", "sotto-ledger", "node name shown to peers")
	f.BoolVar(&loopback, "loopback", false, "allow peers on private and loopback addresses")
	return c
}

func (a *app) genesisCmd() *cobra.Command {
	var chainID, appFile, out string
	var validators []string
	c := &cobra.Command{
		Use:   "genesis --chain-id ID --validator NAME=KEY[:POWER]... --app FILE --out FILE",
		Short: "Assemble a network genesis (for the network's organiser)",
		Long: "The app file is the ledger's initial state: {\"params\": …, \"pool\": …, \"accounts\": […],\n" +
			"\"nodes\": […]} (see 'sottod ledger params' for the rules). Validator keys are the ones\n" +
			"'sottod ledger init' printed on each validator.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if chainID == "" || appFile == "" || out == "" || len(validators) == 0 {
				return fail("see 'sottod ledger genesis --help'", nil, "need --chain-id, --app, --out and at least one --validator")
			}
			raw, err := os.ReadFile(appFile)
			if err != nil {
				return fail("", err, "cannot read app state")
			}
			g, err := state.ParseGenesis(raw)
			if err != nil {
				return fail("", err, "bad app state")
			}
			var vals []ledger.NetworkValidator
			for _, v := range validators {
				name, rest, ok := strings.Cut(v, "=")
				keyHex, powerS, hasPower := strings.Cut(rest, ":")
				key, err := hex.DecodeString(keyHex)
				power := int64(10)
				if hasPower {
					power, err = strconv.ParseInt(powerS, 10, 64)
				}
				if !ok || err != nil || len(key) != 32 || power <= 0 {
					return fail("write NAME=64HEXKEY or NAME=64HEXKEY:POWER", err, "bad --validator %q", v)
				}
				vals = append(vals, ledger.NetworkValidator{Name: name, Key: key, Power: power})
			}
			doc, err := ledger.NewNetworkGenesis(chainID, vals, g)
			if err != nil {
				return fail("", err, "cannot build the genesis")
			}
			b, err := ledger.MarshalNetworkGenesis(doc)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return fail("", err, "cannot write %s", out)
			}
			return a.print(map[string]any{"chain_id": chainID, "validators": len(vals), "file": out},
				"chain id: "+chainID, fmt.Sprintf("validators: %d", len(vals)), "file: "+out)
		},
	}
	f := c.Flags()
	f.StringVar(&chainID, "chain-id", "", "network name")
	f.StringVar(&appFile, "app", "", "initial ledger state (JSON)")
	f.StringVar(&out, "out", "", "genesis file to write")
	f.StringArrayVar(&validators, "validator", nil, "NAME=CONSENSUSKEY[:POWER], repeatable")
	return c
}

func (a *app) paramsCmd() *cobra.Command {
	var devnet bool
	c := &cobra.Command{
		Use:   "params [--devnet]",
		Short: "Print the default ledger rules as JSON (for a genesis app state)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := state.MainnetParams()
			if devnet {
				p = state.DevnetParams()
			}
			b, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.out, string(b))
			return err
		},
	}
	c.Flags().BoolVar(&devnet, "devnet", false, "small values for a local network")
	return c
}

func (a *app) runCmd() *cobra.Command {
	var home string
	var verbose bool
	c := &cobra.Command{
		Use:   "run --home DIR",
		Short: "Run a ledger node (validator or full node) from a prepared home",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return fail("pass --home DIR prepared with 'sottod ledger init'", nil, "no home directory")
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			e, err := ledger.NewEmbedded(ledger.EmbeddedConfig{Dir: home, Logger: logger})
			if err != nil {
				return fail("run 'sottod ledger init --home DIR --genesis FILE' first", err, "cannot open %s", home)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return e.Serve(ctx)
		},
	}
	c.Flags().StringVar(&home, "home", "", "ledger home directory")
	c.Flags().BoolVar(&verbose, "verbose", false, "log CometBFT's details")
	return c
}

func (a *app) statusCmd() *cobra.Command {
	var sn string
	c := &cobra.Command{
		Use:   "status [--sn NODEKEY]",
		Short: "Show the ledger, or one service node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd)
			defer cancel()
			if sn != "" {
				k, err := parseKeyArg(sn, "node key")
				if err != nil {
					return err
				}
				n, err := cl.Node(ctx, key.NodePublic(k))
				if errors.Is(err, ledger.ErrNotFound) {
					return fail("check the key, or register the node first", nil, "node %s is not registered", sn)
				}
				if err != nil {
					return txErr(err, "status")
				}
				return a.print(n, nodeLines(n)...)
			}
			st, err := cl.Status(ctx)
			if err != nil {
				return txErr(err, "status")
			}
			return a.print(st,
				"chain id: "+st.ChainID,
				fmt.Sprintf("height: %d", st.Height),
				"app hash: "+st.AppHash,
				fmt.Sprintf("active nodes: %d", st.Active),
				fmt.Sprintf("decommissioned nodes: %d", st.Decomm),
				fmt.Sprintf("awaiting contributions: %d", st.Awaiting),
				fmt.Sprintf("swarms: %d", st.Swarms),
				"reward pool: "+Coins(st.Pool),
				"block reward: "+Coins(st.BlockReward),
				"staking requirement: "+Coins(st.Params.StakingRequirement),
				"transaction fee: "+Coins(st.Params.TxFeeBase)+" + "+Coins(st.Params.TxFeePerByte)+" per byte (node duties free)")
		},
	}
	c.Flags().StringVar(&sn, "sn", "", "a service node's Ed25519 key (hex)")
	return c
}

func nodeLines(n *ledger.NodeInfo) []string {
	lines := []string{
		"node: " + n.Ed25519,
		"state: " + n.State,
		fmt.Sprintf("address: %s:%d", n.PublicIP, n.StoragePort),
		"staked: " + Coins(n.TotalContributed) + " of " + Coins(n.StakingRequirement),
		"operator: " + n.OperatorAddress,
		fmt.Sprintf("operator fee: %d.%02d %%", n.OperatorFeeBps/100, n.OperatorFeeBps%100),
	}
	if n.SwarmID != ledger.UnassignedSwarm {
		lines = append(lines, fmt.Sprintf("swarm: %d", n.SwarmID))
	}
	if n.Funded {
		lines = append(lines, fmt.Sprintf("last uptime proof: height %d", n.LastProofHeight),
			fmt.Sprintf("credit: %d blocks", n.EarnedDowntimeBlocks))
	}
	if n.RequestedUnlockHeight != 0 {
		lines = append(lines, fmt.Sprintf("unlocks at: height %d", n.RequestedUnlockHeight))
	}
	if n.StakeReturnHeight != 0 {
		lines = append(lines, fmt.Sprintf("stake returns at: height %d", n.StakeReturnHeight))
	}
	for _, c := range n.Contributors {
		l := "contributor: " + c.Address + " " + Coins(c.Amount)
		if c.Reserved > 0 {
			l += " (reserved " + Coins(c.Reserved) + ")"
		}
		lines = append(lines, l)
	}
	return lines
}

func (a *app) accountCmd() *cobra.Command {
	var key, addr string
	c := &cobra.Command{
		Use:   "account (--key FILE | --address HEX)",
		Short: "Show an account's balance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ad, err := a.keyArg(key, addr)
			if err != nil {
				return err
			}
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd)
			defer cancel()
			acc, err := cl.Account(ctx, ad)
			if err != nil {
				return txErr(err, "account")
			}
			return a.print(acc, "address: "+acc.Address, "balance: "+Coins(acc.Balance), fmt.Sprintf("nonce: %d", acc.Nonce))
		},
	}
	c.Flags().StringVar(&key, "key", "", "account key file")
	c.Flags().StringVar(&addr, "address", "", "account address (hex)")
	return c
}

// submitted prints the outcome of a transaction.
func (a *app) submitted(what string, r *ledger.Result, extra ...string) error {
	h := hex.EncodeToString(r.Hash[:])
	lines := append([]string{what + ": ok", "transaction: " + h, fmt.Sprintf("height: %d", r.Height),
		"fee: " + Coins(r.Fee) + " (to the reward pool)"}, extra...)
	return a.print(map[string]any{"ok": true, "transaction": h, "height": r.Height, "fee": r.Fee, "last_valid_height": r.LastValid}, lines...)
}

func (a *app) registerCmd() *cobra.Command {
	var keyFile, nodeKey, ip, stake string
	var port uint16
	var feeBps uint16
	var reserve []string
	c := &cobra.Command{
		Use:   "register --key FILE --node-key DIR --ip IP --port PORT [--stake COINS] [--fee-bps N] [--reserve ADDR=COINS]...",
		Short: "Register a service node, staking from the operator's account",
		Long: "Without --stake the operator stakes the whole requirement and the node becomes active\n" +
			"at once. A smaller stake (at least a quarter) leaves the rest to contributors; --reserve\n" +
			"holds a spot for a given account.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op, err := readKeyFile(keyFile)
			if err != nil {
				return err
			}
			ns, x, err := readNodeKey(nodeKey)
			if err != nil {
				return err
			}
			addr, err := state.ParseIPv4(ip)
			if err != nil || port == 0 {
				return fail("pass --ip with the node's public IPv4 address and --port with its storage port", err, "bad address")
			}
			r := ledger.Registration{Operator: op.signer(), NodeKey: ns, X25519: x, IP: addr, Port: port, FeeBps: feeBps}
			if stake != "" {
				if r.Stake, err = ParseCoins(stake); err != nil {
					return fail("", err, "bad --stake")
				}
			}
			for _, rs := range reserve {
				as, amt, ok := strings.Cut(rs, "=")
				k, kerr := state.ParseKey(as)
				v, verr := ParseCoins(amt)
				if !ok || kerr != nil || verr != nil {
					return fail("write ADDRESS=COINS", errors.Join(kerr, verr), "bad --reserve %q", rs)
				}
				r.Reserved = append(r.Reserved, state.Reservation{Addr: state.Address(k), Amount: v})
			}
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd)
			defer cancel()
			res, err := cl.Register(ctx, r)
			if err != nil {
				return txErr(err, "register", res)
			}
			return a.submitted("register", res, "node: "+key.NodePublic(ns.PublicKey()).String())
		},
	}
	f := c.Flags()
	f.StringVar(&keyFile, "key", "", "operator account key file")
	f.StringVar(&nodeKey, "node-key", "", "the node's data directory (or its key.json)")
	f.StringVar(&ip, "ip", "", "the node's public IPv4 address")
	f.Uint16Var(&port, "port", 0, "the node's storage (HTTPS) port")
	f.StringVar(&stake, "stake", "", "operator stake in coins (default: the whole requirement)")
	f.Uint16Var(&feeBps, "fee-bps", 0, "operator fee in basis points (100 = 1 %)")
	f.StringArrayVar(&reserve, "reserve", nil, "reserved contributor spot, ADDRESS=COINS (repeatable)")
	return c
}

func (a *app) contributeCmd() *cobra.Command {
	var key, sn, amount string
	c := &cobra.Command{
		Use:   "contribute --key FILE --sn NODEKEY --amount COINS",
		Short: "Stake coins in a node that awaits contributions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := readKeyFile(key)
			if err != nil {
				return err
			}
			node, err := parseKeyArg(sn, "node key")
			if err != nil {
				return err
			}
			amt, err := ParseCoins(amount)
			if err != nil {
				return fail("pass --amount COINS", err, "bad amount")
			}
			return a.send(cmd, k, "contribute", &state.Contribute{Node: node, Amount: amt})
		},
	}
	f := c.Flags()
	f.StringVar(&key, "key", "", "contributor account key file")
	f.StringVar(&sn, "sn", "", "the node's Ed25519 key (hex)")
	f.StringVar(&amount, "amount", "", "coins to stake")
	return c
}

func (a *app) unlockCmd() *cobra.Command {
	var key, sn string
	c := &cobra.Command{
		Use:   "unlock --key FILE --sn NODEKEY",
		Short: "Ask for a node's stake back (after the unlock delay; the node keeps serving until then)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := readKeyFile(key)
			if err != nil {
				return err
			}
			node, err := parseKeyArg(sn, "node key")
			if err != nil {
				return err
			}
			return a.send(cmd, k, "unlock", &state.Unlock{Node: node})
		},
	}
	c.Flags().StringVar(&key, "key", "", "contributor account key file")
	c.Flags().StringVar(&sn, "sn", "", "the node's Ed25519 key (hex)")
	return c
}

func (a *app) transferCmd() *cobra.Command {
	var key, to, amount string
	c := &cobra.Command{
		Use:   "transfer --key FILE --to ADDRESS --amount COINS",
		Short: "Send coins to another account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := readKeyFile(key)
			if err != nil {
				return err
			}
			dst, err := parseKeyArg(to, "recipient address")
			if err != nil {
				return err
			}
			amt, err := ParseCoins(amount)
			if err != nil {
				return fail("pass --amount COINS", err, "bad amount")
			}
			return a.send(cmd, k, "transfer", &state.Transfer{To: state.Address(dst), Amount: amt})
		},
	}
	c.Flags().StringVar(&key, "key", "", "sender account key file")
	c.Flags().StringVar(&to, "to", "", "recipient address (hex)")
	c.Flags().StringVar(&amount, "amount", "", "coins to send")
	return c
}

func (a *app) send(cmd *cobra.Command, k accountKey, what string, body state.Body, extra ...string) error {
	cl, err := a.client(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := a.ctx(cmd)
	defer cancel()
	res, err := cl.SubmitWith(ctx, k.signer(), body)
	if err != nil {
		return txErr(err, what, res)
	}
	return a.submitted(what, res, extra...)
}

func (a *app) nameRegisterCmd() *cobra.Command {
	var key, name, sid string
	var terms uint8
	c := &cobra.Command{
		Use:   "name-register --key FILE --name NAME --session-id 05… [--terms N]",
		Short: "Register a Session name that resolves to a Session ID (the fee goes to the reward pool)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := readKeyFile(key)
			if err != nil {
				return err
			}
			if err := ledger.CheckONSName(name); err != nil {
				return fail("names use letters, digits, '_' and '-' (not first or last)", err, "bad name")
			}
			id, err := hex.DecodeString(sid)
			if err != nil || len(id) != 33 || id[0] != 0x05 {
				return fail("a Session ID is 66 hex digits starting with 05", err, "bad --session-id")
			}
			value, nonce, err := ledger.ONSEncrypt(name, id)
			if err != nil {
				return err
			}
			h := ledger.ONSNameHash(name)
			return a.send(cmd, k, "name-register", &state.NameRegister{Name: h, Value: value, ValueNonce: nonce, Terms: terms},
				"name hash: "+hex.EncodeToString(h[:]))
		},
	}
	f := c.Flags()
	f.StringVar(&key, "key", "", "owner account key file (pays the fee)")
	f.StringVar(&name, "name", "", "the name")
	f.StringVar(&sid, "session-id", "", "the Session ID it resolves to")
	f.Uint8Var(&terms, "terms", 1, "registration terms to pay for")
	return c
}

func (a *app) nameRenewCmd() *cobra.Command {
	var key, name string
	var terms uint8
	c := &cobra.Command{
		Use:   "name-renew --key FILE --name NAME [--terms N]",
		Short: "Extend a name's registration (anyone may pay)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := readKeyFile(key)
			if err != nil {
				return err
			}
			return a.send(cmd, k, "name-renew", &state.NameRenew{Name: ledger.ONSNameHash(name), Terms: terms})
		},
	}
	c.Flags().StringVar(&key, "key", "", "payer account key file")
	c.Flags().StringVar(&name, "name", "", "the name")
	c.Flags().Uint8Var(&terms, "terms", 1, "terms to add")
	return c
}

func (a *app) nameLookupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "name-lookup NAME",
		Short: "Resolve a Session name to its Session ID",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd)
			defer cancel()
			ni, err := cl.Name(ctx, ledger.ONSNameHash(name))
			if errors.Is(err, ledger.ErrNotFound) {
				return fail("", nil, "name %q is not registered", name)
			}
			if err != nil {
				return txErr(err, "name-lookup")
			}
			value, verr := hex.DecodeString(ni.EncryptedValue)
			nonce, nerr := hex.DecodeString(ni.Nonce)
			if verr != nil || nerr != nil || len(nonce) != 24 {
				return fail("", errors.Join(verr, nerr), "the ledger returned a malformed value")
			}
			id, err := ledger.ONSDecrypt(name, value, [24]byte(nonce))
			if err != nil {
				return fail("", err, "cannot read the value of %q", name)
			}
			s := hex.EncodeToString(id)
			return a.print(map[string]any{"name": name, "session_id": s, "owner": ni.Owner, "expiration_height": ni.ExpiryHeight},
				"name: "+name, "session id: "+s, "owner: "+ni.Owner, fmt.Sprintf("expires at: height %d", ni.ExpiryHeight))
		},
	}
}

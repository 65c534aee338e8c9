// Package cli holds the `ledger` operator commands that sottod mounts:
// keys, joining a network (init, genesis, run), staking (register,
// contribute, unlock), names and status. Output is one fact per line for
// people, or one JSON object with --json. Failures are *Error values whose
// Hint, when set, belongs on a "hint:" line.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/internal/clierr"
	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
)

// Error is a failure meant for a person: Msg (and Err) becomes the
// "error:" line and Hint, when set, the "hint:" line.
type Error = clierr.Error

func fail(hint string, err error, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Hint: hint, Err: err}
}

// DefaultNode is the ledger RPC address used without --node or
// $SOTTO_LEDGER.
const DefaultNode = "http://127.0.0.1:26657"

type app struct {
	node    string
	json    bool
	timeout time.Duration
	out     io.Writer
	getenv  func(string) string
	closers []func()
}

// Commands returns the `ledger` command for sottod's root:
//
//	root.AddCommand(cli.Commands()...)
func Commands() []*cobra.Command {
	return []*cobra.Command{newApp(os.Getenv).root()}
}

func newApp(getenv func(string) string) *app { return &app{getenv: getenv} }

func (a *app) root() *cobra.Command {
	return a.serviceRoot("ledger", "The network ledger: join it, stake nodes, register names, read its state", "",
		a.keygenCmd(), a.initCmd(), a.genesisCmd(), a.paramsCmd(), a.runCmd(), a.statusCmd(),
		a.accountCmd(), a.registerCmd(), a.contributeCmd(), a.unlockCmd(), a.transferCmd(),
		a.nameRegisterCmd(), a.nameRenewCmd(), a.nameLookupCmd())
}

// serviceRoot is the root of a group of ledger commands (ledger, and a
// service's: fileserver, community): the ledger commands' --node, --json
// and --timeout, and the ledger clients closed after each subcommand.
func (a *app) serviceRoot(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use: use, Short: short, Long: long,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			a.out = cmd.OutOrStdout()
			if a.node == "" {
				a.node = a.getenv("SOTTO_LEDGER")
			}
			if a.node == "" {
				a.node = DefaultNode
			}
		},
	}
	pf := c.PersistentFlags()
	pf.StringVar(&a.node, "node", "", "ledger node RPC address (default $SOTTO_LEDGER or "+DefaultNode+")")
	pf.BoolVar(&a.json, "json", false, "print JSON for scripts")
	pf.DurationVar(&a.timeout, "timeout", time.Minute, "how long to wait for the ledger")
	c.AddCommand(subs...)
	// Close the RPC clients a command opened, whether it failed or not.
	for _, sub := range c.Commands() {
		if run := sub.RunE; run != nil {
			sub.RunE = func(cmd *cobra.Command, args []string) error {
				defer a.closeClients()
				return run(cmd, args)
			}
		}
	}
	return c
}

func (a *app) closeClients() {
	for _, c := range a.closers {
		c()
	}
	a.closers = nil
}

// print writes the facts as "key: value" lines, or v as JSON.
func (a *app) print(v any, lines ...string) error {
	if a.json {
		enc := json.NewEncoder(a.out)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(a.out, l); err != nil {
			return err
		}
	}
	return nil
}

func (a *app) ctx(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), a.timeout)
}

// client dials the ledger node; its idle connections are closed when the
// command ends.
func (a *app) client(cmd *cobra.Command) (*ledger.Client, error) {
	c, err := ledger.Dial(a.node)
	if err != nil {
		return nil, fail("pass --node http://HOST:PORT (the ledger node's RPC address)", err, "cannot use ledger node %s", a.node)
	}
	a.closers = append(a.closers, c.Close)
	return c, nil
}

// txErr explains a rejected transaction. A transaction rejected in a
// block (res not nil) still paid its fee.
func txErr(err error, what string, res ...*ledger.Result) error {
	var te *state.TxError
	if errors.As(err, &te) {
		hint := ""
		switch te.Code {
		case state.CodeInsufficientFunds:
			hint = "check the balance with 'sottod ledger account --key FILE'"
		case state.CodeStakeTooSmall, state.CodeStakeTooLarge:
			hint = "see the node's open room with 'sottod ledger status --sn KEY'"
		case state.CodeBadNonce:
			hint = "another transaction from this key was in flight; try again"
		case state.CodeExpired:
			hint = "the network is busy or the node lags; send it again"
		case state.CodeBusy:
			hint = "the network is busy; send it again in a few blocks"
		}
		if len(res) > 0 && res[0] != nil && res[0].Height != 0 {
			return fail(hint, nil, "%s rejected in block %d (%s): %s; its fee of %s was paid", what, res[0].Height, te.Code, te.Msg, Coins(res[0].Fee))
		}
		return fail(hint, nil, "%s rejected (%s): %s", what, te.Code, te.Msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fail("the ledger node may be down or still syncing; raise --timeout", err, "%s", what)
	}
	return fail("is the ledger node running? check --node", err, "%s", what)
}

// Coins formats atomic units as a decimal number of coins.
func Coins(v uint64) string {
	whole, frac := v/state.Coin, v%state.Coin
	if frac == 0 {
		return strconv.FormatUint(whole, 10)
	}
	return strings.TrimRight(fmt.Sprintf("%d.%09d", whole, frac), "0")
}

// ParseCoins parses a decimal number of coins (up to 9 decimals) into
// atomic units.
func ParseCoins(s string) (uint64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" && !dot {
		return 0, fmt.Errorf("amount %q is empty", s)
	}
	if len(frac) > 9 || (dot && frac == "") {
		return 0, fmt.Errorf("amount %q: at most 9 decimals", s)
	}
	w := uint64(0)
	if whole != "" {
		var err error
		if w, err = strconv.ParseUint(whole, 10, 64); err != nil {
			return 0, fmt.Errorf("amount %q is not a number", s)
		}
	}
	f := uint64(0)
	if frac != "" {
		var err error
		if f, err = strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			return 0, fmt.Errorf("amount %q is not a number", s)
		}
	}
	if w > (^uint64(0)-f)/state.Coin {
		return 0, fmt.Errorf("amount %q is too large", s)
	}
	return w*state.Coin + f, nil
}

func parseKeyArg(s, what string) ([32]byte, error) {
	k, err := state.ParseKey(strings.TrimSpace(s))
	if err != nil {
		return k, fail("give the 64 hex digits of the key", err, "bad %s", what)
	}
	return k, nil
}

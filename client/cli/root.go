// Package cli implements the sotto command line: account management, chat
// commands and the `sotto debug` interop toolkit. Every command prints one
// fact per line for people, or a JSON object with --json; failures print an
// "error:" line and, where there is something to try, a "hint:" line.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"sotto.dev/internal/clierr"
)

// Env is what the command line reads and writes; tests substitute it.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// ReadSecret, when set, shows prompt and reads a line without echo
	// from the user's terminal. It is nil when standard input is not a
	// terminal, and then nothing prompts.
	ReadSecret func(prompt string) ([]byte, error)
}

// OSEnv returns the process environment.
func OSEnv() Env {
	env := Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		env.ReadSecret = func(prompt string) ([]byte, error) {
			fmt.Fprint(os.Stderr, prompt)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(os.Stderr)
			return b, err
		}
	}
	return env
}

// app holds the global flags and the environment shared by all commands.
type app struct {
	env     Env
	home    string
	json    bool
	network string
	cover   time.Duration // --cover-traffic, $SOTTO_COVER_TRAFFIC
}

// Error is a failure meant for a person: Msg becomes the "error:" line and
// Hint, when set, the "hint:" line.
type Error = clierr.Error

// userErr builds an *Error with a hint.
func userErr(hint string, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// Main runs the command line with args (without the program name) and
// returns the process exit code.
func Main(args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	a := &app{env: env}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ue *Error
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "error: %s\n", ue.Error())
		if ue.Hint != "" {
			fmt.Fprintf(env.Stderr, "hint: %s\n", ue.Hint)
		}
	} else {
		fmt.Fprintf(env.Stderr, "error: %v\n", err)
		fmt.Fprintf(env.Stderr, "hint: run 'sotto help' for usage\n")
	}
	return 1
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sotto",
		Short:         "Sotto: private messaging without a phone number",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.resolveFlags()
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.home, "home", "", "directory for the identity and local data (default: $SOTTO_HOME or the user config dir)")
	pf.BoolVar(&a.json, "json", false, "print JSON for scripts")
	pf.StringVar(&a.network, "network", "", "network file (default: $SOTTO_NETWORK)")
	pf.DurationVar(&a.cover, "cover-traffic", 0, "poll for messages at this constant interval (±25 %) instead of long polls, so that a node cannot tell from their timing when messages arrive or you are active; 0 off (default: $SOTTO_COVER_TRAFFIC)")

	debug := &cobra.Command{
		Use:   "debug",
		Short: "Interop toolkit: compute Session protocol values byte for byte (JSON output)",
	}
	debug.AddCommand(a.debugIdentityCmds()...)
	debug.AddCommand(a.debugProtoCmds()...)
	debug.AddCommand(a.debugOnionCmds()...)
	debug.AddCommand(a.debugLibsessionCmd())
	debug.AddCommand(a.debugAttachmentCmds()...)
	root.AddCommand(debug)
	root.AddCommand(a.idCmd())
	root.AddCommand(a.chatCmds()...)
	root.AddCommand(a.devicesCmd())
	root.AddCommand(a.groupCmd())
	root.AddCommand(a.communityCmd())
	root.AddCommand(a.appCmd())
	root.AddCommand(movedDemoCmd())
	return root
}

// movedDemoCmd is `sotto demo`, which moved to the node binary: the demo
// starts a network, and the messenger links no server.
func movedDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "demo",
		Short:              "Moved: run 'sottod demo' (the demo starts a network, which the node binary does)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return userErr("run it with the node binary: sottod demo (from the source tree: go run ./cmd/sottod demo)",
				"sotto demo moved to sottod demo: the messenger does not start networks")
		},
	}
}

func (a *app) resolveFlags() error {
	if a.home == "" {
		a.home = a.env.Getenv("SOTTO_HOME")
	}
	if a.home == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return userErr("pass --home DIR or set SOTTO_HOME", "cannot find a config directory: %v", err)
		}
		a.home = filepath.Join(dir, "sotto")
	}
	if a.network == "" {
		a.network = a.env.Getenv("SOTTO_NETWORK")
	}
	if s := a.env.Getenv("SOTTO_COVER_TRAFFIC"); a.cover == 0 && s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return userErr("set it to an interval such as 30s, or unset it", "SOTTO_COVER_TRAFFIC=%q is not an interval", s)
		}
		a.cover = d
	}
	if a.cover < 0 {
		return userErr("pass an interval such as --cover-traffic 30s, or 0 for off", "--cover-traffic must not be negative")
	}
	return nil
}

// printJSON writes v as one JSON object on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.env.Stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/identity"
)

// IdentityFile is the name of the identity file inside an account's home
// directory.
const IdentityFile = "identity.json"

// idFlags holds the flags shared by the `sotto id` subcommands and the
// reader of standard input, which phrase and passphrase may share.
type idFlags struct {
	passStdin bool
	noPass    bool
	in        *bufio.Reader
}

// identityPath returns where the account's identity file lives.
func (a *app) identityPath() string { return filepath.Join(a.home, IdentityFile) }

// idCmd returns `sotto id`: new, restore, show, export.
func (a *app) idCmd() *cobra.Command {
	f := &idFlags{}
	cmd := &cobra.Command{
		Use:   "id",
		Short: "Manage your account identity",
		Long: `Manage your account identity: its keys live in <home>/identity.json.

The identity file is encrypted when a passphrase is given, from
$SOTTO_PASSPHRASE or, with --passphrase-stdin, from the first line of
standard input; at a terminal, new and restore ask for one. Without a
passphrase the account's seed is in clear on disk: an empty answer at the
terminal must be confirmed, or --no-passphrase given. $SOTTO_ARGON2
("t=3,m=65536,p=4": passes, KiB, lanes) changes the key-derivation cost
of files written from now on.`,
	}
	cmd.PersistentFlags().BoolVar(&f.passStdin, "passphrase-stdin", false,
		"read the identity file passphrase from a line of standard input (default: $SOTTO_PASSPHRASE)")
	cmd.PersistentFlags().BoolVar(&f.noPass, "no-passphrase", false,
		"new, restore: write the identity file without a passphrase (the seed in clear on disk), without asking")
	cmd.AddCommand(a.idNewCmd(f), a.idRestoreCmd(f), a.idShowCmd(f), a.idExportCmd(f))
	return cmd
}

func (a *app) idNewCmd(f *idFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "new",
		Short: "Create a new account (a 13-word recovery phrase)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.refuseExisting(); err != nil {
				return err
			}
			k, seed, err := identity.NewKeys()
			if err != nil {
				return err
			}
			clear(seed)
			defer k.Wipe()
			return a.saveNewIdentity(f, k, false)
		},
	}
}

func (a *app) idRestoreCmd(f *idFlags) *cobra.Command {
	var phrase string
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore an account from its recovery phrase",
		Long: `Restore an account from its 13-word (or 25-word) recovery phrase.

Without --phrase the phrase is read from standard input; with
--passphrase-stdin as well, the first line is the phrase and the second
the passphrase.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.refuseExisting(); err != nil {
				return err
			}
			if !cmd.Flags().Changed("phrase") {
				var err error
				if phrase, err = a.readPhrase(f); err != nil {
					return err
				}
			}
			seed, err := identity.DecodeMnemonic(strings.Fields(phrase))
			if err != nil {
				return phraseError(err)
			}
			k, err := identity.KeysFromSeed(seed)
			clear(seed)
			if err != nil {
				return err
			}
			defer k.Wipe()
			return a.saveNewIdentity(f, k, true)
		},
	}
	cmd.Flags().StringVar(&phrase, "phrase", "",
		"the recovery phrase (visible to other local users while sotto runs; prefer standard input)")
	return cmd
}

func (a *app) idShowCmd(f *idFlags) *cobra.Command {
	var withPhrase bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show your Session ID and public keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kf, err := a.loadIdentity(f)
			if err != nil {
				return err
			}
			defer kf.Wipe()
			k := kf.Keys
			out := struct {
				SessionID      string `json:"session_id"`
				Ed25519Pubkey  string `json:"ed25519_pubkey"`
				X25519Pubkey   string `json:"x25519_pubkey"`
				RecoveryPhrase string `json:"recovery_phrase,omitempty"`
			}{
				SessionID:     k.SessionID().String(),
				Ed25519Pubkey: k.Ed25519Public().String(),
				X25519Pubkey:  k.X25519Public().String(),
			}
			if withPhrase {
				words, err := k.RecoveryPhrase()
				if err != nil {
					return err
				}
				out.RecoveryPhrase = strings.Join(words, " ")
			}
			if a.plainIdentity() {
				a.warnPlain(a.identityPath())
			}
			if a.json {
				return a.printJSON(out)
			}
			w := a.env.Stdout
			fmt.Fprintf(w, "session id: %s\n", out.SessionID)
			fmt.Fprintf(w, "ed25519 public key: %s\n", out.Ed25519Pubkey)
			fmt.Fprintf(w, "x25519 public key: %s\n", out.X25519Pubkey)
			if withPhrase {
				fmt.Fprintf(w, "recovery phrase: %s\n", out.RecoveryPhrase)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&withPhrase, "phrase", false, "also print the recovery phrase (secret)")
	return cmd
}

func (a *app) idExportCmd(f *idFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Print your recovery phrase (keep it secret: it is your account)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kf, err := a.loadIdentity(f)
			if err != nil {
				return err
			}
			defer kf.Wipe()
			words, err := kf.Keys.RecoveryPhrase()
			if err != nil {
				return err
			}
			phrase := strings.Join(words, " ")
			if a.json {
				return a.printJSON(map[string]string{"recovery_phrase": phrase})
			}
			_, err = fmt.Fprintln(a.env.Stdout, phrase)
			return err
		},
	}
}

// plainIdentity reports whether the identity file opens without a
// passphrase.
func (a *app) plainIdentity() bool {
	kf, err := identity.LoadKeyFile(a.identityPath(), nil)
	if err != nil {
		return false
	}
	kf.Wipe()
	return true
}

// refuseExisting fails when the home already holds an identity.
func (a *app) refuseExisting() error {
	path := a.identityPath()
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return userErr("run 'sotto id show' to see it, or pass --home DIR to keep another identity elsewhere",
			"an identity already exists at %s", path)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return &Error{Msg: "cannot check for an existing identity", Err: err}
	}
}

// saveNewIdentity writes k to a new identity file and reports it.
// saveNewIdentity writes the identity file of k. A restored account
// (restore) with a network configured then fetches what its other
// devices share (profile, contacts, read state: config sync) before
// anything is shown.
func (a *app) saveNewIdentity(f *idFlags, k *identity.Keys, restore bool) error {
	pass, err := a.newPassphrase(f)
	if err != nil {
		return err
	}
	defer clear(pass)
	params, err := a.kdfParams()
	if err != nil {
		return err
	}
	kf, err := identity.NewKeyFile(k)
	if err != nil {
		return err
	}
	defer clear(kf.DBKey[:])
	path := a.identityPath()
	if err := kf.Save(path, pass, params); err != nil {
		return &Error{Msg: "cannot write the identity file", Err: err}
	}
	encrypted := len(pass) > 0
	if restore && a.network != "" {
		a.fetchRestored(kf)
	} else if !restore {
		a.markNewAccount(kf)
	}
	if a.json {
		return a.printJSON(struct {
			SessionID    string `json:"session_id"`
			IdentityFile string `json:"identity_file"`
			Encrypted    bool   `json:"encrypted"`
		}{k.SessionID().String(), path, encrypted})
	}
	w := a.env.Stdout
	fmt.Fprintf(w, "session id: %s\n", k.SessionID())
	fmt.Fprintf(w, "identity file: %s\n", path)
	if encrypted {
		fmt.Fprintln(w, "encrypted: yes")
	} else {
		fmt.Fprintln(w, "encrypted: no")
		a.warnPlain(path)
	}
	fmt.Fprintln(a.env.Stderr, "hint: write down your recovery phrase ('sotto id export'); it is the only way back into this account")
	if restore {
		fmt.Fprintln(a.env.Stderr, "hint: the copies of your sent messages for your other devices show their send time to the network, as Session's do; if no Session app uses this account, hide it with 'sotto sync privacy on'")
	}
	return nil
}

// warnPlain says what an identity file without a passphrase means.
func (a *app) warnPlain(path string) {
	fmt.Fprintf(a.env.Stderr, "warning: %s has no passphrase: the account's seed is in clear on disk\n", path)
	fmt.Fprintln(a.env.Stderr, "hint: anyone who can read your home directory can read your keys and messages; to encrypt the file, restore the account again with a passphrase (SOTTO_PASSPHRASE, --passphrase-stdin, or typed at the terminal)")
}

// loadIdentity reads the identity file, turning failures into errors with
// hints.
func (a *app) loadIdentity(f *idFlags) (*identity.KeyFile, error) {
	path := a.identityPath()
	pass, err := a.passphrase(f)
	if err != nil {
		return nil, err
	}
	defer func() { clear(pass) }()
	kf, err := identity.LoadKeyFile(path, pass)
	if errors.Is(err, identity.ErrLocked) && len(pass) == 0 && a.env.ReadSecret != nil {
		// An encrypted file and a person at a terminal: ask once.
		if pass, err = a.env.ReadSecret("passphrase for " + path + ": "); err != nil {
			return nil, &Error{Msg: "cannot read the passphrase from the terminal", Err: err}
		}
		kf, err = identity.LoadKeyFile(path, pass)
	}
	switch {
	case err == nil:
		return kf, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, userErr("create one with 'sotto id new' or 'sotto id restore'", "no identity at %s", path)
	case errors.Is(err, identity.ErrLocked) && len(pass) == 0:
		return nil, userErr("set SOTTO_PASSPHRASE or pass --passphrase-stdin",
			"the identity file %s is encrypted and no passphrase was given", path)
	case errors.Is(err, identity.ErrLocked):
		return nil, userErr("check the passphrase (SOTTO_PASSPHRASE or --passphrase-stdin)",
			"wrong passphrase for %s", path)
	default:
		return nil, &Error{Msg: "cannot read the identity file " + path, Err: err}
	}
}

// passphrase returns the identity-file passphrase: a line of standard
// input with --passphrase-stdin, else $SOTTO_PASSPHRASE, else none.
func (a *app) passphrase(f *idFlags) ([]byte, error) {
	if !f.passStdin {
		return []byte(a.env.Getenv("SOTTO_PASSPHRASE")), nil
	}
	line, err := f.reader(a).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return nil, userErr("pipe the passphrase on standard input, e.g. from a password manager",
			"--passphrase-stdin: no passphrase on standard input")
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, userErr("leave out --passphrase-stdin for an unencrypted identity file",
			"--passphrase-stdin: the passphrase is empty")
	}
	return []byte(line), nil
}

// confirmNone is what a person types to confirm an identity file without
// a passphrase.
const confirmNone = "none"

// newPassphrase returns the passphrase for a new identity file. Besides
// --passphrase-stdin and $SOTTO_PASSPHRASE, a person at a terminal is
// asked for one: typed twice, without echo; an empty answer keeps the
// file unencrypted only once confirmed (typing "none"). --no-passphrase
// asks nothing and writes the file unencrypted. Without a terminal and
// without a passphrase the file is unencrypted, as scripts expect.
func (a *app) newPassphrase(f *idFlags) ([]byte, error) {
	if f.noPass {
		if f.passStdin || a.env.Getenv("SOTTO_PASSPHRASE") != "" {
			return nil, userErr("leave out --no-passphrase to encrypt the identity file, or unset SOTTO_PASSPHRASE and drop --passphrase-stdin",
				"--no-passphrase contradicts the passphrase given")
		}
		return nil, nil
	}
	pass, err := a.passphrase(f)
	if err != nil || len(pass) > 0 || f.passStdin || a.env.ReadSecret == nil {
		return pass, err
	}
	pass, err = a.env.ReadSecret("passphrase to encrypt the identity file: ")
	if err != nil {
		return nil, &Error{Msg: "cannot read the passphrase from the terminal", Err: err}
	}
	if len(pass) == 0 {
		ok, err := a.env.ReadSecret(`without a passphrase the account's seed is stored in clear on disk; type "` + confirmNone + `" to confirm: `)
		defer clear(ok)
		if err != nil {
			return nil, &Error{Msg: "cannot read the confirmation from the terminal", Err: err}
		}
		if strings.TrimSpace(string(ok)) != confirmNone {
			return nil, userErr(`run the command again and type a passphrase, or type "`+confirmNone+`" when asked to confirm none, or pass --no-passphrase`,
				"no passphrase given and none confirmed: nothing written")
		}
		return nil, nil
	}
	again, err := a.env.ReadSecret("the same passphrase again: ")
	defer clear(again)
	if err != nil {
		clear(pass)
		return nil, &Error{Msg: "cannot read the passphrase from the terminal", Err: err}
	}
	if string(again) != string(pass) {
		clear(pass)
		return nil, userErr("run the command again and type the same passphrase twice", "the two passphrases differ")
	}
	return pass, nil
}

// readPhrase reads the recovery phrase from standard input: all of it, or
// only the first line when the passphrase follows on the next.
func (a *app) readPhrase(f *idFlags) (string, error) {
	r := f.reader(a)
	var s string
	var err error
	if f.passStdin {
		s, err = r.ReadString('\n')
		if errors.Is(err, io.EOF) {
			err = nil
		}
	} else {
		var b []byte
		b, err = io.ReadAll(r)
		s = string(b)
	}
	if err != nil {
		return "", &Error{Msg: "cannot read the recovery phrase", Err: err}
	}
	if strings.TrimSpace(s) == "" {
		return "", userErr("pass --phrase \"word1 word2 ...\" or pipe the phrase on standard input",
			"no recovery phrase given")
	}
	return s, nil
}

func (f *idFlags) reader(a *app) *bufio.Reader {
	if f.in == nil {
		in := a.env.Stdin
		if in == nil {
			in = strings.NewReader("")
		}
		f.in = bufio.NewReader(in)
	}
	return f.in
}

// phraseError explains a recovery phrase that does not decode.
func phraseError(err error) error {
	var (
		wc *identity.WordCountError
		uw *identity.UnknownWordError
		wt *identity.WordTripleError
	)
	switch {
	case errors.As(err, &wc):
		return &Error{Msg: "invalid recovery phrase", Err: err,
			Hint: "a recovery phrase has 13 words (25 for a long seed), separated by spaces"}
	case errors.As(err, &uw):
		return &Error{Msg: "invalid recovery phrase", Err: err,
			Hint: "check the spelling of that word; only its first 3 letters matter"}
	case errors.As(err, &wt), errors.Is(err, identity.ErrChecksum):
		return &Error{Msg: "invalid recovery phrase", Err: err,
			Hint: "check each word and the order of the words"}
	}
	return &Error{Msg: "invalid recovery phrase", Err: err}
}

// kdfParams returns the Argon2id parameters for new identity files:
// $SOTTO_ARGON2 ("t=3,m=65536,p=4") or the defaults.
func (a *app) kdfParams() (identity.KDFParams, error) {
	p := identity.DefaultKDFParams()
	s := a.env.Getenv("SOTTO_ARGON2")
	if s == "" {
		return p, nil
	}
	bad := func(why string) error {
		return userErr(`write it as "t=3,m=65536,p=4" (passes, memory in KiB, lanes)`, "SOTTO_ARGON2: %s", why)
	}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return p, bad(fmt.Sprintf("%q is not name=value", part))
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return p, bad(fmt.Sprintf("%q is not a number", val))
		}
		switch name {
		case "t":
			p.Time = uint32(n)
		case "m":
			p.MemoryKiB = uint32(n)
		case "p":
			if n > 255 {
				return p, bad("p is more than 255")
			}
			p.Threads = uint8(n)
		default:
			return p, bad(fmt.Sprintf("unknown parameter %q", name))
		}
	}
	if err := p.Validate(); err != nil {
		return p, bad(err.Error())
	}
	return p, nil
}

// markNewAccount records in a new account's database that its swarm has
// no config objects to fetch, so that its first changes are pushed
// without waiting for a fetch. A failure only makes them wait for it.
func (a *app) markNewAccount(kf *identity.KeyFile) {
	c, err := client.Open(client.Config{Home: a.home, Logger: a.logger()}, kf)
	if err != nil {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.MarkNewAccount(ctx)
	// No Session app has this account yet: sync copies take the private
	// form (sotto sync privacy).
	_ = c.SetSyncPrivacy(ctx, true)
}

// fetchRestored fetches a restored account's messages and config objects
// from its swarm. A failure only delays them to the next sync.
func (a *app) fetchRestored(kf *identity.KeyFile) {
	cfg := client.Config{Home: a.home, Logger: a.logger(), NetworkFile: a.network}
	err := a.delayConfig(&cfg)
	var c *client.Client
	if err == nil {
		c, err = client.Open(cfg, kf)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err = c.Sync(ctx)
		cancel()
		c.Close()
	}
	if err != nil {
		fmt.Fprintf(a.env.Stderr, "hint: the account's profile, contacts and messages could not be fetched yet (%v); they arrive with the next sync\n", err)
	}
}

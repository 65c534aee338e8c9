package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// debugIdentityCmds returns the identity debug commands (keys, mnemonic,
// blinding). Each prints one JSON object with lowercase hex; bad input is an
// error, so the command exits 1 with an "error:" line.
func (a *app) debugIdentityCmds() []*cobra.Command {
	return []*cobra.Command{
		a.debugKeysCmd(),
		a.debugMnemonicEncodeCmd(),
		a.debugMnemonicDecodeCmd(),
		a.debugBlindCmd(),
		a.debugBlindIDCmd(),
		a.debugBlindSignCmd(),
		a.debugVersionKeyCmd(),
		a.debugVersionSignCmd(),
	}
}

// hexFlag decodes the hex value of flag name; lens, when given, are the
// accepted lengths in bytes.
func hexFlag(name, s string, lens ...int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	var bad hex.InvalidByteError
	switch {
	case errors.As(err, &bad):
		// Name the position, not the character: the value may be a seed.
		pos := strings.IndexByte(s, byte(bad))
		return nil, userErr("give the value as hexadecimal digits", "--%s is not valid hex (invalid character at position %d)", name, pos)
	case err != nil:
		return nil, userErr("give the value as hexadecimal digits", "--%s is not valid hex (odd number of digits)", name)
	}
	if len(lens) == 0 {
		return b, nil
	}
	for _, n := range lens {
		if len(b) == n {
			return b, nil
		}
	}
	want := make([]string, len(lens))
	for i, n := range lens {
		want[i] = fmt.Sprintf("%d", n)
	}
	return nil, userErr("", "--%s is %d bytes, want %s", name, len(b), strings.Join(want, " or "))
}

// seedKeys derives keys from a --seed flag (16 or 32 bytes).
func seedKeys(seedHex string) (*identity.Keys, error) {
	seed, err := hexFlag("seed", seedHex, identity.SeedLen16, identity.SeedLen32)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	return identity.KeysFromSeed(seed)
}

func serverKey(s string) ([32]byte, error) {
	b, err := hexFlag("server-pubkey", s, 32)
	if err != nil {
		return [32]byte{}, err
	}
	return [32]byte(b), nil
}

func required(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		_ = cmd.MarkFlagRequired(n) // the flag is defined just above: cannot fail
	}
}

func (a *app) debugKeysCmd() *cobra.Command {
	var seed string
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Derive an account's public keys and Session ID from a seed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := seedKeys(seed)
			if err != nil {
				return err
			}
			defer k.Wipe()
			return a.printJSON(struct {
				Ed25519Pubkey string `json:"ed25519_pubkey"`
				X25519Pubkey  string `json:"x25519_pubkey"`
				SessionID     string `json:"session_id"`
			}{k.Ed25519Public().String(), k.X25519Public().String(), k.SessionID().String()})
		},
	}
	cmd.Flags().StringVar(&seed, "seed", "", "seed in hex, 16 bytes (padded with zeros) or 32 bytes")
	required(cmd, "seed")
	return cmd
}

func (a *app) debugMnemonicEncodeCmd() *cobra.Command {
	var data string
	var noChecksum bool
	cmd := &cobra.Command{
		Use:   "mnemonic-encode",
		Short: "Encode bytes (a multiple of 4) as recovery-phrase words",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := hexFlag("hex", data)
			if err != nil {
				return err
			}
			words, err := identity.EncodeMnemonic(b, !noChecksum)
			if err != nil {
				return &Error{Msg: "cannot encode", Err: err}
			}
			return a.printJSON(struct {
				Words []string `json:"words"`
			}{words})
		},
	}
	cmd.Flags().StringVar(&data, "hex", "", "data in hex; its length must be a multiple of 4 bytes")
	cmd.Flags().BoolVar(&noChecksum, "no-checksum", false, "leave out the checksum word")
	required(cmd, "hex")
	return cmd
}

func (a *app) debugMnemonicDecodeCmd() *cobra.Command {
	var words string
	var noChecksum bool
	cmd := &cobra.Command{
		Use:   "mnemonic-decode",
		Short: "Decode recovery-phrase words (13 or 25 with checksum) to hex",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var b []byte
			var err error
			if noChecksum {
				b, err = identity.DecodeMnemonicNoChecksum(strings.Fields(words))
			} else {
				b, err = identity.DecodeMnemonic(strings.Fields(words))
			}
			if err != nil {
				return phraseError(err)
			}
			return a.printJSON(struct {
				Hex string `json:"hex"`
			}{hex.EncodeToString(b)})
		},
	}
	cmd.Flags().StringVar(&words, "words", "", `the words, separated by spaces: "w1 w2 ..."`)
	cmd.Flags().BoolVar(&noChecksum, "no-checksum", false, "the words carry no checksum word (any multiple of 3)")
	required(cmd, "words")
	return cmd
}

func (a *app) debugBlindCmd() *cobra.Command {
	var seed, server string
	cmd := &cobra.Command{
		Use:   "blind",
		Short: "An account's 15- and 25-blinded IDs for a community server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := seedKeys(seed)
			if err != nil {
				return err
			}
			defer k.Wipe()
			spk, err := serverKey(server)
			if err != nil {
				return err
			}
			b15, err := k.Blind15(spk)
			if err != nil {
				return err
			}
			b25, err := k.Blind25(spk)
			if err != nil {
				return err
			}
			return a.printJSON(struct {
				Blind15ID string `json:"blind15_id"`
				Blind25ID string `json:"blind25_id"`
			}{b15.ID().String(), b25.ID().String()})
		},
	}
	cmd.Flags().StringVar(&seed, "seed", "", "seed in hex, 16 or 32 bytes")
	cmd.Flags().StringVar(&server, "server-pubkey", "", "community server public key, 32 bytes hex")
	required(cmd, "seed", "server-pubkey")
	return cmd
}

func (a *app) debugBlindIDCmd() *cobra.Command {
	var sid, server string
	cmd := &cobra.Command{
		Use:   "blind-id",
		Short: "Blinded IDs computed from a Session ID alone (both 15 signs, 25)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := key.ParseStandardSessionID(sid)
			if err != nil {
				return &Error{Msg: "bad --session-id", Err: err, Hint: "a Session ID is 66 hex characters starting with 05"}
			}
			spk, err := serverKey(server)
			if err != nil {
				return err
			}
			ids15, err := identity.Blind15IDs(id, spk)
			if err != nil {
				return &Error{Msg: "cannot blind --session-id", Err: err}
			}
			id25, err := identity.Blind25ID(id, spk)
			if err != nil {
				return &Error{Msg: "cannot blind --session-id", Err: err}
			}
			return a.printJSON(struct {
				Blind15IDs []string `json:"blind15_ids"`
				Blind25ID  string   `json:"blind25_id"`
			}{[]string{ids15[0].String(), ids15[1].String()}, id25.String()})
		},
	}
	cmd.Flags().StringVar(&sid, "session-id", "", "standard Session ID (05...)")
	cmd.Flags().StringVar(&server, "server-pubkey", "", "community server public key, 32 bytes hex")
	required(cmd, "session-id", "server-pubkey")
	return cmd
}

func (a *app) debugBlindSignCmd() *cobra.Command {
	var seed, server, scheme, msgHex, nonceKey string
	cmd := &cobra.Command{
		Use:   "blind-sign",
		Short: "Sign a message with a 15- or 25-blinded key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := seedKeys(seed)
			if err != nil {
				return err
			}
			defer k.Wipe()
			spk, err := serverKey(server)
			if err != nil {
				return err
			}
			msg, err := hexFlag("message-hex", msgHex)
			if err != nil {
				return err
			}
			var nk identity.NonceKey
			switch nonceKey {
			case "sk64":
				nk = identity.NonceSK64
			case "seed":
				nk = identity.NonceSeed
			default:
				return userErr("use --nonce-key sk64 (libsession, default) or seed (desktop)", "unknown --nonce-key %q", nonceKey)
			}
			var sig [64]byte
			switch scheme {
			case "15":
				sig, err = k.Blind15Sign(spk, msg, nk)
			case "25":
				if cmd.Flags().Changed("nonce-key") {
					return userErr("leave out --nonce-key with --scheme 25", "--nonce-key applies only to --scheme 15")
				}
				sig, err = k.Blind25Sign(spk, msg)
			default:
				return userErr("use --scheme 15 or --scheme 25", "unknown --scheme %q", scheme)
			}
			if err != nil {
				return err
			}
			return a.printJSON(struct {
				Signature string `json:"signature"`
			}{hex.EncodeToString(sig[:])})
		},
	}
	f := cmd.Flags()
	f.StringVar(&seed, "seed", "", "seed in hex, 16 or 32 bytes")
	f.StringVar(&server, "server-pubkey", "", "community server public key, 32 bytes hex")
	f.StringVar(&scheme, "scheme", "", "blinding scheme: 15 or 25")
	f.StringVar(&msgHex, "message-hex", "", "message in hex (may be empty)")
	f.StringVar(&nonceKey, "nonce-key", "sk64", "blind15 nonce secret: sk64 (libsession, iOS, Android) or seed (desktop, pysogs)")
	required(cmd, "seed", "server-pubkey", "scheme", "message-hex")
	return cmd
}

func (a *app) debugVersionKeyCmd() *cobra.Command {
	var seed string
	cmd := &cobra.Command{
		Use:   "version-key",
		Short: "The 07 version-check public key used with the file server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := seedKeys(seed)
			if err != nil {
				return err
			}
			defer k.Wipe()
			return a.printJSON(struct {
				Pubkey string `json:"pubkey"`
			}{k.VersionPublic().String()})
		},
	}
	cmd.Flags().StringVar(&seed, "seed", "", "seed in hex, 16 or 32 bytes")
	required(cmd, "seed")
	return cmd
}

func (a *app) debugVersionSignCmd() *cobra.Command {
	var seed, msgHex string
	cmd := &cobra.Command{
		Use:   "version-sign",
		Short: "Sign a message with the 07 version-check key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := seedKeys(seed)
			if err != nil {
				return err
			}
			defer k.Wipe()
			msg, err := hexFlag("message-hex", msgHex)
			if err != nil {
				return err
			}
			sig := k.VersionSign(msg)
			return a.printJSON(struct {
				Signature string `json:"signature"`
			}{hex.EncodeToString(sig[:])})
		},
	}
	cmd.Flags().StringVar(&seed, "seed", "", "seed in hex, 16 or 32 bytes")
	cmd.Flags().StringVar(&msgHex, "message-hex", "", "message in hex (may be empty)")
	required(cmd, "seed", "message-hex")
	return cmd
}

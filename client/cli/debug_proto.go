package cli

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
)

// debugProtoCmds returns the Session Protocol debug commands (seal, open,
// sogs-sign). Each prints one JSON object with lowercase hex; bad input is
// an error, so the command exits 1 with an "error:" line.
func (a *app) debugProtoCmds() []*cobra.Command {
	return []*cobra.Command{
		a.debugSealCmd(),
		a.debugOpenCmd(),
		a.debugSOGSSignCmd(),
	}
}

// protoHex decodes the hex value of flag name; lens, when given, are the
// accepted lengths in bytes. Errors name the position of a bad digit, never
// the digit, since the value may be a seed.
func protoHex(name, s string, lens ...int) ([]byte, error) {
	const hint = "give the value as hexadecimal digits"
	b, err := hex.DecodeString(s)
	var bad hex.InvalidByteError
	switch {
	case errors.As(err, &bad):
		return nil, userErr(hint, "--%s is not valid hex (invalid character at position %d)", name, strings.IndexByte(s, byte(bad)))
	case err != nil:
		return nil, userErr(hint, "--%s is not valid hex (odd number of digits)", name)
	}
	if len(lens) == 0 {
		return b, nil
	}
	want := make([]string, len(lens))
	for i, n := range lens {
		if len(b) == n {
			return b, nil
		}
		want[i] = fmt.Sprint(n)
	}
	return nil, userErr("", "--%s is %d bytes, want %s", name, len(b), strings.Join(want, " or "))
}

// protoKeys derives keys from a --seed flag.
func protoKeys(seedHex string) (*identity.Keys, error) {
	seed, err := protoHex("seed", seedHex, identity.SeedLen16, identity.SeedLen32)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	return identity.KeysFromSeed(seed)
}

// protoRequired marks flags as required; they are defined just before, so
// marking cannot fail.
func protoRequired(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		_ = cmd.MarkFlagRequired(n)
	}
}

// protoErr turns a sessionproto error into a message for people.
func protoErr(what string, err error) error {
	var pe *sessionproto.PrefixError
	switch {
	case errors.As(err, &pe):
		return &Error{Msg: what, Hint: "use a standard 05 Session ID", Err: err}
	case errors.Is(err, sessionproto.ErrDecrypt):
		return &Error{Msg: what, Hint: "the ciphertext is not for this seed, or it was damaged", Err: err}
	case errors.Is(err, sessionproto.ErrPeerKey):
		return &Error{Msg: what, Hint: "the recipient's key is not a usable public key", Err: err}
	}
	return &Error{Msg: what, Err: err}
}

func (a *app) debugSealCmd() *cobra.Command {
	var seed, recipient, plaintextHex string
	var deterministic bool
	cmd := &cobra.Command{
		Use:   "seal",
		Short: "Encrypt a message with the Session Protocol (sealed box + sender signature)",
		Long: `Encrypt a message from the seed's account to a Session ID with the Session
Protocol. The plaintext is sealed exactly as given: add padding yourself (Session
pads a serialized Content to a multiple of 160 bytes). --deterministic derives the
ephemeral key from the inputs as libsession's tests do, so the output is
reproducible.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := protoKeys(seed)
			if err != nil {
				return err
			}
			defer k.Wipe()
			to, err := key.ParseStandardSessionID(recipient)
			if err != nil {
				return &Error{Msg: "--recipient", Hint: "give a 66-character Session ID starting with 05", Err: err}
			}
			pt, err := protoHex("plaintext-hex", plaintextHex)
			if err != nil {
				return err
			}
			seal := sessionproto.Seal
			if deterministic {
				seal = sessionproto.SealDeterministic
			}
			ct, err := seal(k, to, pt)
			if err != nil {
				return protoErr("seal", err)
			}
			return a.printJSON(struct {
				Ciphertext string `json:"ciphertext"`
			}{hex.EncodeToString(ct)})
		},
	}
	f := cmd.Flags()
	f.StringVar(&seed, "seed", "", "sender's seed in hex, 16 or 32 bytes")
	f.StringVar(&recipient, "recipient", "", "recipient's Session ID (05…)")
	f.StringVar(&plaintextHex, "plaintext-hex", "", "message in hex, sealed as given (may be empty)")
	f.BoolVar(&deterministic, "deterministic", false, "derive the ephemeral key from the inputs (reproducible output)")
	protoRequired(cmd, "seed", "recipient", "plaintext-hex")
	return cmd
}

func (a *app) debugOpenCmd() *cobra.Command {
	var seed, ciphertextHex string
	cmd := &cobra.Command{
		Use:   "open",
		Short: "Decrypt a Session Protocol message and check the sender's signature",
		Long: `Decrypt a Session Protocol ciphertext with the seed's account and verify the
sender's signature. The plaintext is printed as sealed, padding included.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := protoKeys(seed)
			if err != nil {
				return err
			}
			defer k.Wipe()
			ct, err := protoHex("ciphertext", ciphertextHex)
			if err != nil {
				return err
			}
			op, err := sessionproto.Open(k, ct)
			if err != nil {
				return protoErr("open", err)
			}
			return a.printJSON(struct {
				SenderSessionID string `json:"sender_session_id"`
				SenderEd25519   string `json:"sender_ed25519_pubkey"`
				PlaintextHex    string `json:"plaintext_hex"`
			}{op.Sender.String(), op.SenderEd25519.String(), hex.EncodeToString(op.Plaintext)})
		},
	}
	f := cmd.Flags()
	f.StringVar(&seed, "seed", "", "recipient's seed in hex, 16 or 32 bytes")
	f.StringVar(&ciphertextHex, "ciphertext", "", "ciphertext in hex")
	protoRequired(cmd, "seed", "ciphertext")
	return cmd
}

func (a *app) debugSOGSSignCmd() *cobra.Command {
	var seed, server, nonceB64, method, path, bodyHex, nonceKey string
	var ts int64
	var unblinded bool
	cmd := &cobra.Command{
		Use:   "sogs-sign",
		Short: "Compute the X-SOGS-* headers that authenticate a community server request",
		Long: `Compute the four X-SOGS-* headers of a request to a community (SOGS) server.
The signature covers server key, nonce, timestamp, method, path (URL-decoded, with
its query) and, when there is a body, its BLAKE2b-512 hash. By default the request
is signed with the 15-blinded key; --unblinded uses the plain Ed25519 key (00 ID).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := protoKeys(seed)
			if err != nil {
				return err
			}
			defer k.Wipe()
			spk, err := protoHex("server-pubkey", server, 32)
			if err != nil {
				return err
			}
			nonce, err := base64.StdEncoding.DecodeString(nonceB64)
			if err != nil {
				return userErr("give 16 bytes in standard base64, e.g. CdB5nyKVmQGCw6s0Bvv8Ww==", "--nonce-b64 is not valid base64")
			}
			if len(nonce) != 16 {
				return userErr("", "--nonce-b64 is %d bytes, want 16", len(nonce))
			}
			body, err := protoHex("body-hex", bodyHex)
			if err != nil {
				return err
			}
			var opts sessionproto.SOGSOptions
			opts.Unblinded = unblinded
			switch nonceKey {
			case "sk64":
				opts.Nonce = identity.NonceSK64
			case "seed":
				opts.Nonce = identity.NonceSeed
			default:
				return userErr("use --nonce-key sk64 (libsession, default) or seed (desktop)", "unknown --nonce-key %q", nonceKey)
			}
			if unblinded && cmd.Flags().Changed("nonce-key") {
				return userErr("leave out --nonce-key with --unblinded", "--nonce-key applies only to blinded signatures")
			}
			h, err := sessionproto.SOGSHeaders(k, [32]byte(spk), ts, [16]byte(nonce), method, path, body, opts)
			if err != nil {
				return protoErr("sogs-sign", err)
			}
			return a.printJSON(h)
		},
	}
	f := cmd.Flags()
	f.StringVar(&seed, "seed", "", "seed in hex, 16 or 32 bytes")
	f.StringVar(&server, "server-pubkey", "", "community server public key, 32 bytes hex")
	f.Int64Var(&ts, "timestamp", 0, "request time in unix seconds")
	f.StringVar(&nonceB64, "nonce-b64", "", "16 random bytes in standard base64 (fresh for every request)")
	f.StringVar(&method, "method", "", "HTTP method in upper case, e.g. GET")
	f.StringVar(&path, "path", "", "request path with query, e.g. /room/r/messages/recent?limit=25")
	f.StringVar(&bodyHex, "body-hex", "", "request body in hex (default: no body)")
	f.BoolVar(&unblinded, "unblinded", false, "sign with the unblinded Ed25519 key (00 ID)")
	f.StringVar(&nonceKey, "nonce-key", "sk64", "blind15 nonce secret: sk64 (libsession, iOS, Android) or seed (desktop, pysogs)")
	protoRequired(cmd, "seed", "server-pubkey", "timestamp", "nonce-b64", "method", "path")
	return cmd
}

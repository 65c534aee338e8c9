package cli

import (
	"encoding/hex"
	"errors"

	"github.com/spf13/cobra"

	"sotto.dev/key"
	"sotto.dev/onion"
)

// debugOnionCmds returns the onion debug commands: open an onion request
// body as a node would, and decrypt one layer. Each prints one JSON
// object; bad input exits 1 with an "error:" line.
func (a *app) debugOnionCmds() []*cobra.Command {
	return []*cobra.Command{a.debugOnionOpenCmd(), a.debugOnionDecryptCmd()}
}

func onionSecret(s string) (*onion.KeyPair, error) {
	b, err := hexFlag("x25519-secret", s, 32)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return onion.NewKeyPair(key.OnionPrivate(b))
}

func (a *app) debugOnionOpenCmd() *cobra.Command {
	var secret, blob string
	cmd := &cobra.Command{
		Use:   "onion-open --x25519-secret HEX --blob HEX",
		Short: "Open an onion request body ([len][ciphertext]{json}) with a node's X25519 key",
		Long: "Parses the frame, reads ephemeral_key and enc_type from its JSON and decrypts the\n" +
			"ciphertext, as the node or server the layer was encrypted to does. Prints\n" +
			`{"payload_hex","json","ephemeral_key","enc_type"}; "json" is the control object exactly as sent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kp, err := onionSecret(secret)
			if err != nil {
				return err
			}
			body, err := hexFlag("blob", blob)
			if err != nil {
				return err
			}
			o, err := onion.Open(kp, body)
			if err != nil {
				return onionOpenError(err)
			}
			return a.printJSON(struct {
				Payload   string `json:"payload_hex"`
				JSON      string `json:"json"`
				Ephemeral string `json:"ephemeral_key"`
				EncType   string `json:"enc_type"`
			}{hex.EncodeToString(o.Payload), string(o.Control), o.Info.EphemeralKey.String(), o.Info.Cipher.String()})
		},
	}
	cmd.Flags().StringVar(&secret, "x25519-secret", "", "the node's X25519 secret key (64 hex)")
	cmd.Flags().StringVar(&blob, "blob", "", "the request body (hex)")
	required(cmd, "x25519-secret", "blob")
	return cmd
}

func onionOpenError(err error) error {
	var fe *onion.FrameError
	var ce *onion.ControlError
	switch {
	case errors.As(err, &fe):
		return &Error{Msg: "--blob is not an onion frame", Hint: "the body is [u32 little-endian length][ciphertext][JSON object]", Err: err}
	case errors.As(err, &ce):
		return &Error{Msg: "--blob has a bad control object", Hint: `the JSON needs "ephemeral_key" (64 hex) and, optionally, "enc_type"`, Err: err}
	case errors.Is(err, onion.ErrDecrypt):
		return userErr("check that --x25519-secret is the key the layer was encrypted to", "the ciphertext does not decrypt")
	}
	return &Error{Msg: "cannot open the onion request", Err: err}
}

func (a *app) debugOnionDecryptCmd() *cobra.Command {
	var secret, eph, cipherName, ct string
	cmd := &cobra.Command{
		Use:   "onion-decrypt --x25519-secret HEX --ephemeral HEX --cipher aes-gcm|xchacha20 --ciphertext HEX",
		Short: "Decrypt one onion layer with a node's X25519 key and the sender's ephemeral key",
		Long: "aes-gcm: key = HMAC-SHA256(\"LOKI\", X25519(b, E)), ciphertext iv(12) || ct || tag(16).\n" +
			"xchacha20: key = BLAKE2b-256(X25519(b, E) || E || B), ciphertext nonce(24) || ct || tag(16).\n" +
			`Prints {"plaintext_hex"}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kp, err := onionSecret(secret)
			if err != nil {
				return err
			}
			e, err := hexFlag("ephemeral", eph, 32)
			if err != nil {
				return err
			}
			c, err := onion.ParseCipher(cipherName)
			if err != nil {
				return userErr("use aes-gcm or xchacha20", "--cipher %q is not a layer cipher", cipherName)
			}
			b, err := hexFlag("ciphertext", ct)
			if err != nil {
				return err
			}
			lk, err := onion.ServerLayerKey(c, kp, key.OnionPublic(e))
			if err != nil {
				return userErr("--ephemeral must be the sender's X25519 public key", "cannot derive the layer key: %v", err)
			}
			defer lk.Destroy()
			pt, err := lk.Open(b)
			if err != nil {
				return userErr("check the keys and the cipher", "the ciphertext does not decrypt with %s", c)
			}
			return a.printJSON(struct {
				Plaintext string `json:"plaintext_hex"`
			}{hex.EncodeToString(pt)})
		},
	}
	cmd.Flags().StringVar(&secret, "x25519-secret", "", "the node's X25519 secret key (64 hex)")
	cmd.Flags().StringVar(&eph, "ephemeral", "", "the sender's ephemeral X25519 public key (64 hex)")
	cmd.Flags().StringVar(&cipherName, "cipher", "", "aes-gcm or xchacha20")
	cmd.Flags().StringVar(&ct, "ciphertext", "", "the layer ciphertext (hex, nonce first)")
	required(cmd, "x25519-secret", "ephemeral", "cipher", "ciphertext")
	return cmd
}

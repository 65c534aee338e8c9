package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"sotto.dev/attachment"
)

// debugAttachmentCmds returns `sotto debug attachment-encrypt` and
// `attachment-decrypt`: one JSON object on standard input, one on standard
// output, with bytes in lowercase hex (docs/attachments.md).
func (a *app) debugAttachmentCmds() []*cobra.Command {
	return []*cobra.Command{a.debugAttachmentEncryptCmd(), a.debugAttachmentDecryptCmd()}
}

// attachmentIn is the input object of both commands.
type attachmentIn struct {
	Mode       string  `json:"mode"`
	Domain     string  `json:"domain"`
	Key        string  `json:"key"`
	IV         string  `json:"iv"`
	Seed       string  `json:"seed"`
	Plaintext  *string `json:"plaintext"`
	Ciphertext *string `json:"ciphertext"`
	Size       *int64  `json:"size"`
	Digest     string  `json:"digest"`
}

const attachmentModes = `"mode" is "legacy" or "deterministic"`

// readAttachmentIn reads exactly one JSON object with known fields.
func readAttachmentIn(r io.Reader) (*attachmentIn, error) {
	const hint = `give one JSON object on standard input, e.g. {"mode": "deterministic", "seed": "…", "plaintext": "…"}`
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var in attachmentIn
	if err := dec.Decode(&in); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, userErr(hint, "no JSON object on standard input")
		}
		return nil, &Error{Msg: "standard input is not the expected JSON object", Hint: hint, Err: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, userErr(hint, "more than one JSON value on standard input")
	}
	return &in, nil
}

// attachmentHex decodes the hex field name; lens, when given, are the
// accepted lengths. Like protoHex, errors never echo the value.
func attachmentHex(name, s string, lens ...int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, userErr("give bytes as lowercase hexadecimal digits", "%q is not valid hex", name)
	}
	if len(lens) == 0 {
		return b, nil
	}
	want := make([]string, len(lens))
	digits := make([]string, len(lens))
	for i, n := range lens {
		if len(b) == n {
			return b, nil
		}
		want[i], digits[i] = fmt.Sprint(n), fmt.Sprint(2*n)
	}
	return nil, userErr(fmt.Sprintf("give %s bytes as %s hex digits", strings.Join(want, " or "), strings.Join(digits, " or ")),
		"%q is %d bytes, want %s", name, len(b), strings.Join(want, " or "))
}

func attachmentDomain(s string) (attachment.Domain, error) {
	switch s {
	case "", "attachment":
		return attachment.DomainAttachment, nil
	case "profile_picture":
		return attachment.DomainProfilePicture, nil
	}
	return 0, userErr(`"domain" is "attachment" (the default) or "profile_picture"`, "unknown domain %q", s)
}

// needFields fails when a field the mode needs is absent, or one it does
// not use is present.
func needFields(mode string, have map[string]bool, need, allow []string) error {
	for _, f := range need {
		if !have[f] {
			return userErr(fmt.Sprintf(`mode %q needs "%s"`, mode, strings.Join(need, `", "`)), "missing %q", f)
		}
	}
	ok := map[string]bool{"mode": true}
	for _, f := range append(need, allow...) {
		ok[f] = true
	}
	for f, set := range have {
		if set && !ok[f] {
			return userErr(fmt.Sprintf(`mode %q takes "%s"`, mode, strings.Join(append(need, allow...), `", "`)), "%q is not used by mode %q", f, mode)
		}
	}
	return nil
}

func (in *attachmentIn) fields() map[string]bool {
	return map[string]bool{
		"domain": in.Domain != "", "key": in.Key != "", "iv": in.IV != "", "seed": in.Seed != "",
		"plaintext": in.Plaintext != nil, "ciphertext": in.Ciphertext != nil, "size": in.Size != nil, "digest": in.Digest != "",
	}
}

func (a *app) debugAttachmentEncryptCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "attachment-encrypt",
		Short: "Encrypt an attachment in Session's legacy or deterministic form (JSON on stdin)",
		Long: `Reads one JSON object on standard input and prints one, bytes in hex:

  {"mode": "legacy", "key": <64 bytes>, "iv": <16 bytes>, "plaintext": …}
  {"mode": "deterministic", "seed": <32 bytes>, "plaintext": …, "domain": "attachment"|"profile_picture"}

and prints {"ciphertext", "key", "digest" (legacy only), "size"}, where size is
the plaintext's size (AttachmentPointer.size). The legacy form pads as Session
desktop does; the deterministic form is libsession's 'S' secretstream form,
its key derived from the seed and the plaintext.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := readAttachmentIn(cmd.InOrStdin())
			if err != nil {
				return err
			}
			type result struct {
				Ciphertext string `json:"ciphertext"`
				Key        string `json:"key"`
				Digest     string `json:"digest,omitempty"`
				Size       int64  `json:"size"`
			}
			switch in.Mode {
			case "legacy":
				if err := needFields(in.Mode, in.fields(), []string{"key", "iv", "plaintext"}, nil); err != nil {
					return err
				}
				kb, err := attachmentHex("key", in.Key, attachment.LegacyKeySize)
				if err != nil {
					return err
				}
				key, _ := attachment.LegacyKeyFromBytes(kb)
				defer key.Wipe()
				ivb, err := attachmentHex("iv", in.IV, attachment.LegacyIVSize)
				if err != nil {
					return err
				}
				pt, err := attachmentHex("plaintext", *in.Plaintext)
				if err != nil {
					return err
				}
				blob, digest := attachment.SealLegacy(&key, (*[attachment.LegacyIVSize]byte)(ivb), pt)
				return a.printJSON(result{hex.EncodeToString(blob), in.Key, hex.EncodeToString(digest[:]), int64(len(pt))})
			case "deterministic":
				if err := needFields(in.Mode, in.fields(), []string{"seed", "plaintext"}, []string{"domain"}); err != nil {
					return err
				}
				d, err := attachmentDomain(in.Domain)
				if err != nil {
					return err
				}
				sb, err := attachmentHex("seed", in.Seed, 32)
				if err != nil {
					return err
				}
				seed, _ := attachment.SeedFromBytes(sb)
				clear(sb)
				defer seed.Wipe()
				pt, err := attachmentHex("plaintext", *in.Plaintext)
				if err != nil {
					return err
				}
				ct, key, err := attachment.Seal(&seed, d, pt)
				if err != nil {
					return &Error{Msg: "encrypt", Err: err}
				}
				defer key.Wipe()
				return a.printJSON(result{Ciphertext: hex.EncodeToString(ct), Key: hex.EncodeToString(key[:]), Size: int64(len(pt))})
			}
			return userErr(attachmentModes, "unknown mode %q", in.Mode)
		},
	}
}

func (a *app) debugAttachmentDecryptCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "attachment-decrypt",
		Short: "Decrypt and verify an attachment in Session's legacy or deterministic form (JSON on stdin)",
		Long: `Reads one JSON object on standard input and prints one, bytes in hex:

  {"mode": "legacy", "key": <64 bytes>, "ciphertext": …, "size": N, "digest": <32 bytes>}
  {"mode": "deterministic", "key": <32 bytes>, "ciphertext": …, "size": N (optional)}

and prints {"plaintext"}. The legacy form's MAC and digest are checked before
anything is decrypted, and the plaintext is cut to size; the deterministic
form's chunks are each authenticated, and a size, when given, must be the
plaintext's. Anything that does not verify is an error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := readAttachmentIn(cmd.InOrStdin())
			if err != nil {
				return err
			}
			var pt []byte
			switch in.Mode {
			case "legacy":
				if err := needFields(in.Mode, in.fields(), []string{"key", "ciphertext", "size", "digest"}, nil); err != nil {
					return err
				}
				kb, err := attachmentHex("key", in.Key, attachment.LegacyKeySize)
				if err != nil {
					return err
				}
				key, _ := attachment.LegacyKeyFromBytes(kb)
				defer key.Wipe()
				ct, err := attachmentHex("ciphertext", *in.Ciphertext)
				if err != nil {
					return err
				}
				digest, err := attachmentHex("digest", in.Digest, attachment.DigestSize)
				if err != nil {
					return err
				}
				if pt, err = attachment.OpenLegacy(&key, ct, digest, *in.Size); err != nil {
					return attachmentErr(err)
				}
			case "deterministic":
				if err := needFields(in.Mode, in.fields(), []string{"key", "ciphertext"}, []string{"size"}); err != nil {
					return err
				}
				kb, err := attachmentHex("key", in.Key, attachment.KeySize)
				if err != nil {
					return err
				}
				key, _ := attachment.KeyFromBytes(kb)
				defer key.Wipe()
				ct, err := attachmentHex("ciphertext", *in.Ciphertext)
				if err != nil {
					return err
				}
				if pt, err = attachment.Open(&key, ct); err != nil {
					return attachmentErr(err)
				}
				if in.Size != nil && *in.Size != int64(len(pt)) {
					return attachmentErr(fmt.Errorf("size %d, but the plaintext has %d bytes: %w", *in.Size, len(pt), attachment.ErrSize))
				}
			default:
				return userErr(attachmentModes, "unknown mode %q", in.Mode)
			}
			return a.printJSON(struct {
				Plaintext string `json:"plaintext"`
			}{hex.EncodeToString(pt)})
		},
	}
}

// attachmentErr turns a decryption failure into a message for people.
func attachmentErr(err error) error {
	hint := ""
	switch {
	case errors.Is(err, attachment.ErrMAC), errors.Is(err, attachment.ErrDecrypt):
		hint = "the key is not this attachment's, or the data was damaged or altered"
	case errors.Is(err, attachment.ErrDigest):
		hint = "the data is not the file the pointer's digest names"
	case errors.Is(err, attachment.ErrFormat), errors.Is(err, attachment.ErrTruncated), errors.Is(err, attachment.ErrTrailing):
		hint = "the ciphertext is cut short, has extra bytes, or is not in this mode's form"
	case errors.Is(err, attachment.ErrSize):
		hint = "give the size from the attachment pointer"
	case errors.Is(err, attachment.ErrPadding):
		hint = "the sender padded the file wrongly"
	}
	return &Error{Msg: "decrypt", Hint: hint, Err: err}
}

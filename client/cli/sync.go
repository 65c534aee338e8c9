package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/key"
)

// Commands of config sync (docs/configsync.md): the settings every device
// of the account shares, and the state of their sync.

func (a *app) syncCmds(f *chatFlags) []*cobra.Command {
	return []*cobra.Command{
		a.syncCmd(f), a.nicknameCmd(f),
		a.priorityCmd(f, "pin ID", "Pin the conversation with a Session ID to the top of the inbox, on every device", "pinned", client.PriorityPinned),
		a.priorityCmd(f, "unpin ID", "Unpin (or unhide) the conversation with a Session ID", "unpinned", client.PriorityNormal),
		a.priorityCmd(f, "hide ID", "Hide the conversation with a Session ID from the inbox, on every device", "hidden", client.PriorityHidden),
	}
}

func (a *app) syncCmd(f *chatFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Fetch and push now what your devices share: profile, contacts, read state, groups",
		Long: `Fetch what changed on your other devices and push what changed here:
your profile, your contacts (accepted, blocked, nicknames, pinned or
hidden), how far each conversation was read, disappearing settings and
groups. A running client ('sotto chat') does this by itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.synced(f, networkReq, func(_ context.Context, s *session) error { return a.printSyncStatus(s) })
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show each shared config object: namespace, seqno, state, last push, last merge",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.openSession(offline)
			if err != nil {
				return err
			}
			defer s.close()
			return a.printSyncStatus(s)
		},
	}
	cmd.AddCommand(status, a.syncPrivacyCmd(f))
	return cmd
}

// syncPrivacyCmd is `sotto sync privacy [on|off]`.
func (a *app) syncPrivacyCmd(f *chatFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "privacy [on|off]",
		Short: "Show or set whether the copies of your sent messages for your other devices hide the send time",
		Long: `Every message you send to someone is also stored, as a copy, in your own
swarm for your other devices. With privacy on, that copy shows the
network only the time it was stored (a few seconds later), and carries the
real send time encrypted inside: your swarm and the recipient's cannot
match the two copies by their timestamps. Sotto devices read it as before;
a Session app on the same account shows such messages under the later
time (and a quote, reaction or unsend from it may not find them).

On for an account created with 'sotto id new'; off (Session's form) for
one restored from its recovery phrase, which may be in use in Session.
The setting is this device's and applies to what it sends from now on.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var set *bool
			if len(args) == 1 {
				switch args[0] {
				case "on":
					set = new(bool)
					*set = true
				case "off":
					set = new(bool)
				default:
					return userErr("write on or off", "sync privacy %q", args[0])
				}
			}
			s, err := a.openSession(offline)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			if set != nil {
				if err := s.c.SetSyncPrivacy(ctx, *set); err != nil {
					return &Error{Msg: "cannot save the sync privacy setting", Err: err}
				}
			}
			on, err := s.c.SyncPrivacy(ctx)
			if err != nil {
				return &Error{Msg: "cannot read the sync privacy setting", Err: err}
			}
			if a.json {
				return a.printJSON(struct {
					Private bool `json:"private"`
				}{on})
			}
			if on {
				fmt.Fprintln(a.env.Stdout, "sync privacy: on (copies for your devices show only when they were stored)")
			} else {
				fmt.Fprintln(a.env.Stdout, "sync privacy: off (copies for your devices carry the send time in clear, as in Session)")
			}
			return nil
		},
	}
}

func (a *app) printSyncStatus(s *session) error {
	st, err := s.c.SyncStatus()
	if err != nil {
		return &Error{Msg: "config sync is off", Err: err,
			Hint: "messages still work; a damaged local database or an incomplete build turns config sync off"}
	}
	if a.json {
		return a.printJSON(map[string]any{"objects": st})
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Format(time.RFC3339)
	}
	for _, o := range st {
		line := fmt.Sprintf("%s namespace %d seqno %d %s pushed %s merged %s", o.Name, o.Namespace, o.Seqno, o.State,
			when(o.LastPush), when(o.LastMerge))
		if !o.Fetched {
			line += " (not fetched yet: changes wait for the first fetch)"
		}
		if o.LastError != "" {
			line += " error: " + short(o.LastError, 120)
		}
		fmt.Fprintln(a.env.Stdout, line)
	}
	return nil
}

func (a *app) nicknameCmd(f *chatFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "nickname ID [NAME...]",
		Short: "Give a Session ID a name of your own, shown on every device (without NAME: remove it)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.Join(args[1:], " ")
			return a.peerCmd(f, "", "", lazy, func(ctx context.Context, s *session, peer key.SessionID) (string, error) {
				if err := s.c.SetNickname(ctx, peer, name); err != nil {
					return "", userErr("a nickname is one line of at most 100 bytes", "%v", err)
				}
				if strings.TrimSpace(name) == "" {
					return "nickname removed", nil
				}
				return "nickname: " + strings.TrimSpace(name), nil
			}).RunE(cmd, args[:1])
		},
	}
}

func (a *app) priorityCmd(f *chatFlags, use, short, word string, p int64) *cobra.Command {
	return a.peerCmd(f, use, short, lazy, func(ctx context.Context, s *session, peer key.SessionID) (string, error) {
		return word, s.c.SetPriority(ctx, peer, p)
	})
}

// pictureCmd is `sotto profile picture PATH|URL KEY|--remove`.
func (a *app) pictureCmd(f *chatFlags) *cobra.Command {
	var remove bool
	cmd := &cobra.Command{
		Use:   "picture [PATH | URL KEY]",
		Short: "Set your profile picture from an image file (or an uploaded picture's URL and key, 64 hex); without arguments show it",
		Args:  cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			need := offline
			if len(args) > 0 || remove {
				need = lazy
			}
			if len(args) == 1 && !remove {
				need = networkReq
			}
			s, err := a.openSession(need)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			switch {
			case remove:
				err = s.c.RemoveProfilePicture(ctx)
			case len(args) == 2:
				k, herr := hex.DecodeString(args[1])
				if herr != nil || len(k) != 32 {
					return userErr("the key is 32 bytes in hex (64 characters)", "invalid picture key")
				}
				err = s.c.SetProfilePicture(ctx, args[0], k)
			case len(args) == 1:
				if err := s.c.UploadProfilePicture(ctx, args[0]); err != nil {
					return &Error{Msg: "cannot set the profile picture", Err: err,
						Hint: "give a PNG, JPEG or GIF image of at most 10 MB"}
				}
			}
			if err != nil {
				return userErr("a picture is a URL without spaces and a 32-byte key", "%v", err)
			}
			if need == lazy && s.c.Online() {
				if err := s.c.PushConfigs(ctx); err != nil {
					return netError("saved, but not synced to your other devices yet (it will be)", err)
				}
			}
			url, k, err := s.c.ProfilePicture(ctx)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]string{"url": url, "key": hex.EncodeToString(k)})
			}
			if url == "" {
				fmt.Fprintln(a.env.Stdout, "picture: (none)")
				return nil
			}
			fmt.Fprintf(a.env.Stdout, "picture: %s\n", url)
			return nil
		},
	}
	cmd.Flags().BoolVar(&remove, "remove", false, "remove your profile picture")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 60*time.Second, "give up after this long")
	return cmd
}

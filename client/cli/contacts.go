package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/key"
)

// peerCmd builds a command that takes one Session ID and runs fn on an
// open session, then flushes the outbox when online.
func (a *app) peerCmd(f *chatFlags, use, short string, n need, fn func(ctx context.Context, s *session, peer key.SessionID) (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			peer, err := parsePeer(args[0])
			if err != nil {
				return err
			}
			s, err := a.openSession(n)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			if n == optional || n == networkReq {
				if err := a.sync(ctx, s); err != nil {
					return err
				}
			}
			text, err := fn(ctx, s, peer)
			if err != nil {
				return msgError(err, peer)
			}
			if s.c.Online() {
				if err := s.c.FlushOutbox(ctx); err != nil {
					return netError("saved, but not sent yet (it stays queued)", err)
				}
				if err := s.c.PushConfigs(ctx); err != nil {
					return netError("saved, but not synced to your other devices yet (it will be)", err)
				}
			}
			if a.json {
				return a.printJSON(map[string]string{"session_id": peer.String(), "result": text})
			}
			fmt.Fprintln(a.env.Stdout, text)
			return nil
		},
	}
}

func (a *app) acceptCmd(f *chatFlags) *cobra.Command {
	return a.peerCmd(f, "accept ID", "Accept a message request: the conversation moves to the inbox", networkReq,
		func(ctx context.Context, s *session, peer key.SessionID) (string, error) {
			return "accepted", s.c.Accept(ctx, peer)
		})
}

func (a *app) declineCmd(f *chatFlags) *cobra.Command {
	return a.peerCmd(f, "decline ID", "Decline a message request: delete it and its messages", lazy,
		func(ctx context.Context, s *session, peer key.SessionID) (string, error) {
			return "declined", s.c.Decline(ctx, peer)
		})
}

func (a *app) blockCmd(f *chatFlags, block bool) *cobra.Command {
	use, short, word := "block ID", "Block a Session ID: drop everything it sends", "blocked"
	if !block {
		use, short, word = "unblock ID", "Unblock a Session ID", "unblocked"
	}
	return a.peerCmd(f, use, short, lazy, func(ctx context.Context, s *session, peer key.SessionID) (string, error) {
		return word, s.c.Block(ctx, peer, block)
	})
}

func (a *app) contactsCmd(f *chatFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "contacts",
		Short: "List contacts: accepted, named or blocked Session IDs (as last synced)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.openSession(offline)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			list, err := s.c.Store().Contacts(ctx)
			if err != nil {
				return err
			}
			if a.json {
				type item struct {
					SessionID   string `json:"session_id"`
					DisplayName string `json:"display_name"`
					Approved    bool   `json:"approved"`
					ApprovedMe  bool   `json:"approved_me"`
					Blocked     bool   `json:"blocked"`
					Nickname    string `json:"nickname,omitempty"`
					Priority    int64  `json:"priority,omitempty"`
				}
				items := []item{}
				for _, c := range list {
					items = append(items, item{c.SessionID.String(), c.DisplayName, c.Approved, c.ApprovedMe, c.Blocked, c.Nickname, c.Priority})
				}
				return a.printJSON(map[string]any{"contacts": items})
			}
			if len(list) == 0 {
				fmt.Fprintln(a.env.Stdout, "no contacts")
				return nil
			}
			for _, c := range list {
				name := c.Name()
				if name == "" {
					name = "-"
				}
				var flags []string
				if c.Approved {
					flags = append(flags, "accepted")
				}
				if c.ApprovedMe {
					flags = append(flags, "accepted-you")
				}
				if c.Blocked {
					flags = append(flags, "blocked")
				}
				switch {
				case c.Priority > 0:
					flags = append(flags, "pinned")
				case c.Priority < 0:
					flags = append(flags, "hidden")
				}
				fmt.Fprintf(a.env.Stdout, "%s %s %s\n", c.SessionID, name, strings.Join(flags, ","))
			}
			return nil
		},
	}
}

func (a *app) profileCmd(f *chatFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Show or change your profile (the display name sent with your messages)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.showProfile(f)
		},
	}
	name := &cobra.Command{
		Use:   "name [NAME]",
		Short: "Set your display name (without NAME: show it)",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return a.showProfile(f)
			}
			s, err := a.openSession(lazy)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			n := strings.Join(args, " ")
			if err := s.c.SetProfileName(ctx, n); err != nil {
				return userErr("a display name is one line of at most 100 bytes", "%v", err)
			}
			if s.c.Online() {
				if err := s.c.PushConfigs(ctx); err != nil {
					return netError("saved, but not synced to your other devices yet (it will be)", err)
				}
			}
			if a.json {
				return a.printJSON(map[string]string{"display_name": strings.TrimSpace(n)})
			}
			fmt.Fprintf(a.env.Stdout, "display name: %s\n", strings.TrimSpace(n))
			return nil
		},
	}
	name.Flags().DurationVar(&f.timeout, "timeout", 60*time.Second, "give up after this long")
	cmd.AddCommand(name, a.pictureCmd(f))
	return cmd
}

func (a *app) showProfile(f *chatFlags) error {
	s, err := a.openSession(offline)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, cancel := a.ctx(f)
	defer cancel()
	n, err := s.c.ProfileName(ctx)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(map[string]string{"session_id": s.c.SessionID().String(), "display_name": n})
	}
	fmt.Fprintf(a.env.Stdout, "session id: %s\n", s.c.SessionID())
	if n == "" {
		n = "(none)"
	}
	fmt.Fprintf(a.env.Stdout, "display name: %s\n", n)
	return nil
}

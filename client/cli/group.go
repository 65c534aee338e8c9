package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/config/groups"
	"sotto.dev/key"
)

// groupCmd is `sotto group`: closed groups (03 IDs). Messages to a group
// go with send, read, chat, react, unsend and disappear, given the group's
// ID; invitations wait with the message requests (requests, accept,
// decline).
func (a *app) groupCmd() *cobra.Command {
	f := &chatFlags{}
	g := &cobra.Command{
		Use:   "group",
		Short: "Closed groups: create, invite, remove, promote, leave, rename, describe, picture, members, disband",
		Long: `Closed groups: a group has its own ID (03...) and its own swarm; its
admins hold the group's key, its members a key of their own that an
admin can revoke. Write to a group with 'sotto send GROUP TEXT' and read
it with 'sotto read GROUP'. Invitations appear in 'sotto requests'; take
one with 'sotto accept GROUP' or 'sotto decline GROUP'.`,
	}
	cmds := []*cobra.Command{
		a.groupCreateCmd(f),
		a.groupMembersCmd(f, "invite GROUP MEMBER...", "Invite Session IDs to the group (admins)", "invited",
			func(ctx context.Context, s *session, gid key.SessionID, ids []key.SessionID) error {
				return s.c.Invite(ctx, gid, ids)
			}),
		a.groupMembersCmd(f, "remove GROUP MEMBER...", "Remove members: they read nothing sent afterwards (admins)", "removed",
			func(ctx context.Context, s *session, gid key.SessionID, ids []key.SessionID) error {
				return s.c.Remove(ctx, gid, ids)
			}),
		a.groupMembersCmd(f, "promote GROUP MEMBER", "Make a member an admin (admins)", "promoted",
			func(ctx context.Context, s *session, gid key.SessionID, ids []key.SessionID) error {
				if len(ids) != 1 {
					return userErr("promote one member at a time", "promote takes one member")
				}
				return s.c.Promote(ctx, gid, ids[0])
			}),
		a.groupTextCmd(f, "leave GROUP", "Leave the group", "left", false,
			func(ctx context.Context, s *session, gid key.SessionID, _ string) error { return s.c.Leave(ctx, gid) }),
		a.groupTextCmd(f, "rename GROUP NAME...", "Rename the group (admins)", "renamed", true,
			func(ctx context.Context, s *session, gid key.SessionID, text string) error {
				return s.c.Rename(ctx, gid, text)
			}),
		a.groupTextCmd(f, "describe GROUP TEXT...", "Set the group's description (admins)", "described", true,
			func(ctx context.Context, s *session, gid key.SessionID, text string) error {
				return s.c.Describe(ctx, gid, text)
			}),
		a.groupTextCmd(f, "picture GROUP FILE", "Set the group's picture from a PNG, JPEG or GIF file; 'none' removes it (admins)", "picture set", true,
			func(ctx context.Context, s *session, gid key.SessionID, path string) error {
				if path == "none" {
					return s.c.SetGroupPicture(ctx, gid, "", nil)
				}
				return s.c.UploadGroupPicture(ctx, gid, path)
			}),
		a.groupTextCmd(f, "disband GROUP", "Disband the group: members see it end, its messages leave its swarm (admins)", "disbanded", false,
			func(ctx context.Context, s *session, gid key.SessionID, _ string) error { return s.c.Disband(ctx, gid) }),
		a.groupShowCmd(f),
		a.groupListCmd(f),
	}
	for _, c := range cmds {
		c.Flags().DurationVar(&f.timeout, "timeout", defaultGroupTimeout, "give up on the network after this long")
	}
	g.AddCommand(cmds...)
	return g
}

// defaultGroupTimeout bounds a group command's network work (creating a
// group stores its keys, info and members and sends every invitation).
const defaultGroupTimeout = 60 * time.Second

// parseGroup reads a group ID argument.
func parseGroup(s string) (key.SessionID, error) {
	id, err := key.ParseSessionID(strings.TrimSpace(s))
	if err != nil || id.Prefix() != key.PrefixGroup {
		return key.SessionID{}, userErr("a group ID is 66 hexadecimal characters starting with 03 (see 'sotto group list')",
			"invalid group ID %q", short(s, 80))
	}
	return id, nil
}

// groupError explains the group API's errors (msgError has those it shares
// with the message commands).
func groupError(err error, gid key.SessionID) error {
	switch {
	case errors.Is(err, client.ErrBadRecipient):
		return userErr("members are standard Session IDs (05...)", "%v", err)
	case errors.Is(err, groups.ErrNameTooLong), errors.Is(err, groups.ErrDescriptionTooLong):
		return userErr("use a shorter text", "%v", err)
	}
	return msgError(err, gid)
}

// groupRun opens an online session, syncs, runs fn and sends what it
// queued.
func (a *app) groupRun(f *chatFlags, gid key.SessionID, fn func(ctx context.Context, s *session) error) error {
	return a.synced(f, networkReq, func(ctx context.Context, s *session) error {
		if err := fn(ctx, s); err != nil {
			var ue *Error
			if errors.As(err, &ue) {
				return err
			}
			if e := groupError(err, gid); e != err {
				return e
			}
			return netError("the group change did not complete", err)
		}
		if err := s.c.FlushOutbox(ctx); err != nil {
			return netError("done, but some messages are not sent yet (they stay queued)", err)
		}
		if err := s.c.PushConfigs(ctx); err != nil {
			return netError("done, but not synced to your other devices yet (it will be)", err)
		}
		return nil
	})
}

func (a *app) groupCreateCmd(f *chatFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME [MEMBER...]",
		Short: "Create a group with you as its admin and invite Session IDs to it",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseMembers(args[1:])
			if err != nil {
				return err
			}
			var gid key.SessionID
			err = a.groupRun(f, key.SessionID{}, func(ctx context.Context, s *session) error {
				gid, err = s.c.CreateGroup(ctx, args[0], ids)
				return err
			})
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"group": gid.String(), "name": args[0], "invited": len(ids)})
			}
			fmt.Fprintf(a.env.Stdout, "created group %s\n", gid)
			if len(ids) > 0 {
				fmt.Fprintf(a.env.Stdout, "invited %d\n", len(ids))
			}
			return nil
		},
	}
}

func parseMembers(args []string) ([]key.SessionID, error) {
	ids := make([]key.SessionID, 0, len(args))
	for _, s := range args {
		id, err := parsePeer(s)
		if err != nil {
			return nil, err
		}
		if id.Prefix() != key.PrefixStandard {
			return nil, userErr("members are standard Session IDs (05...)", "%s is not a member ID", id)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// groupMembersCmd builds a command that takes a group and member IDs.
func (a *app) groupMembersCmd(f *chatFlags, use, short, word string, fn func(context.Context, *session, key.SessionID, []key.SessionID) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			gid, err := parseGroup(args[0])
			if err != nil {
				return err
			}
			ids, err := parseMembers(args[1:])
			if err != nil {
				return err
			}
			if err := a.groupRun(f, gid, func(ctx context.Context, s *session) error { return fn(ctx, s, gid, ids) }); err != nil {
				return err
			}
			return a.groupResult(gid, word)
		},
	}
}

// groupTextCmd builds a command that takes a group and, with text, the
// rest of the line.
func (a *app) groupTextCmd(f *chatFlags, use, short, word string, text bool, fn func(context.Context, *session, key.SessionID, string) error) *cobra.Command {
	args := cobra.ExactArgs(1)
	if text {
		args = cobra.MinimumNArgs(2)
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			gid, err := parseGroup(args[0])
			if err != nil {
				return err
			}
			rest := strings.Join(args[1:], " ")
			if err := a.groupRun(f, gid, func(ctx context.Context, s *session) error { return fn(ctx, s, gid, rest) }); err != nil {
				return err
			}
			return a.groupResult(gid, word)
		},
	}
}

func (a *app) groupResult(gid key.SessionID, word string) error {
	if a.json {
		return a.printJSON(map[string]string{"group": gid.String(), "result": word})
	}
	fmt.Fprintln(a.env.Stdout, word)
	return nil
}

func (a *app) groupShowCmd(f *chatFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "members GROUP",
		Short: "Show the group's name, description and members",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gid, err := parseGroup(args[0])
			if err != nil {
				return err
			}
			return a.synced(f, optional, func(ctx context.Context, s *session) error {
				gi, err := s.c.Group(ctx, gid)
				if err != nil {
					return groupError(err, gid)
				}
				nm := newNames(s)
				type member struct {
					SessionID string `json:"session_id"`
					Name      string `json:"name,omitempty"`
					Admin     bool   `json:"admin"`
					Status    string `json:"status"`
				}
				members := []member{}
				for _, m := range gi.Members {
					name := m.Name
					if name == "" {
						name = nm.of(m.ID)
					}
					members = append(members, member{m.ID.String(), name, m.Admin, memberStatus(m)})
				}
				if a.json {
					return a.printJSON(map[string]any{
						"group": gid.String(), "name": gi.Name, "description": gi.Description, "picture": gi.Info.PicURL, "state": gi.State,
						"admin": gi.Admin, "members": members,
					})
				}
				w := a.env.Stdout
				fmt.Fprintf(w, "group: %s\n", gid)
				fmt.Fprintf(w, "name: %s\n", gi.Name)
				if gi.Description != "" {
					fmt.Fprintf(w, "description: %s\n", gi.Description)
				}
				if gi.Info.PicURL != "" {
					fmt.Fprintf(w, "picture: %s\n", gi.Info.PicURL)
				}
				fmt.Fprintf(w, "state: %s\n", gi.State)
				if gi.Admin {
					fmt.Fprintln(w, "you are an admin")
				}
				for _, m := range members {
					role := "member"
					if m.Admin {
						role = "admin"
					}
					name := m.Name
					if name == "" {
						name = "-"
					}
					fmt.Fprintf(w, "%s %s %s %s\n", m.SessionID, name, role, m.Status)
				}
				return nil
			})
		},
	}
}

// memberStatus describes a member's invitation, promotion or removal.
func memberStatus(m groups.Member) string {
	switch {
	case m.Removed != groups.NotRemoved:
		return "removing"
	case m.Promotion == groups.PromotionSent:
		return "promotion-sent"
	case m.Promotion == groups.PromotionFailed:
		return "promotion-failed"
	case m.Invite == groups.InviteSent:
		return "invited"
	case m.Invite == groups.InviteFailed:
		return "invite-failed"
	case m.Invite == groups.InviteNotSent:
		return "invite-not-sent"
	}
	return "joined"
}

func (a *app) groupListCmd(f *chatFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List your groups and invitations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.synced(f, optional, func(ctx context.Context, s *session) error {
				list, err := s.c.Groups(ctx)
				if err != nil {
					return err
				}
				if a.json {
					type item struct {
						Group string `json:"group"`
						Name  string `json:"name"`
						State string `json:"state"`
						Admin bool   `json:"admin"`
					}
					items := []item{}
					for _, g := range list {
						items = append(items, item{g.ID.String(), g.Name, g.State.String(), g.Admin()})
					}
					return a.printJSON(map[string]any{"groups": items})
				}
				if len(list) == 0 {
					fmt.Fprintln(a.env.Stdout, "no groups")
					return nil
				}
				for _, g := range list {
					role := ""
					if g.Admin() {
						role = " admin"
					}
					name := g.Name
					if name == "" {
						name = "-"
					}
					fmt.Fprintf(a.env.Stdout, "%s %s %s%s\n", g.ID, name, g.State, role)
				}
				return nil
			})
		},
	}
}

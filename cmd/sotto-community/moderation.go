package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/community"
	"sotto.dev/internal/clierr"
)

// scope is the --room / --global choice of the moderation commands.
type scope struct {
	dir    string
	room   string
	global bool
}

func (sc *scope) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&sc.dir, "dir", "", "data directory")
	cmd.Flags().StringVar(&sc.room, "room", "", "room token")
	cmd.Flags().BoolVar(&sc.global, "global", false, "the whole server instead of one room")
}

// open checks the scope and returns the keys, the store, the rooms (nil:
// global) and the users sid names.
func (sc *scope) open(ctx context.Context, use, sid string) (*community.Keys, *community.Store, []*community.Room, []*community.User, error) {
	if (sc.room == "") == !sc.global {
		return nil, nil, nil, nil, &clierr.Error{Msg: "give exactly one of --room and --global", Hint: "sotto-community " + use + " ID --room lobby --dir DIR"}
	}
	keys, st, err := openDir(ctx, sc.dir, use)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fail := func(err error) (*community.Keys, *community.Store, []*community.Room, []*community.User, error) {
		keys.Wipe()
		st.Close()
		return nil, nil, nil, nil, err
	}
	var rooms []*community.Room
	if sc.room != "" {
		r, err := st.Room(ctx, sc.room)
		if errors.Is(err, community.ErrNoRoom) {
			return fail(&clierr.Error{Msg: "no room " + sc.room, Hint: "sotto-community room list --dir " + sc.dir})
		} else if err != nil {
			return fail(&clierr.Error{Msg: "load room", Err: err})
		}
		rooms = []*community.Room{r}
	}
	users, ok, err := st.Targets(ctx, keys.Public(), sid, time.Now())
	if err != nil {
		return fail(&clierr.Error{Msg: "load user", Err: err})
	}
	if !ok {
		return fail(&clierr.Error{Msg: "bad id " + sid, Hint: "a 66-hex-digit id: 15 or 25 (blinded), 00, or a 05 Session ID"})
	}
	return keys, st, rooms, users, nil
}

func (sc *scope) where() string {
	if sc.global {
		return "the server"
	}
	return "room " + sc.room
}

func modCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "mod", Short: "Add and remove moderators and admins"}
	var add, remove scope
	var admin, hidden bool
	addCmd := &cobra.Command{
		Use:   "add ID",
		Short: "Make ID a moderator (--admin: an admin) of a room or of the server",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, st, rooms, users, err := add.open(cmd.Context(), "mod add", args[0])
			if err != nil {
				return err
			}
			defer keys.Wipe()
			defer st.Close()
			t := true
			ch := community.ModChange{Moderator: &t, Visible: !hidden}
			if admin {
				ch = community.ModChange{Admin: &t, Visible: !hidden}
			}
			if err := st.ChangeModerator(cmd.Context(), rooms, users, ch); err != nil {
				return &clierr.Error{Msg: "add moderator", Err: err}
			}
			what := "moderator"
			if admin {
				what = "admin"
			}
			fmt.Fprintf(stdout, "%s is %s of %s\n", args[0], what, add.where())
			return nil
		},
	}
	add.flags(addCmd)
	addCmd.Flags().BoolVar(&admin, "admin", false, "an admin (may appoint moderators)")
	addCmd.Flags().BoolVar(&hidden, "hidden", false, "not listed in room info (except to moderators)")
	removeCmd := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove ID's moderator and admin rights in a room or on the server",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, st, rooms, users, err := remove.open(cmd.Context(), "mod remove", args[0])
			if err != nil {
				return err
			}
			defer keys.Wipe()
			defer st.Close()
			f := false
			if err := st.ChangeModerator(cmd.Context(), rooms, users, community.ModChange{Moderator: &f}); err != nil {
				return &clierr.Error{Msg: "remove moderator", Err: err}
			}
			fmt.Fprintf(stdout, "%s is no moderator of %s\n", args[0], remove.where())
			return nil
		},
	}
	remove.flags(removeCmd)
	cmd.AddCommand(addCmd, removeCmd)
	return cmd
}

func banCmd(stdout io.Writer, ban bool) *cobra.Command {
	var sc scope
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "ban ID",
		Short: "Ban ID from a room or from the server (--for: for a time)",
		Args:  cobra.ExactArgs(1),
	}
	if !ban {
		cmd.Use, cmd.Short = "unban ID", "Lift ID's ban from a room or from the server"
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		keys, st, rooms, users, err := sc.open(cmd.Context(), cmd.Name(), args[0])
		if err != nil {
			return err
		}
		defer keys.Wipe()
		defer st.Close()
		if !ban {
			if err := st.Unban(cmd.Context(), rooms, users); err != nil {
				return &clierr.Error{Msg: "unban", Err: err}
			}
			fmt.Fprintf(stdout, "unbanned %s from %s\n", args[0], sc.where())
			return nil
		}
		var until *time.Time
		if dur < 0 {
			return &clierr.Error{Msg: "negative --for", Hint: "--for 24h"}
		}
		if dur > 0 {
			t := time.Now().Add(dur)
			until = &t
		}
		if err := st.Ban(cmd.Context(), rooms, users, until); err != nil {
			return &clierr.Error{Msg: "ban", Err: err}
		}
		if until != nil {
			fmt.Fprintf(stdout, "banned %s from %s until %s\n", args[0], sc.where(), until.UTC().Format(time.RFC3339))
		} else {
			fmt.Fprintf(stdout, "banned %s from %s\n", args[0], sc.where())
		}
		return nil
	}
	sc.flags(cmd)
	if ban {
		cmd.Flags().DurationVar(&dur, "for", 0, "ban for this long (default: for good)")
	}
	return cmd
}

// roomSetCmd is "room set TOKEN": name, description, default permissions.
func roomSetCmd(stdout io.Writer, dir *string) *cobra.Command {
	var name, desc string
	var read, write, upload bool
	var slow time.Duration
	cmd := &cobra.Command{
		Use:   "set TOKEN",
		Short: "Change a room's name, description, default permissions or slow mode",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		keys, st, err := openDir(cmd.Context(), *dir, "room set")
		if err != nil {
			return err
		}
		defer keys.Wipe()
		defer st.Close()
		r, err := st.Room(cmd.Context(), args[0])
		if errors.Is(err, community.ErrNoRoom) {
			return &clierr.Error{Msg: "no room " + args[0], Hint: "sotto-community room list --dir " + *dir}
		} else if err != nil {
			return &clierr.Error{Msg: "load room", Err: err}
		}
		fl := cmd.Flags()
		var np *string
		var dp **string
		var rp, wp, up *bool
		if fl.Changed("name") {
			np = &name
		}
		if fl.Changed("description") {
			d := &desc
			if desc == "" {
				d = nil
			}
			dp = &d
		}
		if fl.Changed("read") {
			rp = &read
		}
		if fl.Changed("write") {
			wp = &write
		}
		if fl.Changed("upload") {
			up = &upload
		}
		if np == nil && dp == nil && rp == nil && wp == nil && up == nil && !fl.Changed("slow-mode") {
			return &clierr.Error{Msg: "nothing to change", Hint: "--name, --description, --read, --write, --upload or --slow-mode"}
		}
		if fl.Changed("slow-mode") {
			if slow < 0 {
				return &clierr.Error{Msg: "negative --slow-mode", Hint: "--slow-mode 30s, or 0 for off"}
			}
			if err := st.SetSlowMode(cmd.Context(), r.Token, slow); err != nil {
				return &clierr.Error{Msg: "set slow mode", Err: err}
			}
		}
		if np != nil || dp != nil || rp != nil || wp != nil || up != nil {
			if err := st.UpdateRoom(cmd.Context(), r, np, dp, rp, wp, up); err != nil {
				return &clierr.Error{Msg: "update room", Err: err}
			}
		}
		fmt.Fprintln(stdout, "updated room", args[0])
		return nil
	}
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().StringVar(&desc, "description", "", "description (empty: none)")
	cmd.Flags().BoolVar(&read, "read", true, "everyone may read (default permission)")
	cmd.Flags().BoolVar(&write, "write", true, "everyone may post")
	cmd.Flags().BoolVar(&upload, "upload", true, "everyone may upload")
	cmd.Flags().DurationVar(&slow, "slow-mode", 0, "least time between two posts of one user (moderators exempt; 0: off)")
	return cmd
}

// permCmd is "perm ID --room T": a user's read, write and upload
// overrides in a room.
func permCmd(stdout io.Writer) *cobra.Command {
	var sc scope
	var read, write, upload, reset bool
	cmd := &cobra.Command{
		Use:   "perm ID",
		Short: "Override a user's read, write or upload permission in a room (--reset: back to the room's defaults)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if sc.global {
			return &clierr.Error{Msg: "permissions are per room", Hint: "sotto-community perm ID --room lobby --write=false --dir DIR"}
		}
		fl := cmd.Flags()
		var rp, wp, up *bool
		if fl.Changed("read") {
			rp = &read
		}
		if fl.Changed("write") {
			wp = &write
		}
		if fl.Changed("upload") {
			up = &upload
		}
		if !reset && rp == nil && wp == nil && up == nil {
			return &clierr.Error{Msg: "nothing to change", Hint: "--read, --write, --upload or --reset"}
		}
		keys, st, rooms, users, err := sc.open(cmd.Context(), "perm", args[0])
		if err != nil {
			return err
		}
		defer keys.Wipe()
		defer st.Close()
		if err := st.SetPerms(cmd.Context(), rooms, users, rp, wp, up, reset); err != nil {
			return &clierr.Error{Msg: "set permissions", Err: err}
		}
		fmt.Fprintf(stdout, "set the permissions of %s in %s\n", args[0], sc.where())
		return nil
	}
	sc.flags(cmd)
	cmd.Flags().BoolVar(&read, "read", true, "may read")
	cmd.Flags().BoolVar(&write, "write", true, "may post")
	cmd.Flags().BoolVar(&upload, "upload", true, "may upload")
	cmd.Flags().BoolVar(&reset, "reset", false, "drop the overrides")
	return cmd
}

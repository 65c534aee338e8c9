package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/config"
)

// devicesLong is the help text of `sotto devices`; it says plainly what
// removal cannot do.
const devicesLong = `List the devices of your account, or remove one.

Every device that runs sotto with this account keeps a record of itself
(name, platform, when it was first and last seen) in a list that the
account's devices sync between them. 'sotto devices remove ID' marks a
device removed: when that device next connects to the network, it erases
its local data (the client database and the identity file in its data
directory) and stops.

What removal cannot do: it is a request that the removed device honours,
not a revocation.
  - A removed device that is offline keeps its data until it next
    connects; one that never connects again keeps it.
  - Anyone who keeps the recovery phrase (or a copy of the identity file)
    still holds the account: they can read what is sent to it and write
    as you. If the phrase may be in the wrong hands, make a new account.`

// devicesCmd is `sotto devices`: list, remove, name.
func (a *app) devicesCmd() *cobra.Command {
	f := &chatFlags{}
	var off bool
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List the devices of your account, or remove one (removal is not a revocation: see --help)",
		Long:  devicesLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.listDevices(f, off)
		},
	}
	cmd.Flags().BoolVar(&off, "offline", false, "show what is stored locally without fetching")
	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Mark a device removed: it erases its local data when it next connects (it keeps the account if it keeps the phrase)",
		Long:  devicesLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.removeDevice(f, args[0])
		},
	}
	name := &cobra.Command{
		Use:   "name NAME",
		Short: "Name this device in the devices list",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.nameDevice(f, strings.Join(args, " "))
		},
	}
	for _, c := range []*cobra.Command{cmd, remove, name} {
		c.Flags().DurationVar(&f.timeout, "timeout", 60*time.Second, "give up on the network after this long")
	}
	cmd.AddCommand(remove, name)
	return cmd
}

// jsonDevice is a device in `sotto devices --json`; times are unix
// seconds, 0 when absent.
type jsonDevice struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Platform   string `json:"platform"`
	FirstSeen  int64  `json:"first_seen"`
	LastSeen   int64  `json:"last_seen"`
	ThisDevice bool   `json:"this_device"`
	Removed    bool   `json:"removed"`
	RemovedAt  int64  `json:"removed_at,omitempty"`
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (a *app) listDevices(f *chatFlags, off bool) error {
	n := optional
	if off {
		n = offline
	}
	return a.synced(f, n, func(ctx context.Context, s *session) error {
		self := s.c.ThisDevice()
		list, err := s.c.Devices(ctx)
		if err != nil {
			return err
		}
		if a.json {
			items := []jsonDevice{}
			for _, d := range list {
				items = append(items, jsonDevice{
					ID: d.ID.String(), Name: d.Name, Platform: d.Platform,
					FirstSeen: unixOrZero(d.FirstSeen), LastSeen: unixOrZero(d.LastSeen),
					ThisDevice: d.ID == self, Removed: d.IsRemoved(), RemovedAt: unixOrZero(d.Removed),
				})
			}
			return a.printJSON(map[string]any{"this_device": self.String(), "devices": items})
		}
		for _, d := range list {
			fmt.Fprintln(a.env.Stdout, deviceLine(d, d.ID == self))
		}
		return nil
	})
}

// deviceLine formats a device for people:
// "ID NAME | PLATFORM | first seen T | last seen T[ | this device][ | removed T]".
func deviceLine(d config.Device, this bool) string {
	name := d.Name
	if name == "" {
		name = "-"
	}
	platform := d.Platform
	if platform == "" {
		platform = "-"
	}
	parts := []string{d.ID.String() + " " + name, platform, "first seen " + seenTime(d.FirstSeen), "last seen " + seenTime(d.LastSeen)}
	if this {
		parts = append(parts, "this device")
	}
	if d.IsRemoved() {
		parts = append(parts, "removed "+seenTime(d.Removed))
	}
	return strings.Join(parts, " | ")
}

func seenTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// findDevice resolves a device ID argument: the whole ID or a prefix of at
// least 4 hex digits that names one device.
func findDevice(list []config.Device, arg string) (config.Device, error) {
	arg = strings.ToLower(strings.TrimSpace(arg))
	hint := "use an ID (or its first digits) as listed by 'sotto devices'"
	if id, err := config.ParseDeviceID(arg); err == nil {
		for _, d := range list {
			if d.ID == id {
				return d, nil
			}
		}
		return config.Device{}, userErr(hint, "no device %s in this account's list", id)
	}
	if len(arg) < 4 || len(arg) > 32 || strings.Trim(arg, "0123456789abcdef") != "" {
		return config.Device{}, userErr(hint, "invalid device ID %q", short(arg, 40))
	}
	var found []config.Device
	for _, d := range list {
		if strings.HasPrefix(d.ID.String(), arg) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return config.Device{}, userErr(hint, "no device ID starts with %s", arg)
	case 1:
		return found[0], nil
	}
	return config.Device{}, userErr("give more digits of the ID", "%d devices have IDs starting with %s", len(found), arg)
}

func (a *app) removeDevice(f *chatFlags, arg string) error {
	return a.synced(f, optional, func(ctx context.Context, s *session) error {
		list, err := s.c.Devices(ctx)
		if err != nil {
			return err
		}
		d, err := findDevice(list, arg)
		if err != nil {
			return err
		}
		if d.IsRemoved() {
			if a.json {
				return a.printJSON(map[string]any{"id": d.ID.String(), "name": d.Name, "removed": true, "removed_at": d.Removed.Unix()})
			}
			fmt.Fprintf(a.env.Stdout, "already removed %s %s on %s\n", d.ID, orDash(d.Name), seenTime(d.Removed))
			return nil
		}
		switch err := s.c.RemoveDevice(ctx, d.ID); {
		case errors.Is(err, client.ErrThisDevice):
			return userErr("remove it from another device of the account, or delete this data directory ("+a.home+") yourself; 'sotto devices' lists the others",
				"%s is this device: a device cannot remove itself", d.ID)
		case err != nil:
			return err
		}
		pushed := false
		if s.c.Online() {
			if err := a.sync(ctx, s); err != nil {
				return netError("removed here, but the other devices do not know yet (it is sent the next time sotto connects)", err)
			}
			pushed = true
		}
		if a.json {
			return a.printJSON(map[string]any{"id": d.ID.String(), "name": d.Name, "removed": true, "pushed": pushed})
		}
		fmt.Fprintf(a.env.Stdout, "removed %s %s\n", d.ID, orDash(d.Name))
		if pushed {
			fmt.Fprintln(a.env.Stdout, "it erases its local data when it next connects to the network")
		} else {
			fmt.Fprintln(a.env.Stdout, "not sent yet: the other devices learn it the next time sotto connects")
		}
		fmt.Fprintln(a.env.Stdout, "note: removal is not a revocation; whoever keeps the recovery phrase still holds the account")
		return nil
	})
}

func (a *app) nameDevice(f *chatFlags, name string) error {
	return a.synced(f, optional, func(ctx context.Context, s *session) error {
		if err := s.c.SetDeviceName(ctx, name); err != nil {
			return userErr(fmt.Sprintf("a device name is one line of 1 to %d bytes", config.MaxDeviceNameLen), "invalid device name %q", short(name, 40))
		}
		if err := a.sync(ctx, s); err != nil {
			return err
		}
		name = strings.TrimSpace(name)
		if a.json {
			return a.printJSON(map[string]string{"id": s.c.ThisDevice().String(), "name": name})
		}
		fmt.Fprintf(a.env.Stdout, "this device: %s %s\n", s.c.ThisDevice(), name)
		return nil
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// removedError explains that another device removed this one, or returns
// nil when err does not say so.
func removedError(err error) error {
	var re *client.DeviceRemovedError
	if !errors.As(err, &re) {
		return nil
	}
	when := re.At.Local().Format("2006-01-02 15:04")
	if re.Err != nil {
		return &Error{Msg: "another device of the account removed this one on " + when + ", but erasing its data failed", Err: re.Err,
			Hint: "delete the files named above yourself"}
	}
	return &Error{Msg: "another device of the account removed this one on " + when + "; its local data and identity file were erased",
		Hint: "to use the account here again, restore it with 'sotto id restore' and your recovery phrase"}
}

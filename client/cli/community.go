package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/key"
)

// communityCmd is `sotto community`: joining, leaving and listing
// community rooms, and the room actions that have no chat command
// (react, delete, ban, dm). Reading and posting go with read, send and
// chat given the room (its join URL or <server url>/<room>).
func (a *app) communityCmd() *cobra.Command {
	f := &communityFlags{}
	g := &cobra.Command{
		Use:   "community",
		Short: "Communities: join, leave, list, rooms, react, delete, ban, unban, dm, pin, unpin, info",
		Long: `Communities: open rooms on a community server. Join a room with its join
URL (https://host/room?public_key=<hex>); afterwards the room is also
named <server url>/<room>. Read and post with 'sotto read ROOM',
'sotto send ROOM TEXT' and 'sotto chat ROOM'. The server sees you only
by your blinded ID for it, never by your Session ID; every request goes
through an onion path.`,
	}
	cmds := []*cobra.Command{
		a.roomCmd(f, "join URL", "Join the room at a join URL", 1, func(ctx context.Context, s *session, args []string) (string, error) {
			cm, err := s.c.JoinCommunity(ctx, args[0])
			if err != nil {
				return "", err
			}
			id, err := s.c.RoomUserID(cm)
			if err != nil {
				return "", err
			}
			out := "joined " + cm.Server + "/" + cm.Room + " as " + id
			if cm.Unblinded {
				out += "\nnote: this server does not take blinded IDs: it sees your own key, as it would from Session"
			}
			return out, nil
		}),
		a.roomCmd(f, "leave ROOM", "Leave the room", 1, func(ctx context.Context, s *session, args []string) (string, error) {
			return "left", s.c.LeaveCommunity(ctx, args[0])
		}),
		a.roomCmd(f, "react ROOM POST EMOJI", "React to a post of the room (--remove takes the reaction back)", 3,
			func(ctx context.Context, s *session, args []string) (string, error) {
				id, err := parsePostID(args[1])
				if err != nil {
					return "", err
				}
				return "reacted", s.c.ReactInRoom(ctx, args[0], id, args[2], !f.remove)
			}),
		a.roomCmd(f, "delete ROOM POST", "Delete a post: your own, or anyone's as a moderator", 2,
			func(ctx context.Context, s *session, args []string) (string, error) {
				id, err := parsePostID(args[1])
				if err != nil {
					return "", err
				}
				return "deleted", s.c.DeletePost(ctx, args[0], id)
			}),
		a.roomCmd(f, "ban ROOM USER", "Ban a user (the ID the room shows) from the room (moderators); --delete-all deletes their posts", 2,
			func(ctx context.Context, s *session, args []string) (string, error) {
				return "banned", s.c.BanFromRoom(ctx, args[0], args[1], f.deleteAll)
			}),
		a.roomCmd(f, "unban ROOM USER", "Lift a user's ban from the room (moderators)", 2,
			func(ctx context.Context, s *session, args []string) (string, error) {
				return "unbanned", s.c.UnbanFromRoom(ctx, args[0], args[1])
			}),
		a.roomCmd(f, "dm ROOM USER TEXT...", "Write to a room member by the blinded ID the room shows (it reaches them as a message request)", 3,
			func(ctx context.Context, s *session, args []string) (string, error) {
				to, err := key.ParseBlindedID(args[1])
				if err != nil {
					return "", userErr("a room member is named by the blinded ID (15...) the room shows", "invalid blinded ID %q", short(args[1], 80))
				}
				return "sent", s.c.SendCommunityDM(ctx, args[0], to, strings.Join(args[2:], " "))
			}),
		a.roomCmd(f, "rooms SERVER", "List a server's rooms (SERVER: its URL with ?public_key=, or a server you joined a room of)", 1,
			func(ctx context.Context, s *session, args []string) (string, error) {
				rooms, err := s.c.CommunityRooms(ctx, args[0])
				if err != nil {
					return "", err
				}
				if a.json {
					return "", a.printJSON(map[string]any{"rooms": rooms})
				}
				var b strings.Builder
				for i, r := range rooms {
					if i > 0 {
						b.WriteByte('\n')
					}
					fmt.Fprintf(&b, "%s %s (%d active)", r.Token, r.Name, r.ActiveUsers)
				}
				if len(rooms) == 0 {
					return "no rooms", nil
				}
				return b.String(), nil
			}),
		a.communityListCmd(f),
	}
	for _, c := range cmds {
		c.Flags().DurationVar(&f.timeout, "timeout", defaultGroupTimeout, "give up on the network after this long")
	}
	cmds[2].Flags().BoolVar(&f.remove, "remove", false, "remove the reaction")
	cmds[4].Flags().BoolVar(&f.deleteAll, "delete-all", false, "delete all of the user's posts in the room too")
	g.AddCommand(cmds...)
	g.AddCommand(a.pinCmds(f)...)
	return g
}

// pinCmds are the room's pin, unpin and info commands.
func (a *app) pinCmds(f *communityFlags) []*cobra.Command {
	cmds := []*cobra.Command{
		a.roomCmd(f, "pin ROOM POST", "Pin a post of the room (admins)", 2,
			func(ctx context.Context, s *session, args []string) (string, error) {
				id, err := parsePostID(args[1])
				if err != nil {
					return "", err
				}
				return "pinned", s.c.PinPost(ctx, args[0], id)
			}),
		a.roomCmd(f, "unpin ROOM POST|--all", "Unpin a post of the room, or with --all every post (admins)", 1,
			func(ctx context.Context, s *session, args []string) (string, error) {
				switch {
				case f.all && len(args) == 1:
					return "unpinned all", s.c.UnpinAll(ctx, args[0])
				case f.all || len(args) != 2:
					return "", userErr("give a post number, or --all alone", "unpin takes ROOM POST or ROOM --all")
				}
				id, err := parsePostID(args[1])
				if err != nil {
					return "", err
				}
				return "unpinned", s.c.UnpinPost(ctx, args[0], id)
			}),
		a.roomCmd(f, "info ROOM", "Show the room's settings as you see them: name, description, active users, your permissions, moderators, pins", 1,
			func(ctx context.Context, s *session, args []string) (string, error) {
				info, err := s.c.RoomDetails(ctx, args[0])
				if err != nil {
					return "", err
				}
				if a.json {
					return "", a.printJSON(info)
				}
				return roomInfoLines(info), nil
			}),
	}
	for _, c := range cmds {
		c.Flags().DurationVar(&f.timeout, "timeout", defaultGroupTimeout, "give up on the network after this long")
	}
	cmds[1].Flags().BoolVar(&f.all, "all", false, "unpin every pinned post")
	return cmds
}

// communityFlags are the community commands' flags.
type communityFlags struct {
	timeout   time.Duration
	remove    bool
	deleteAll bool
	all       bool
}

// roomInfoLines is `community info` for people, one fact a line.
func roomInfoLines(info *client.RoomInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "room: %s %s\n", info.Token, info.Name)
	if info.Description != "" {
		fmt.Fprintf(&b, "description: %s\n", info.Description)
	}
	fmt.Fprintf(&b, "active users: %d\n", info.ActiveUsers)
	fmt.Fprintf(&b, "you: %s\n", perms(info.Read, info.Write, info.Upload, info.Moderator, info.Admin, info.GlobalModerator, info.GlobalAdmin))
	if info.DefaultRead != nil && info.DefaultWrite != nil && info.DefaultUpload != nil {
		fmt.Fprintf(&b, "default permissions: %s\n", perms(*info.DefaultRead, *info.DefaultWrite, *info.DefaultUpload, false, false, false, false))
	}
	for _, l := range []struct {
		what string
		ids  []string
	}{{"admins", info.Admins}, {"moderators", info.Moderators}, {"hidden admins", info.HiddenAdmins}, {"hidden moderators", info.HiddenModerators}} {
		if len(l.ids) > 0 {
			fmt.Fprintf(&b, "%s: %s\n", l.what, strings.Join(l.ids, " "))
		}
	}
	for _, p := range info.Pinned {
		fmt.Fprintf(&b, "pinned: #%d by %s\n", p.ID, short(p.PinnedBy, 10))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// perms names the permissions that are set.
func perms(read, write, upload, mod, admin, globalMod, globalAdmin bool) string {
	var out []string
	for _, p := range []struct {
		on   bool
		name string
	}{{read, "read"}, {write, "write"}, {upload, "upload"}, {mod, "moderator"}, {admin, "admin"}, {globalMod, "global moderator"}, {globalAdmin, "global admin"}} {
		if p.on {
			out = append(out, p.name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// isRoom reports whether a chat command's argument names a room (a URL)
// rather than a Session ID.
func isRoom(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

func parsePostID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, userErr("posts are numbered as 'sotto read ROOM' shows them", "invalid post %q", short(s, 40))
	}
	return id, nil
}

// roomError explains the community API's errors.
func roomError(err error) error {
	var ce *client.CommunityError
	switch {
	case errors.Is(err, client.ErrNotJoined):
		return userErr("join the room with 'sotto community join URL' (see 'sotto community list')", "%v", err)
	case errors.Is(err, client.ErrEmptyMessage), errors.Is(err, client.ErrTooLong), errors.Is(err, client.ErrNoMessage):
		return userErr("", "%v", err)
	case errors.As(err, &ce) && ce.Status == 403:
		return userErr("the room's moderators do not allow it (or you are banned)", "the server refused: %s", strings.TrimPrefix(ce.Error(), "client: community: "))
	case errors.As(err, &ce) && ce.Status == 404:
		return userErr("check the room and the post number", "the server has no such room or post")
	}
	var ue *Error
	if errors.As(err, &ue) {
		return err
	}
	if strings.HasPrefix(err.Error(), "client: community room") || strings.HasPrefix(err.Error(), "client: community server") {
		return userErr("a room is its join URL, https://host/room?public_key=<hex>, or <server url>/<room> once joined", "%v", err)
	}
	return netError("the community request did not complete", err)
}

// roomCmd builds a community command of n or more arguments whose fn
// returns the line to print.
func (a *app) roomCmd(f *communityFlags, use, short string, n int, fn func(context.Context, *session, []string) (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(n),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out string
			err := a.synced(&chatFlags{timeout: f.timeout}, networkReq, func(ctx context.Context, s *session) error {
				var err error
				if out, err = fn(ctx, s, args); err != nil {
					return roomError(err)
				}
				if err := s.c.PushConfigs(ctx); err != nil {
					return netError("done, but not synced to your other devices yet (it will be)", err)
				}
				return nil
			})
			if err != nil || out == "" {
				return err
			}
			if a.json {
				return a.printJSON(map[string]string{"result": out})
			}
			fmt.Fprintln(a.env.Stdout, out)
			return nil
		},
	}
}

func (a *app) communityListCmd(f *communityFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the joined rooms",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.synced(&chatFlags{timeout: f.timeout}, optional, func(ctx context.Context, s *session) error {
				list, err := s.c.Communities(ctx)
				if err != nil {
					return err
				}
				if a.json {
					out := []map[string]string{}
					for _, cm := range list {
						out = append(out, map[string]string{"room": cm.Server + "/" + cm.Room, "name": cm.Name,
							"url": client.Room{Server: cm.Server, Token: cm.Room, PubKey: cm.PubKey}.URL()})
					}
					return a.printJSON(map[string]any{"communities": out})
				}
				if len(list) == 0 {
					fmt.Fprintln(a.env.Stdout, "no communities")
				}
				for _, cm := range list {
					fmt.Fprintf(a.env.Stdout, "%s/%s %s\n", cm.Server, cm.Room, cm.Name)
				}
				return nil
			})
		},
	}
}

// postLine is how read and chat show a room's post.
func postLine(p *store.Post) string {
	var b strings.Builder
	who := short(p.Author, 10)
	if p.Name != "" {
		who = p.Name + " (" + who + ")"
	}
	fmt.Fprintf(&b, "#%d %s %s: %s", p.ID, time.UnixMilli(p.Posted).UTC().Format("2006-01-02 15:04"), who, p.Body)
	if p.QuoteID != 0 {
		b.WriteString(" (reply)")
	}
	if p.Reactions != "" && p.Reactions != "{}" {
		b.WriteString(" " + p.Reactions)
	}
	switch {
	case p.WhisperTo != "" && p.WhisperMods:
		b.WriteString(" (whisper to " + short(p.WhisperTo, 10) + " and the moderators)")
	case p.WhisperTo != "":
		b.WriteString(" (whisper to " + short(p.WhisperTo, 10) + ")")
	case p.WhisperMods:
		b.WriteString(" (whisper to the moderators)")
	}
	for i, f := range p.Files {
		name := f.Name
		if name == "" {
			name = "(no name)"
		}
		fmt.Fprintf(&b, "\n    [%d] %s", i+1, name)
		if f.ContentType != "" {
			b.WriteString(" " + f.ContentType)
		}
		b.WriteString(" " + humanBytes(f.Size))
	}
	return b.String()
}

// roomRead is `sotto read ROOM`: poll the room and show its posts.
func (a *app) roomRead(f *chatFlags, room string, limit int) error {
	return a.synced(f, networkReq, func(ctx context.Context, s *session) error {
		posts, err := s.c.ReadRoom(ctx, room)
		if err != nil {
			return roomError(err)
		}
		if limit > 0 && len(posts) > limit {
			posts = posts[len(posts)-limit:]
		}
		if a.json {
			if posts == nil {
				posts = []*store.Post{}
			}
			return a.printJSON(map[string]any{"room": room, "posts": posts})
		}
		if len(posts) == 0 {
			fmt.Fprintln(a.env.Stdout, "no messages")
		}
		for _, p := range posts {
			fmt.Fprintln(a.env.Stdout, postLine(p))
		}
		return nil
	})
}

// roomSendOptions are send's options for a room.
type roomSendOptions struct {
	quote       string
	files       []client.OutgoingFile
	whisperTo   string
	whisperMods bool
}

// roomSend is `sotto send ROOM TEXT`, with --quote #POST a reply, --file
// files and --whisper-to/--whisper-mods a whisper.
func (a *app) roomSend(f *chatFlags, room, body string, o roomSendOptions) error {
	opt := client.PostOptions{Files: o.files, WhisperTo: o.whisperTo, WhisperMods: o.whisperMods}
	if o.quote != "" {
		id, err := parsePostID(o.quote)
		if err != nil {
			return err
		}
		opt.Quote = &id
	}
	return a.synced(f, networkReq, func(ctx context.Context, s *session) error {
		id, err := s.c.PostToRoom(ctx, room, body, opt)
		if err != nil {
			if errors.Is(err, client.ErrFileTooLarge) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return userErr("check the path given to --file or --voice (a room takes files of at most 10 MB)", "%v", err)
			}
			return roomError(err)
		}
		if a.json {
			return a.printJSON(map[string]any{"room": room, "post": id})
		}
		fmt.Fprintf(a.env.Stdout, "posted #%d\n", id)
		return nil
	})
}

// roomChatPoll is how often chat polls a room.
const roomChatPoll = 2 * time.Second

// roomChat is `sotto chat ROOM`: the room's posts, then new ones as they
// come while typed lines are posted, until end of input or "/quit".
func (a *app) roomChat(room string) error {
	s, err := a.openSession(networkReq)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := map[int64]bool{}
	show := func() error {
		pctx, pcancel := context.WithTimeout(ctx, defaultGroupTimeout)
		defer pcancel()
		posts, err := s.c.ReadRoom(pctx, room)
		if err != nil {
			return err
		}
		for _, p := range posts {
			if !seen[p.ID] {
				seen[p.ID] = true
				fmt.Fprintln(a.env.Stdout, postLine(p))
			}
		}
		return nil
	}
	if err := show(); err != nil {
		return roomError(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(a.env.Stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	tick := time.NewTicker(roomChatPoll)
	defer tick.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok || strings.TrimSpace(l) == "/quit" {
				return nil
			}
			if strings.TrimSpace(l) == "" {
				continue
			}
			pctx, pcancel := context.WithTimeout(ctx, defaultGroupTimeout)
			_, err := s.c.PostToRoom(pctx, room, l, client.PostOptions{})
			pcancel()
			if err != nil {
				return roomError(err)
			}
			if err := show(); err != nil {
				return roomError(err)
			}
		case <-tick.C:
			if err := show(); err != nil {
				fmt.Fprintf(a.env.Stderr, "poll: %v\n", roomError(err))
			}
		}
	}
}

// roomSave is `sotto save ROOM POST [DIR]`: the post's room files.
func (a *app) roomSave(f *chatFlags, args []string) error {
	id, err := parsePostID(args[1])
	if err != nil {
		return err
	}
	dir := "."
	if len(args) == 3 {
		dir = args[2]
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return userErr("give an existing directory", "%s is not a directory", dir)
	}
	return a.synced(f, networkReq, func(ctx context.Context, s *session) error {
		paths, err := s.c.SaveRoomFiles(ctx, args[0], id, dir)
		for _, p := range paths {
			if !a.json {
				fmt.Fprintf(a.env.Stdout, "saved %s\n", p)
			}
		}
		if err != nil {
			switch {
			case errors.Is(err, client.ErrNotRoomFile):
				return userErr("only files kept by the room's own server are fetched", "%v", err)
			case errors.Is(err, client.ErrNoRoomFiles):
				return userErr("'sotto read ROOM' shows a post's files under it", "%v", err)
			}
			if len(paths) > 0 {
				return &Error{Msg: fmt.Sprintf("saved %d file(s), then failed", len(paths)), Err: err}
			}
			return roomError(err)
		}
		if a.json {
			return a.printJSON(map[string]any{"saved": paths})
		}
		return nil
	})
}

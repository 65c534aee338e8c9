package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/key"
)

func (a *app) sendCmd(f *chatFlags) *cobra.Command {
	var quote, voice, whisperTo string
	var files []string
	var whisperMods bool
	cmd := &cobra.Command{
		Use:   "send ID|ROOM [--file PATH]... [--voice FILE.ogg] [TEXT...]",
		Short: "Send a message to a Session ID, with files or a voice note, or post in a community room",
		Long: `Send a message. The words after the ID are the message.

--file PATH (repeatable) attaches files, --voice FILE.ogg a voice note.
Files are encrypted and uploaded to a file server through onion paths
before the message is sent; a file over 10 MB goes up in parts that only
Sotto clients can join. Progress is shown on stderr for large files.

The message is saved first; if the network cannot take it now it stays
queued and is retried the next time sotto connects (chat, inbox, read).

Given a community room (its join URL or <server url>/<room>), the text is
posted in the room (--quote #POST replies to a post). Files go up to the
room's server, not encrypted: every member of the room can read them (at
most 10 MB each). Moderators may whisper: --whisper-to ID (the ID the
room shows) or --whisper-mods posts a message only that user, or the
room's moderators, see.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isRoom(args[0]) {
				opt := roomSendOptions{quote: quote, whisperTo: whisperTo, whisperMods: whisperMods}
				for _, p := range files {
					opt.files = append(opt.files, client.OutgoingFile{Path: p})
				}
				if voice != "" {
					opt.files = append(opt.files, client.OutgoingFile{Path: voice, Voice: true})
				}
				return a.roomSend(f, args[0], strings.Join(args[1:], " "), opt)
			}
			if whisperTo != "" || whisperMods {
				return userErr("whispers are posts in a community room", "--whisper-to and --whisper-mods take a room")
			}
			peer, err := parsePeer(args[0])
			if err != nil {
				return err
			}
			body := strings.Join(args[1:], " ")
			s, err := a.openSession(networkReq)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			var opt client.SendOptions
			if quote != "" {
				id, err := parseMsgRef(quote)
				if err != nil {
					return err
				}
				q, err := s.c.Store().Message(ctx, id)
				if err != nil || q.Conversation != peer {
					return msgError(client.ErrNoMessage, peer)
				}
				ref := q.Ref()
				opt.Quote = &ref
			}
			for _, p := range files {
				opt.Files = append(opt.Files, client.OutgoingFile{Path: p})
			}
			if voice != "" {
				opt.Files = append(opt.Files, client.OutgoingFile{Path: voice, Voice: true})
			}
			if len(opt.Files) > 0 {
				p := newProgress(a.env.Stderr, "upload")
				opt.Progress = func(pr client.Progress) { p.report(pr.Name, pr.Done, pr.Total) }
			}
			m, err := s.c.Send(ctx, peer, body, opt)
			var ns *client.NotSentError
			if errors.As(err, &ns) {
				e := netError(fmt.Sprintf("message #%d saved but not sent", m.ID), ns.Err).(*Error)
				e.Hint = "it stays queued and is retried the next time sotto connects; " + e.Hint
				return e
			}
			if err != nil {
				return sendError(err)
			}
			if a.json {
				j, err := withAttachments(ctx, s, m)
				if err != nil {
					return err
				}
				return a.printJSON(j)
			}
			fmt.Fprintf(a.env.Stdout, "sent #%d to %s [%s]\n", m.ID, peer, m.State)
			return nil
		},
	}
	cmd.Flags().StringVar(&quote, "quote", "", "reply to message number N of this conversation")
	cmd.Flags().StringArrayVar(&files, "file", nil, "attach the file at PATH (repeat for several)")
	cmd.Flags().StringVar(&voice, "voice", "", "attach FILE.ogg as a voice message")
	cmd.Flags().StringVar(&whisperTo, "whisper-to", "", "in a room: whisper to this user (moderators)")
	cmd.Flags().BoolVar(&whisperMods, "whisper-mods", false, "in a room: whisper to the room's moderators (moderators)")
	return cmd
}

func sendError(err error) error {
	switch {
	case errors.Is(err, client.ErrEmptyMessage):
		return userErr("write the message after the Session ID, or attach a file with --file", "the message is empty")
	case errors.Is(err, client.ErrFileTooLarge):
		return userErr("send files of at most 512 MB", "%v", err)
	case errors.Is(err, os.ErrNotExist):
		return userErr("check the path given to --file or --voice", "%v", err)
	case errors.Is(err, client.ErrNoFileServer):
		return &Error{Msg: "no file server to upload to", Err: err, Hint: "the network file or the ledger must list a file server"}
	case errors.Is(err, client.ErrTooLong):
		return userErr(fmt.Sprintf("split it into messages of at most %d bytes", client.MaxBodyLen), "%v", err)
	case errors.Is(err, client.ErrBadRecipient):
		return userErr("messages go to standard Session IDs (05...) and group IDs (03...)", "%v", err)
	case errors.Is(err, client.ErrNoGroup):
		return userErr("list your groups with 'sotto group list'; an invitation is accepted with 'sotto accept GROUP'", "%v", err)
	}
	return &Error{Msg: "cannot send", Err: err}
}

func (a *app) unsendCmd(f *chatFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "unsend ID MSG",
		Short: "Unsend one of your messages (MSG is its number from 'sotto read')",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			peer, err := parsePeer(args[0])
			if err != nil {
				return err
			}
			msg, err := parseMsgRef(args[1])
			if err != nil {
				return err
			}
			return a.withMessage(f, peer, func(ctx context.Context, s *session) (*store.Message, error) {
				return s.c.Unsend(ctx, peer, msg)
			}, "unsent")
		},
	}
}

func (a *app) reactCmd(f *chatFlags) *cobra.Command {
	var remove bool
	cmd := &cobra.Command{
		Use:   "react ID MSG EMOJI",
		Short: "React to a message with an emoji (MSG is its number from 'sotto read')",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			peer, err := parsePeer(args[0])
			if err != nil {
				return err
			}
			msg, err := parseMsgRef(args[1])
			if err != nil {
				return err
			}
			word := "reacted"
			if remove {
				word = "reaction removed"
			}
			return a.withMessage(f, peer, func(ctx context.Context, s *session) (*store.Message, error) {
				m, err := s.c.React(ctx, peer, msg, args[2], remove)
				if err != nil && !errors.Is(err, client.ErrNoMessage) && !errors.Is(err, context.DeadlineExceeded) {
					return nil, userErr("give one emoji, e.g. 👍", "%v", err)
				}
				return m, err
			}, word)
		},
	}
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the reaction instead")
	return cmd
}

// withMessage runs an action on a message and prints the message.
func (a *app) withMessage(f *chatFlags, peer key.SessionID, fn func(ctx context.Context, s *session) (*store.Message, error), word string) error {
	return a.synced(f, networkReq, func(ctx context.Context, s *session) error {
		m, err := fn(ctx, s)
		if err != nil {
			var ue *Error
			if errors.As(err, &ue) {
				return ue
			}
			return msgError(err, peer)
		}
		if err := s.c.FlushOutbox(ctx); err != nil {
			return netError(word+" here, but not sent yet (it stays queued)", err)
		}
		if a.json {
			return a.printJSON(toJSON(m))
		}
		fmt.Fprintf(a.env.Stdout, "%s: %s\n", word, newNames(s).line(m))
		return nil
	})
}

func (a *app) disappearCmd(f *chatFlags) *cobra.Command {
	var afterRead bool
	cmd := &cobra.Command{
		Use:   "disappear ID DURATION|off",
		Short: "Make messages with a Session ID disappear after a time (after sending, or --after-read)",
		Long: `Set disappearing messages for a conversation. DURATION is like 30s, 5m,
12h or 1d (10 seconds to 14 days); "off" turns it off. Messages disappear
DURATION after they were sent, or with --after-read after they were read.
The other side is told and applies the same setting.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			peer, err := parsePeer(args[0])
			if err != nil {
				return err
			}
			mode, timer, err := parseDisappear(args[1], afterRead)
			if err != nil {
				return err
			}
			s, err := a.openSession(networkReq)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			if err := s.c.SetDisappearing(ctx, peer, mode, timer); err != nil {
				return msgError(err, peer)
			}
			if err := s.c.FlushOutbox(ctx); err != nil {
				return netError("set here, but the other side is not told yet (it stays queued)", err)
			}
			setting := "off"
			if mode != store.ExpiryOff {
				setting = fmt.Sprintf("%s %s", mode, timer)
			}
			if a.json {
				return a.printJSON(map[string]any{"session_id": peer.String(), "disappearing": setting,
					"mode": mode.String(), "timer_seconds": int64(timer / time.Second)})
			}
			fmt.Fprintf(a.env.Stdout, "disappearing messages with %s: %s\n", peer, setting)
			return nil
		},
	}
	cmd.Flags().BoolVar(&afterRead, "after-read", false, "count from when a message is read instead of sent")
	return cmd
}

// parseDisappear reads "off" or a duration; "d" counts days.
func parseDisappear(s string, afterRead bool) (store.ExpiryMode, time.Duration, error) {
	if strings.EqualFold(s, "off") {
		return store.ExpiryOff, 0, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int64
		n, err = strconv.ParseInt(days, 10, 64)
		if err == nil && n > 0 && n <= 14 {
			d = time.Duration(n) * 24 * time.Hour
		} else if err == nil {
			err = errors.New("out of range")
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < client.MinDisappearTimer || d > client.MaxDisappearTimer {
		return 0, 0, userErr("use a duration between 10s and 14d, e.g. 30s, 5m, 12h, 1d, or off", "invalid disappearing time %q", short(s, 40))
	}
	mode := store.ExpiryAfterSend
	if afterRead {
		mode = store.ExpiryAfterRead
	}
	return mode, d, nil
}

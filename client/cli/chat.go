package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/key"
)

// chatCmds returns the messaging commands: send, chat, inbox, read,
// requests, accept, decline, block, unblock, contacts, unsend, react,
// disappear and profile.
func (a *app) chatCmds() []*cobra.Command {
	f := &chatFlags{}
	cmds := []*cobra.Command{
		a.sendCmd(f), a.chatCmd(f), a.inboxCmd(f), a.readCmd(f), a.requestsCmd(f),
		a.acceptCmd(f), a.declineCmd(f), a.blockCmd(f, true), a.blockCmd(f, false), a.contactsCmd(f),
		a.unsendCmd(f), a.reactCmd(f), a.disappearCmd(f), a.profileCmd(f),
		a.saveCmd(f), a.receiptsCmd(f),
	}
	cmds = append(cmds, a.syncCmds(f)...)
	for _, c := range cmds {
		c.Flags().DurationVar(&f.timeout, "timeout", 60*time.Second, "give up on the network after this long")
	}
	return cmds
}

func (a *app) chatCmd(f *chatFlags) *cobra.Command {
	var count int
	cmd := &cobra.Command{
		Use:   "chat ID|ROOM",
		Short: "Talk with a Session ID or in a community room: incoming messages appear as they arrive, typed lines are sent",
		Long: `Talk with a Session ID. The recent history is shown first; then every
incoming message appears as it arrives and every line typed is sent.
End with end-of-file (Ctrl-D) or a line "/quit". With --json every event
is printed as one JSON object per line.

Given a community room (its join URL or <server url>/<room>), chat shows
the room's posts, polls it every 2 s and posts the typed lines.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isRoom(args[0]) {
				return a.roomChat(args[0])
			}
			peer, err := parsePeer(args[0])
			if err != nil {
				return err
			}
			s, err := a.openSession(networkReq)
			if err != nil {
				return err
			}
			defer s.close()
			return a.runChat(s, peer, f, count)
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "exit after this many new incoming messages, unread ones at the start included (0: run until end of input)")
	return cmd
}

// chatOut serialises output lines of the chat command.
type chatOut struct {
	mu sync.Mutex
	a  *app
	n  *names
}

func (o *chatOut) msg(m *store.Message, event string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.a.json {
		_ = o.a.printJSON(struct {
			Event   string      `json:"event"`
			Message jsonMessage `json:"message"`
		}{event, toJSON(m)})
		return
	}
	switch event {
	case "state":
		fmt.Fprintf(o.a.env.Stdout, "#%d %s\n", m.ID, m.State)
	case "unsent":
		fmt.Fprintf(o.a.env.Stdout, "#%d was unsent\n", m.ID)
	case "expired":
		fmt.Fprintf(o.a.env.Stdout, "#%d disappeared\n", m.ID)
	default:
		fmt.Fprintln(o.a.env.Stdout, o.n.line(m))
	}
}

func (o *chatOut) note(event, text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.a.json {
		_ = o.a.printJSON(map[string]string{"event": event, "text": text})
		return
	}
	fmt.Fprintln(o.a.env.Stdout, text)
}

func (a *app) runChat(s *session, peer key.SessionID, f *chatFlags, count int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &chatOut{a: a, n: newNames(s)}
	// Unread messages fetched at the start count towards --count.
	received, err := a.chatHistory(ctx, s, peer, f.timeout, out)
	if err != nil {
		return err
	}

	served := make(chan error, 1)
	go func() { served <- s.c.Serve(ctx) }()
	lines, inErr := ReadLines(ctx, a.env.Stdin)

	var sendErr error
loop:
	for count == 0 || received < count {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				if count == 0 || received >= count {
					break loop
				}
				continue
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			if strings.TrimSpace(line) == "/quit" {
				break loop
			}
			if err := chatSend(ctx, s, peer, line, f.timeout, out); err != nil {
				sendErr = err
			}
		case ev := <-s.c.Events():
			if ev.Conversation != peer || !out.event(ev) {
				continue
			}
			received++
			if _, err := s.c.MarkRead(ctx, peer); err != nil {
				return err
			}
		case err := <-served:
			if re := removedError(err); re != nil {
				return re
			}
			return netError("chat stopped", err)
		}
	}
	// Let what was typed reach the network before leaving.
	fctx, fcancel := context.WithTimeout(context.Background(), f.timeout)
	ferr := s.c.FlushOutbox(fctx)
	fcancel()
	cancel()
	<-served
	if sendErr != nil {
		return sendErr
	}
	select {
	case err := <-inErr:
		if err != nil && !errors.Is(err, io.EOF) {
			return &Error{Msg: "cannot read standard input", Err: err}
		}
	default:
	}
	if ferr != nil {
		return netError("some messages are not sent yet (they stay queued)", ferr)
	}
	return nil
}

// chatHistory syncs s, prints the last messages with peer and marks them
// read. It returns how many were unread.
func (a *app) chatHistory(ctx context.Context, s *session, peer key.SessionID, timeout time.Duration, out *chatOut) (int, error) {
	sctx, scancel := context.WithTimeout(ctx, timeout)
	err := a.sync(sctx, s)
	scancel()
	if err != nil {
		return 0, err
	}
	// What the first fetch brought is in the history; drop its events.
	for drained := false; !drained; {
		select {
		case <-s.c.Events():
		default:
			drained = true
		}
	}
	hist, err := s.c.Store().History(ctx, peer, 20)
	if err != nil {
		return 0, err
	}
	for _, m := range hist {
		out.msg(m, "history")
	}
	unread, err := s.c.MarkRead(ctx, peer)
	if err != nil {
		return 0, err
	}
	return len(unread), nil
}

// ReadLines reads in line by line (lines of up to client.MaxBodyLen
// bytes) until it ends or ctx is done. The lines channel closes at the end
// of input, after the read error (nil at a clean end) is on the other
// channel. A nil in reads as empty.
func ReadLines(ctx context.Context, in io.Reader) (<-chan string, <-chan error) {
	lines := make(chan string)
	inErr := make(chan error, 1)
	go func() {
		if in == nil {
			in = strings.NewReader("")
		}
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), client.MaxBodyLen+1)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		inErr <- sc.Err()
		close(lines)
	}()
	return lines, inErr
}

// chatSend sends one typed line to peer and prints what went wrong, if
// anything. A message that is queued for retry is not an error; a message
// that cannot be sent at all is returned.
func chatSend(ctx context.Context, s *session, peer key.SessionID, line string, timeout time.Duration, out *chatOut) error {
	sctx, scancel := context.WithTimeout(ctx, timeout)
	m, err := s.c.Send(sctx, peer, line, client.SendOptions{})
	scancel()
	var ns *client.NotSentError
	switch {
	case errors.As(err, &ns):
		out.note("error", fmt.Sprintf("#%d not sent yet (will retry): %v", m.ID, ns.Err))
	case err != nil:
		err = sendError(err)
		out.note("error", "error: "+err.Error())
		return err
	}
	return nil
}

// event prints one event of the conversation and reports whether it was
// an incoming message.
func (o *chatOut) event(ev client.Event) (incoming bool) {
	peer := ev.Conversation
	switch ev.Kind {
	case client.EventMessage:
		if ev.Message.Direction == store.Incoming {
			o.msg(ev.Message, "message")
			return true
		}
		o.msg(ev.Message, "sent")
	case client.EventState:
		if ev.Message.State != store.StateSending {
			o.msg(ev.Message, "state")
		}
	case client.EventUnsent:
		o.msg(ev.Message, "unsent")
	case client.EventExpired:
		o.msg(ev.Message, "expired")
	case client.EventReaction:
		o.msg(ev.Message, "reaction")
	case client.EventTyping:
		if ev.Typing {
			o.note("typing", o.n.of(peer)+" is typing…")
		}
	case client.EventDisappearing:
		o.note("disappearing", fmt.Sprintf("disappearing messages: %s %s", ev.Mode, time.Duration(ev.Timer)*time.Second))
	case client.EventApproved:
		o.note("approved", o.n.of(peer)+" accepted your message request")
	case client.EventRequest:
		o.note("request", o.n.of(peer)+" is not in your contacts; replying accepts them")
	case client.EventAttachment:
		a := ev.Attachment
		switch {
		case a == nil:
		case a.State == store.AttachmentDone && ev.Done == ev.Total:
			o.note("attachment", fmt.Sprintf("#%d: %s downloaded (sotto save %s %d)", ev.Message.ID, a.FileName, peer, ev.Message.ID))
		case a.State == store.AttachmentFailed:
			o.note("attachment", fmt.Sprintf("#%d: %s failed: %s", ev.Message.ID, a.FileName, a.Error))
		}
	}
	return false
}

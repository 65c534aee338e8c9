package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/identity"
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
	}
	for _, c := range cmds {
		c.Flags().DurationVar(&f.timeout, "timeout", 60*time.Second, "give up on the network after this long")
	}
	return cmds
}

// chatFlags are the flags every messaging command shares.
type chatFlags struct {
	timeout time.Duration
}

// session is an open account: the client and what to release.
type session struct {
	c  *client.Client
	kf *identity.KeyFile
}

func (s *session) close() {
	s.c.Close()
	s.kf.Wipe()
}

// need says what a command needs from the network.
type need int

const (
	offline    need = iota // local data only
	optional               // sync when a network is configured
	networkReq             // fails without a network
)

// openSession loads the identity and opens the client. With networkReq a
// missing network file is an error; with optional it is not.
func (a *app) openSession(n need) (*session, error) {
	if n == networkReq && a.network == "" {
		return nil, userErr("pass --network FILE or set SOTTO_NETWORK to the network file of the network to use",
			"no network configured")
	}
	kf, err := a.loadIdentity(&idFlags{})
	if err != nil {
		return nil, err
	}
	cfg := client.Config{Home: a.home, Logger: a.logger()}
	if n != offline {
		cfg.NetworkFile = a.network
	}
	c, err := client.Open(cfg, kf)
	if err != nil {
		kf.Wipe()
		var ne *client.NetworkError
		switch {
		case errors.As(err, &ne):
			return nil, &Error{Msg: "cannot use the network file", Err: err,
				Hint: `a network file looks like {"seed_nodes": [{"url": "https://host:port", "cert_sha256": "<64 hex>"}, ...]}; check --network or SOTTO_NETWORK`}
		case errors.Is(err, store.ErrWrongKey):
			return nil, &Error{Msg: "cannot open the local database in " + a.home, Err: err,
				Hint: "the database was made by another identity; use that identity's --home"}
		}
		return nil, &Error{Msg: "cannot open the local database in " + a.home, Err: err}
	}
	return &session{c: c, kf: kf}, nil
}

// logger logs to standard error at the level in $SOTTO_LOG (debug, info,
// warn); by default nothing is logged.
func (a *app) logger() *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(a.env.Getenv("SOTTO_LOG")) {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "warn":
		lvl = slog.LevelWarn
	default:
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(a.env.Stderr, &slog.HandlerOptions{Level: lvl}))
}

// netError explains a network failure.
func netError(what string, err error) error {
	var ue *client.UnreachableError
	var re *client.RPCError
	switch {
	case errors.As(err, &ue), errors.Is(err, context.DeadlineExceeded):
		return &Error{Msg: what + ": cannot reach the network", Err: err,
			Hint: "check that the network is up and that --network or SOTTO_NETWORK names its network file; --offline shows local data"}
	case errors.As(err, &re) && (re.Status == 406 || re.Status == 425):
		return &Error{Msg: what + ": the network says this computer's clock is wrong", Err: err,
			Hint: "set the system clock (NTP) and try again"}
	}
	return &Error{Msg: what, Err: err}
}

// sync runs one network round when the session is online.
func (a *app) sync(ctx context.Context, s *session) error {
	if !s.c.Online() {
		return nil
	}
	if err := s.c.Sync(ctx); err != nil {
		return netError("cannot fetch new messages", err)
	}
	return nil
}

// parsePeer reads a Session ID argument.
func parsePeer(s string) (identity.SessionID, error) {
	id, err := identity.ParseStandardSessionID(strings.TrimSpace(s))
	if err != nil {
		return id, &Error{Msg: fmt.Sprintf("invalid Session ID %q", short(s, 80)), Err: err,
			Hint: "a Session ID is 66 hexadecimal characters starting with 05 (see 'sotto id show')"}
	}
	return id, nil
}

// parseMsgRef reads a message number ("12" or "#12") as shown by 'sotto read'.
func parseMsgRef(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0, userErr("use the number shown before the message by 'sotto read ID', e.g. 12 or #12",
			"invalid message number %q", short(s, 40))
	}
	return n, nil
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (a *app) ctx(f *chatFlags) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), f.timeout)
}

// msgError explains errors about a referenced message or request.
func msgError(err error, peer identity.SessionID) error {
	switch {
	case errors.Is(err, client.ErrNoMessage):
		return userErr("list the conversation's messages with 'sotto read "+peer.String()+"'", "no such message in this conversation")
	case errors.Is(err, client.ErrNotOurs):
		return userErr("you can unsend only your own messages", "that message was written by %s", peer)
	case errors.Is(err, client.ErrNoRequest):
		return userErr("list message requests with 'sotto requests'", "no message request from %s", peer)
	case errors.Is(err, client.ErrTimer):
		return userErr("use a duration between 10s and 14d, e.g. 30s, 5m, 12h, 1d, or off", "%v", err)
	}
	return err
}

// ---- JSON shapes ----

type jsonRef struct {
	Author string `json:"author"`
	SentAt int64  `json:"sent_at"`
}

type jsonReaction struct {
	Reactor string `json:"reactor"`
	Emoji   string `json:"emoji"`
}

type jsonMessage struct {
	ID           int64          `json:"id"`
	Conversation string         `json:"conversation"`
	Author       string         `json:"author"`
	Direction    string         `json:"direction"`
	SentAt       int64          `json:"sent_at"`
	Body         string         `json:"body"`
	State        string         `json:"state"`
	Unsent       bool           `json:"unsent,omitempty"`
	Disappearing string         `json:"disappearing,omitempty"`
	ExpiresAt    int64          `json:"expires_at,omitempty"`
	Quote        *jsonRef       `json:"quote,omitempty"`
	Reactions    []jsonReaction `json:"reactions,omitempty"`
}

func toJSON(m *store.Message) jsonMessage {
	j := jsonMessage{
		ID: m.ID, Conversation: m.Conversation.String(), Author: m.Author.String(), Direction: m.Direction.String(),
		SentAt: m.SentAt, Body: m.Body, State: m.State.String(), Unsent: m.Unsent, ExpiresAt: m.ExpiresAt,
	}
	if m.ExpiryMode != store.ExpiryOff {
		j.Disappearing = fmt.Sprintf("%s %s", m.ExpiryMode, time.Duration(m.ExpiryTimer)*time.Second)
	}
	if m.Quote != nil {
		j.Quote = &jsonRef{Author: m.Quote.Author.String(), SentAt: m.Quote.SentAt}
	}
	for _, r := range m.Reactions {
		j.Reactions = append(j.Reactions, jsonReaction{Reactor: r.Reactor.String(), Emoji: r.Emoji})
	}
	return j
}

// names resolves display names for output.
type names struct {
	self identity.SessionID
	db   *store.Store
	memo map[identity.SessionID]string
}

func newNames(s *session) *names {
	return &names{self: s.c.SessionID(), db: s.c.Store(), memo: map[identity.SessionID]string{}}
}

func (n *names) of(id identity.SessionID) string {
	if id == n.self {
		return "me"
	}
	if v, ok := n.memo[id]; ok {
		return v
	}
	v := id.String()[:10] + "…"
	if c, err := n.db.Contact(context.Background(), id); err == nil && c.DisplayName != "" {
		v = c.DisplayName
	}
	n.memo[id] = v
	return v
}

// line formats a message for people: "#12 15:04:05 me: hello [read]".
func (n *names) line(m *store.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s: ", m.ID, time.UnixMilli(m.SentAt).Local().Format("2006-01-02 15:04:05"), n.of(m.Author))
	switch {
	case m.Unsent:
		b.WriteString("(message unsent)")
	default:
		if m.Quote != nil {
			fmt.Fprintf(&b, "[re %s@%d] ", n.of(m.Quote.Author), m.Quote.SentAt)
		}
		b.WriteString(strings.ReplaceAll(m.Body, "\n", "\n    "))
	}
	if m.Direction == store.Outgoing {
		fmt.Fprintf(&b, " [%s]", m.State)
	}
	if m.ExpiryMode != store.ExpiryOff {
		fmt.Fprintf(&b, " (disappears %s %s)", m.ExpiryMode, time.Duration(m.ExpiryTimer)*time.Second)
	}
	if len(m.Reactions) > 0 {
		var rs []string
		for _, r := range m.Reactions {
			rs = append(rs, r.Emoji+" "+n.of(r.Reactor))
		}
		fmt.Fprintf(&b, " {%s}", strings.Join(rs, ", "))
	}
	return b.String()
}

// ---- commands ----

func (a *app) sendCmd(f *chatFlags) *cobra.Command {
	var quote string
	cmd := &cobra.Command{
		Use:   "send ID TEXT...",
		Short: "Send a message to a Session ID",
		Long: `Send a message. The words after the ID are the message.

The message is saved first; if the network cannot take it now it stays
queued and is retried the next time sotto connects (chat, inbox, read).`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
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
				return a.printJSON(toJSON(m))
			}
			fmt.Fprintf(a.env.Stdout, "sent #%d to %s [%s]\n", m.ID, peer, m.State)
			return nil
		},
	}
	cmd.Flags().StringVar(&quote, "quote", "", "reply to message number N of this conversation")
	return cmd
}

func sendError(err error) error {
	switch {
	case errors.Is(err, client.ErrEmptyMessage):
		return userErr("write the message after the Session ID", "the message is empty")
	case errors.Is(err, client.ErrTooLong):
		return userErr(fmt.Sprintf("split it into messages of at most %d bytes", client.MaxBodyLen), "%v", err)
	case errors.Is(err, client.ErrBadRecipient):
		return userErr("messages go to standard Session IDs (05...)", "%v", err)
	}
	return &Error{Msg: "cannot send", Err: err}
}

func (a *app) chatCmd(f *chatFlags) *cobra.Command {
	var count int
	cmd := &cobra.Command{
		Use:   "chat ID",
		Short: "Talk with a Session ID: incoming messages appear as they arrive, typed lines are sent",
		Long: `Talk with a Session ID. The recent history is shown first; then every
incoming message appears as it arrives and every line typed is sent.
End with end-of-file (Ctrl-D) or a line "/quit". With --json every event
is printed as one JSON object per line.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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

func (a *app) runChat(s *session, peer identity.SessionID, f *chatFlags, count int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sctx, scancel := context.WithTimeout(ctx, f.timeout)
	err := a.sync(sctx, s)
	scancel()
	if err != nil {
		return err
	}
	// What the first fetch brought is in the history; drop its events.
	for drained := false; !drained; {
		select {
		case <-s.c.Events():
		default:
			drained = true
		}
	}
	out := &chatOut{a: a, n: newNames(s)}
	hist, err := s.c.Store().History(ctx, peer, 20)
	if err != nil {
		return err
	}
	for _, m := range hist {
		out.msg(m, "history")
	}
	unread, err := s.c.MarkRead(ctx, peer)
	if err != nil {
		return err
	}
	// Unread messages fetched at the start count towards --count.
	received := len(unread)

	served := make(chan error, 1)
	go func() { served <- s.c.Serve(ctx) }()

	lines := make(chan string)
	inErr := make(chan error, 1)
	go func() {
		in := a.env.Stdin
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
			sctx, scancel := context.WithTimeout(ctx, f.timeout)
			m, err := s.c.Send(sctx, peer, line, client.SendOptions{})
			scancel()
			var ns *client.NotSentError
			switch {
			case errors.As(err, &ns):
				out.note("error", fmt.Sprintf("#%d not sent yet (will retry): %v", m.ID, ns.Err))
			case err != nil:
				sendErr = sendError(err)
				out.note("error", "error: "+sendErr.Error())
			}
		case ev := <-s.c.Events():
			if ev.Conversation != peer {
				continue
			}
			switch ev.Kind {
			case client.EventMessage:
				if ev.Message.Direction == store.Incoming {
					out.msg(ev.Message, "message")
					received++
					if _, err := s.c.MarkRead(ctx, peer); err != nil {
						return err
					}
					if count > 0 && received >= count {
						break loop
					}
				} else {
					out.msg(ev.Message, "sent")
				}
			case client.EventState:
				if ev.Message.State != store.StateSending {
					out.msg(ev.Message, "state")
				}
			case client.EventUnsent:
				out.msg(ev.Message, "unsent")
			case client.EventExpired:
				out.msg(ev.Message, "expired")
			case client.EventReaction:
				out.msg(ev.Message, "reaction")
			case client.EventTyping:
				if ev.Typing {
					out.note("typing", out.n.of(peer)+" is typing…")
				}
			case client.EventDisappearing:
				out.note("disappearing", fmt.Sprintf("disappearing messages: %s %s", ev.Mode, time.Duration(ev.Timer)*time.Second))
			case client.EventApproved:
				out.note("approved", out.n.of(peer)+" accepted your message request")
			case client.EventRequest:
				out.note("request", out.n.of(peer)+" is not in your contacts; replying accepts them")
			}
		case err := <-served:
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

func (a *app) inboxCmd(f *chatFlags) *cobra.Command {
	return a.summariesCmd(f, "inbox", "List conversations with unread counts", false)
}

func (a *app) requestsCmd(f *chatFlags) *cobra.Command {
	return a.summariesCmd(f, "requests", "List message requests: people you have not accepted who wrote to you", true)
}

// summariesCmd lists conversations, or the message requests.
func (a *app) summariesCmd(f *chatFlags, use, short string, requests bool) *cobra.Command {
	var off bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.listSummaries(f, off, requests)
		},
	}
	cmd.Flags().BoolVar(&off, "offline", false, "show what is stored locally without fetching")
	return cmd
}

func (a *app) listSummaries(f *chatFlags, off, requests bool) error {
	n := optional
	if off {
		n = offline
	}
	s, err := a.openSession(n)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, cancel := a.ctx(f)
	defer cancel()
	if err := a.sync(ctx, s); err != nil {
		return err
	}
	var list []*store.Summary
	if requests {
		list, err = s.c.Store().Requests(ctx)
	} else {
		list, err = s.c.Store().Inbox(ctx)
	}
	if err != nil {
		return err
	}
	if a.json {
		type item struct {
			SessionID    string       `json:"session_id"`
			DisplayName  string       `json:"display_name"`
			Messages     int          `json:"messages"`
			Unread       int          `json:"unread"`
			LastActivity int64        `json:"last_activity"`
			Disappearing string       `json:"disappearing,omitempty"`
			Last         *jsonMessage `json:"last,omitempty"`
		}
		items := []item{}
		for _, s := range list {
			it := item{SessionID: s.Peer.String(), DisplayName: s.DisplayName, Messages: s.Messages, Unread: s.Unread, LastActivity: s.LastActivity}
			if s.ExpiryMode != store.ExpiryOff {
				it.Disappearing = fmt.Sprintf("%s %s", s.ExpiryMode, time.Duration(s.ExpiryTimer)*time.Second)
			}
			if s.Last != nil {
				j := toJSON(s.Last)
				it.Last = &j
			}
			items = append(items, it)
		}
		key := "conversations"
		if requests {
			key = "requests"
		}
		return a.printJSON(map[string]any{key: items})
	}
	w := a.env.Stdout
	if len(list) == 0 {
		if requests {
			fmt.Fprintln(w, "no message requests")
		} else {
			fmt.Fprintln(w, "no conversations")
		}
		return nil
	}
	nm := newNames(s)
	for _, sm := range list {
		name := sm.DisplayName
		if sm.Peer == s.c.SessionID() {
			name = "Note to Self"
		}
		if name == "" {
			name = "-"
		}
		last := ""
		if sm.Last != nil {
			last = " | " + short(strings.ReplaceAll(nm.line(sm.Last), "\n", " "), 100)
		}
		fmt.Fprintf(w, "%s %s unread %d%s\n", sm.Peer, name, sm.Unread, last)
	}
	return nil
}

func (a *app) readCmd(f *chatFlags) *cobra.Command {
	var limit int
	var off bool
	cmd := &cobra.Command{
		Use:   "read ID",
		Short: "Show the conversation with a Session ID and mark it read",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			peer, err := parsePeer(args[0])
			if err != nil {
				return err
			}
			n := optional
			if off {
				n = offline
			}
			s, err := a.openSession(n)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			if err := a.sync(ctx, s); err != nil {
				return err
			}
			hist, err := s.c.Store().History(ctx, peer, limit)
			if err != nil {
				return err
			}
			if _, err := s.c.MarkRead(ctx, peer); err != nil {
				return err
			}
			if s.c.Online() {
				// Send the read receipts now; failures stay queued.
				_ = s.c.FlushOutbox(ctx)
			}
			if a.json {
				msgs := []jsonMessage{}
				for _, m := range hist {
					msgs = append(msgs, toJSON(m))
				}
				return a.printJSON(map[string]any{"conversation": peer.String(), "messages": msgs})
			}
			if len(hist) == 0 {
				fmt.Fprintln(a.env.Stdout, "no messages")
				return nil
			}
			nm := newNames(s)
			for _, m := range hist {
				fmt.Fprintln(a.env.Stdout, nm.line(m))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "show the last N messages (0: all)")
	cmd.Flags().BoolVar(&off, "offline", false, "show what is stored locally without fetching")
	return cmd
}

// peerCmd builds a command that takes one Session ID and runs fn on an
// open session, then flushes the outbox when online.
func (a *app) peerCmd(f *chatFlags, use, short string, n need, fn func(ctx context.Context, s *session, peer identity.SessionID) (string, error)) *cobra.Command {
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
			if n != offline {
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
		func(ctx context.Context, s *session, peer identity.SessionID) (string, error) {
			return "accepted", s.c.Accept(ctx, peer)
		})
}

func (a *app) declineCmd(f *chatFlags) *cobra.Command {
	return a.peerCmd(f, "decline ID", "Decline a message request: delete it and its messages", offline,
		func(ctx context.Context, s *session, peer identity.SessionID) (string, error) {
			return "declined", s.c.Decline(ctx, peer)
		})
}

func (a *app) blockCmd(f *chatFlags, block bool) *cobra.Command {
	use, short, word := "block ID", "Block a Session ID: drop everything it sends", "blocked"
	if !block {
		use, short, word = "unblock ID", "Unblock a Session ID", "unblocked"
	}
	return a.peerCmd(f, use, short, offline, func(ctx context.Context, s *session, peer identity.SessionID) (string, error) {
		return word, s.c.Block(ctx, peer, block)
	})
}

func (a *app) contactsCmd(f *chatFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "contacts",
		Short: "List contacts: accepted, named or blocked Session IDs",
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
				}
				items := []item{}
				for _, c := range list {
					items = append(items, item{c.SessionID.String(), c.DisplayName, c.Approved, c.ApprovedMe, c.Blocked})
				}
				return a.printJSON(map[string]any{"contacts": items})
			}
			if len(list) == 0 {
				fmt.Fprintln(a.env.Stdout, "no contacts")
				return nil
			}
			for _, c := range list {
				name := c.DisplayName
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
				fmt.Fprintf(a.env.Stdout, "%s %s %s\n", c.SessionID, name, strings.Join(flags, ","))
			}
			return nil
		},
	}
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
func (a *app) withMessage(f *chatFlags, peer identity.SessionID, fn func(ctx context.Context, s *session) (*store.Message, error), word string) error {
	s, err := a.openSession(networkReq)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, cancel := a.ctx(f)
	defer cancel()
	if err := a.sync(ctx, s); err != nil {
		return err
	}
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
			s, err := a.openSession(offline)
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
			if a.json {
				return a.printJSON(map[string]string{"display_name": strings.TrimSpace(n)})
			}
			fmt.Fprintf(a.env.Stdout, "display name: %s\n", strings.TrimSpace(n))
			return nil
		},
	}
	name.Flags().DurationVar(&f.timeout, "timeout", 60*time.Second, "give up after this long")
	cmd.AddCommand(name)
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

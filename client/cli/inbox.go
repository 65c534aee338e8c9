package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client/store"
)

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
	return a.synced(f, n, func(ctx context.Context, s *session) error {
		var list []*store.Summary
		var err error
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
	})
}

func (a *app) readCmd(f *chatFlags) *cobra.Command {
	var limit int
	var off bool
	cmd := &cobra.Command{
		Use:   "read ID|ROOM",
		Short: "Show the conversation with a Session ID (or a community room's posts) and mark it read",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isRoom(args[0]) {
				return a.roomRead(f, args[0], limit)
			}
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
				// Send what is due now (read receipts when delays are off);
				// delayed receipts and failures stay queued for the next
				// command that connects.
				_ = s.c.FlushOutbox(ctx)
			}
			if a.json {
				msgs := []messageJSON{}
				for _, m := range hist {
					j, err := withAttachments(ctx, s, m)
					if err != nil {
						return err
					}
					msgs = append(msgs, j)
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
				lines, err := attachmentLines(ctx, s, m)
				if err != nil {
					return err
				}
				for _, l := range lines {
					fmt.Fprintln(a.env.Stdout, l)
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "show the last N messages (0: all)")
	cmd.Flags().BoolVar(&off, "offline", false, "show what is stored locally without fetching")
	return cmd
}

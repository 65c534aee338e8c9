package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/key"
)

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
	self key.SessionID
	db   *store.Store
	memo map[key.SessionID]string
}

func newNames(s *session) *names {
	return &names{self: s.c.SessionID(), db: s.c.Store(), memo: map[key.SessionID]string{}}
}

func (n *names) of(id key.SessionID) string {
	if id == n.self {
		return "me"
	}
	if v, ok := n.memo[id]; ok {
		return v
	}
	v := id.String()[:10] + "…"
	if c, err := n.db.Contact(context.Background(), id); err == nil && c.Name() != "" {
		v = c.Name()
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

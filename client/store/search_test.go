package store

import (
	"context"
	"strings"
	"testing"
)

func TestSearchConversation(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	alice, bob := testID(t, 0xa1), testID(t, 0xb0)
	ins := []*Message{
		{Conversation: bob, Author: bob, Direction: Incoming, SentAt: 10, Body: "Lunch at noon?", State: StateReceived},
		{Conversation: bob, Author: alice, Direction: Outgoing, SentAt: 20, Body: "lunch is fine", State: StateSent},
		{Conversation: bob, Author: bob, Direction: Incoming, SentAt: 30, Body: "100% sure", State: StateReceived},
		{Conversation: bob, Author: bob, Direction: Incoming, SentAt: 40, Body: "a_b and axb", State: StateReceived},
		{Conversation: bob, Author: bob, Direction: Incoming, SentAt: 50, Body: `back\slash`, State: StateReceived},
		{Conversation: alice, Author: alice, Direction: Outgoing, SentAt: 60, Body: "lunch note", State: StateSent},
	}
	for _, m := range ins {
		if _, _, err := s.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		text  string
		limit int
		want  string
	}{
		{"lunch", 0, "lunch is fine,Lunch at noon?"},
		{"LUNCH", 1, "lunch is fine"},
		{"%", 0, "100% sure"},
		{"a_b", 0, "a_b and axb"},
		{"_", 0, "a_b and axb"},
		{`\`, 0, `back\slash`},
		{"dinner", 0, ""},
		{"", 0, ""},
	} {
		got, err := s.SearchConversation(ctx, bob, tc.text, tc.limit)
		if err != nil {
			t.Fatalf("search %q: %v", tc.text, err)
		}
		var bodies []string
		for _, m := range got {
			if m.Conversation != bob {
				t.Errorf("search %q: message of %v", tc.text, m.Conversation)
			}
			bodies = append(bodies, m.Body)
		}
		if g := strings.Join(bodies, ","); g != tc.want {
			t.Errorf("search %q limit %d = %q, want %q", tc.text, tc.limit, g, tc.want)
		}
	}
	if err := s.MarkUnsent(ctx, ins[1].ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.SearchConversation(ctx, bob, "lunch", 0)
	if err != nil || len(got) != 1 || got[0].ID != ins[0].ID {
		t.Errorf("search after unsend = %v, %v", got, err)
	}
}

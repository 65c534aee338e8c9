package client

import (
	"strings"
	"testing"
)

func TestParseRoom(t *testing.T) {
	pk := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in, server, token string
		hasKey, ok        bool
	}{
		{"https://Chat.Example.org/lobby?public_key=" + pk, "https://chat.example.org", "lobby", true, true},
		{"https://chat.example.org:443/lobby/", "https://chat.example.org", "lobby", false, true},
		{"http://127.0.0.1:8080/Room_1", "http://127.0.0.1:8080", "Room_1", false, true},
		{"http://example.org:80/r", "http://example.org", "r", false, true},
		{"https://example.org/", "", "", false, false},
		{"https://example.org/a/b", "", "", false, false},
		{"https://example.org/bad!room", "", "", false, false},
		{"ftp://example.org/r", "", "", false, false},
		{"https://example.org/r?public_key=abcd", "", "", false, false},
		{"05" + pk, "", "", false, false},
	} {
		r, hasKey, err := ParseRoom(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRoom(%q) error = %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (r.Server != tc.server || r.Token != tc.token || hasKey != tc.hasKey) {
			t.Errorf("ParseRoom(%q) = %q %q %v, want %q %q %v", tc.in, r.Server, r.Token, hasKey, tc.server, tc.token, tc.hasKey)
		}
		if tc.ok && tc.hasKey {
			if got, _, err := ParseRoom(r.URL()); err != nil || got != r {
				t.Errorf("ParseRoom(%q.URL()) = %+v, %v; want %+v", tc.in, got, err, r)
			}
		}
	}
}

func TestReactionCounts(t *testing.T) {
	for in, want := range map[string]string{
		``:     `{}`,
		`null`: `{}`,
		`{"👍":{"index":0,"count":2},"x":{"count":0}}`: `{"👍":2}`,
		`[1]`: `{}`,
	} {
		if got := reactionCounts([]byte(in)); got != want {
			t.Errorf("reactionCounts(%s) = %s, want %s", in, got, want)
		}
	}
}

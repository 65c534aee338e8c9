package client

import (
	"crypto/rand"
	"strings"
	"testing"

	"sotto.dev/client/store"
	"sotto.dev/identity"
	"sotto.dev/key"
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

// TestVerifyPostUnblinded: an XEdDSA post signature by the X25519 key
// verifies for the author as 05 (X25519) and as 00 (Ed25519) shows it,
// and not over other data or for another account.
func TestVerifyPostUnblinded(t *testing.T) {
	k, _, err := identity.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := identity.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("a padded post")
	x := k.X25519Private()
	sig, err := identity.XEd25519Sign(&x, data, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	as05 := k.SessionID().String()
	as00 := key.NewSessionID(key.PrefixUnblinded, k.Ed25519Public()).String()
	for _, tc := range []struct {
		author string
		data   string
		want   bool
	}{
		{as05, string(data), true},
		{as00, string(data), true},
		{as05, "another post", false},
		{as00, "another post", false},
		{other.SessionID().String(), string(data), false},
		{key.NewSessionID(key.PrefixUnblinded, other.Ed25519Public()).String(), string(data), false},
		{"03" + as05[2:], string(data), false},
		{"not an id", string(data), false},
	} {
		if got := verifyPost(tc.author, []byte(tc.data), sig[:]); got != tc.want {
			t.Errorf("verifyPost(%.8s…, %q) = %v, want %v", tc.author, tc.data, got, tc.want)
		}
	}
}

func TestRoomFileID(t *testing.T) {
	cm := &store.Community{Server: "https://chat.example.org", Room: "lobby"}
	for _, tc := range []struct {
		url string
		id  int64
	}{
		{"https://chat.example.org/room/lobby/file/12", 12},
		{"https://chat.example.org/room/lobby/file/12/photo.png", 12},
		{"https://chat.example.org/room/other/file/12", 0},
		{"https://evil.example.org/room/lobby/file/12", 0},
		{"https://chat.example.org/room/lobby/file/-3", 0},
		{"https://chat.example.org/room/lobby/file/x", 0},
		{"http://filev2.getsession.org/file/abc", 0},
	} {
		id, err := roomFileID(cm, store.RoomFile{URL: tc.url})
		if id != tc.id || (err == nil) != (tc.id != 0) {
			t.Errorf("roomFileID(%q) = %d, %v; want %d", tc.url, id, err, tc.id)
		}
	}
}

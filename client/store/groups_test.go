package store

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sotto.dev/key"
)

func testGroupID(b byte) key.SessionID {
	var k [32]byte
	for i := range k {
		k[i] = b
	}
	return key.NewSessionID(key.PrefixGroup, k)
}

func TestGroups(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	gid, other := testGroupID(0x31), testGroupID(0x32)
	alice := testID(t, 0xa1)
	if _, err := s.Group(ctx, gid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing group: %v", err)
	}
	g := &Group{ID: gid, Name: "Team", Secret: bytes.Repeat([]byte{7}, 64), State: GroupJoined, JoinedAt: 10, UpdatedAt: 10}
	if err := s.SaveGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	inv := &Group{ID: other, Name: "Invite", AuthData: bytes.Repeat([]byte{9}, 100), State: GroupInvited, Inviter: alice, InvitedAt: 20, UpdatedAt: 20}
	if err := s.SaveGroup(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveGroupDumps(ctx, gid, []byte("keys"), nil, []byte("members"), 30); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveGroupDumps(ctx, gid, nil, []byte("info"), nil, 31); err != nil {
		t.Fatal(err)
	}
	got, err := s.Group(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Admin() || got.Name != "Team" || string(got.KeysDump) != "keys" || string(got.InfoDump) != "info" ||
		string(got.MembersDump) != "members" || got.UpdatedAt != 31 || !got.Inviter.IsZero() {
		t.Errorf("group = %+v", got)
	}
	joined, err := s.Groups(ctx, GroupJoined)
	if err != nil || len(joined) != 1 || joined[0].ID != gid {
		t.Fatalf("joined groups = %v, %v", joined, err)
	}
	if err := s.SetGroupState(ctx, other, GroupJoined, 40); err != nil {
		t.Fatal(err)
	}
	got, err = s.Group(ctx, other)
	if err != nil || got.State != GroupJoined || got.JoinedAt != 40 || got.Admin() || got.Inviter != alice || len(got.AuthData) != 100 {
		t.Fatalf("accepted group = %+v, %v", got, err)
	}
	if all, err := s.Groups(ctx); err != nil || len(all) != 2 {
		t.Fatalf("all groups = %d, %v", len(all), err)
	}
	if err := s.SetGroupState(ctx, testGroupID(0x33), GroupLeft, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("state of a missing group: %v", err)
	}

	// The group's conversation is keyed by its 03 ID and named after it.
	m := &Message{Conversation: gid, Author: alice, Direction: Incoming, SentAt: 50, ReceivedAt: 50, Body: "hi all", State: StateReceived}
	if err := s.EnsureConversation(ctx, gid, 50); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastHash(ctx, gid, "node", 11, "h1", 50); err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Inbox(ctx)
	if err != nil || len(inbox) != 1 || inbox[0].Peer != gid || inbox[0].DisplayName != "Team" || inbox[0].Messages != 1 {
		t.Fatalf("inbox = %+v, %v", inbox, err)
	}
	// Delete-before: messages sent before 50 go, the one at 50 stays.
	old := &Message{Conversation: gid, Author: alice, Direction: Incoming, SentAt: 40, ReceivedAt: 40, Body: "old", State: StateReceived}
	if _, _, err := s.InsertMessage(ctx, old); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteBefore(ctx, gid, 50, 0); err != nil || n != 1 {
		t.Fatalf("delete before = %d, %v", n, err)
	}
	if hist, err := s.History(ctx, gid, 0); err != nil || len(hist) != 1 || hist[0].Body != "hi all" {
		t.Fatalf("history after delete-before = %v, %v", hist, err)
	}
	if err := s.DeleteGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Group(ctx, gid); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted group: %v", err)
	}
	if h, err := s.LastHash(ctx, gid, "node", 11); err != nil || h != "" {
		t.Errorf("last hash after delete = %q, %v", h, err)
	}
	if hist, err := s.History(ctx, gid, 10); err != nil || len(hist) != 0 {
		t.Errorf("history after delete = %d, %v", len(hist), err)
	}
}

// Waiting group messages (and config messages) are kept per group until
// deleted or expired, and go with their group.
func TestGroupWaiting(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	g, other := testGroupID(1), testGroupID(2)
	for _, m := range []WaitingMessage{{Namespace: 13, Hash: "b", Data: []byte{2}, TS: 20, Expires: 1000}, {Namespace: 11, Hash: "a", Data: []byte{1}, TS: 10, Expires: 50}} {
		if err := s.AddGroupWaiting(ctx, g, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddGroupWaiting(ctx, g, WaitingMessage{Hash: "a", Data: []byte{9}, TS: 10, Expires: 50}); err != nil {
		t.Fatal("a message added twice:", err)
	}
	if err := s.AddGroupWaiting(ctx, other, WaitingMessage{Hash: "c", Data: []byte{3}, TS: 1, Expires: 1000}); err != nil {
		t.Fatal(err)
	}
	w, err := s.GroupWaiting(ctx, g, 40)
	if err != nil || len(w) != 2 || w[0].Hash != "a" || w[0].Data[0] != 1 || w[0].Namespace != 11 || w[1].Hash != "b" || w[1].Namespace != 13 {
		t.Fatalf("waiting = %+v, %v", w, err)
	}
	if w, err = s.GroupWaiting(ctx, g, 50); err != nil || len(w) != 1 || w[0].Hash != "b" {
		t.Fatalf("after the first expired: %+v, %v", w, err)
	}
	if err := s.DeleteGroupWaiting(ctx, g, "b"); err != nil {
		t.Fatal(err)
	}
	if w, _ = s.GroupWaiting(ctx, g, 50); len(w) != 0 {
		t.Fatalf("deleted message still waits: %+v", w)
	}
	if err := s.SaveGroup(ctx, &Group{ID: other}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, other); err != nil {
		t.Fatal(err)
	}
	if w, _ = s.GroupWaiting(ctx, other, 0); len(w) != 0 {
		t.Fatalf("a deleted group's messages still wait: %+v", w)
	}
}

// A database from before the waiting config messages keeps its waiting
// group messages, as messages of namespace 11.
func TestMigrateGroupWaiting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "client.db")
	upto := slices.IndexFunc(migrations, func(m string) bool { return strings.Contains(m, "ADD COLUMN namespace") })
	if upto < 0 {
		t.Fatal("no migration adds the namespace of group_waiting")
	}
	all := migrations
	migrations = all[:upto]
	s, err := Open(ctx, path, testKey(4))
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	g := testGroupID(3)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO group_waiting (group_id, hash, data, ts, expires) VALUES (?, 'h', x'01', 5, 100)`, g.String()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, path, testKey(4)); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.GroupWaiting(ctx, g, 0)
	if err != nil || len(w) != 1 || w[0].Namespace != 11 || w[0].Hash != "h" || w[0].TS != 5 || w[0].Expires != 100 {
		t.Fatalf("after the migration: %+v, %v", w, err)
	}
}

package store

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"sotto.dev/key"
)

func TestConfigObjects(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "client.db")
	s, err := Open(ctx, path, testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfigObject(ctx, "contacts"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing object: %v", err)
	}
	if err := s.SaveConfigDump(ctx, "contacts", 3, []byte("dump 1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveConfigDump(ctx, "contacts", 3, []byte("dump 2")); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfigPushed(ctx, "contacts", 0, "no swarm member stored the message"); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfigMerged(ctx, "contacts", 20); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConfigObject(ctx, "contacts")
	if err != nil || !bytes.Equal(got.Dump, []byte("dump 2")) || got.Namespace != 3 || got.LastPush != 0 ||
		got.LastMerge != 20 || got.LastError == "" {
		t.Fatalf("object = %+v, %v", got, err)
	}
	if err := s.ConfigPushed(ctx, "contacts", 30, ""); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Dumps survive a restart.
	if s, err = Open(ctx, path, testKey(3)); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err = s.ConfigObject(ctx, "contacts")
	if err != nil || !bytes.Equal(got.Dump, []byte("dump 2")) || got.LastPush != 30 || got.LastError != "" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

// TestConfigPending checks the bookkeeping of the first fetch: fetched
// namespaces and pending changes survive a restart, a field recorded
// twice keeps its larger value, and clearing is per namespace.
func TestConfigPending(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "client.db")
	s, err := Open(ctx, path, testKey(4))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := s.ConfigFetched(ctx); err != nil || len(f) != 0 {
		t.Fatalf("fetched on a new database: %v, %v", f, err)
	}
	for _, step := range []error{
		s.SetConfigFetched(ctx, 2),
		s.SetConfigFetched(ctx, 2),
		s.AddConfigPending(ctx, 3, ConfigPending{Item: "05bb", Field: "b"}),
		s.AddConfigPending(ctx, 3, ConfigPending{Item: "05aa", Field: "N"}),
		s.AddConfigPending(ctx, 3, ConfigPending{Item: "05aa", Field: "+"}),
		s.AddConfigPending(ctx, 4, ConfigPending{Item: "05aa", Field: "r", Value: 20}),
		s.AddConfigPending(ctx, 4, ConfigPending{Item: "05aa", Field: "r", Value: 10}),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	s.Close()
	if s, err = Open(ctx, path, testKey(4)); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if f, err := s.ConfigFetched(ctx); err != nil || len(f) != 1 || !f[2] {
		t.Fatalf("fetched after reopen: %v, %v", f, err)
	}
	got, err := s.ConfigPendingOf(ctx, 3)
	want := []ConfigPending{{"05aa", "+", 0}, {"05aa", "N", 0}, {"05bb", "b", 0}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("pending in 3: %v, %v; want %v", got, err, want)
	}
	if got, err := s.ConfigPendingOf(ctx, 4); err != nil || !slices.Equal(got, []ConfigPending{{"05aa", "r", 20}}) {
		t.Fatalf("pending in 4: %v, %v", got, err)
	}
	if err := s.DeleteConfigPending(ctx, 3, "05aa"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ConfigPendingOf(ctx, 3); err != nil || !slices.Equal(got, []ConfigPending{{"05bb", "b", 0}}) {
		t.Fatalf("pending in 3 after delete: %v, %v", got, err)
	}
	if err := s.ClearConfigPending(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ConfigPendingOf(ctx, 3); err != nil || len(got) != 0 {
		t.Fatalf("pending in 3 after clear: %v, %v", got, err)
	}
	if got, err := s.ConfigPendingOf(ctx, 4); err != nil || len(got) != 1 {
		t.Fatalf("clearing 3 touched 4: %v, %v", got, err)
	}
}

func TestSyncedContactFields(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	bob, carol, dave := testID(t, 0xb0), testID(t, 0xc0), testID(t, 0xd0)
	for i, id := range []key.SessionID{bob, carol, dave} {
		if err := s.SetApproved(ctx, id, true, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureConversation(ctx, id, int64(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetNickname(ctx, bob, "Bobby", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisplayName(ctx, bob, "Robert", 2); err != nil {
		t.Fatal(err)
	}
	pic := bytes.Repeat([]byte{7}, 32)
	if err := s.SetContactPicture(ctx, bob, "http://f/1", pic, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPriority(ctx, carol, 5, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPriority(ctx, dave, -1, 3); err != nil {
		t.Fatal(err)
	}
	c, err := s.Contact(ctx, bob)
	if err != nil || c.Nickname != "Bobby" || c.Name() != "Bobby" || c.PicURL != "http://f/1" || !bytes.Equal(c.PicKey, pic) {
		t.Fatalf("bob = %+v, %v", c, err)
	}
	// Pinned first, then by activity; hidden left out; nicknames shown.
	inbox, err := s.Inbox(ctx)
	if err != nil || len(inbox) != 2 || inbox[0].Peer != carol || inbox[0].Priority != 5 || inbox[1].Peer != bob ||
		inbox[1].DisplayName != "Bobby" {
		t.Fatalf("inbox = %+v, %v", inbox, err)
	}
	// The read position only moves forward, and only on a conversation
	// that exists.
	for _, at := range []int64{50, 40} {
		if err := s.SetReadUpTo(ctx, bob, at); err != nil {
			t.Fatal(err)
		}
	}
	if conv, err := s.Conversation(ctx, bob); err != nil || conv.ReadUpTo != 50 {
		t.Fatalf("read position = %+v, %v", conv, err)
	}
	other := testID(t, 0xe0)
	if err := s.SetReadUpTo(ctx, other, 50); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(ctx, other); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a read position made a conversation: %v", err)
	}
}

package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sotto.dev/key"
)

func testKey(b byte) (k [KeySize]byte) {
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func testID(t *testing.T, b byte) key.SessionID {
	t.Helper()
	var k [32]byte
	for i := range k {
		k[i] = b
	}
	return key.NewSessionID(key.PrefixStandard, k)
}

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "client.db"), testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "client.db")
	s, err := Open(ctx, path, testKey(7))
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := testID(t, 0xa1), testID(t, 0xb0)
	m := &Message{Conversation: bob, Author: alice, Direction: Outgoing, SentAt: 1000, ReceivedAt: 1000, Body: "hi", State: StateSent}
	if _, _, err := s.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "profile_name", "Alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path, testKey(7))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Message(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != "hi" || got.Author != alice || got.Conversation != bob || got.State != StateSent {
		t.Errorf("after reopen: %+v", got)
	}
	v, ok, err := s.Setting(ctx, "profile_name")
	if err != nil || !ok || v != "Alice" {
		t.Errorf("setting = %q %v %v", v, ok, err)
	}
	var ver int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&ver); err != nil || ver != SchemaVersion {
		t.Errorf("user_version = %d, %v; want %d", ver, err, SchemaVersion)
	}
}

func TestWrongKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "client.db")
	s, err := Open(ctx, path, testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, path, testKey(2))
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with another key: %v, want ErrWrongKey", err)
	}
}

// TestNoPlaintextOnDisk writes distinctive text through every table that
// holds user data and checks that no file the database left on disk (main
// file, WAL, shared memory) contains it.
func TestNoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "client.db"), testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "the-eagle-lands-at-midnight"
	alice, bob := testID(t, 0xa1), testID(t, 0xb0)
	for i := range 50 {
		m := &Message{Conversation: bob, Author: bob, Direction: Incoming, SentAt: int64(i), Body: secret, State: StateReceived}
		if _, _, err := s.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDisplayName(ctx, bob, secret, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "profile_name", secret); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, &OutboxItem{Kind: OutboxMessage, Account: alice, Data: []byte(secret)}); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var files int
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files++
			for _, needle := range [][]byte{[]byte(secret), []byte(bob.String()), []byte("CREATE TABLE"), []byte("SQLite format 3")} {
				if bytes.Contains(b, needle) {
					t.Errorf("%s: %s contains %q in plaintext", stage, e.Name(), needle)
				}
			}
		}
		if files == 0 {
			t.Fatalf("%s: no database files on disk", stage)
		}
	}
	check("open") // WAL holds the recent writes
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed") // checkpointed into the main file
}

func TestInsertDedupAndHistory(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	alice, bob := testID(t, 0xa1), testID(t, 0xb0)
	ins := []*Message{
		{Conversation: bob, Author: bob, Direction: Incoming, SentAt: 30, Body: "c", State: StateReceived},
		{Conversation: bob, Author: alice, Direction: Outgoing, SentAt: 10, Body: "a", State: StateSending},
		{Conversation: bob, Author: bob, Direction: Incoming, SentAt: 20, Body: "b", State: StateReceived, Quote: &Ref{Author: alice, SentAt: 10}},
		{Conversation: alice, Author: alice, Direction: Outgoing, SentAt: 15, Body: "note", State: StateSent},
	}
	for _, m := range ins {
		if _, inserted, err := s.InsertMessage(ctx, m); err != nil || !inserted {
			t.Fatalf("insert %q: %v %v", m.Body, inserted, err)
		}
	}
	dup := &Message{Conversation: bob, Author: bob, Direction: Incoming, SentAt: 20, Body: "b again", State: StateReceived}
	id, inserted, err := s.InsertMessage(ctx, dup)
	if err != nil || inserted || id != ins[2].ID || dup.ID != ins[2].ID {
		t.Fatalf("duplicate insert: id %d inserted %v err %v, want id %d", id, inserted, err, ins[2].ID)
	}
	h, err := s.History(ctx, bob, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range h {
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, ",") != "a,b,c" {
		t.Errorf("history = %v, want a,b,c", bodies)
	}
	if q := h[1].Quote; q == nil || q.Author != alice || q.SentAt != 10 {
		t.Errorf("quote = %+v", q)
	}
	last2, err := s.History(ctx, bob, 2)
	if err != nil || len(last2) != 2 || last2[0].Body != "b" || last2[1].Body != "c" {
		t.Errorf("History(limit 2) = %v, %v", last2, err)
	}
	m, err := s.FindMessage(ctx, bob, Ref{Author: alice, SentAt: 10})
	if err != nil || m.Body != "a" {
		t.Errorf("FindMessage = %v, %v", m, err)
	}
	if _, err := s.FindMessage(ctx, bob, Ref{Author: alice, SentAt: 11}); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindMessage(missing) err = %v", err)
	}
	if _, err := s.Message(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Message(missing) err = %v", err)
	}
}

func TestOutgoingStates(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	alice, bob := testID(t, 0xa1), testID(t, 0xb0)
	var ids []int64
	for i := range 3 {
		m := &Message{Conversation: bob, Author: alice, Direction: Outgoing, SentAt: int64(100 + i), Body: "x", State: StateSending}
		if _, _, err := s.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	if err := s.SetSent(ctx, ids[0], "hash0"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSent(ctx, ids[1], "hash1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetState(ctx, ids[2], StateFailed); err != nil {
		t.Fatal(err)
	}
	ch, err := s.AdvanceOutgoing(ctx, bob, alice, []int64{100, 101, 102}, StateDelivered, 0)
	if err != nil || len(ch) != 2 {
		t.Fatalf("delivered: %d changed, %v; want 2 (not the failed one)", len(ch), err)
	}
	ch, err = s.AdvanceOutgoing(ctx, bob, alice, []int64{100, 101}, StateDelivered, 0)
	if err != nil || len(ch) != 0 {
		t.Fatalf("delivered twice: %d changed, %v", len(ch), err)
	}
	ch, err = s.AdvanceOutgoing(ctx, bob, alice, []int64{100}, StateRead, 555)
	if err != nil || len(ch) != 1 || ch[0].ReadAt != 555 {
		t.Fatalf("read: %v, %v", ch, err)
	}
	// A late delivery receipt does not move a read message back.
	if ch, _ := s.AdvanceOutgoing(ctx, bob, alice, []int64{100}, StateDelivered, 0); len(ch) != 0 {
		t.Errorf("delivery after read changed %d messages", len(ch))
	}
	want := []State{StateRead, StateDelivered, StateFailed}
	for i, id := range ids {
		m, err := s.Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.State != want[i] {
			t.Errorf("message %d state %v, want %v", i, m.State, want[i])
		}
	}
	// SetSent after a receipt does not downgrade.
	if err := s.SetSent(ctx, ids[0], "hash0"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message(ctx, ids[0]); m.State != StateRead {
		t.Errorf("SetSent downgraded read to %v", m.State)
	}
	if err := s.SetState(ctx, 12345, StateSent); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetState(missing) = %v", err)
	}
}

func TestMarkReadAndExpiry(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	bob := testID(t, 0xb0)
	msgs := []*Message{
		{Conversation: bob, Author: bob, SentAt: 10, Body: "plain", State: StateReceived},
		{Conversation: bob, Author: bob, SentAt: 20, Body: "after read", State: StateReceived, ExpiryMode: ExpiryAfterRead, ExpiryTimer: 60},
		{Conversation: bob, Author: bob, SentAt: 30, Body: "after send", State: StateReceived, ExpiryMode: ExpiryAfterSend, ExpiryTimer: 5, ExpiresAt: 5030},
		{Conversation: bob, Author: bob, SentAt: 40, Body: "later", State: StateReceived},
	}
	for _, m := range msgs {
		if _, _, err := s.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	read, err := s.MarkRead(ctx, bob, 30, 1000)
	if err != nil || len(read) != 3 {
		t.Fatalf("MarkRead: %d, %v", len(read), err)
	}
	if read[1].ExpiresAt != 1000+60_000 {
		t.Errorf("after-read expiry = %d, want %d", read[1].ExpiresAt, 61000)
	}
	if read[2].ExpiresAt != 5030 {
		t.Errorf("after-send expiry changed to %d", read[2].ExpiresAt)
	}
	inbox, err := s.Inbox(ctx)
	if err != nil || len(inbox) != 0 {
		t.Fatalf("inbox without conversation row: %v %v", inbox, err)
	}
	if err := s.EnsureConversation(ctx, bob, 40); err != nil {
		t.Fatal(err)
	}
	inbox, err = s.Inbox(ctx)
	if err != nil || len(inbox) != 1 || inbox[0].Unread != 1 || inbox[0].Messages != 4 || inbox[0].Last.Body != "later" {
		t.Fatalf("inbox = %+v, %v", inbox, err)
	}
	next, err := s.NextExpiry(ctx)
	if err != nil || next != 5030 {
		t.Errorf("NextExpiry = %d, %v", next, err)
	}
	due, err := s.DueExpiries(ctx, 6000)
	if err != nil || len(due) != 1 || due[0].Body != "after send" {
		t.Fatalf("DueExpiries(6000) = %v, %v", due, err)
	}
	due, err = s.DueExpiries(ctx, 61000)
	if err != nil || len(due) != 2 {
		t.Fatalf("DueExpiries(61000) = %d, %v", len(due), err)
	}
	for _, m := range due {
		if err := s.DeleteMessage(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := s.History(ctx, bob, 0)
	if len(h) != 2 {
		t.Errorf("history after expiry has %d messages, want 2", len(h))
	}
}

func TestUnsendAndReactions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	alice, bob := testID(t, 0xa1), testID(t, 0xb0)
	m := &Message{Conversation: bob, Author: alice, Direction: Outgoing, SentAt: 5, Body: "oops", State: StateSent, Quote: &Ref{Author: bob, SentAt: 1}}
	if _, _, err := s.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who   key.SessionID
		emoji string
		add   bool
		want  bool
	}{
		{bob, "👍", true, true},
		{bob, "👍", true, false},
		{alice, "😂", true, true},
		{bob, "🎉", false, false},
	} {
		changed, err := s.SetReaction(ctx, m.ID, tc.who, tc.emoji, tc.add, 7)
		if err != nil || changed != tc.want {
			t.Errorf("SetReaction(%s, %v) = %v, %v; want %v", tc.emoji, tc.add, changed, err, tc.want)
		}
	}
	got, _ := s.Message(ctx, m.ID)
	if len(got.Reactions) != 2 {
		t.Fatalf("reactions = %+v", got.Reactions)
	}
	if err := s.MarkUnsent(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Message(ctx, m.ID)
	if !got.Unsent || got.Body != "" || got.Quote != nil || len(got.Reactions) != 0 {
		t.Errorf("after unsend: %+v", got)
	}
}

func TestContactsAndRequests(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	bob, carol, dave := testID(t, 0xb0), testID(t, 0xc0), testID(t, 0xd0)
	if _, err := s.Contact(ctx, bob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown contact: %v", err)
	}
	if err := s.SetApproved(ctx, bob, true, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisplayName(ctx, bob, "Bob", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBlocked(ctx, dave, true, 3); err != nil {
		t.Fatal(err)
	}
	c, err := s.Contact(ctx, bob)
	if err != nil || !c.Approved || c.Blocked || c.DisplayName != "Bob" || c.CreatedAt != 1 || c.UpdatedAt != 2 {
		t.Fatalf("bob = %+v, %v", c, err)
	}
	for _, id := range []key.SessionID{bob, carol, dave} {
		if err := s.EnsureConversation(ctx, id, 10); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRequest(ctx, carol, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRequest(ctx, carol, 20); err != nil {
		t.Fatal(err)
	}
	req, err := s.Requests(ctx)
	if err != nil || len(req) != 1 || req[0].Peer != carol {
		t.Fatalf("requests = %v, %v", req, err)
	}
	inbox, err := s.Inbox(ctx)
	if err != nil || len(inbox) != 1 || inbox[0].Peer != bob || inbox[0].DisplayName != "Bob" {
		t.Fatalf("inbox (bob only; carol is a request, dave blocked) = %v, %v", inbox, err)
	}
	if ok, _ := s.IsRequest(ctx, carol); !ok {
		t.Error("carol is not a request")
	}
	if ok, err := s.RemoveRequest(ctx, carol); !ok || err != nil {
		t.Errorf("RemoveRequest = %v, %v", ok, err)
	}
	if ok, _ := s.RemoveRequest(ctx, carol); ok {
		t.Error("RemoveRequest twice reported a removal")
	}
	list, err := s.Contacts(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("contacts = %v, %v (want bob and blocked dave)", list, err)
	}
	if err := s.SetDisappearing(ctx, bob, ExpiryAfterSend, 30, 11); err != nil {
		t.Fatal(err)
	}
	conv, err := s.Conversation(ctx, bob)
	if err != nil || conv.ExpiryMode != ExpiryAfterSend || conv.ExpiryTimer != 30 {
		t.Errorf("conversation = %+v, %v", conv, err)
	}
	if err := s.SetDisappearing(ctx, bob, ExpiryOff, 30, 12); err != nil {
		t.Fatal(err)
	}
	if conv, _ := s.Conversation(ctx, bob); conv.ExpiryMode != ExpiryOff || conv.ExpiryTimer != 0 {
		t.Errorf("off: %+v", conv)
	}
	m := &Message{Conversation: carol, Author: carol, SentAt: 1, Body: "x", State: StateReceived}
	if _, _, err := s.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConversation(ctx, carol); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(ctx, carol); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted conversation: %v", err)
	}
	if h, _ := s.History(ctx, carol, 0); len(h) != 0 {
		t.Errorf("deleted conversation keeps %d messages", len(h))
	}
}

func TestSyncState(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	alice := testID(t, 0xa1)
	if h, err := s.LastHash(ctx, alice, "node1", 0); err != nil || h != "" {
		t.Fatalf("initial last hash %q %v", h, err)
	}
	if err := s.SetLastHash(ctx, alice, "node1", 0, "h1", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastHash(ctx, alice, "node1", 0, "h2", 2); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.LastHash(ctx, alice, "node1", 0); h != "h2" {
		t.Errorf("last hash = %q", h)
	}
	if h, _ := s.LastHash(ctx, alice, "node2", 0); h != "" {
		t.Errorf("other node's last hash = %q", h)
	}
	if fresh, err := s.MarkSeen(ctx, "x", 100); !fresh || err != nil {
		t.Errorf("first MarkSeen = %v %v", fresh, err)
	}
	if fresh, err := s.MarkSeen(ctx, "x", 200); fresh || err != nil {
		t.Errorf("second MarkSeen = %v %v", fresh, err)
	}
	if n, _ := s.PruneSeen(ctx, 150); n != 0 {
		t.Errorf("pruned %d before the extended expiry", n)
	}
	if n, _ := s.PruneSeen(ctx, 201); n != 1 {
		t.Errorf("pruned %d after expiry", n)
	}
	if seen, _ := s.Seen(ctx, "x"); seen {
		t.Error("pruned hash still seen")
	}
}

func TestOutbox(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	alice, bob := testID(t, 0xa1), testID(t, 0xb0)
	m := &Message{Conversation: bob, Author: alice, Direction: Outgoing, SentAt: 1, Body: "x", State: StateSending}
	if _, _, err := s.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	a := &OutboxItem{MessageID: m.ID, Kind: OutboxMessage, Account: bob, Data: []byte{1, 2}, Timestamp: 1, Expiry: 99}
	b := &OutboxItem{Kind: OutboxControl, Account: bob, Data: []byte{3}, Timestamp: 2, Expiry: 99, NextAttempt: 50}
	for _, it := range []*OutboxItem{a, b} {
		if err := s.Enqueue(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.DueOutbox(ctx, 10, 10)
	if err != nil || len(due) != 1 || due[0].ID != a.ID || due[0].MessageID != m.ID || !bytes.Equal(due[0].Data, []byte{1, 2}) || due[0].Account != bob {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if err := s.RetryLater(ctx, a.ID, 100, "timeout"); err != nil {
		t.Fatal(err)
	}
	got, err := s.OutboxItem(ctx, a.ID)
	if err != nil || got.Attempts != 1 || got.NextAttempt != 100 || got.LastError != "timeout" {
		t.Fatalf("after retry: %+v, %v", got, err)
	}
	if at, ok, _ := s.NextOutbox(ctx); !ok || at != 50 {
		t.Errorf("NextOutbox = %d %v", at, ok)
	}
	// Deleting the message drops its pending sends.
	if err := s.DeleteMessage(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxLen(ctx); n != 1 {
		t.Errorf("outbox has %d items after deleting the message, want 1", n)
	}
	if err := s.RemoveOutbox(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.NextOutbox(ctx); ok {
		t.Error("outbox not empty")
	}
	// The id of a removed item is never given to a later one: a worker
	// holding the old item must not be able to remove the new one.
	c := &OutboxItem{Kind: OutboxControl, Account: bob, Data: []byte{4}, Timestamp: 3, Expiry: 99}
	if err := s.Enqueue(ctx, c); err != nil {
		t.Fatal(err)
	}
	if c.ID == a.ID || c.ID == b.ID {
		t.Errorf("new outbox item got the id %d of a removed one (%d, %d)", c.ID, a.ID, b.ID)
	}
}

// TestMigrateOutbox opens a database of schema 1 with items waiting in
// its outbox: they survive the migration, and ids are not reused after it.
func TestMigrateOutbox(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "client.db")
	all := migrations
	migrations = all[:1]
	s, err := Open(ctx, path, testKey(3))
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	bob := testID(t, 0xb0)
	var items []*OutboxItem
	for i := range 3 {
		it := &OutboxItem{Kind: OutboxControl, Account: bob, Data: []byte{byte(i)}, Timestamp: int64(i), Expiry: 99}
		if err := s.Enqueue(ctx, it); err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	if err := s.RemoveOutbox(ctx, items[2].ID); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path, testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	due, err := s.DueOutbox(ctx, 10, 10)
	if err != nil || len(due) != 2 || due[0].ID != items[0].ID || due[1].ID != items[1].ID || due[1].Data[0] != 1 {
		t.Fatalf("after migration: %+v, %v", due, err)
	}
	it := &OutboxItem{Kind: OutboxControl, Account: bob, Data: []byte{9}, Timestamp: 9, Expiry: 99}
	if err := s.Enqueue(ctx, it); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveOutbox(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	it2 := &OutboxItem{Kind: OutboxControl, Account: bob, Data: []byte{10}, Timestamp: 10, Expiry: 99}
	if err := s.Enqueue(ctx, it2); err != nil {
		t.Fatal(err)
	}
	if it2.ID == it.ID {
		t.Errorf("id %d reused after the migration", it.ID)
	}
}

func TestUpdateRollsBack(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.SetSetting(ctx, "k", "v"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	if _, ok, _ := s.Setting(ctx, "k"); ok {
		t.Error("rolled-back write is visible")
	}
}

// TestHistoryTieOrder: two authors writing in the same millisecond are
// ordered the same way whatever order the messages arrived in.
func TestHistoryTieOrder(t *testing.T) {
	ctx := context.Background()
	alice, bob := testID(t, 0xa1), testID(t, 0xb0)
	var orders [2][]string
	for i, first := range []key.SessionID{alice, bob} {
		s := openTest(t)
		second := bob
		if first == bob {
			second = alice
		}
		for _, who := range []key.SessionID{first, second} {
			m := &Message{Conversation: bob, Author: who, SentAt: 42, Body: who.String()[:4], State: StateReceived}
			if _, _, err := s.InsertMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		h, err := s.History(ctx, bob, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range h {
			orders[i] = append(orders[i], m.Body)
		}
	}
	if strings.Join(orders[0], ",") != strings.Join(orders[1], ",") {
		t.Errorf("order depends on arrival: %v vs %v", orders[0], orders[1])
	}
}

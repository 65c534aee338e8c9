package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/config/groups"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

// TestGroupMessageWaitsForKey: a group message that arrives before the
// key message that opens it (a rekey stored while the member's batch
// retrieve ran) is applied when the key arrives, not lost.
func TestGroupMessageWaitsForKey(t *testing.T) {
	ctx := context.Background()
	member := newAccount(t, "member")
	c, err := Open(Config{Home: t.TempDir()}, member.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	adminKeys := newAccount(t, "admin").kf.Keys
	pub, secret, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := groups.Open(groups.Options{User: adminKeys.Ed25519Private(), Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	ids := []key.SessionID{adminKeys.SessionID(), member.id()}
	keyMsg := func() []byte {
		msg, err := admin.Keys.Rekey(ids)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.LoadKeyMessage(storagerpc.MessageHash(storagerpc.AccountFromSessionID(admin.ID()), 12, msg), msg, 1); err != nil {
			t.Fatal(err)
		}
		return msg
	}
	gen0 := keyMsg()
	gen1 := keyMsg()
	gid := key.NewSessionID(key.PrefixGroup, [32]byte(pub))
	row := &store.Group{ID: gid, AuthData: make([]byte, 100), State: store.GroupJoined}
	if err := c.db.SaveGroup(ctx, row); err != nil {
		t.Fatal(err)
	}
	og, err := c.openGroupRow(row)
	if err != nil {
		t.Fatal(err)
	}
	// The message, sealed with generation 1.
	body, _ := proto.Marshal(&wire.Content{DataMessage: &wire.DataMessage{Body: proto.String("late key")}})
	env, _ := proto.Marshal(&wire.Envelope{Type: wire.Envelope_CLOSED_GROUP_MESSAGE.Enum(), Timestamp: proto.Uint64(5000), Content: body})
	ct, err := admin.Keys.EncryptMessage(env, true, groupPadding)
	if err != nil {
		t.Fatal(err)
	}
	acct := storagerpc.AccountFromSessionID(gid)
	retrieved := func(ns storagerpc.Namespace, data []byte) []storagerpc.RetrievedMessage {
		return []storagerpc.RetrievedMessage{{Hash: storagerpc.MessageHash(acct, ns, data), Timestamp: 2, Expiration: c.nowMillis() + 60_000, Data: data}}
	}
	poll := func(keys, msgs []storagerpc.RetrievedMessage) {
		t.Helper()
		p := &groupPoll{lastHashes: make([]string, 4), resps: []*storagerpc.RetrieveResponse{
			{Messages: keys}, {}, {}, {Messages: msgs},
		}}
		if _, err := c.ingestGroup(ctx, og, p); err != nil {
			t.Fatal(err)
		}
	}
	history := func() []*store.Message {
		h, err := c.db.History(ctx, gid, 0)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// First retrieve: generation 0 and the message (generation 1).
	poll(retrieved(12, gen0), retrieved(11, ct))
	if h := history(); len(h) != 0 {
		t.Fatalf("applied before its key: %+v", h)
	}
	// The waiting message is in the store: a client that restarts (the
	// group opened again from its row) still has it.
	saved, err := c.db.Group(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if og, err = c.openGroupRow(saved); err != nil {
		t.Fatal(err)
	}
	if len(og.later) != 1 || og.later[0].Hash != storagerpc.MessageHash(acct, 11, ct) {
		t.Fatalf("after a restart %d messages wait for their key, want the one", len(og.later))
	}
	// Second: the message again (seen: skipped) and generation 1.
	poll(retrieved(12, gen1), retrieved(11, ct))
	h := history()
	if len(h) != 1 || h[0].Body != "late key" || h[0].Author != adminKeys.SessionID() || h[0].SentAt != 5000 {
		t.Fatalf("history after the key = %+v", h)
	}
	if w, err := c.db.GroupWaiting(ctx, gid, c.nowMillis()); err != nil || len(w) != 0 {
		t.Errorf("%d messages still wait in the store after their key came (%v)", len(w), err)
	}
	// Once only.
	poll(retrieved(12, gen1), nil)
	if len(history()) != 1 {
		t.Error("applied twice")
	}
}

// TestGroupUnsendQueued: unsending a group message whose store has not
// been recorded (queued, or being stored right now) names it by the hash
// of its sealed bytes, so that it is deleted wherever it got to.
func TestGroupUnsendQueued(t *testing.T) {
	ctx := context.Background()
	member := newAccount(t, "member")
	c, err := Open(Config{Home: t.TempDir()}, member.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	adminKeys := newAccount(t, "admin").kf.Keys
	admin, err := groups.Open(groups.Options{User: adminKeys.Ed25519Private(), Secret: mustGroupKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := admin.Keys.Rekey([]key.SessionID{adminKeys.SessionID(), member.id()})
	if err != nil {
		t.Fatal(err)
	}
	gid := admin.ID()
	row := &store.Group{ID: gid, AuthData: make([]byte, 100), State: store.GroupJoined}
	if err := c.db.SaveGroup(ctx, row); err != nil {
		t.Fatal(err)
	}
	og, err := c.openGroupRow(row)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := og.g.LoadKeyMessage("h0", msg, 1); err != nil {
		t.Fatal(err)
	}
	m, err := c.Send(ctx, gid, "queued", SendOptions{})
	if !errors.Is(err, ErrNoNetwork) {
		t.Fatalf("offline send: %v", err)
	}
	items, err := c.db.OutboxFor(ctx, m.ID)
	if err != nil || len(items) != 1 || items[0].Account != gid {
		t.Fatalf("outbox = %+v, %v", items, err)
	}
	want := storagerpc.MessageHash(storagerpc.AccountFromSessionID(gid), storagerpc.NamespaceGroupMessages, items[0].Data)
	if _, err := c.Unsend(ctx, gid, m.ID); err != nil {
		t.Fatal(err)
	}
	due, err := c.db.DueOutbox(ctx, c.nowMillis()+1, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("outbox after unsend = %+v, %v", due, err)
	}
	_, _, content, err := decodeGroup(og, due[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	dc := content.GetDataMessage().GetGroupUpdateMessage().GetDeleteMemberContent()
	if dc == nil || len(dc.MessageHashes) != 1 || dc.MessageHashes[0] != want || dc.AdminSignature != nil {
		t.Errorf("delete = %v, want hash %s without an admin signature", dc, want)
	}
}

func mustGroupKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, sk, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

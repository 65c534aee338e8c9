package client

import (
	"context"
	"crypto/ed25519"
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
	// Second: the message again (seen: skipped) and generation 1.
	poll(retrieved(12, gen1), retrieved(11, ct))
	h := history()
	if len(h) != 1 || h[0].Body != "late key" || h[0].Author != adminKeys.SessionID() || h[0].SentAt != 5000 {
		t.Fatalf("history after the key = %+v", h)
	}
	// Once only.
	poll(retrieved(12, gen1), nil)
	if len(history()) != 1 {
		t.Error("applied twice")
	}
}

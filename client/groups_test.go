package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/config/groups"
	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

// TestGroupMessageWaitsForKey: a group message that arrives before the
// key message that opens it (a rekey stored while the member's batch
// retrieve ran) is applied when the key arrives, not lost.
func TestGroupMessageWaitsForKey(t *testing.T) {
	ctx := context.Background()
	f := newGroupSetup(t, Config{})
	c, admin, adminKeys, gid, og := f.c, f.admin, f.adminKeys, f.gid, f.og
	ids := []key.SessionID{adminKeys.SessionID(), f.member.id()}
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
	f := newGroupSetup(t, Config{})
	c, gid, og := f.c, f.gid, f.og
	msg, err := f.admin.Keys.Rekey([]key.SessionID{f.adminKeys.SessionID(), f.member.id()})
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

// groupSetup is a member's client with a group it has joined: the row
// saved as joined and opened (og), nothing retrieved yet. The group's
// admin is another account, with the group as its own groups.Group.
type groupSetup struct {
	member    *account
	c         *Client
	adminKeys *identity.Keys
	admin     *groups.Group
	gid       key.SessionID
	og        *openGroup
}

// newGroupSetup opens the member's client with cfg (in a temporary Home
// when cfg has none); the client is closed when the test ends.
func newGroupSetup(t *testing.T, cfg Config) *groupSetup {
	t.Helper()
	f := &groupSetup{member: newAccount(t, "member"), adminKeys: newAccount(t, "admin").kf.Keys}
	if cfg.Home == "" {
		cfg.Home = t.TempDir()
	}
	c, err := Open(cfg, f.member.kf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_, secret, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.admin, err = groups.Open(groups.Options{User: f.adminKeys.Ed25519Private(), Secret: secret}); err != nil {
		t.Fatal(err)
	}
	f.c, f.gid = c, f.admin.ID()
	row := &store.Group{ID: f.gid, AuthData: make([]byte, 100), State: store.GroupJoined}
	if err := c.db.SaveGroup(context.Background(), row); err != nil {
		t.Fatal(err)
	}
	if f.og, err = c.openGroupRow(row); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestGroupConfigWaitsForKey: an info or members config message pushed
// under a key the member does not have yet (the key message reached the
// polled node after the config, or another admin's rekey) waits for that
// key, across a restart too, and is merged when the key arrives; it is not
// dropped behind the retrieve position.
func TestGroupConfigWaitsForKey(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	f := newGroupSetup(t, Config{Home: home})
	c, member, adminKeys, admin, gid, og := f.c, f.member, f.adminKeys, f.admin, f.gid, f.og
	acct := storagerpc.AccountFromSessionID(gid)
	retrieved := func(ns storagerpc.Namespace, data []byte) storagerpc.RetrievedMessage {
		return storagerpc.RetrievedMessage{Hash: storagerpc.MessageHash(acct, ns, data), Timestamp: 2, Expiration: c.nowMillis() + 60_000, Data: data}
	}
	// rekey makes the next generation and returns its key message.
	rekey := func() storagerpc.RetrievedMessage {
		t.Helper()
		msg, err := admin.Rekey()
		if err != nil {
			t.Fatal(err)
		}
		m := retrieved(storagerpc.NamespaceGroupKeys, msg)
		if _, err := admin.LoadKeyMessage(m.Hash, m.Data, 1); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// push returns the admin's info and members messages.
	push := func() (info, members storagerpc.RetrievedMessage) {
		t.Helper()
		var out [2]storagerpc.RetrievedMessage
		for i, cfg := range []*config.Config{admin.Info.Config, admin.Members.Config} {
			p, err := cfg.Push()
			if err != nil || len(p.Messages) != 1 {
				t.Fatalf("push: %d messages, %v", len(p.Messages), err)
			}
			out[i] = retrieved(groupConfigSpaces[i], p.Messages[0])
			cfg.ConfirmPushed(p.Seqno, out[i].Hash)
		}
		return out[0], out[1]
	}
	for _, id := range []key.SessionID{adminKeys.SessionID(), member.id()} {
		if err := admin.Members.Set(groups.NewMember(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.Info.SetName("first"); err != nil {
		t.Fatal(err)
	}
	gen0 := rekey()
	info0, members0 := push()
	gen1 := rekey()
	if err := admin.Info.SetName("second"); err != nil {
		t.Fatal(err)
	}
	m := groups.NewMember(member.id())
	if err := m.SetName("named under gen 1"); err != nil {
		t.Fatal(err)
	}
	if err := admin.Members.Set(m); err != nil {
		t.Fatal(err)
	}
	info1, members1 := push()

	poll := func(og *openGroup, keys, info, members []storagerpc.RetrievedMessage) {
		t.Helper()
		p := &groupPoll{lastHashes: make([]string, 4), resps: []*storagerpc.RetrieveResponse{
			{Messages: keys}, {Messages: info}, {Messages: members}, {},
		}}
		if _, err := c.ingestGroup(ctx, og, p); err != nil {
			t.Fatal(err)
		}
	}
	view := func(og *openGroup) (name, memberName string) {
		og.mu.Lock()
		defer og.mu.Unlock()
		mm, _ := og.g.Members.Get(member.id())
		return og.g.Info.Name(), mm.Name
	}
	waiting := func() []store.WaitingMessage {
		t.Helper()
		w, err := c.db.GroupWaiting(ctx, gid, c.nowMillis())
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	// The first retrieve brings generation 0 and both generations' configs.
	poll(og, []storagerpc.RetrievedMessage{gen0}, []storagerpc.RetrievedMessage{info0, info1}, []storagerpc.RetrievedMessage{members0, members1})
	if name, mn := view(og); name != "first" || mn != "" {
		t.Fatalf("before the key: info %q, member name %q; want generation 0's", name, mn)
	}
	w := waiting()
	if len(w) != 2 || !slices.ContainsFunc(w, func(x store.WaitingMessage) bool { return x.Hash == info1.Hash && x.Namespace == 13 }) ||
		!slices.ContainsFunc(w, func(x store.WaitingMessage) bool { return x.Hash == members1.Hash && x.Namespace == 14 }) {
		t.Fatalf("waiting in the store: %+v; want the generation 1 info and members", w)
	}
	// Retrieved again from another node before the key: still one each.
	poll(og, nil, []storagerpc.RetrievedMessage{info1}, nil)
	if n := len(og.laterConfigs[0]) + len(og.laterConfigs[1]); n != 2 || len(waiting()) != 2 {
		t.Fatalf("%d config messages wait, %d in the store; want 2", n, len(waiting()))
	}
	// The key message comes in a later retrieve, with nothing else.
	poll(og, []storagerpc.RetrievedMessage{gen1}, nil, nil)
	if name, mn := view(og); name != "second" || mn != "named under gen 1" {
		t.Fatalf("after the key: info %q, member name %q; want generation 1's", name, mn)
	}
	if w := waiting(); len(w) != 0 {
		t.Errorf("%d config messages still wait after their key came", len(w))
	}
	saved, err := c.db.Group(ctx, gid)
	if err != nil || saved.Name != "second" {
		t.Fatalf("saved group name %q, %v", saved.Name, err)
	}

	// Across a restart: the group is disbanded under generation 2, which
	// comes after the client restarted.
	gen2 := rekey()
	if err := admin.Info.Destroy(); err != nil {
		t.Fatal(err)
	}
	info2, _ := push()
	poll(og, nil, []storagerpc.RetrievedMessage{info2}, nil)
	if og.g.Info.Destroyed() || groupStateOf(t, c, gid) != store.GroupJoined {
		t.Fatal("disbanded before the key")
	}
	c.Close()
	if c, err = Open(Config{Home: home}, member.kf); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if og, err = c.group(gid); err != nil {
		t.Fatal(err)
	}
	if len(og.laterConfigs[0]) != 1 || og.laterConfigs[0][0].Hash != info2.Hash {
		t.Fatalf("after the restart %d info messages wait, want the disband", len(og.laterConfigs[0]))
	}
	poll(og, []storagerpc.RetrievedMessage{gen2}, nil, nil)
	if st := groupStateOf(t, c, gid); st != store.GroupDestroyed {
		t.Fatalf("group %v after the key of the disband, want destroyed", st)
	}
}

// TestGroupConfigWaitGivenUp: a waiting config message that expires, or
// that a new key opens but which is not valid, is forgotten.
func TestGroupConfigWaitGivenUp(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Now()}
	f := newGroupSetup(t, Config{Clock: clock})
	c, admin, gid, og := f.c, f.admin, f.gid, f.og
	acct := storagerpc.AccountFromSessionID(gid)
	msg, err := admin.Keys.Rekey([]key.SessionID{f.adminKeys.SessionID(), f.member.id()})
	if err != nil {
		t.Fatal(err)
	}
	gen0 := storagerpc.RetrievedMessage{Hash: storagerpc.MessageHash(acct, 12, msg), Timestamp: 1, Expiration: c.nowMillis() + 60_000, Data: msg}
	if _, err := admin.LoadKeyMessage(gen0.Hash, gen0.Data, 1); err != nil {
		t.Fatal(err)
	}
	// Under the key the member gets next: one not a config message, one
	// that expires before the key comes.
	k := admin.Keys.EncryptionKeys()[0]
	junk, err := config.Seal([]byte("not a config message"), groups.InfoKind, k, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	bad := storagerpc.RetrievedMessage{Hash: storagerpc.MessageHash(acct, 13, junk.Messages[0]), Timestamp: 2, Expiration: c.nowMillis() + 60_000, Data: junk.Messages[0]}
	old := storagerpc.RetrievedMessage{Hash: storagerpc.MessageHash(acct, 13, []byte("x")), Timestamp: 2, Expiration: c.nowMillis() + 1, Data: junk.Messages[0]}
	p := &groupPoll{lastHashes: make([]string, 4), resps: []*storagerpc.RetrieveResponse{{}, {Messages: []storagerpc.RetrievedMessage{bad, old}}, {}, {}}}
	if _, err := c.ingestGroup(ctx, og, p); err != nil {
		t.Fatal(err)
	}
	if w, err := c.db.GroupWaiting(ctx, gid, 0); err != nil || len(w) != 2 {
		t.Fatalf("waiting: %d, %v; want both", len(w), err)
	}
	clock.add(time.Second)
	p = &groupPoll{lastHashes: make([]string, 4), resps: []*storagerpc.RetrieveResponse{{Messages: []storagerpc.RetrievedMessage{gen0}}, {}, {}, {}}}
	if _, err := c.ingestGroup(ctx, og, p); err != nil {
		t.Fatal(err)
	}
	if w, err := c.db.GroupWaiting(ctx, gid, 0); err != nil || len(w) != 0 || len(og.laterConfigs[0]) != 0 {
		t.Fatalf("still waiting: %d in the store (%v), %d in memory", len(w), err, len(og.laterConfigs[0]))
	}
}

func groupStateOf(t *testing.T, c *Client, gid key.SessionID) store.GroupState {
	t.Helper()
	g, err := c.db.Group(context.Background(), gid)
	if err != nil {
		t.Fatal(err)
	}
	return g.State
}

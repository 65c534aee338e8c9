package client

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/storagerpc"
)

// openOffline opens a device of a with no network configured (home as in
// open).
func (a *account) openOffline(t *testing.T, home string) *device {
	t.Helper()
	c, err := Open(Config{Home: home, Logger: slog.New(slog.DiscardHandler)}, a.kf)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	close(done)
	d := &device{t: t, c: c, home: home, cancel: func() {}, done: done, cond: make(chan struct{})}
	t.Cleanup(d.stop)
	return d
}

// TestConfigFirstFetch checks that changes made on a device before its
// first fetch of the config objects are not lost to libsession's lag
// rule (a diff 5 or more seqnos behind the newest is dropped). Device A
// pushes the contacts object well past seqno 5. Device B, a fresh
// database restored without a network, blocks Carol and nicknames Dave
// offline, across a restart, and sets a picture; online, B keeps its
// changes and gets A's, and A gets B's. Device C, online but not
// serving (a command that runs once), changes a nickname and pushes:
// PushConfigs fetches first, and A gets the change.
func TestConfigFirstFetch(t *testing.T) {
	nw, alice, bob := pair(t)
	carol, dave := newAccount(t, "carol"), newAccount(t, "dave")
	ctx := context.Background()
	a := alice.open(t, nw, "", devOpts{})
	configSyncOn(t, a.c)

	// A: one push per change.
	pushed := func(d *device, seqno int64) int64 {
		t.Helper()
		var s ConfigStatus
		d.waitFor(fmt.Sprintf("contacts pushed past seqno %d", seqno), time.Minute, func() bool {
			s = d.objectStatus("contacts")
			return s.State == "clean" && s.Seqno > seqno
		})
		return s.Seqno
	}
	var seqno int64
	for i := range 6 {
		if err := a.c.SetNickname(ctx, bob.id(), fmt.Sprintf("Bob %d", i)); err != nil {
			t.Fatal(err)
		}
		seqno = pushed(a, seqno)
	}
	if err := a.c.SetNickname(ctx, carol.id(), "Carrie"); err != nil {
		t.Fatal(err)
	}
	seqno = pushed(a, seqno)
	if seqno < 7 {
		t.Fatalf("A's contacts at seqno %d, want 7 or more", seqno)
	}
	if err := a.c.SetProfileName(ctx, "Alice A"); err != nil {
		t.Fatal(err)
	}

	// B: offline, a fresh database. Its changes are kept locally; the
	// objects are left alone until their first fetch.
	bHome := t.TempDir()
	b := alice.openOffline(t, bHome)
	if err := b.c.Block(ctx, carol.id(), true); err != nil {
		t.Fatal(err)
	}
	picKey := bytes.Repeat([]byte{0x5b}, 32)
	if err := b.c.SetProfilePicture(ctx, "http://files.example/f/b", picKey); err != nil {
		t.Fatal(err)
	}
	if s := b.objectStatus("contacts"); s.Fetched || s.Seqno != 0 || s.State != "clean" {
		t.Fatalf("B's contacts before the first fetch: %+v", s)
	}
	// A restart before the first fetch.
	b.stop()
	b = alice.openOffline(t, bHome)
	if err := b.c.SetNickname(ctx, dave.id(), "Dave B"); err != nil {
		t.Fatal(err)
	}
	if c := b.contact(carol.id()); !c.Blocked {
		t.Fatalf("B's Carol after a restart: %+v", c)
	}
	b.stop()

	// B online.
	b = alice.open(t, nw, bHome, devOpts{})
	wantContacts := func(d *device) bool {
		bb, cc, dd := d.contact(bob.id()), d.contact(carol.id()), d.contact(dave.id())
		return bb.Nickname == "Bob 5" && cc.Blocked && cc.Nickname == "Carrie" && dd.Nickname == "Dave B"
	}
	wantProfile := func(d *device) bool {
		name, err := d.c.ProfileName(ctx)
		if err != nil {
			t.Fatal(err)
		}
		url, k, err := d.c.ProfilePicture(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return name == "Alice A" && url == "http://files.example/f/b" && bytes.Equal(k, picKey)
	}
	for _, d := range []*device{a, b} {
		d.waitFor("A's and B's changes", time.Minute, func() bool { return wantContacts(d) && wantProfile(d) })
	}
	converged := func(names ...string) func() bool {
		return func() bool {
			for _, n := range names {
				sa, sb := a.objectStatus(n), b.objectStatus(n)
				if sa.Hash != sb.Hash || sa.State != "clean" || sb.State != "clean" || !sb.Fetched {
					return false
				}
			}
			return true
		}
	}
	b.waitFor("A and B converge", time.Minute, converged("contacts", "user_profile"))
	if s := b.objectStatus("contacts"); s.Seqno <= seqno {
		t.Fatalf("B's contacts at seqno %d, not past A's %d", s.Seqno, seqno)
	}

	// C: online, not serving; a change, then PushConfigs.
	c := alice.open(t, nw, "", devOpts{noServe: true})
	if err := c.c.SetNickname(ctx, bob.id(), "from C"); err != nil {
		t.Fatal(err)
	}
	if err := c.c.PushConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	if s := c.objectStatus("contacts"); !s.Fetched || s.State != "clean" {
		t.Fatalf("C's contacts after PushConfigs: %+v", s)
	}
	for _, d := range []*device{a, b} {
		d.waitFor("C's nickname", time.Minute, func() bool {
			return d.contact(bob.id()).Nickname == "from C" && d.contact(carol.id()).Blocked
		})
	}
	if cc := c.contact(carol.id()); !cc.Blocked || cc.Nickname != "Carrie" {
		t.Fatalf("C's Carol: %+v", cc)
	}
}

// remoteObjects builds config messages of a's objects as another device
// would have pushed them: the message of each push, and the object.
type remoteObjects struct {
	t    *testing.T
	acct storagerpc.Account
	opts func(config.Kind) config.Options
}

func newRemote(t *testing.T, a *account) *remoteObjects {
	return &remoteObjects{t: t, acct: storagerpc.AccountFromSessionID(a.id()), opts: func(k config.Kind) config.Options {
		return config.Options{Kind: k, Keys: [][32]byte{a.kf.Keys.Seed32()}, Account: a.kf.Keys.Ed25519Private()}
	}}
}

// push pushes cfg and returns its message as a retrieve returns it.
func (r *remoteObjects) push(cfg *config.Config, ns int) storagerpc.RetrievedMessage {
	r.t.Helper()
	p, err := cfg.Push()
	if err != nil || len(p.Messages) != 1 {
		r.t.Fatalf("push: %v (%d messages)", err, len(p.Messages))
	}
	h := storagerpc.MessageHash(r.acct, storagerpc.Namespace(ns), p.Messages[0])
	cfg.ConfirmPushed(p.Seqno, h)
	return storagerpc.RetrievedMessage{Hash: h, Data: p.Messages[0]}
}

// TestConfigPendingReplay drives a first fetch directly, without nodes:
// a device that declined Carol's request, set a disappearing timer with
// Dave, read Bob's conversation and set Note to Self's timer before its
// first fetch keeps all of it over the swarm's newer objects, field by
// field, and the object it pushes next is past the swarm's.
func TestConfigPendingReplay(t *testing.T) {
	alice, bob, carol, dave := newAccount(t, "alice"), newAccount(t, "bob"), newAccount(t, "carol"), newAccount(t, "dave")
	ctx := context.Background()
	r := newRemote(t, alice)

	// The swarm's objects, from another device: contacts at seqno 7.
	remote, err := config.NewContacts(r.opts(config.ContactsKind))
	if err != nil {
		t.Fatal(err)
	}
	var contactMsgs []storagerpc.RetrievedMessage
	set := func(e config.Contact) {
		if err := remote.Set(e); err != nil {
			t.Fatal(err)
		}
		contactMsgs = append(contactMsgs[:0], r.push(remote.Config, config.ContactsKind.Namespace))
	}
	set(config.Contact{ID: carol.id(), Name: "Carol"})
	set(config.Contact{ID: dave.id(), Approved: true, Nickname: "Davey"})
	for i := range 5 {
		set(config.Contact{ID: bob.id(), Approved: true, Nickname: fmt.Sprintf("Bob %d", i)})
	}
	if remote.Seqno() != 7 {
		t.Fatalf("remote contacts at seqno %d", remote.Seqno())
	}
	convo, err := config.NewConvoInfo(r.opts(config.ConvoInfoKind))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	cv := convo.GetOrNew(config.OneToOne(bob.id()))
	cv.LastRead = now - 2000
	if err := convo.Set(cv); err != nil {
		t.Fatal(err)
	}
	convoMsg := r.push(convo.Config, config.ConvoInfoKind.Namespace)
	profile, err := config.NewUserProfile(r.opts(config.UserProfileKind))
	if err != nil {
		t.Fatal(err)
	}
	if err := profile.SetName("Alice R"); err != nil {
		t.Fatal(err)
	}
	profileMsg := r.push(profile.Config, config.UserProfileKind.Namespace)

	// The device, offline, before its first fetch.
	d := alice.openOffline(t, t.TempDir())
	if err := d.c.Store().AddRequest(ctx, carol.id(), now); err != nil {
		t.Fatal(err)
	}
	if err := d.c.Decline(ctx, carol.id()); err != nil {
		t.Fatal(err)
	}
	if err := d.c.SetDisappearing(ctx, dave.id(), store.ExpiryAfterSend, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := d.c.SetDisappearing(ctx, alice.id(), store.ExpiryAfterSend, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := d.c.syncRead(ctx, bob.id(), now-1000); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"contacts", "convo_info_volatile", "user_profile"} {
		if s := d.objectStatus(name); s.Seqno != 0 || s.State != "clean" || s.Fetched {
			t.Fatalf("%s before the first fetch: %+v", name, s)
		}
	}

	// The first fetch.
	for _, in := range []struct {
		ns  int
		msg storagerpc.RetrievedMessage
	}{
		{config.ContactsKind.Namespace, contactMsgs[0]},
		{config.ConvoInfoKind.Namespace, convoMsg},
		{config.UserProfileKind.Namespace, profileMsg},
	} {
		if _, err := d.c.ingestConfig(ctx, "node", "", in.ns, []storagerpc.RetrievedMessage{in.msg}, false); err != nil {
			t.Fatal(err)
		}
		if p, err := d.c.Store().ConfigPendingOf(ctx, in.ns); err != nil || len(p) != 0 {
			t.Fatalf("namespace %d: pending after the first fetch: %v, %v", in.ns, p, err)
		}
	}
	s := &d.c.cs
	s.mu.Lock()
	_, hasCarol := s.contacts.Get(carol.id())
	dv, _ := s.contacts.Get(dave.id())
	bb, _ := s.contacts.Get(bob.id())
	read := s.convo.GetOrNew(config.OneToOne(bob.id())).LastRead
	name, nts := s.profile.Name(), s.profile.NoteToSelfExpiry()
	s.mu.Unlock()
	if hasCarol {
		t.Error("Carol, declined here, is back in the object")
	}
	if !dv.Approved || dv.Nickname != "Davey" || dv.Expiry != config.ExpiryAfterSend || dv.ExpirySeconds != 3600 {
		t.Errorf("Dave in the object: %+v", dv)
	}
	if bb.Nickname != "Bob 4" || read != now-1000 {
		t.Errorf("Bob in the objects: %+v, read %d", bb, read)
	}
	if name != "Alice R" || nts != 60 {
		t.Errorf("profile: name %q, Note to Self timer %d", name, nts)
	}
	if c := d.contact(dave.id()); !c.Approved || c.Nickname != "Davey" {
		t.Errorf("Dave in the database: %+v", c)
	}
	if conv, err := d.c.Store().Conversation(ctx, dave.id()); err != nil || conv.ExpiryMode != store.ExpiryAfterSend || conv.ExpiryTimer != 3600 {
		t.Errorf("Dave's conversation: %+v, %v", conv, err)
	}
	if got, err := d.c.ProfileName(ctx); err != nil || got != "Alice R" {
		t.Errorf("profile name in the database: %q, %v", got, err)
	}
	if rs, err := d.c.Store().Requests(ctx); err != nil || len(rs) != 0 {
		t.Errorf("requests: %v, %v", rs, err)
	}
	for name, seqno := range map[string]int64{"contacts": 8, "convo_info_volatile": 2, "user_profile": 2} {
		if st := d.objectStatus(name); st.Seqno != seqno || st.State != "dirty" || !st.Fetched {
			t.Errorf("%s after the first fetch: %+v, want seqno %d, dirty", name, st, seqno)
		}
	}
}

// TestConfigApplyRetried: a merge whose apply to the database fails (here
// the poll that fetched it is stopped meanwhile) stays in the object, so
// the same messages fetched again do not change it; the apply runs again
// at the next retrieve of the namespace, and the database catches up.
// (TestConfigSync found it: a bridge poll stopped while it processed
// the conversation info left the device's messages unread for good.)
func TestConfigApplyRetried(t *testing.T) {
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	ctx := context.Background()
	r := newRemote(t, alice)
	d := alice.openOffline(t, t.TempDir())
	ns := config.ContactsKind.Namespace
	if _, err := d.c.ingestConfig(ctx, "node", "", ns, nil, false); err != nil { // the first fetch: nothing there yet
		t.Fatal(err)
	}
	remote, err := config.NewContacts(r.opts(config.ContactsKind))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Set(config.Contact{ID: bob.id(), Approved: true, Nickname: "Bobby"}); err != nil {
		t.Fatal(err)
	}
	msg := r.push(remote.Config, ns)

	stopped, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.c.ingestConfig(stopped, "node", "", ns, []storagerpc.RetrievedMessage{msg}, false); err == nil {
		t.Fatal("ingest under a stopped context: no error")
	}
	if c := d.contact(bob.id()); c.Nickname != "" {
		t.Fatalf("Bob written by an ingest that failed: %+v", c)
	}
	// The same message again (the last hash did not move), then an
	// empty retrieve: the object is already merged either way.
	for _, in := range [][]storagerpc.RetrievedMessage{{msg}, nil} {
		if _, err := d.c.ingestConfig(ctx, "node", "", ns, in, false); err != nil {
			t.Fatal(err)
		}
	}
	if c := d.contact(bob.id()); !c.Approved || c.Nickname != "Bobby" {
		t.Fatalf("Bob in the database after the retry: %+v", c)
	}
}

package client

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"
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

package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/key"
	"sotto.dev/snode"
)

// TestConversation is the end-to-end test on real nodes: ten
// nodes in two swarms, Alice and Bob in different swarms exchange 200
// messages (100 each way, both sending at once) through 3-hop onion paths;
// Bob is stopped while Alice keeps writing and catches up when he comes
// back; Alice's second device (same keys, its own database) shows her sent
// messages. At the end the three histories are identical and ordered.
func TestConversation(t *testing.T) {
	nw, alice, bob := pair(t)
	const perSide = 100
	a1 := alice.open(t, nw, "", devOpts{})
	a2 := alice.open(t, nw, "", devOpts{})
	bobHome := t.TempDir()
	b := bob.open(t, nw, bobHome, devOpts{})
	ctx := context.Background()

	send := func(d *device, to key.SessionID, from, n int, who string) {
		for i := from; i < from+n; i++ {
			if _, err := d.c.Send(ctx, to, fmt.Sprintf("%s %03d", who, i), SendOptions{}); err != nil {
				t.Errorf("%s send %d: %v", who, i, err)
				return
			}
		}
	}
	count := func(d *device, peer key.SessionID, n int) func() bool {
		return func() bool { return len(d.history(peer)) >= n }
	}

	// Phase 1: both online, both writing at the same time. Bob writes
	// first, which accepts Alice on his side (he sends delivery receipts
	// only to people he accepted).
	send(b, alice.id(), 0, 1, "bob")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); send(a1, bob.id(), 0, perSide/2, "alice") }()
	go func() { defer wg.Done(); send(b, alice.id(), 1, perSide/2-1, "bob") }()
	wg.Wait()
	b.waitFor("bob has phase 1", 2*time.Minute, count(b, alice.id(), perSide))
	a1.waitFor("alice has phase 1", 2*time.Minute, count(a1, bob.id(), perSide))

	// Phase 2: Bob goes offline; Alice keeps writing.
	b.stop()
	send(a1, bob.id(), perSide/2, perSide/2, "alice")
	// Bob comes back with the same database and catches up, then answers.
	b = bob.open(t, nw, bobHome, devOpts{})
	b.waitFor("bob catches up", 2*time.Minute, count(b, alice.id(), perSide+perSide/2))
	send(b, alice.id(), perSide/2, perSide/2, "bob")

	const total = 2 * perSide
	b.waitFor("bob has everything", 2*time.Minute, count(b, alice.id(), total))
	a1.waitFor("alice has everything", 2*time.Minute, count(a1, bob.id(), total))
	a2.waitFor("alice's second device has everything", 2*time.Minute, count(a2, bob.id(), total))

	hb, ha1, ha2 := b.history(alice.id()), a1.history(bob.id()), a2.history(bob.id())
	if len(hb) != total || len(ha1) != total || len(ha2) != total {
		t.Fatalf("history lengths bob %d alice %d alice2 %d, want %d", len(hb), len(ha1), len(ha2), total)
	}
	checkHistories(t, alice, bob, hb, ha1, ha2)
	// Bob accepted Alice by writing back; delivery receipts reach Alice.
	undelivered := func() []string {
		var out []string
		for _, m := range a1.history(bob.id()) {
			if m.Author == alice.id() && m.State != store.StateDelivered && m.State != store.StateRead {
				out = append(out, fmt.Sprintf("%s:%v", m.Body, m.State))
			}
		}
		return out
	}
	if !a1.until(2*time.Minute, func() bool { return len(undelivered()) == 0 }) {
		u := undelivered()
		n, _ := b.c.Store().OutboxLen(ctx)
		t.Fatalf("%d of alice's messages not delivered (bob's outbox: %d items): %v", len(u), n, u)
	}
}

// checkHistories checks that Bob's and Alice's two histories of their
// conversation are identical, ordered by sent time with each side's
// messages in the order written, and that Alice's messages are outgoing
// on both her devices.
func checkHistories(t *testing.T, alice, bob *account, hb, ha1, ha2 []*store.Message) {
	t.Helper()
	wantB, wantA1, wantA2 := bodies(hb), bodies(ha1), bodies(ha2)
	if !slices.Equal(wantB, wantA1) || !slices.Equal(wantA1, wantA2) {
		for i := range wantB {
			if wantB[i] != wantA1[i] || wantA1[i] != wantA2[i] {
				t.Fatalf("histories differ at %d: bob %q alice %q alice2 %q", i, wantB[i], wantA1[i], wantA2[i])
			}
		}
	}
	// Ordered by sent time, and each side's own messages in the order
	// they were written.
	var lastA, lastB string
	for i, m := range hb {
		if i > 0 && m.SentAt < hb[i-1].SentAt {
			t.Fatalf("history not ordered at %d", i)
		}
		switch m.Author {
		case alice.id():
			if m.Body <= lastA {
				t.Fatalf("alice's messages out of order: %q after %q", m.Body, lastA)
			}
			lastA = m.Body
		case bob.id():
			if m.Body <= lastB {
				t.Fatalf("bob's messages out of order: %q after %q", m.Body, lastB)
			}
			lastB = m.Body
		}
	}
	// Directions: Alice's messages are outgoing on both of her devices.
	for i := range ha1 {
		wantDir := store.Incoming
		if ha1[i].Author == alice.id() {
			wantDir = store.Outgoing
		}
		if ha1[i].Direction != wantDir || ha2[i].Direction != wantDir {
			t.Fatalf("message %d: directions %v / %v, want %v", i, ha1[i].Direction, ha2[i].Direction, wantDir)
		}
	}
}

// TestReadReceipts: Bob reads; Alice's messages become read.
func TestReadReceipts(t *testing.T) {
	nw, alice, bob := pair(t)
	a := alice.open(t, nw, "", devOpts{})
	b := bob.open(t, nw, "", devOpts{})
	ctx := context.Background()
	if _, err := b.c.Send(ctx, alice.id(), "hi alice", SendOptions{}); err != nil { // accepts Alice
		t.Fatal(err)
	}
	m, err := a.c.Send(ctx, bob.id(), "read this", SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob gets it", 20*time.Second, func() bool { return len(b.history(alice.id())) == 2 })
	read, err := b.c.MarkRead(ctx, alice.id())
	if err != nil || len(read) != 1 || read[0].Body != "read this" {
		t.Fatalf("MarkRead = %v, %v", read, err)
	}
	a.waitFor("alice sees it read", 20*time.Second, func() bool {
		got, err := a.c.Store().Message(ctx, m.ID)
		return err == nil && got.State == store.StateRead && got.ReadAt > 0
	})
	if len(a.eventsOf(EventState)) == 0 {
		t.Error("no state events on Alice's side")
	}
	// Receipts off: nothing more is sent.
	if err := b.c.SetReceipts(ctx, false, false); err != nil {
		t.Fatal(err)
	}
	m2, err := a.c.Send(ctx, bob.id(), "and this", SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob gets the second", 20*time.Second, func() bool { return len(b.history(alice.id())) == 3 })
	if _, err := b.c.MarkRead(ctx, alice.id()); err != nil {
		t.Fatal(err)
	}
	if err := b.c.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.c.Store().OutboxLen(ctx); n != 0 {
		t.Errorf("bob's outbox has %d items with receipts off", n)
	}
	if got, _ := a.c.Store().Message(ctx, m2.ID); got.State != store.StateSent {
		t.Errorf("with receipts off Alice's message is %v", got.State)
	}
}

// TestUnsend: Alice unsends; both clients blank the message and it is gone
// from the swarm copies each side owns.
func TestUnsend(t *testing.T) {
	nw, alice, bob := pair(t)
	a := alice.open(t, nw, "", devOpts{})
	a2 := alice.open(t, nw, "", devOpts{})
	b := bob.open(t, nw, "", devOpts{})
	ctx := context.Background()
	m, err := a.c.Send(ctx, bob.id(), "regrettable", SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bm := b.onlyMessage("bob gets it", alice.id())
	a2.waitFor("alice's second device gets the sync copy", 20*time.Second, func() bool { return len(a2.history(bob.id())) == 1 })
	a.waitFor("sync hash recorded", 20*time.Second, func() bool {
		got, _ := a.c.Store().Message(ctx, m.ID)
		return got.SyncHash != ""
	})
	sent, _ := a.c.Store().Message(ctx, m.ID)
	if !inSwarm(t, nw, bob, bm.ServerHash) || !inSwarm(t, nw, alice, sent.SyncHash) {
		t.Fatal("message not in the swarms before unsend")
	}
	if _, err := a.c.Unsend(ctx, bob.id(), m.ID); err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob's copy is blanked", 20*time.Second, func() bool {
		h := b.history(alice.id())
		return len(h) == 1 && h[0].Unsent && h[0].Body == ""
	})
	a2.waitFor("alice's second device blanks it", 20*time.Second, func() bool {
		h := a2.history(bob.id())
		return len(h) == 1 && h[0].Unsent
	})
	a.waitFor("alice's sync copy deleted from her swarm", 20*time.Second, func() bool { return !inSwarm(t, nw, alice, sent.SyncHash) })
	b.waitFor("bob's copy deleted from his swarm", 20*time.Second, func() bool { return !inSwarm(t, nw, bob, bm.ServerHash) })
	if _, err := b.c.Unsend(ctx, alice.id(), bm.ID); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Bob unsending Alice's message: %v, want ErrNotOurs", err)
	}
}

// TestDisappearing: after-send and after-read timers delete the message
// from both clients and from the swarm.
func TestDisappearing(t *testing.T) {
	nw, alice, bob := pair(t)
	a := alice.open(t, nw, "", devOpts{})
	b := bob.open(t, nw, "", devOpts{})
	ctx := context.Background()
	timer := MinDisappearTimer
	if err := a.c.SetDisappearing(ctx, bob.id(), store.ExpiryAfterSend, timer); err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob gets the setting", 20*time.Second, func() bool {
		c, err := b.c.Store().Conversation(ctx, alice.id())
		return err == nil && c.ExpiryMode == store.ExpiryAfterSend && c.ExpiryTimer == uint32(timer/time.Second)
	})
	m, err := a.c.Send(ctx, bob.id(), "self-destructs", SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bm := b.onlyMessage("bob gets it", alice.id())
	if bm.ExpiryMode != store.ExpiryAfterSend || bm.ExpiresAt != m.SentAt+timer.Milliseconds() {
		t.Fatalf("bob's copy: mode %v expires %d, want after-send %d", bm.ExpiryMode, bm.ExpiresAt, m.SentAt+timer.Milliseconds())
	}
	var syncHash string
	a.waitFor("alice's sync copy stored", 20*time.Second, func() bool {
		got, err := a.c.Store().Message(ctx, m.ID)
		if err == nil {
			syncHash = got.SyncHash
		}
		return syncHash != ""
	})
	if !inSwarm(t, nw, alice, syncHash) || !inSwarm(t, nw, bob, bm.ServerHash) {
		t.Fatal("disappearing message not in the swarms before its time")
	}
	a.waitFor("alice's copy disappears", 30*time.Second, func() bool { return len(a.history(bob.id())) == 0 })
	b.waitFor("bob's copy disappears", 30*time.Second, func() bool { return len(b.history(alice.id())) == 0 })
	if len(a.eventsOf(EventExpired)) == 0 || len(b.eventsOf(EventExpired)) == 0 {
		t.Error("no expired events")
	}
	b.waitFor("gone from bob's swarm", 20*time.Second, func() bool { return !inSwarm(t, nw, bob, bm.ServerHash) })
	a.waitFor("gone from alice's swarm", 20*time.Second, func() bool { return !inSwarm(t, nw, alice, syncHash) })

	// After read: the timer starts when Bob reads it.
	if err := a.c.SetDisappearing(ctx, bob.id(), store.ExpiryAfterRead, timer); err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob gets the new setting", 20*time.Second, func() bool {
		c, err := b.c.Store().Conversation(ctx, alice.id())
		return err == nil && c.ExpiryMode == store.ExpiryAfterRead
	})
	if _, err := a.c.Send(ctx, bob.id(), "read, then gone", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	bm = b.onlyMessage("bob gets it", alice.id())
	if bm.ExpiresAt != 0 {
		t.Fatalf("after-read message scheduled before being read: %d", bm.ExpiresAt)
	}
	// Alice's own copy started its timer when she sent it: once it is
	// gone, the timer has run out, and Bob's unread copy is still there.
	a.waitFor("alice's own copy disappears", 30*time.Second, func() bool { return len(a.history(bob.id())) == 0 })
	if h := b.history(alice.id()); len(h) != 1 || !inSwarm(t, nw, bob, bm.ServerHash) {
		t.Fatal("unread after-read message disappeared")
	}
	if _, err := b.c.MarkRead(ctx, alice.id()); err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob's read copy disappears", 30*time.Second, func() bool { return len(b.history(alice.id())) == 0 })
	b.waitFor("gone from bob's swarm after the timer", 30*time.Second, func() bool { return !inSwarm(t, nw, bob, bm.ServerHash) })
}

// TestRequestsAndBlocking: an unknown sender waits in the requests until
// accepted (and learns it through MessageRequestResponse); a blocked sender
// is dropped.
func TestRequestsAndBlocking(t *testing.T) {
	nw, alice, bob := pair(t)
	carol := newAccount(t, "carol")
	a := alice.open(t, nw, "", devOpts{})
	b := bob.open(t, nw, "", devOpts{})
	c := carol.open(t, nw, "", devOpts{})
	ctx := context.Background()
	if err := a.c.SetProfileName(ctx, "Alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.Send(ctx, bob.id(), "hi, we have not met", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	// The event follows the transaction that stores the request: wait
	// for both.
	b.waitFor("a request from alice", 20*time.Second, func() bool {
		r, err := b.c.Store().Requests(ctx)
		return err == nil && len(r) == 1 && r[0].Peer == alice.id() && r[0].DisplayName == "Alice" &&
			len(b.eventsOf(EventRequest)) > 0
	})
	if inbox, _ := b.c.Store().Inbox(ctx); len(inbox) != 0 {
		t.Fatalf("request in the inbox: %v", inbox)
	}
	if len(b.eventsOf(EventRequest)) != 1 {
		t.Errorf("request events: %d", len(b.eventsOf(EventRequest)))
	}
	if err := b.c.Accept(ctx, alice.id()); err != nil {
		t.Fatal(err)
	}
	if inbox, _ := b.c.Store().Inbox(ctx); len(inbox) != 1 || inbox[0].Peer != alice.id() {
		t.Fatalf("after accept the inbox is %v", inbox)
	}
	a.waitFor("alice learns she was accepted", 20*time.Second, func() bool {
		k, err := a.c.Store().Contact(ctx, bob.id())
		return err == nil && k.ApprovedMe && len(a.eventsOf(EventApproved)) == 1
	})
	// No delivery receipt to someone not accepted: a receipt Bob sent on
	// receiving the request would have reached Alice's swarm before his
	// acceptance, which she has now read.
	if got := a.history(bob.id())[0]; got.State != store.StateSent {
		t.Errorf("receipt sent to an unaccepted sender: %v", got.State)
	}
	if err := b.c.Accept(ctx, alice.id()); !errors.Is(err, ErrNoRequest) {
		t.Errorf("second accept: %v", err)
	}

	// Carol is blocked before she writes: nothing of hers arrives.
	if err := b.c.Block(ctx, carol.id(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.c.Send(ctx, bob.id(), "spam", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.Send(ctx, bob.id(), "marker", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	b.waitFor("alice's marker", 20*time.Second, func() bool { return len(b.history(alice.id())) == 2 })
	// Carol's message was stored before Alice's marker; once the marker is
	// in, Carol's has been retrieved and dropped.
	if h := b.history(carol.id()); len(h) != 0 {
		t.Fatalf("blocked sender's message stored: %v", bodies(h))
	}
	if r, _ := b.c.Store().Requests(ctx); len(r) != 0 {
		t.Fatalf("blocked sender in requests: %v", r)
	}
	// Unblocked, Carol's next message is a request; declining deletes it.
	if err := b.c.Block(ctx, carol.id(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.c.Send(ctx, bob.id(), "please?", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	b.waitFor("carol's request", 20*time.Second, func() bool {
		r, _ := b.c.Store().Requests(ctx)
		return len(r) == 1 && r[0].Peer == carol.id()
	})
	if err := b.c.Decline(ctx, carol.id()); err != nil {
		t.Fatal(err)
	}
	if r, _ := b.c.Store().Requests(ctx); len(r) != 0 {
		t.Fatalf("declined request still listed: %v", r)
	}
	if h := b.history(carol.id()); len(h) != 0 {
		t.Fatalf("declined request keeps %d messages", len(h))
	}
}

// TestQuotesReactionsTyping covers the smaller DataMessage features.
func TestQuotesReactionsTyping(t *testing.T) {
	nw, alice, bob := pair(t)
	a := alice.open(t, nw, "", devOpts{})
	b := bob.open(t, nw, "", devOpts{})
	ctx := context.Background()
	if _, err := b.c.Send(ctx, alice.id(), "hello", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	hello := a.onlyMessage("alice gets hello", bob.id())
	if err := a.c.Accept(ctx, bob.id()); err != nil {
		t.Fatal(err)
	}
	ref := hello.Ref()
	reply, err := a.c.Send(ctx, bob.id(), "hello yourself", SendOptions{Quote: &ref})
	if err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob gets the quoted reply", 20*time.Second, func() bool {
		h := b.history(alice.id())
		return len(h) == 2 && h[1].Quote != nil && h[1].Quote.Author == bob.id() && h[1].Quote.SentAt == hello.SentAt
	})
	if _, err := a.c.React(ctx, bob.id(), hello.ID, "🎉", false); err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob sees alice's reaction", 20*time.Second, func() bool {
		h := b.history(alice.id())
		return len(h[0].Reactions) == 1 && h[0].Reactions[0].Emoji == "🎉" && h[0].Reactions[0].Reactor == alice.id()
	})
	if _, err := a.c.React(ctx, bob.id(), hello.ID, "🎉", true); err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob sees it removed", 20*time.Second, func() bool { return len(b.history(alice.id())[0].Reactions) == 0 })
	if _, err := a.c.React(ctx, bob.id(), reply.ID+100, "🎉", false); !errors.Is(err, ErrNoMessage) {
		t.Errorf("reaction to a missing message: %v", err)
	}
	if err := a.c.SendTyping(ctx, bob.id(), true); err != nil {
		t.Fatal(err)
	}
	b.waitFor("bob sees alice typing", 20*time.Second, func() bool {
		evs := b.eventsOf(EventTyping)
		return len(evs) > 0 && evs[len(evs)-1].Typing && evs[len(evs)-1].Conversation == alice.id()
	})
}

// TestRetryWhenSwarmDown: a message to a swarm whose nodes are all down is
// kept, shown as failed after the first attempts, and delivered once the
// swarm is back.
func TestRetryWhenSwarmDown(t *testing.T) {
	nw, alice, bob := pair(t)
	a := alice.open(t, nw, "", devOpts{})
	ctx := context.Background()
	_, idx := nw.SwarmOf(bob.id().Key())
	for _, i := range idx {
		if err := nw.Stop(i); err != nil {
			t.Fatal(err)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	m, err := a.c.Send(sctx, bob.id(), "are you there?", SendOptions{})
	cancel()
	var ns *NotSentError
	if !errors.As(err, &ns) || m == nil {
		t.Fatalf("send to a dead swarm: %v", err)
	}
	a.waitFor("message marked failed", 2*time.Minute, func() bool {
		got, _ := a.c.Store().Message(ctx, m.ID)
		return got.State == store.StateFailed
	})
	for _, i := range idx {
		if err := nw.Start(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	a.waitFor("message sent after the swarm returns", 90*time.Second, func() bool {
		got, _ := a.c.Store().Message(ctx, m.ID)
		return got.State == store.StateSent
	})
	b := bob.open(t, nw, "", devOpts{})
	b.waitFor("bob gets it", 20*time.Second, func() bool { return len(b.history(alice.id())) == 1 })
}

// TestMisdirected: a stale swarm cache (the other swarm's nodes) is
// corrected by the nodes' 421 answers.
func TestMisdirected(t *testing.T) {
	nw, alice, bob := pair(t)
	a := alice.open(t, nw, "", devOpts{noServe: true})
	ctx := context.Background()
	// Resolve Alice's own swarm, then claim it is Bob's.
	own, err := a.c.net.swarmOf(ctx, alice.id())
	if err != nil {
		t.Fatal(err)
	}
	a.c.net.swarmMu.Lock()
	a.c.net.swarms[bob.id()] = &swarmEntry{nodes: own, fetched: time.Now()}
	a.c.net.swarmMu.Unlock()
	if _, err := a.c.Send(ctx, bob.id(), "via 421", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := a.c.net.swarmOf(ctx, bob.id())
	if err != nil {
		t.Fatal(err)
	}
	_, want := nw.SwarmOf(bob.id().Key())
	if len(got) != len(want) {
		t.Fatalf("swarm after 421 has %d nodes, want %d", len(got), len(want))
	}
	for _, n := range got {
		if !slices.ContainsFunc(want, func(i int) bool { return nw.Node(i).Ed25519 == n.Ed25519 }) {
			t.Fatalf("node %s is not in bob's swarm", n.Ed25519)
		}
	}
}

// TestLongPoll: with nodes that hold retrieves, a receiver whose polling
// interval is an hour still gets every message, because it never falls
// back to polling.
func TestLongPoll(t *testing.T) {
	nw, alice, bob := pair(t)
	a := alice.open(t, nw, "", devOpts{noServe: true})
	b := bob.open(t, nw, "", devOpts{longPoll: 5 * time.Second, poll: time.Hour})
	ctx := context.Background()
	for i := range 5 {
		if _, err := a.c.Send(ctx, bob.id(), fmt.Sprintf("held %d", i), SendOptions{}); err != nil {
			t.Fatal(err)
		}
		b.waitFor(fmt.Sprintf("message %d", i), 30*time.Second, func() bool { return len(b.history(alice.id())) == i+1 })
		if i == 2 {
			time.Sleep(6 * time.Second) // one long poll runs out empty
		}
	}
	if n := b.c.fallbacks.Load(); n != 0 {
		t.Errorf("fell back to polling %d times with nodes that hold retrieves", n)
	}
}

// TestPollingFallback: nodes that answer long polls at once (as Session's
// do) are polled every PollInterval instead, and messages still arrive.
func TestPollingFallback(t *testing.T) {
	nw, alice, bob := pairTuned(t, func(_ int, c *snode.Config) { c.Limits.MaxHeldRetrieves = 0 })
	a := alice.open(t, nw, "", devOpts{noServe: true})
	b := bob.open(t, nw, "", devOpts{longPoll: 5 * time.Second, poll: 100 * time.Millisecond})
	ctx := context.Background()
	b.waitFor("fallback to polling", 30*time.Second, func() bool { return b.c.fallbacks.Load() > 0 })
	for i := range 3 {
		if _, err := a.c.Send(ctx, bob.id(), fmt.Sprintf("polled %d", i), SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	b.waitFor("messages by polling", 30*time.Second, func() bool { return len(b.history(alice.id())) == 3 })
}

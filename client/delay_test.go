package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/internal/testnet"
	"sotto.dev/sessionproto"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

// stored finds hash among the messages the nodes of a's swarm keep.
func stored(t *testing.T, nw *testnet.Network, a *account, hash string) storagerpc.RetrievedMessage {
	t.Helper()
	for _, msgs := range swarmMessages(t, nw, a) {
		for _, m := range msgs {
			if m.Hash == hash {
				return m
			}
		}
	}
	t.Fatalf("%s's swarm does not hold %s", a.name, hash)
	return storagerpc.RetrievedMessage{}
}

// storedSet returns the hashes a's swarm holds.
func storedSet(t *testing.T, nw *testnet.Network, a *account) map[string]storagerpc.RetrievedMessage {
	t.Helper()
	out := map[string]storagerpc.RetrievedMessage{}
	for _, msgs := range swarmMessages(t, nw, a) {
		for _, m := range msgs {
			out[m.Hash] = m
		}
	}
	return out
}

// outboxTo lists d's outbox items for the swarm of to.
func outboxTo(t *testing.T, d *device, to *account) []*store.OutboxItem {
	t.Helper()
	items, err := d.c.Store().DueOutbox(context.Background(), math.MaxInt64, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []*store.OutboxItem
	for _, it := range items {
		if it.Account == to.id() {
			out = append(out, it)
		}
	}
	return out
}

// TestDelayedReceiptsAndSyncCopy: with a delay configured, the sync copy
// of a sent message and the receipts for it are stored in the swarms with
// store timestamps (and, for the sync copy, an expiry) at least the
// minimum delay after the message's own, leave only once the delay is
// over (a restart keeps them waiting), receipts due to one peer meanwhile
// go as one, and with delivery receipts off none is queued. The outbox is
// flushed "later" (flushOutboxAt) instead of waiting; the delays are drawn
// at their maximum.
func TestDelayedReceiptsAndSyncCopy(t *testing.T) {
	nw, alice, bob := pair(t)
	ctx := context.Background()
	// Items are stored up to delayMax early: within the nodes' 10 s
	// tolerance for store timestamps ahead of their clock.
	const delayMin, delayMax = 2 * time.Second, 6 * time.Second
	opts := devOpts{noServe: true, delayMin: delayMin, delayMax: delayMax}
	atMax := func(n int64) int64 { return n - 1 }
	a := alice.open(t, nw, "", opts)
	b := bob.open(t, nw, "", opts)
	a.c.jitter, b.c.jitter = atMax, atMax
	later := func(d *device) {
		t.Helper()
		if err := d.c.flushOutboxAt(ctx, d.c.nowMillis()+delayMax.Milliseconds()); err != nil {
			t.Fatal(err)
		}
	}
	minMS := delayMin.Milliseconds()

	// Bob writes first, which accepts Alice: he owes her receipts.
	if _, err := b.c.Send(ctx, alice.id(), "hi alice", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	later(b)
	if err := a.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	msg, err := a.c.Send(ctx, bob.id(), "hi bob", SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bobCopy := stored(t, nw, bob, msg.ServerHash)
	if bobCopy.Timestamp != msg.SentAt {
		t.Fatalf("recipient's copy: store timestamp %d, sent %d", bobCopy.Timestamp, msg.SentAt)
	}
	if got := outboxTo(t, a, alice); len(got) != 1 || got[0].Kind != store.OutboxSync || got[0].NextAttempt < msg.SentAt+minMS {
		t.Fatalf("alice's outbox for her swarm: %+v, want one sync copy due %d ms after the message", got, minMS)
	}
	if err := a.c.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if m, _ := a.c.Store().Message(ctx, msg.ID); m.SyncHash != "" {
		t.Fatal("sync copy stored before its delay")
	}
	later(a)
	m, err := a.c.Store().Message(ctx, msg.ID)
	if err != nil || m.SyncHash == "" {
		t.Fatalf("sync copy not stored after its delay: %v %+v", err, m)
	}
	syncCopy := stored(t, nw, alice, m.SyncHash)
	if d := syncCopy.Timestamp - bobCopy.Timestamp; d < minMS {
		t.Errorf("sync copy stored with timestamp %d ms after the recipient's, want at least %d", d, minMS)
	}
	if d := syncCopy.Expiration - bobCopy.Expiration; d < minMS {
		t.Errorf("sync copy expires %d ms after the recipient's, want at least %d", d, minMS)
	}
	// The message inside the sync copy keeps the sent timestamp Session
	// clients name it by.
	if env, err := sessionproto.Unwrap(syncCopy.Data); err != nil || int64(env.GetTimestamp()) != msg.SentAt {
		t.Errorf("sync copy envelope timestamp %d (%v), want %d", env.GetTimestamp(), err, msg.SentAt)
	}

	// Bob takes the message: his delivery receipt waits; a second message
	// of Alice's before it leaves joins it; reading adds a read receipt.
	if err := b.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	msg2, err := a.c.Send(ctx, bob.id(), "again", SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	readAt := b.c.nowMillis()
	if _, err := b.c.MarkRead(ctx, alice.id()); err != nil {
		t.Fatal(err)
	}
	// Waiting receipts survive a restart.
	b.stop()
	b = bob.open(t, nw, b.home, opts)
	waiting := outboxTo(t, b, alice)
	types := map[wire.ReceiptMessage_Type][]uint64{}
	for _, it := range waiting {
		var r wire.ReceiptMessage
		if it.Kind != store.OutboxReceipt || proto.Unmarshal(it.Data, &r) != nil {
			t.Fatalf("bob's outbox for alice: kind %d, want waiting receipts only", it.Kind)
		}
		if it.NextAttempt != it.Timestamp {
			t.Errorf("receipt due at %d with timestamp %d", it.NextAttempt, it.Timestamp)
		}
		types[r.GetType()] = append(types[r.GetType()], r.Timestamp...)
	}
	slices.Sort(types[wire.ReceiptMessage_DELIVERY])
	if len(waiting) != 2 || !slices.Equal(types[wire.ReceiptMessage_DELIVERY], []uint64{uint64(msg.SentAt), uint64(msg2.SentAt)}) ||
		len(types[wire.ReceiptMessage_READ]) != 2 {
		t.Fatalf("bob's waiting receipts: %d items %v, want one delivery receipt for both messages and one read receipt", len(waiting), types)
	}
	before := storedSet(t, nw, alice)
	if err := b.c.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(storedSet(t, nw, alice)); n != len(before) {
		t.Fatalf("alice's swarm went from %d to %d messages before the receipts' delay", len(before), n)
	}
	later(b)
	var receipts int
	for h, r := range storedSet(t, nw, alice) {
		if _, ok := before[h]; ok {
			continue
		}
		receipts++
		if d := r.Timestamp - msg2.SentAt; d < minMS {
			t.Errorf("receipt stored with timestamp %d ms after the message, want at least %d", d, minMS)
		}
		dec, err := sessionproto.DecodeMessage(alice.kf.Keys, r.Data)
		if err != nil || dec.Content.ReceiptMessage == nil {
			t.Fatalf("new message in alice's swarm is not a receipt: %v", err)
		}
		if int64(dec.Timestamp) != r.Timestamp {
			t.Errorf("receipt envelope timestamp %d, store timestamp %d", dec.Timestamp, r.Timestamp)
		}
		if dec.Content.ReceiptMessage.GetType() == wire.ReceiptMessage_READ && r.Timestamp-readAt < minMS {
			t.Errorf("read receipt stored with timestamp %d ms after Bob read, want at least %d", r.Timestamp-readAt, minMS)
		}
	}
	if receipts != 2 {
		t.Fatalf("%d receipts reached alice's swarm, want 2", receipts)
	}
	if err := a.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{msg.ID, msg2.ID} {
		if m, _ := a.c.Store().Message(ctx, id); m.State != store.StateRead {
			t.Errorf("alice's message %d: state %v, want read", id, m.State)
		}
	}

	// Delivery receipts off: Bob queues none.
	if err := b.c.SetReceipts(ctx, true, false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.Send(ctx, bob.id(), "no receipt", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if h := b.history(alice.id()); len(h) == 0 || h[len(h)-1].Body != "no receipt" {
		t.Fatal("bob did not get the third message")
	}
	if got := outboxTo(t, b, alice); len(got) != 0 {
		t.Fatalf("delivery receipts off: bob queued %d items for alice", len(got))
	}
}

func TestParseDelay(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi time.Duration
		bad    bool
	}{
		{in: "2s-10s", lo: 2 * time.Second, hi: 10 * time.Second},
		{in: " 500ms - 3s ", lo: 500 * time.Millisecond, hi: 3 * time.Second},
		{in: "5s", lo: 5 * time.Second, hi: 5 * time.Second},
		{in: "0", hi: -1},
		{in: "off", hi: -1},
		{in: "0s-0s", hi: -1},
		{in: "0s-4s", hi: 4 * time.Second},
		{in: "10s-2s", bad: true},
		{in: "-1s", bad: true},
		{in: "2h", bad: true},
		{in: "soon", bad: true},
		{in: "", bad: true},
	} {
		lo, hi, err := ParseDelay(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseDelay(%q) = %v, %v; want an error", tc.in, lo, hi)
			}
			continue
		}
		if err != nil || lo != tc.lo || hi != tc.hi {
			t.Errorf("ParseDelay(%q) = %v, %v, %v; want %v, %v", tc.in, lo, hi, err, tc.lo, tc.hi)
		}
	}
}

// TestDelayDefaults: no delay configured takes 2–10 s; a negative
// DelayMax turns delays off; draws stay within the range.
func TestDelayDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.DelayMin != DefaultDelayMin || c.DelayMax != DefaultDelayMax {
		t.Fatalf("defaults %v-%v, want %v-%v", c.DelayMin, c.DelayMax, DefaultDelayMin, DefaultDelayMax)
	}
	if c := (Config{DelayMax: -1}).withDefaults(); c.DelayMin != 0 || c.DelayMax != 0 {
		t.Fatalf("off: %v-%v", c.DelayMin, c.DelayMax)
	}
	if c := (Config{DelayMin: 3 * time.Second}).withDefaults(); c.DelayMax != 3*time.Second {
		t.Fatalf("min only: %v-%v", c.DelayMin, c.DelayMax)
	}
	cl := &Client{cfg: Config{DelayMin: time.Second, DelayMax: 2 * time.Second}}
	for range 1000 {
		if d := cl.delay(); d < 1000 || d > 2000 {
			t.Fatalf("delay %d ms outside 1000–2000", d)
		}
	}
	if d := (&Client{cfg: Config{}}).delay(); d != 0 {
		t.Fatalf("delays off: %d ms", d)
	}
}

// TestSyncCopiesInOrder: a sync copy never leaves before an earlier one,
// whatever the draws, and stays within the delay range of its message.
func TestSyncCopiesInOrder(t *testing.T) {
	ctx := context.Background()
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	c, err := Open(Config{Home: t.TempDir(), DelayMin: time.Second, DelayMax: 5 * time.Second}, alice.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	draws := []int64{4000, 0, 2000, 0}
	c.jitter = func(int64) int64 { d := draws[0]; draws = draws[1:]; return d }
	var sent []int64
	for i := range 4 {
		m, err := c.Send(ctx, bob.id(), fmt.Sprint("message ", i), SendOptions{})
		if !errors.Is(err, ErrNoNetwork) {
			t.Fatalf("offline send: %v", err)
		}
		sent = append(sent, m.SentAt)
	}
	items, err := c.Store().DueOutbox(ctx, math.MaxInt64, 100)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	var i int
	for _, it := range items {
		if it.Kind != store.OutboxSync {
			continue
		}
		if it.NextAttempt < last || it.NextAttempt < sent[i]+1000 || it.NextAttempt > sent[i]+5000 || it.Timestamp != it.NextAttempt {
			t.Errorf("sync copy %d: due %d (timestamp %d) after %d, sent %d; want in order and within 1–5 s", i, it.NextAttempt, it.Timestamp, last, sent[i])
		}
		last = it.NextAttempt
		i++
	}
	if i != 4 {
		t.Fatalf("%d sync copies queued, want 4", i)
	}
}

// TestReceiptsOffDropsWaiting: turning a receipt type off drops the
// receipts of that type still waiting for their delay, and only those.
func TestReceiptsOffDropsWaiting(t *testing.T) {
	ctx := context.Background()
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	c, err := Open(Config{Home: t.TempDir(), DelayMin: time.Second, DelayMax: 5 * time.Second}, alice.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		if err := c.queueReceipt(ctx, tx, bob.id(), wire.ReceiptMessage_DELIVERY, []int64{1}); err != nil {
			return err
		}
		return c.queueReceipt(ctx, tx, bob.id(), wire.ReceiptMessage_READ, []int64{1})
	})
	if err != nil {
		t.Fatal(err)
	}
	types := func() []wire.ReceiptMessage_Type {
		items, err := c.db.OutboxOfKind(ctx, store.OutboxReceipt)
		if err != nil {
			t.Fatal(err)
		}
		var out []wire.ReceiptMessage_Type
		for _, it := range items {
			var r wire.ReceiptMessage
			if err := proto.Unmarshal(it.Data, &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r.GetType())
		}
		return out
	}
	if got := types(); len(got) != 2 {
		t.Fatalf("waiting receipts %v, want a delivery and a read receipt", got)
	}
	if err := c.SetReceipts(ctx, true, false); err != nil {
		t.Fatal(err)
	}
	if got := types(); !slices.Equal(got, []wire.ReceiptMessage_Type{wire.ReceiptMessage_READ}) {
		t.Fatalf("after delivery receipts off: %v, want the read receipt only", got)
	}
	if err := c.SetReceipts(ctx, false, false); err != nil {
		t.Fatal(err)
	}
	if got := types(); len(got) != 0 {
		t.Fatalf("after read receipts off: %v, want none", got)
	}
}

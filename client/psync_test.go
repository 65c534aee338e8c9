package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

// TestSyncCopyForm: Alice has two devices and writes to Bob; the delays
// are drawn at their maximum and the outbox is flushed "later"
// (flushOutboxAt). With the private form, every copy Alice's swarm stores
// of what she sent Bob (message, quoting reply, reaction, unsend requests)
// has an envelope timestamp, store timestamp and expiry at least the
// minimum delay after those of Bob's copy, its sigTimestamp equal to its
// envelope timestamp and the sent timestamp inside; with Session's form
// the envelope timestamp is Bob's. Either way, Alice's other device files
// each message under its sent timestamp, so that a quote, reaction or
// unsend from either device finds it on the other device and at Bob's.
func TestSyncCopyForm(t *testing.T) {
	for _, private := range []bool{true, false} {
		name := "session"
		if private {
			name = "private"
		}
		t.Run(name, func(t *testing.T) { testSyncCopyForm(t, private) })
	}
}

func testSyncCopyForm(t *testing.T, private bool) {
	nw, alice, bob := pair(t)
	ctx := context.Background()
	const delayMin, delayMax = 2 * time.Second, 6 * time.Second
	opts := devOpts{noServe: true, delayMin: delayMin, delayMax: delayMax}
	a1 := alice.open(t, nw, "", opts)
	a2 := alice.open(t, nw, "", opts)
	b := bob.open(t, nw, "", opts)
	atMax := func(n int64) int64 { return n - 1 }
	a1.c.jitter, a2.c.jitter = atMax, atMax
	for _, d := range []*device{a1, a2} {
		if err := d.c.SetSyncPrivacy(ctx, private); err != nil {
			t.Fatal(err)
		}
		if on, err := d.c.SyncPrivacy(ctx); err != nil || on != private {
			t.Fatalf("SyncPrivacy = %v, %v; want %v", on, err, private)
		}
	}
	later := func(d *device) {
		t.Helper()
		if err := d.c.flushOutboxAt(ctx, d.c.nowMillis()+delayMax.Milliseconds()); err != nil {
			t.Fatal(err)
		}
	}
	sync := func(ds ...*device) {
		t.Helper()
		for _, d := range ds {
			if err := d.c.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// conv is the conversation on d's side.
	conv := func(d *device) key.SessionID {
		if d == b {
			return alice.id()
		}
		return bob.id()
	}
	byBody := func(d *device, body string) *store.Message {
		t.Helper()
		for _, m := range d.history(conv(d)) {
			if m.Body == body {
				return m
			}
		}
		t.Fatalf("no message %q in the conversation", body)
		return nil
	}

	msg, err := a1.c.Send(ctx, bob.id(), "hi bob", SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	later(a1)
	sync(a2, b)
	if m := byBody(a2, "hi bob"); m.SentAt != msg.SentAt || m.Direction != store.Outgoing {
		t.Fatalf("second device: sent %d direction %v, want %d outgoing", m.SentAt, m.Direction, msg.SentAt)
	}
	if m := byBody(b, "hi bob"); m.SentAt != msg.SentAt {
		t.Fatalf("bob: sent %d, want %d", m.SentAt, msg.SentAt)
	}

	// The second device quotes the message and reacts to it: both name it
	// by its sent timestamp, and both of Alice's devices and Bob's find it.
	re, err := a2.c.Send(ctx, bob.id(), "re", SendOptions{Quote: &store.Ref{Author: alice.id(), SentAt: msg.SentAt}})
	if err != nil {
		t.Fatalf("second device quoting the message: %v", err)
	}
	if _, err := a2.c.React(ctx, bob.id(), byBody(a2, "hi bob").ID, "👍", false); err != nil {
		t.Fatal(err)
	}
	later(a2)
	sync(a1, b)
	for _, d := range []*device{a1, b} {
		if m := byBody(d, "re"); m.SentAt != re.SentAt || m.Quote == nil || m.Quote.SentAt != msg.SentAt {
			t.Errorf("%s: reply sent %d quoting %+v, want sent %d quoting %d", d.c.self, m.SentAt, m.Quote, re.SentAt, msg.SentAt)
		}
		if m := byBody(d, "hi bob"); len(m.Reactions) != 1 || m.Reactions[0].Reactor != alice.id() {
			t.Errorf("%s: reactions %+v, want Alice's", d.c.self, m.Reactions)
		}
	}
	pairs := syncPairs(t, nw, alice, bob)
	if len(pairs) != 3 {
		t.Fatalf("%d sync copies paired with bob's copies, want 3 (message, reply, reaction)", len(pairs))
	}
	checkSyncPairs(t, pairs, private, delayMin)

	// Each device unsends what the other sent: the other finds it by its
	// sent timestamp, as Bob does.
	if _, err := a1.c.Unsend(ctx, bob.id(), byBody(a1, "re").ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.c.Unsend(ctx, bob.id(), byBody(a2, "hi bob").ID); err != nil {
		t.Fatal(err)
	}
	later(a1)
	later(a2)
	sync(a1, a2, b)
	for _, d := range []*device{a1, a2, b} {
		for _, body := range []string{"hi bob", "re"} {
			found := false
			for _, m := range d.history(conv(d)) {
				found = found || (m.Unsent && (m.SentAt == msg.SentAt || m.SentAt == re.SentAt))
				if m.Body == body {
					t.Errorf("%s: %q not unsent", d.c.self, body)
				}
			}
			if !found {
				t.Errorf("%s: no unsent message", d.c.self)
			}
		}
	}
	unsends := 0
	pairs = syncPairs(t, nw, alice, bob)
	for _, p := range pairs {
		if p.sync.Content.UnsendRequest != nil {
			unsends++
		}
	}
	if unsends != 2 {
		t.Fatalf("%d unsend copies paired with bob's, want 2", unsends)
	}
	checkSyncPairs(t, pairs, private, delayMin)
}

// syncPair is a copy in the sender's swarm and the recipient's copy of
// the same content.
type syncPair struct {
	sync, rcpt       *sessionproto.Decoded
	syncRow, rcptRow storagerpc.RetrievedMessage
}

// syncPairs decrypts what the swarms of from and to store in namespace 0
// and pairs each copy in from's swarm with to's copy of the same content
// (syncTarget, DataMessage.timestamp and sigTimestamp aside); it fails
// when one has no partner.
func syncPairs(t *testing.T, nw *testnet.Network, from, to *account) []syncPair {
	t.Helper()
	decode := func(a *account) (map[string]*sessionproto.Decoded, map[string]storagerpc.RetrievedMessage) {
		dec := map[string]*sessionproto.Decoded{}
		rows := storedSet(t, nw, a)
		for h, r := range rows {
			d, err := sessionproto.DecodeMessage(a.kf.Keys, r.Data)
			if err != nil {
				t.Fatalf("%s's swarm: %v", a.name, err)
			}
			dec[h] = d
		}
		return dec, rows
	}
	norm := func(c *wire.Content) *wire.Content {
		c = proto.Clone(c).(*wire.Content)
		c.SigTimestamp = nil
		if c.DataMessage != nil {
			c.DataMessage.SyncTarget, c.DataMessage.Timestamp = nil, nil
		}
		return c
	}
	fromDec, fromRows := decode(from)
	toDec, toRows := decode(to)
	var out []syncPair
	for h, d := range fromDec {
		if d.Sender != from.id() {
			continue
		}
		var match []string
		for h2, d2 := range toDec {
			if d2.Sender == from.id() && proto.Equal(norm(d.Content), norm(d2.Content)) {
				match = append(match, h2)
			}
		}
		if len(match) != 1 {
			t.Fatalf("sync copy %s: %d copies of its content in %s's swarm, want 1", h, len(match), to.name)
		}
		out = append(out, syncPair{sync: d, rcpt: toDec[match[0]], syncRow: fromRows[h], rcptRow: toRows[match[0]]})
	}
	return out
}

// checkSyncPairs checks the timestamps of each pair: with the private
// form, nothing of the sync copy's in clear (envelope timestamp, store
// timestamp, expiry) within min of the recipient's copy's, sigTimestamp
// equal to the envelope's, the sent timestamp inside a DataMessage; with
// Session's form, the recipient's envelope timestamp.
func checkSyncPairs(t *testing.T, pairs []syncPair, private bool, minDelay time.Duration) {
	t.Helper()
	minMS := minDelay.Milliseconds()
	for _, p := range pairs {
		what := fmt.Sprintf("sync copy of %v", kindOf(p.sync.Content))
		syncEnv, rcptEnv := int64(p.sync.Timestamp), int64(p.rcpt.Timestamp)
		if !private {
			if syncEnv != rcptEnv {
				t.Errorf("%s: envelope timestamp %d, want the recipient's %d", what, syncEnv, rcptEnv)
			}
			if dm := p.sync.Content.DataMessage; dm != nil && dm.Timestamp != nil {
				t.Errorf("%s: DataMessage.timestamp set in Session's form", what)
			}
			continue
		}
		for _, c := range []struct {
			name       string
			sync, rcpt int64
		}{
			{"envelope timestamp", syncEnv, rcptEnv},
			{"store timestamp", p.syncRow.Timestamp, p.rcptRow.Timestamp},
			{"expiry", p.syncRow.Expiration, p.rcptRow.Expiration},
		} {
			if d := c.sync - c.rcpt; d < minMS {
				t.Errorf("%s: %s %d ms after the recipient's, want at least %d", what, c.name, d, minMS)
			}
		}
		if sig := int64(p.sync.Content.GetSigTimestamp()); sig != syncEnv {
			t.Errorf("%s: sigTimestamp %d, envelope %d", what, sig, syncEnv)
		}
		if dm := p.sync.Content.DataMessage; dm != nil && int64(dm.GetTimestamp()) != rcptEnv {
			t.Errorf("%s: DataMessage.timestamp %d, want the sent timestamp %d", what, dm.GetTimestamp(), rcptEnv)
		}
	}
}

func kindOf(c *wire.Content) string {
	switch {
	case c.UnsendRequest != nil:
		return "an unsend request"
	case c.GetDataMessage().GetReaction() != nil:
		return "a reaction"
	case c.DataMessage != nil:
		return fmt.Sprintf("message %q", c.DataMessage.GetBody())
	}
	return "?"
}

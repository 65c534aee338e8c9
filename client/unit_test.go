package client

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

func TestParseNetwork(t *testing.T) {
	const pin = `"cert_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`
	seed := func(url string) string { return `{"url": "` + url + `", ` + pin + `}` }
	val := `{"pub_key_ed25519": "` + strings.Repeat("ab", 32) + `", "power": 10}`
	for _, tc := range []struct {
		name, in string
		ok       bool
		same     bool
	}{
		{"ok", `{"seed_nodes": [` + seed("https://127.0.0.1:22021") + `, ` + seed("https://seed.example:4443/") + `], "allow_same_subnet": true}`, true, true},
		{"unknown keys ignored", `{"seed_nodes": [` + seed("https://[::1]:1") + `], "future": {"x": 1}}`, true, false},
		// The ledger a client verifies node lists against (docs/nodeproof.md).
		{"ledger", `{"seed_nodes": [` + seed("https://a:1") + `], "ledger": {"chain_id": "c", "validators": [` + val + `]}}`, true, false},
		{"ledger without chain id", `{"seed_nodes": [` + seed("https://a:1") + `], "ledger": {"validators": [` + val + `]}}`, false, false},
		{"ledger without validators", `{"seed_nodes": [` + seed("https://a:1") + `], "ledger": {"chain_id": "c", "validators": []}}`, false, false},
		{"ledger validator twice", `{"seed_nodes": [` + seed("https://a:1") + `], "ledger": {"chain_id": "c", "validators": [` + val + `,` + val + `]}}`, false, false},
		{"ledger short key", `{"seed_nodes": [` + seed("https://a:1") + `], "ledger": {"chain_id": "c", "validators": [{"pub_key_ed25519": "9f86", "power": 1}]}}`, false, false},
		{"ledger zero power", `{"seed_nodes": [` + seed("https://a:1") + `], "ledger": {"chain_id": "c", "validators": [{"pub_key_ed25519": "` + strings.Repeat("ab", 32) + `", "power": 0}]}}`, false, false},
		{"no seeds", `{"seed_nodes": []}`, false, false},
		{"missing seeds", `{}`, false, false},
		{"http", `{"seed_nodes": [` + seed("http://127.0.0.1:22021") + `]}`, false, false},
		{"no port", `{"seed_nodes": [` + seed("https://127.0.0.1") + `]}`, false, false},
		{"port 0", `{"seed_nodes": [` + seed("https://127.0.0.1:0") + `]}`, false, false},
		{"path", `{"seed_nodes": [` + seed("https://127.0.0.1:1/json_rpc") + `]}`, false, false},
		{"query", `{"seed_nodes": [` + seed("https://127.0.0.1:1?x=1") + `]}`, false, false},
		{"user", `{"seed_nodes": [` + seed("https://u:p@127.0.0.1:1") + `]}`, false, false},
		{"not json", `seed_nodes`, false, false},
		{"trailing", `{"seed_nodes": [` + seed("https://a:1") + `]} {}`, false, false},
		{"wrong type", `{"seed_nodes": "https://a:1"}`, false, false},
		// Every seed is pinned to its certificate.
		{"unpinned seed", `{"seed_nodes": ["https://127.0.0.1:22021"]}`, false, false},
		{"no pin", `{"seed_nodes": [{"url": "https://127.0.0.1:22021"}]}`, false, false},
		{"short pin", `{"seed_nodes": [{"url": "https://127.0.0.1:22021", "cert_sha256": "9f86"}]}`, false, false},
		{"upper-case pin", `{"seed_nodes": [{"url": "https://127.0.0.1:22021", "cert_sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}]}`, false, false},
		{"pin not hex", `{"seed_nodes": [{"url": "https://127.0.0.1:22021", "cert_sha256": "zf86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseNetwork([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("ParseNetwork = %v, %v; want ok %v", n, err, tc.ok)
			}
			var ne *NetworkError
			if err != nil && !errors.As(err, &ne) {
				t.Errorf("error %T is not a *NetworkError", err)
			}
			if tc.same && (!n.AllowSameSubnet || len(n.SeedNodes) != 2) {
				t.Errorf("parsed %+v", n)
			}
		})
	}
}

func FuzzParseNetwork(f *testing.F) {
	f.Add([]byte(`{"seed_nodes": [{"url": "https://127.0.0.1:22021", "cert_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}], "allow_same_subnet": true}`))
	f.Add([]byte(`{"seed_nodes": []}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseNetwork(b)
		if err == nil && len(n.SeedNodes) == 0 {
			t.Fatal("accepted a network without seeds")
		}
	})
}

func TestOffsetEstimator(t *testing.T) {
	var o offsetEstimator
	if o.get() != 0 {
		t.Fatal("initial offset not zero")
	}
	ms := time.Millisecond
	// One node alone is all there is to go by.
	o.observe("a", 100*ms)
	if got := o.get(); got != 100*ms {
		t.Errorf("one node: %v, want 100ms", got)
	}
	// A second node that claims the clock is an hour off does not win.
	o.observe("liar", time.Hour)
	if got := o.get(); got != 100*ms {
		t.Errorf("two nodes, one lying: %v, want the modest 100ms", got)
	}
	for i, d := range []time.Duration{110, 90, 105} {
		o.observe(string(rune('b'+i)), d*ms)
	}
	if got := o.get(); got != 105*ms {
		t.Errorf("median = %v, want 105ms (the liar ignored)", got)
	}
	// The liar repeating itself is still one node.
	for range 10 {
		o.observe("liar", -time.Hour)
	}
	if got := o.get(); got != 100*ms {
		t.Errorf("a node repeating itself moved the median to %v", got)
	}
	// A real clock jump, seen by most nodes, moves it.
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		o.observe(k, -2*time.Second)
	}
	if got := o.get(); got != -2*time.Second {
		t.Errorf("after a clock jump the median is %v", got)
	}
	// Only the last offsetNodes nodes count.
	for i := range offsetNodes {
		o.observe(string(rune('A'+i)), time.Second)
	}
	if got := o.get(); got != time.Second || len(o.from) != offsetNodes {
		t.Errorf("after %d new nodes: %v from %d nodes", offsetNodes, got, len(o.from))
	}
}

func TestEncodeRetrieve(t *testing.T) {
	k, seed, err := identity.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	clear(seed)
	ts := int64(1_700_000_000_000)
	const lastHash = "4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHs"
	sig := storagerpc.Signature(k.Sign(storagerpc.RetrieveSigMessage(0, ts)))
	ed := k.Ed25519Public()
	p := &storagerpc.RetrieveParams{
		Account: storagerpc.AccountFromSessionID(k.SessionID()), LastHash: lastHash, Timestamp: ts,
		Auth: storagerpc.Auth{Signature: &sig, PubkeyEd25519: &ed},
	}
	for _, tc := range []struct {
		wait time.Duration
		want any
	}{{0, nil}, {20 * time.Second, float64(20000)}} {
		body, err := encodeRetrieve(p, tc.wait)
		if err != nil {
			t.Fatal(err)
		}
		// The node's own decoder accepts it as a retrieve.
		method, params, err := storagerpc.DecodeRequest(body)
		if err != nil || method != storagerpc.MethodRetrieve {
			t.Fatalf("DecodeRequest = %q, %v", method, err)
		}
		req, err := storagerpc.ParseParams(method, params)
		if err != nil {
			t.Fatal(err)
		}
		if rp := req.(*storagerpc.RetrieveParams); rp.LastHash != lastHash || rp.Timestamp != ts {
			t.Errorf("parsed %+v", rp)
		}
		if err := req.Check(time.UnixMilli(ts), storagerpc.CheckOptions{}); err != nil {
			t.Errorf("signature check: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(params, &m); err != nil {
			t.Fatal(err)
		}
		if m["wait_ms"] != tc.want {
			t.Errorf("wait %v: wait_ms = %v, want %v", tc.wait, m["wait_ms"], tc.want)
		}
	}
}

func TestExpiryOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     *wire.Content
		mode  store.ExpiryMode
		timer uint32
	}{
		{"none", &wire.Content{}, store.ExpiryOff, 0},
		{"after send", &wire.Content{ExpirationType: wire.Content_DELETE_AFTER_SEND.Enum(), ExpirationTimer: proto.Uint32(30)}, store.ExpiryAfterSend, 30},
		{"after read", &wire.Content{ExpirationType: wire.Content_DELETE_AFTER_READ.Enum(), ExpirationTimer: proto.Uint32(60)}, store.ExpiryAfterRead, 60},
		{"type without timer", &wire.Content{ExpirationType: wire.Content_DELETE_AFTER_READ.Enum()}, store.ExpiryOff, 0},
		{"legacy expireTimer", &wire.Content{DataMessage: &wire.DataMessage{ExpireTimer: proto.Uint32(10)}}, store.ExpiryAfterSend, 10},
	} {
		mode, timer := expiryOf(tc.c)
		if mode != tc.mode || timer != tc.timer {
			t.Errorf("%s: %v %d, want %v %d", tc.name, mode, timer, tc.mode, tc.timer)
		}
	}
	// setExpiry is the inverse for what we send.
	for _, mode := range []store.ExpiryMode{store.ExpiryOff, store.ExpiryAfterSend, store.ExpiryAfterRead} {
		c := &wire.Content{DataMessage: &wire.DataMessage{}}
		exp := setExpiry(c, mode, 45, 1000)
		gotMode, gotTimer := expiryOf(c)
		if gotMode != mode || (mode != store.ExpiryOff && gotTimer != 45) {
			t.Errorf("round trip %v: %v %d", mode, gotMode, gotTimer)
		}
		want := 1000 + ContentTTL.Milliseconds()
		if mode == store.ExpiryAfterSend {
			want = 1000 + 45_000
		}
		if exp != want {
			t.Errorf("%v: store expiry %d, want %d", mode, exp, want)
		}
	}
}

func TestHashesRoundTrip(t *testing.T) {
	in := []string{"4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHs", "b"}
	if got := splitHashes(joinHashes(in)); !slices.Equal(got, in) {
		t.Errorf("got %v", got)
	}
	if got := splitHashes(nil); len(got) != 0 {
		t.Errorf("empty: %v", got)
	}
}

// offline opens a client without a network.
func offline(t *testing.T) (*Client, *account) {
	t.Helper()
	a := newAccount(t, "solo")
	c, err := Open(Config{Home: t.TempDir()}, a.kf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, a
}

func TestTimestampsUnique(t *testing.T) {
	c, _ := offline(t)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				ts := c.nextTimestamp()
				mu.Lock()
				if seen[ts] {
					t.Errorf("timestamp %d handed out twice", ts)
				}
				seen[ts] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestOfflineClient: without a network the client saves and queues
// messages and serves local reads; a second Open of the same home by
// another account is refused.
func TestOfflineClient(t *testing.T) {
	ctx := context.Background()
	a := newAccount(t, "alice")
	bob := newAccount(t, "bob")
	home := t.TempDir()
	c, err := Open(Config{Home: home}, a.kf)
	if err != nil {
		t.Fatal(err)
	}
	if c.Online() || c.SessionID() != a.id() {
		t.Fatal("offline client reports a network or the wrong ID")
	}
	if err := c.Serve(ctx); !errors.Is(err, ErrNoNetwork) {
		t.Errorf("Serve offline = %v", err)
	}
	m, err := c.Send(ctx, bob.id(), "queued", SendOptions{})
	var ns *NotSentError
	if !errors.As(err, &ns) || !errors.Is(err, ErrNoNetwork) || m == nil || m.State != store.StateSending {
		t.Fatalf("offline send = %+v, %v", m, err)
	}
	if n, _ := c.Store().OutboxLen(ctx); n != 2 {
		t.Errorf("outbox has %d items, want the message and its sync copy", n)
	}
	for _, tc := range []struct {
		body string
		want error
	}{{"", ErrEmptyMessage}, {"  \n", ErrEmptyMessage}, {strings.Repeat("x", MaxBodyLen+1), ErrTooLong}} {
		if _, err := c.Send(ctx, bob.id(), tc.body, SendOptions{}); !errors.Is(err, tc.want) {
			t.Errorf("Send(%d bytes) = %v, want %v", len(tc.body), err, tc.want)
		}
	}
	group := key.NewSessionID(key.PrefixGroup, [32]byte{1})
	if _, err := c.Send(ctx, group, "x", SendOptions{}); !errors.Is(err, ErrNoGroup) {
		t.Errorf("send to a group we are not in: %v", err)
	}
	if _, err := c.Send(ctx, bob.id(), "x", SendOptions{Quote: &store.Ref{Author: bob.id(), SentAt: 1}}); !errors.Is(err, ErrNoMessage) {
		t.Errorf("quote of a missing message: %v", err)
	}
	if err := c.SetDisappearing(ctx, bob.id(), store.ExpiryAfterSend, time.Second); !errors.Is(err, ErrTimer) {
		t.Errorf("1 s timer: %v", err)
	}
	if err := c.SetProfileName(ctx, "Alice"); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.ProfileName(ctx); n != "Alice" {
		t.Errorf("profile name %q", n)
	}
	if err := c.SetProfileName(ctx, "a\nb"); err == nil {
		t.Error("two-line display name accepted")
	}
	if err := c.Accept(ctx, bob.id()); !errors.Is(err, ErrNoRequest) {
		t.Errorf("accept without request: %v", err)
	}
	// Writing to Bob accepted him.
	k, err := c.Store().Contact(ctx, bob.id())
	if err != nil || !k.Approved {
		t.Errorf("contact after send: %+v, %v", k, err)
	}
	if _, err := c.Unsend(ctx, bob.id(), m.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Store().OutboxLen(ctx); n != 2 {
		t.Errorf("after unsending a queued message the outbox has %d items, want the 2 unsend requests", n)
	}
	c.Close()

	other := newAccount(t, "mallory")
	if _, err := Open(Config{Home: home}, other.kf); !errors.Is(err, store.ErrWrongKey) {
		t.Errorf("another identity opening the home: %v", err)
	}
	if _, err := Open(Config{Home: filepath.Join(home, "x"), NetworkFile: filepath.Join(home, "missing.json")}, a.kf); err == nil {
		t.Error("missing network file accepted")
	}
}

// TestApplyMessages drives the receive side without a network: messages
// encoded as a peer would, applied in order, with the effects each
// Session wire form must have.
func TestApplyMessages(t *testing.T) {
	ctx := context.Background()
	c, me := offline(t)
	peer := newAccount(t, "peer")
	var hashN int
	apply := applyFunc(func(from *account, content *wire.Content, ts int64) []Event {
		t.Helper()
		content.SigTimestamp = proto.Uint64(uint64(ts))
		data, err := sessionproto.EncodeMessage(from.kf.Keys, me.id(), content, uint64(ts))
		if err != nil {
			t.Fatal(err)
		}
		hashN++
		m := &storagerpc.RetrievedMessage{Hash: storagerpc.MessageHash(storagerpc.AccountFromSessionID(me.id()), 0, data),
			Timestamp: ts, Expiration: ts + 1e9, Data: data}
		for len(c.events) > 0 {
			<-c.events // what earlier calls emitted
		}
		before := 0
		var node key.NodePublic // one node answered every retrieve
		if _, err := c.ingestBatch(ctx, node, "", []storagerpc.RetrievedMessage{*m}); err != nil {
			t.Fatal(err)
		}
		// A second copy of the same stored message is ignored.
		if n, err := c.ingestBatch(ctx, node, m.Hash, []storagerpc.RetrievedMessage{*m}); err != nil || n != 0 {
			t.Fatalf("duplicate ingest: %d, %v", n, err)
		}
		var evs []Event
		for range len(c.events) - before {
			evs = append(evs, <-c.events)
		}
		return evs
	})
	mine := applyRequests(t, c, me, peer, apply)
	applyUnsends(t, c, me, peer, mine, apply)
	applyDisappearing(t, c, peer, apply)
	applySyncCopies(t, c, me, peer, apply)
	// Garbage in our swarm is skipped and remembered.
	junk := &storagerpc.RetrievedMessage{Hash: "junkjunkjunkjunkjunkjunkjunkjunkjunkjunkjun", Data: []byte("not a message"), Expiration: 1e13}
	if n, err := c.ingestBatch(ctx, key.NodePublic{}, "", []storagerpc.RetrievedMessage{*junk}); err != nil || n != 0 {
		t.Errorf("junk: %d, %v", n, err)
	}
	if seen, _ := c.Store().Seen(ctx, junk.Hash); !seen {
		t.Error("junk not remembered")
	}
}

// applyFunc stores content from an account as a message in our swarm,
// lets the client ingest it, and returns the events it emitted.
type applyFunc func(from *account, content *wire.Content, ts int64) []Event

// text is a data message with a body, from a peer named "Peer".
func text(body string) *wire.Content {
	return &wire.Content{DataMessage: &wire.DataMessage{Body: proto.String(body),
		Profile: &wire.LokiProfile{DisplayName: proto.String("Peer")}}}
}

// applyRequests: a first message makes a request; typing shows once peer
// is accepted; reactions, quotes and receipts apply to our message, which
// it returns.
func applyRequests(t *testing.T, c *Client, me, peer *account, apply applyFunc) *store.Message {
	t.Helper()
	ctx := context.Background()
	evs := apply(peer, text("first"), 1000)
	if len(evs) != 2 || evs[0].Kind != EventMessage || evs[1].Kind != EventRequest {
		t.Fatalf("first message events: %+v", evs)
	}
	if r, _ := c.Store().Requests(ctx); len(r) != 1 || r[0].DisplayName != "Peer" {
		t.Fatalf("requests: %+v", r)
	}
	// Typing from someone not accepted is not shown.
	typing := &wire.Content{TypingMessage: &wire.TypingMessage{Timestamp: proto.Uint64(1), Action: wire.TypingMessage_STARTED.Enum()}}
	if evs := apply(peer, typing, 1100); len(evs) != 0 {
		t.Errorf("typing from a request: %+v", evs)
	}
	if err := c.Accept(ctx, peer.id()); err != nil {
		t.Fatal(err)
	}
	if evs := apply(peer, typing, 1200); len(evs) != 1 || !evs[0].Typing {
		t.Errorf("typing from a contact: %+v", evs)
	}
	// A reaction to our message, and a quote.
	mine, _ := c.Send(ctx, peer.id(), "mine", SendOptions{})
	react := &wire.Content{DataMessage: &wire.DataMessage{Reaction: &wire.DataMessage_Reaction{
		Id: proto.Uint64(uint64(mine.SentAt)), Author: proto.String(me.id().String()), Emoji: proto.String("👍"),
		Action: wire.DataMessage_Reaction_REACT.Enum()}}}
	if evs := apply(peer, react, 1300); len(evs) != 1 || evs[0].Kind != EventReaction || len(evs[0].Message.Reactions) != 1 {
		t.Fatalf("reaction: %+v", evs)
	}
	q := text("quoting")
	q.DataMessage.Quote = &wire.DataMessage_Quote{Id: proto.Uint64(uint64(mine.SentAt)), Author: proto.String(me.id().String())}
	evs = apply(peer, q, 1400)
	if len(evs) != 1 || evs[0].Message.Quote == nil || evs[0].Message.Quote.SentAt != mine.SentAt {
		t.Fatalf("quote: %+v", evs)
	}
	// A message from a contact queued its delivery receipt in the same
	// commit that stored it.
	if !hasReceipt(t, c, peer, 1400) {
		t.Error("no delivery receipt queued for the contact's message")
	}
	// Receipts move our message forward, never back.
	rcpt := func(typ wire.ReceiptMessage_Type) *wire.Content {
		return &wire.Content{ReceiptMessage: &wire.ReceiptMessage{Type: typ.Enum(), Timestamp: []uint64{uint64(mine.SentAt)}}}
	}
	apply(peer, rcpt(wire.ReceiptMessage_READ), 1500)
	apply(peer, rcpt(wire.ReceiptMessage_DELIVERY), 1600)
	if got, _ := c.Store().Message(ctx, mine.ID); got.State != store.StateRead {
		t.Errorf("after read + late delivery receipt: %v", got.State)
	}
	return mine
}

// applyUnsends: unsend by someone else than the author is ignored; by the
// author it blanks the message; an unsend before its message leaves a
// blank.
func applyUnsends(t *testing.T, c *Client, me, peer *account, mine *store.Message, apply applyFunc) {
	t.Helper()
	ctx := context.Background()
	first, _ := c.Store().FindMessage(ctx, peer.id(), store.Ref{Author: peer.id(), SentAt: 1000})
	forged := &wire.Content{UnsendRequest: &wire.UnsendRequest{Timestamp: proto.Uint64(uint64(mine.SentAt)), Author: proto.String(me.id().String())}}
	if evs := apply(peer, forged, 1700); len(evs) != 0 {
		t.Errorf("forged unsend: %+v", evs)
	}
	unsend := &wire.Content{UnsendRequest: &wire.UnsendRequest{Timestamp: proto.Uint64(1000), Author: proto.String(peer.id().String())}}
	if evs := apply(peer, unsend, 1800); len(evs) != 1 || evs[0].Kind != EventUnsent {
		t.Fatalf("unsend: %+v", evs)
	}
	if got, _ := c.Store().Message(ctx, first.ID); !got.Unsent || got.Body != "" {
		t.Errorf("unsent message: %+v", got)
	}
	early := &wire.Content{UnsendRequest: &wire.UnsendRequest{Timestamp: proto.Uint64(5000), Author: proto.String(peer.id().String())}}
	apply(peer, early, 1900)
	apply(peer, text("too late"), 5000)
	if got, _ := c.Store().FindMessage(ctx, peer.id(), store.Ref{Author: peer.id(), SentAt: 5000}); !got.Unsent || got.Body != "" {
		t.Errorf("message after its unsend: %+v", got)
	}
}

// applyDisappearing: a timer update, then a disappearing message.
func applyDisappearing(t *testing.T, c *Client, peer *account, apply applyFunc) {
	t.Helper()
	ctx := context.Background()
	upd := &wire.Content{DataMessage: &wire.DataMessage{Flags: proto.Uint32(uint32(wire.DataMessage_EXPIRATION_TIMER_UPDATE))},
		ExpirationType: wire.Content_DELETE_AFTER_SEND.Enum(), ExpirationTimer: proto.Uint32(60)}
	if evs := apply(peer, upd, 6000); len(evs) != 1 || evs[0].Kind != EventDisappearing || evs[0].Timer != 60 {
		t.Fatalf("timer update: %+v", evs)
	}
	if conv, _ := c.Store().Conversation(ctx, peer.id()); conv.ExpiryMode != store.ExpiryAfterSend || conv.ExpiryTimer != 60 {
		t.Errorf("conversation setting: %+v", conv)
	}
	dis := text("poof")
	dis.ExpirationType, dis.ExpirationTimer = wire.Content_DELETE_AFTER_SEND.Enum(), proto.Uint32(60)
	evs := apply(peer, dis, 7000)
	if len(evs) != 1 || evs[0].Message.ExpiresAt != 7000+60_000 {
		t.Fatalf("disappearing message: %+v", evs)
	}
}

// applySyncCopies: a sync copy from our other device with syncTarget is
// our outgoing message; one from a peer with syncTarget is just their
// message. Then peer is blocked: its messages are dropped.
func applySyncCopies(t *testing.T, c *Client, me, peer *account, apply applyFunc) {
	t.Helper()
	ctx := context.Background()
	sync := text("from my phone")
	sync.DataMessage.SyncTarget = proto.String(peer.id().String())
	evs := apply(me, sync, 8000)
	if len(evs) != 1 || evs[0].Message.Direction != store.Outgoing || evs[0].Conversation != peer.id() || evs[0].Message.State != store.StateSent {
		t.Fatalf("sync copy: %+v", evs)
	}
	third := newAccount(t, "third")
	spoof := text("not really yours")
	spoof.DataMessage.SyncTarget = proto.String(third.id().String())
	evs = apply(peer, spoof, 9000)
	if len(evs) != 1 || evs[0].Conversation != peer.id() || evs[0].Message.Direction != store.Incoming {
		t.Fatalf("syncTarget from a peer: %+v", evs)
	}
	// Blocked: dropped.
	if err := c.Block(ctx, peer.id(), true); err != nil {
		t.Fatal(err)
	}
	if evs := apply(peer, text("blocked"), 10000); len(evs) != 0 {
		t.Errorf("blocked sender: %+v", evs)
	}
}

// TestServeStopsCleanly: Serve against an unreachable network returns when
// its context ends, and Close leaves no goroutine behind.
func TestServeStopsCleanly(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a := newAccount(t, "alice")
	nw := &Network{SeedNodes: []Seed{{URL: "https://127.0.0.1:1", CertSHA256: strings.Repeat("0", 64)}}}
	c, err := Open(Config{Home: t.TempDir(), Network: nw, RequestTimeout: time.Second}, a.kf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), newAccount(t, "bob").id(), "x", SendOptions{}); !isUnreachable(err) {
		t.Errorf("send to an unreachable network: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Two Serves at once: one serves until ctx ends, so the first to
	// return is the other one, with ErrServing.
	done := make(chan error, 2)
	go func() { done <- c.Serve(ctx) }()
	go func() { done <- c.Serve(ctx) }()
	if err := <-done; !errors.Is(err, ErrServing) {
		t.Errorf("second Serve: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// hasReceipt reports whether c's outbox holds a delivery receipt to peer
// for the message peer sent at sentAt.
func hasReceipt(t *testing.T, c *Client, peer *account, sentAt int64) bool {
	t.Helper()
	items, err := c.Store().DueOutbox(context.Background(), 1<<62, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Account != peer.id() {
			continue
		}
		var r *wire.ReceiptMessage
		switch it.Kind {
		case store.OutboxControl:
			dec, err := sessionproto.DecodeMessage(peer.kf.Keys, it.Data)
			if err != nil {
				t.Fatal(err)
			}
			r = dec.Content.GetReceiptMessage()
		case store.OutboxReceipt: // waiting for its delay, not sealed yet
			r = &wire.ReceiptMessage{}
			if err := proto.Unmarshal(it.Data, r); err != nil {
				t.Fatal(err)
			}
		default:
			continue
		}
		if r.GetType() == wire.ReceiptMessage_DELIVERY && slices.Contains(r.GetTimestamp(), uint64(sentAt)) {
			return true
		}
	}
	return false
}

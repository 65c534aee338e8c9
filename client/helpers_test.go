package client

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/identity"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/snode"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"
)

func TestMain(m *testing.M) {
	testnet.ChildMain()
	os.Exit(m.Run())
}

// devnetTuned starts a loopback network of n nodes in swarms of 5, with
// tune (may be nil) adjusting each node's configuration.
func devnetTuned(t testing.TB, n int, tune func(int, *snode.Config)) *testnet.Network {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a network")
	}
	return testnet.StartT(t, testnet.Options{Nodes: n, Swarm: swarm.AssignParams{MinSize: 3, IdealSize: 5}, Tune: tune})
}

// account is a test account: keys plus a home directory per device.
type account struct {
	kf   *identity.KeyFile
	name string
}

func newAccount(t testing.TB, name string) *account {
	t.Helper()
	k, seed, err := identity.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	clear(seed)
	kf, err := identity.NewKeyFile(k)
	if err != nil {
		t.Fatal(err)
	}
	return &account{kf: kf, name: name}
}

// accountInSwarm makes an account whose Session ID falls in swarm id of nw.
func accountInSwarm(t testing.TB, nw *testnet.Network, name string, id uint64) *account {
	t.Helper()
	for range 10_000 {
		a := newAccount(t, name)
		if sw, _ := nw.SwarmOf(a.kf.Keys.SessionID().Key()); sw == id {
			return a
		}
	}
	t.Fatalf("no account found in swarm %x", id)
	return nil
}

func (a *account) id() key.SessionID { return a.kf.Keys.SessionID() }

// device is one running client of an account.
type device struct {
	t      *testing.T
	c      *Client
	home   string
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	events []Event
	cond   chan struct{} // closed and replaced on every event
}

type devOpts struct {
	noServe  bool
	longPoll time.Duration
	poll     time.Duration // default 200 ms
	// delayMin and delayMax bound the receipt and sync-copy delay
	// (Config.DelayMin, DelayMax); zero turns delays off, so that tests
	// not about them see receipts and sync copies at once.
	delayMin, delayMax time.Duration
}

func (a *account) open(t *testing.T, nw *testnet.Network, home string, o devOpts) *device {
	t.Helper()
	if home == "" {
		home = t.TempDir()
	}
	cfg := Config{
		Home: home, NetworkFile: nw.NetworkFile(), RequestTimeout: 10 * time.Second,
		LongPollWait: o.longPoll, PollInterval: cmp.Or(o.poll, 200*time.Millisecond),
		Logger: slog.New(slog.DiscardHandler), DelayMin: o.delayMin, DelayMax: cmp.Or(o.delayMax, -1),
	}
	if os.Getenv("SOTTO_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("dev", a.name)
	}
	c, err := Open(cfg, a.kf)
	if err != nil {
		t.Fatal(err)
	}
	d := &device{t: t, c: c, home: home, done: make(chan struct{}), cond: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		for {
			select {
			case ev := <-c.Events():
				d.mu.Lock()
				d.events = append(d.events, ev)
				close(d.cond)
				d.cond = make(chan struct{})
				d.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	if o.noServe {
		close(d.done)
	} else {
		go func() {
			defer close(d.done)
			if err := c.Serve(ctx); err != nil {
				t.Errorf("%s: Serve: %v", a.name, err)
			}
		}()
	}
	t.Cleanup(d.stop)
	return d
}

// stop stops Serve and closes the client (idempotent).
func (d *device) stop() {
	d.cancel()
	<-d.done
	d.c.Close()
}

// waitFor waits until cond holds (see until) and fails the test if the
// timeout passes first.
func (d *device) waitFor(what string, timeout time.Duration, cond func() bool) {
	d.t.Helper()
	if !d.until(timeout, cond) {
		d.t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// until checks cond on every event, and every 100 ms, until it holds
// (true) or the timeout passes (false).
func (d *device) until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		d.mu.Lock()
		ch := d.cond
		d.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// onlyMessage waits (20 s at most) until the conversation with peer
// holds exactly one message, and returns it.
func (d *device) onlyMessage(what string, peer key.SessionID) *store.Message {
	d.t.Helper()
	var m *store.Message
	d.waitFor(what, 20*time.Second, func() bool {
		if h := d.history(peer); len(h) == 1 {
			m = h[0]
		}
		return m != nil
	})
	return m
}

func (d *device) history(peer key.SessionID) []*store.Message {
	d.t.Helper()
	h, err := d.c.Store().History(context.Background(), peer, 0)
	if err != nil {
		d.t.Fatal(err)
	}
	return h
}

// bodies lists "author-prefix:body" of a history for comparisons.
func bodies(h []*store.Message) []string {
	out := make([]string, len(h))
	for i, m := range h {
		out[i] = fmt.Sprintf("%s@%d:%s", m.Author.String()[:8], m.SentAt, m.Body)
	}
	return out
}

// swarmHashes retrieves, directly from every running node of a's swarm,
// the hashes of a's namespace-0 messages, per node.
func swarmHashes(t *testing.T, nw *testnet.Network, a *account) map[int]map[string]bool {
	t.Helper()
	out := map[int]map[string]bool{}
	for i, msgs := range swarmMessages(t, nw, a) {
		out[i] = map[string]bool{}
		for _, m := range msgs {
			out[i][m.Hash] = true
		}
	}
	return out
}

// swarmMessages retrieves, directly from every running node of a's swarm,
// a's namespace-0 messages as the node keeps them, per node.
func swarmMessages(t *testing.T, nw *testnet.Network, a *account) map[int][]storagerpc.RetrievedMessage {
	t.Helper()
	_, idx := nw.SwarmOf(a.id().Key())
	out := map[int][]storagerpc.RetrievedMessage{}
	for _, i := range idx {
		if !nw.Running(i) {
			continue
		}
		ts := time.Now().UnixMilli()
		sig := storagerpc.Signature(a.kf.Keys.Sign(storagerpc.RetrieveSigMessage(storagerpc.NamespaceDefault, ts)))
		ed := a.kf.Keys.Ed25519Public()
		body, err := storagerpc.EncodeRequest(&storagerpc.RetrieveParams{
			Account: storagerpc.AccountFromSessionID(a.id()), Namespace: storagerpc.NamespaceDefault, Timestamp: ts,
			Auth: storagerpc.Auth{Signature: &sig, PubkeyEd25519: &ed},
		})
		if err != nil {
			t.Fatal(err)
		}
		status, resp, err := testnet.Post(context.Background(), nw.HTTPClient(), nw.Node(i).URL+"/storage_rpc/v1", body)
		// A node that just (re)started answers 503 until it synced: poll
		// it (no event tells when a node's sync is done).
		tick := time.NewTicker(100 * time.Millisecond)
		for tries := 0; err == nil && status == 503 && tries < 100; tries++ {
			<-tick.C
			status, resp, err = testnet.Post(context.Background(), nw.HTTPClient(), nw.Node(i).URL+"/storage_rpc/v1", body)
		}
		tick.Stop()
		if err != nil || status != 200 {
			t.Fatalf("retrieve from node %d: %d %v %s", i, status, err, resp)
		}
		var r storagerpc.RetrieveResponse
		if err := json.Unmarshal(resp, &r); err != nil {
			t.Fatal(err)
		}
		out[i] = r.Messages
	}
	return out
}

// inSwarm reports whether any running node of a's swarm holds hash.
func inSwarm(t *testing.T, nw *testnet.Network, a *account, hash string) bool {
	t.Helper()
	for _, hs := range swarmHashes(t, nw, a) {
		if hs[hash] {
			return true
		}
	}
	return false
}

// pair starts a 10-node network with two swarms and makes Alice and Bob
// accounts in different swarms.
func pair(t testing.TB) (*testnet.Network, *account, *account) { return pairTuned(t, nil) }

func pairTuned(t testing.TB, tune func(int, *snode.Config)) (*testnet.Network, *account, *account) {
	t.Helper()
	nw := devnetTuned(t, 10, tune)
	var ids []uint64
	for id := range nw.Swarms() {
		ids = append(ids, id)
	}
	if len(ids) < 2 {
		t.Fatalf("want 2 swarms, got %d", len(ids))
	}
	return nw, accountInSwarm(t, nw, "alice", ids[0]), accountInSwarm(t, nw, "bob", ids[1])
}

// eventsOf returns a copy of the events seen so far.
func (d *device) eventsOf(kind EventKind) []Event {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Event
	for _, e := range d.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/identity"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"
)

func TestMain(m *testing.M) {
	testnet.ChildMain()
	code := m.Run()
	if sottodBin != "" {
		os.RemoveAll(filepath.Dir(sottodBin))
	}
	os.Exit(code)
}

// clientOpts are the options of every test message.
var clientOpts = client.SendOptions{}

// swarmsOf5 lays 10 nodes out as two swarms of 5.
var swarmsOf5 = swarm.AssignParams{MinSize: 3, IdealSize: 5}

func startNetwork(t *testing.T, opts testnet.Options) *testnet.Network {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a network")
	}
	return testnet.StartT(t, opts)
}

// user is one account with one device (a client in its own home).
type user struct {
	t    *testing.T
	name string
	kf   *identity.KeyFile
	home string
	nw   *testnet.Network

	mu     sync.Mutex
	c      *client.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// newUser makes an account whose Session ID falls in the given swarm and
// starts its client.
func newUser(t *testing.T, nw *testnet.Network, name string, swarmID uint64) *user {
	t.Helper()
	for range 10_000 {
		k, seed, err := identity.NewKeys()
		clear(seed)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := nw.SwarmOf(k.SessionID().Key()); id != swarmID {
			k.Wipe()
			continue
		}
		kf, err := identity.NewKeyFile(k)
		if err != nil {
			t.Fatal(err)
		}
		u := &user{t: t, name: name, kf: kf, home: t.TempDir(), nw: nw}
		u.start()
		t.Cleanup(u.stop)
		return u
	}
	t.Fatalf("no account found in swarm %x", swarmID)
	return nil
}

func (u *user) id() key.SessionID { return u.kf.Keys.SessionID() }

// start opens the client on its home and runs it.
func (u *user) start() {
	u.t.Helper()
	cfg := client.Config{
		Home: u.home, NetworkFile: u.nw.NetworkFile(), RequestTimeout: 10 * time.Second,
		PollInterval: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	}
	if os.Getenv("SOTTO_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("user", u.name)
	}
	c, err := client.Open(cfg, u.kf)
	if err != nil {
		u.t.Fatalf("%s: open: %v", u.name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Serve(ctx); err != nil {
			u.t.Errorf("%s: Serve: %v", u.name, err)
		}
	}()
	u.mu.Lock()
	u.c, u.cancel, u.done = c, cancel, done
	u.mu.Unlock()
}

// stop stops and closes the client; the home stays (idempotent).
func (u *user) stop() {
	u.mu.Lock()
	c, cancel, done := u.c, u.cancel, u.done
	u.c = nil
	u.mu.Unlock()
	if c == nil {
		return
	}
	cancel()
	<-done
	c.Close()
}

func (u *user) client() *client.Client {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.c
}

// incoming returns how many times each body arrived from peer.
func (u *user) incoming(peer key.SessionID) map[string]int {
	u.t.Helper()
	c := u.client()
	if c == nil {
		return nil
	}
	h, err := c.Store().History(context.Background(), peer, 0)
	if err != nil {
		u.t.Fatalf("%s: history: %v", u.name, err)
	}
	got := map[string]int{}
	for _, m := range h {
		if m.Direction == store.Incoming && m.Author == peer {
			got[m.Body]++
		}
	}
	return got
}

// incomingHashes lists the swarm hashes of the messages from peer.
func (u *user) incomingHashes(peer key.SessionID) []string {
	u.t.Helper()
	h, err := u.client().Store().History(context.Background(), peer, 0)
	if err != nil {
		u.t.Fatal(err)
	}
	var out []string
	for _, m := range h {
		if m.Direction == store.Incoming && m.ServerHash != "" {
			out = append(out, m.ServerHash)
		}
	}
	return out
}

// waitFor polls f every 100 ms until it returns nil or timeout passes. It
// is for conditions that a real network brings about (nodes, processes
// and clients that post no event the test could wait on).
func waitFor(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gave up after %v: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// waitDelivered waits until every body in want arrived at u from peer.
func (u *user) waitDelivered(peer key.SessionID, want []string, timeout time.Duration) {
	u.t.Helper()
	waitFor(u.t, timeout, u.name+": delivery", func() error {
		got := u.incoming(peer)
		var missing []string
		for _, b := range want {
			if got[b] == 0 {
				missing = append(missing, b)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%d of %d messages not delivered: %v", len(missing), len(want), missing)
		}
		return nil
	})
}

// checkExactlyOnce fails if an acknowledged body did not arrive exactly
// once, or any body arrived twice.
func (u *user) checkExactlyOnce(peer key.SessionID, acked []string) {
	u.t.Helper()
	got := u.incoming(peer)
	for _, b := range acked {
		if got[b] != 1 {
			u.t.Errorf("%s: acknowledged message %q delivered %d times", u.name, b, got[b])
		}
	}
	for b, n := range got {
		if n > 1 {
			u.t.Errorf("%s: message %q delivered %d times", u.name, b, n)
		}
	}
}

// traffic is a stream of messages from one user to another.
type traffic struct {
	mu     sync.Mutex
	acked  []string // Send returned success: stored in the recipient's swarm
	queued []string // saved in the outbox, to be retried
	failed []error
	sent   chan struct{} // a token per message tried (capacity: all of them)
	done   chan struct{}
}

// sendStream sends messages from u to peer, one every gap, in the
// background, until n are sent or stop is closed.
func sendStream(u *user, peer key.SessionID, prefix string, n int, gap time.Duration, stop <-chan struct{}) *traffic {
	tr := &traffic{sent: make(chan struct{}, n), done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		for i := range n {
			select {
			case <-stop:
				return
			default:
			}
			body := prefix + " " + strconv.Itoa(i)
			c := u.client()
			if c == nil {
				tr.add(body, errors.New("sender's client is stopped"))
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := c.Send(ctx, peer, body, client.SendOptions{})
			cancel()
			tr.add(body, err)
			select {
			case <-stop:
				return
			case <-time.After(gap):
			}
		}
	}()
	return tr
}

func (tr *traffic) add(body string, err error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var ns *client.NotSentError
	switch {
	case err == nil:
		tr.acked = append(tr.acked, body)
	case errors.As(err, &ns):
		tr.queued = append(tr.queued, body)
	default:
		tr.failed = append(tr.failed, fmt.Errorf("%s: %w", body, err))
	}
	tr.sent <- struct{}{}
}

// waitSent waits until k more messages of the stream were tried
// (acknowledged, queued or failed), so that a fault starts or ends with
// traffic around it.
func (tr *traffic) waitSent(t *testing.T, k int, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for i := range k {
		select {
		case <-tr.sent:
			continue
		case <-timer.C:
			t.Fatalf("only %d of %d messages tried after %v", i, k, timeout)
		case <-tr.done:
		}
		select {
		case <-tr.sent:
		default:
			t.Fatalf("the stream ended after %d of %d messages", i, k)
		}
	}
}

// wait waits for the stream to end and returns what was acknowledged and
// what was queued.
func (tr *traffic) wait(t *testing.T, timeout time.Duration) (acked, queued []string) {
	t.Helper()
	select {
	case <-tr.done:
	case <-time.After(timeout):
		t.Fatalf("message stream still running after %v", timeout)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, err := range tr.failed {
		t.Errorf("send failed (not even queued): %v", err)
	}
	return slices.Clone(tr.acked), slices.Clone(tr.queued)
}

// nodeHashes lists the hashes a node holds in u's inbox (namespace 0),
// asking it directly with a signed retrieve; nil while the node refuses
// reads (503: still syncing) or does not answer.
func nodeHashes(t *testing.T, nw *testnet.Network, i int, u *user) []string {
	t.Helper()
	acct := storagerpc.AccountFromSessionID(u.id())
	var out []string
	last := ""
	for {
		ts := time.Now().UnixMilli()
		sig := storagerpc.Signature(u.kf.Keys.Sign(storagerpc.RetrieveSigMessage(storagerpc.NamespaceDefault, ts)))
		ed := u.kf.Keys.Ed25519Public()
		body, err := storagerpc.EncodeRequest(&storagerpc.RetrieveParams{
			Account: acct, Namespace: storagerpc.NamespaceDefault, LastHash: last, Timestamp: ts,
			Auth: storagerpc.Auth{Signature: &sig, PubkeyEd25519: &ed},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, resp, err := testnet.Post(ctx, nw.HTTPClient(), nw.Node(i).URL+"/storage_rpc/v1", body)
		cancel()
		if err != nil || st != http.StatusOK {
			return nil
		}
		var rr struct {
			Messages []struct {
				Hash string `json:"hash"`
			} `json:"messages"`
			More bool `json:"more"`
		}
		if err := json.Unmarshal(resp, &rr); err != nil {
			t.Fatalf("node %d retrieve: %v", i, err)
		}
		for _, m := range rr.Messages {
			out = append(out, m.Hash)
		}
		if !rr.More || len(rr.Messages) == 0 {
			return out
		}
		last = rr.Messages[len(rr.Messages)-1].Hash
	}
}

// waitNodeHolds waits until node i holds every hash.
func waitNodeHolds(t *testing.T, nw *testnet.Network, i int, u *user, hashes []string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("node %d", i), func() error {
		have := nodeHashes(t, nw, i, u)
		missing := 0
		for _, h := range hashes {
			if !slices.Contains(have, h) {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("still misses %d of %d messages", missing, len(hashes))
		}
		return nil
	})
}

// twoSwarms returns the two swarm ids of a network, sorted.
func twoSwarms(t *testing.T, nw *testnet.Network) (uint64, uint64) {
	t.Helper()
	var ids []uint64
	for id := range nw.Swarms() {
		ids = append(ids, id)
	}
	if len(ids) != 2 {
		t.Fatalf("want 2 swarms, got %d", len(ids))
	}
	slices.Sort(ids)
	return ids[0], ids[1]
}

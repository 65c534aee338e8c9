package snode

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"sotto.dev/identity"
	"sotto.dev/internal/testnet/genesis"
	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"

	"go.uber.org/goleak"
)

// Swarm ids of the test networks: accounts map to whichever is nearer.
const (
	swarmA uint64 = 0x2000_0000_0000_0000
	swarmB uint64 = 0xa000_0000_0000_0000
)

// testNode is one node of a test network.
type testNode struct {
	dir    string
	keys   *Keys
	port   uint16
	swarm  uint64
	state  ledger.NodeState
	node   *Node
	cancel context.CancelFunc
	done   chan error
	// fake nodes are listed in the ledger but never run.
	fake bool
}

// testNet is an in-process network on 127.0.0.1: real HTTPS, real SQLite
// files, a genesis-file ledger (internal/testnet/genesis, as in
// internal/testnet) shared by all nodes.
type testNet struct {
	t      testing.TB
	ledger *genesis.Ledger
	nodes  []*testNode
	tweak  func(*Config)
	// setup runs on each node after New, before Serve.
	setup func(*Node)
	// log, if set, is every node's logger (else testLogger).
	log *slog.Logger
}

func quietConfig(dir string) Config {
	c := DefaultConfig()
	c.ListenAddr = "127.0.0.1:0"
	c.PublicIP = "127.0.0.1"
	c.AdminAddr = ""
	c.DataDir = dir
	c.Limits.ClientRate = 0
	c.Limits.ForwardTimeout = Duration(3 * time.Second)
	c.Intervals.AntiEntropy = Duration(200 * time.Millisecond)
	c.Intervals.Handoff = Duration(300 * time.Millisecond)
	c.Intervals.Sweep = Duration(time.Second)
	c.Intervals.SyncTimeout = Duration(20 * time.Second)
	return c
}

// newTestNet starts live nodes in the given swarms (one entry per node),
// plus fake (never running) ledger nodes listed in fake.
func newTestNet(t testing.TB, live []uint64, fake []uint64, tweak func(*Config)) *testNet {
	t.Helper()
	return newTestNetWith(t, live, fake, tweak, nil)
}

func newTestNetWith(t testing.TB, live []uint64, fake []uint64, tweak func(*Config), setup func(*Node)) *testNet {
	t.Helper()
	return startTestNet(&testNet{t: t, tweak: tweak, setup: setup}, live, fake)
}

// startTestNet starts tn (its t, tweak, setup and log set) as newTestNet does.
func startTestNet(tn *testNet, live []uint64, fake []uint64) *testNet {
	t := tn.t
	t.Helper()
	tn.ledger = genesis.NewLedger(filepath.Join(t.TempDir(), "genesis.json"), nil)
	for _, s := range live {
		tn.nodes = append(tn.nodes, tn.newNodeDir(s, false))
	}
	for i, s := range fake {
		n := tn.newNodeDir(s, true)
		n.port = uint16(1 + i) // never contacted
		tn.nodes = append(tn.nodes, n)
	}
	// Phase 1: a genesis with placeholder ports, so that New can bind.
	tn.update()
	for _, n := range tn.nodes {
		if !n.fake {
			tn.buildOnStablePort(n)
		}
	}
	// Phase 2: the real ports.
	tn.update()
	for _, n := range tn.nodes {
		if !n.fake {
			tn.serve(n)
		}
	}
	t.Cleanup(tn.stopAll)
	tn.waitReady()
	return tn
}

func (tn *testNet) newNodeDir(s uint64, fake bool) *testNode {
	dir := tn.t.TempDir()
	k, _, err := LoadOrCreateKeys(dir)
	if err != nil {
		tn.t.Fatal(err)
	}
	return &testNode{dir: dir, keys: k, swarm: s, state: ledger.StateActive, fake: fake}
}

func (tn *testNet) snapshot() *ledger.Snapshot {
	s := &ledger.Snapshot{}
	for i, n := range tn.nodes {
		port := n.port
		if port == 0 {
			port = uint16(60000 + i)
		}
		ip := "127.0.0.1"
		if n.fake {
			ip = fmt.Sprintf("10.0.0.%d", i+1)
		}
		s.Nodes = append(s.Nodes, ledger.Node{
			Ed25519: n.keys.Ed25519Public(), X25519: n.keys.X25519Public(), PublicIP: ip,
			StoragePort: port, SwarmID: n.swarm, State: n.state,
		})
	}
	return s
}

// update publishes the node list: the nodes see it at once.
func (tn *testNet) update() {
	tn.t.Helper()
	if err := tn.ledger.Publish(context.Background(), tn.snapshot()); err != nil {
		tn.t.Fatal(err)
	}
}

// buildOnStablePort builds n on a loopback port below the kernel's
// ephemeral range (32768 and up on Linux). A node that restart brings
// back binds its port again; a port from the ephemeral range can be taken
// meanwhile as the source port of any outgoing connection on the machine
// (other tests run beside this one), and the bind then fails with
// "address already in use". Below the range only explicit binds compete.
func (tn *testNet) buildOnStablePort(n *testNode) {
	tn.t.Helper()
	var err error
	for range 100 {
		port := 20000 + mrand.IntN(12768)
		if err = tn.tryBuild(n, "127.0.0.1:"+strconv.Itoa(port)); !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		tn.t.Fatal(err)
	}
}

func (tn *testNet) build(n *testNode, listen string) {
	tn.t.Helper()
	if err := tn.tryBuild(n, listen); err != nil {
		tn.t.Fatal(err)
	}
}

// tryBuild makes the node of n listening on listen.
func (tn *testNet) tryBuild(n *testNode, listen string) error {
	cfg := quietConfig(n.dir)
	cfg.ListenAddr = listen
	if tn.tweak != nil {
		tn.tweak(&cfg)
	}
	lg := tn.log
	if lg == nil {
		lg = testLogger(tn.t)
	}
	node, err := New(cfg, Deps{View: tn.ledger.View(), Logger: lg})
	if err != nil {
		return err
	}
	n.node = node
	n.port = node.Addr().Port()
	if tn.setup != nil {
		tn.setup(node)
	}
	return nil
}

func (tn *testNet) serve(n *testNode) {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	node := n.node
	go func() { n.done <- node.Serve(ctx) }()
}

// stop shuts a node down gracefully and waits.
func (tn *testNet) stop(n *testNode) {
	tn.t.Helper()
	if n.cancel == nil {
		return
	}
	n.cancel()
	if err := <-n.done; err != nil {
		tn.t.Errorf("serve: %v", err)
	}
	n.cancel = nil
}

// restart starts a stopped node again on its port and data directory.
func (tn *testNet) restart(n *testNode) {
	tn.t.Helper()
	tn.build(n, "127.0.0.1:"+strconv.Itoa(int(n.port)))
	tn.serve(n)
}

func (tn *testNet) stopAll() {
	var wg sync.WaitGroup
	for _, n := range tn.nodes {
		if n.cancel != nil {
			n.cancel()
			wg.Go(func() {
				if err := <-n.done; err != nil {
					tn.t.Errorf("serve: %v", err)
				}
				n.cancel = nil
			})
		}
	}
	wg.Wait()
}

func (tn *testNet) live() []*testNode {
	var out []*testNode
	for _, n := range tn.nodes {
		if !n.fake && n.cancel != nil {
			out = append(out, n)
		}
	}
	return out
}

// waitReady waits until no running node is syncing.
func (tn *testNet) waitReady() {
	tn.t.Helper()
	eventually(tn.t, 20*time.Second, func() error {
		for _, n := range tn.live() {
			if n.node.Syncing() {
				return fmt.Errorf("node %s still syncing", n.keys.Ed25519Public())
			}
		}
		return nil
	})
}

// eventually polls f until it succeeds or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testLogger logs to the test log when SNODE_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SNODE_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}

// ---- clients ----

var insecureClient = &http.Client{
	Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // snode certificates are self-signed; Session clients do not verify them either
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 256,
	},
	Timeout: 30 * time.Second,
}

// rpc posts a raw body to a node's /storage_rpc/v1.
func rpc(t testing.TB, n *testNode, body []byte) (int, []byte) {
	t.Helper()
	resp, err := insecureClient.Post("https://"+n.node.Addr().String()+"/storage_rpc/v1", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func do(t testing.TB, n *testNode, req storagerpc.Request) (int, []byte) {
	t.Helper()
	body, err := storagerpc.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	return rpc(t, n, body)
}

// user is a client account (05 Session ID) with its keys.
type user struct {
	keys *identity.Keys
	acct storagerpc.Account
}

func newUser(t testing.TB) *user {
	t.Helper()
	k, _, err := identity.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	return &user{keys: k, acct: storagerpc.AccountFromSessionID(k.SessionID())}
}

// userIn makes a user whose account belongs to swarm s among ids.
func userIn(t testing.TB, ids []uint64, s uint64) *user {
	t.Helper()
	slices.Sort(ids)
	for range 1000 {
		u := newUser(t)
		if got, _ := swarm.SelectKey(ids, u.acct.Key()); got == s {
			return u
		}
	}
	t.Fatal("no account found for the swarm")
	return nil
}

func (u *user) auth(msg []byte) storagerpc.Auth {
	sig := storagerpc.Signature(u.keys.Sign(msg))
	pk := u.keys.Ed25519Public()
	return storagerpc.Auth{Signature: &sig, PubkeyEd25519: &pk}
}

func nowMs() int64 { return time.Now().UnixMilli() }

func (u *user) store(ns storagerpc.Namespace, data []byte, ttl time.Duration) *storagerpc.StoreParams {
	ts := nowMs()
	p := &storagerpc.StoreParams{Account: u.acct, Namespace: ns, Timestamp: ts, Expiry: ts + ttl.Milliseconds(), Data: data, SigTimestamp: ts}
	if ns.StoreNeedsAuth() {
		p.Auth = u.auth(storagerpc.StoreSigMessage(ns, ts))
	}
	return p
}

func (u *user) retrieve(ns storagerpc.Namespace, lastHash string, maxCount, maxSize int) *storagerpc.RetrieveParams {
	ts := nowMs()
	return &storagerpc.RetrieveParams{Account: u.acct, Namespace: ns, LastHash: lastHash, MaxCount: maxCount, MaxSize: maxSize,
		Timestamp: ts, Auth: u.auth(storagerpc.RetrieveSigMessage(ns, ts))}
}

// retrieveAll pages through a namespace on one node and returns every
// hash in order.
func retrieveAll(t testing.TB, n *testNode, u *user, ns storagerpc.Namespace, maxCount int) ([]string, error) {
	t.Helper()
	var out []string
	last := ""
	for range 10_000 {
		st, body := do(t, n, u.retrieve(ns, last, maxCount, 0))
		if st != 200 {
			return nil, fmt.Errorf("retrieve: %d %s", st, body)
		}
		var r storagerpc.RetrieveResponse
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		for _, m := range r.Messages {
			out = append(out, m.Hash)
		}
		if !r.More {
			return out, nil
		}
		last = r.Messages[len(r.Messages)-1].Hash
	}
	return nil, fmt.Errorf("paging does not end")
}

func randomData(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

var errNotYet = errors.New("not yet")

func parseAddrPort(s string) (netip.AddrPort, error) { return netip.ParseAddrPort(s) }

// tryDo is do without failing the test on transport errors.
func tryDo(n *testNode, req storagerpc.Request) (int, []byte, error) {
	body, err := storagerpc.EncodeRequest(req)
	if err != nil {
		return 0, nil, err
	}
	resp, err := insecureClient.Post("https://"+n.node.Addr().String()+"/storage_rpc/v1", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// ed25519ToX maps a node's identity key to its onion key (Session derives
// the onion key from the same seed).
func ed25519ToX(k key.NodePublic) (key.OnionPublic, error) {
	x, err := identity.Ed25519ToX25519(key.AccountPublic(k))
	return key.OnionPublic(x), err
}

func formatKeys(k *Keys) string { return fmt.Sprintf("%v %s %x", k, k, k) }

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// TestMain checks that no test leaves goroutines behind: every node's
// Serve must have stopped everything it started.
func TestMain(m *testing.M) {
	before := goleak.IgnoreCurrent()
	code := m.Run()
	insecureClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(before); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

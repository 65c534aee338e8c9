package testnet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sotto.dev/key"
	"sotto.dev/ledger"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/onion"
	"sotto.dev/swarm"
)

func TestMain(m *testing.M) {
	ChildMain()
	goleak.VerifyTestMain(m, cometLeaks...)
}

// cometLeaks are goroutines CometBFT 0.38 and goleveldb leave behind after
// the embedded ledger stopped (see ledger's tests).
var cometLeaks = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/cometbft/cometbft/libs/autofile.OpenAutoFile.func1"),
	goleak.IgnoreTopFunction("github.com/cometbft/cometbft/libs/autofile.(*AutoFile).closeFileRoutine"),
	goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
}

func rpc(t *testing.T, n *Network, i int, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, b, err := Post(ctx, n.HTTPClient(), n.Node(i).URL+"/storage_rpc/v1", []byte(body))
	if err != nil {
		t.Fatalf("node %d: %v", i, err)
	}
	return st, b
}

// serviceNodes asks node i for the node list as a client bootstrapping from
// a seed does.
func serviceNodes(t *testing.T, n *Network, i int) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, b, err := Post(ctx, n.HTTPClient(), n.Node(i).URL+"/json_rpc",
		[]byte(`{"jsonrpc":"2.0","id":1,"method":"get_n_service_nodes","params":{"active_only":true}}`))
	if err != nil || st != http.StatusOK {
		t.Fatalf("node %d get_n_service_nodes: %d %s %v", i, st, b, err)
	}
	var resp struct {
		Result struct {
			States []map[string]any `json:"service_node_states"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("node %d: %v: %s", i, err, b)
	}
	return resp.Result.States
}

// onionInfo sends the storage RPC "info" through a 3-hop onion path that
// starts at node guard and ends at node dest.
func onionInfo(t *testing.T, n *Network, hops []int, dest int) onion.SnodeResponse {
	t.Helper()
	hop := func(i int) onion.Hop {
		ni := n.Node(i)
		return onion.Hop{Node: key.NodePublic(ni.Ed25519), X25519: key.OnionPublic(ni.X25519)}
	}
	var path []onion.Hop
	for _, h := range hops {
		path = append(path, hop(h))
	}
	body, key, err := onion.BuildSnodeRequest(path, hop(dest), []byte(`{"method":"info","params":{}}`), onion.CipherXChaCha20)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, reply, err := Post(ctx, n.HTTPClient(), n.Node(hops[0]).URL+"/onion_req/v2", body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := onion.DecodeSnodeResponse(key, st, reply)
	if err != nil {
		t.Fatalf("onion reply: %v (HTTP %d %.200s)", err, st, reply)
	}
	return resp
}

func TestNetworkServesEveryEndpoint(t *testing.T) {
	n := StartT(t, Options{Nodes: 5})
	if n.Len() != 5 {
		t.Fatalf("Len %d", n.Len())
	}
	for i := range n.Len() {
		if st, b := rpc(t, n, i, `{"method":"info","params":{}}`); st != 200 || !bytes.Contains(b, []byte(`"version"`)) {
			t.Fatalf("node %d info: %d %s", i, st, b)
		}
		states := serviceNodes(t, n, i)
		if len(states) != 5 {
			t.Fatalf("node %d lists %d nodes", i, len(states))
		}
		resp := onionInfo(t, n, []int{i, (i + 1) % 5, (i + 2) % 5}, (i+3)%5)
		if resp.Status != 200 || !bytes.Contains(resp.Body, []byte(`"version"`)) {
			t.Fatalf("onion via node %d: %d %s", i, resp.Status, resp.Body)
		}
	}

	// The network file is in the format the client engine reads
	// (client.ParseNetwork).
	raw, err := os.ReadFile(n.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	var nf networkFile
	if err := json.Unmarshal(raw, &nf); err != nil {
		t.Fatal(err)
	}
	if len(nf.SeedNodes) != n.Len() || !nf.AllowSameSubnet {
		t.Fatalf("network file %+v", nf)
	}
	// Each seed is pinned to the certificate its node presents.
	for i, seed := range nf.SeedNodes {
		if seed.URL != n.SeedURLs()[i] {
			t.Errorf("seed %d: %s, want %s", i, seed.URL, n.SeedURLs()[i])
		}
		conn, err := tls.Dial("tcp", strings.TrimPrefix(seed.URL, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
		conn.Close()
		if hex.EncodeToString(got[:]) != seed.CertSHA256 {
			t.Errorf("seed %d presents certificate %x, the network file pins %s", i, got, seed.CertSHA256)
		}
	}

	// The genesis file lists every node, active, at its address.
	data, err := os.ReadFile(filepath.Join(n.Dir(), GenesisFile))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := ledger.ParseGenesis(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Nodes) != 5 {
		t.Fatalf("genesis has %d nodes", len(snap.Nodes))
	}
	for _, ni := range n.Nodes() {
		i := slices.IndexFunc(snap.Nodes, func(ln ledger.Node) bool { return ln.Ed25519 == ni.Ed25519 })
		if i < 0 || snap.Nodes[i].StoragePort != ni.Addr.Port() || snap.Nodes[i].State != ledger.StateActive || snap.Nodes[i].SwarmID != ni.Swarm {
			t.Fatalf("node %d missing or wrong in genesis", ni.Index)
		}
	}
}

func TestSwarmLayouts(t *testing.T) {
	for _, tc := range []struct {
		nodes  int
		params swarm.AssignParams
		sizes  []int
	}{
		{15, DevnetSwarms, []int{7, 8}},
		{10, swarm.AssignParams{MinSize: 3, IdealSize: 5}, []int{5, 5}},
		{5, DevnetSwarms, []int{5}},
		{3, DevnetSwarms, []int{3}},
	} {
		dir := t.TempDir()
		l, keys, err := openLayout(dir, tc.nodes, "127.0.0.1", tc.params)
		if err != nil {
			t.Fatal(err)
		}
		count := map[uint64]int{}
		for _, ln := range l.Nodes {
			count[ln.Swarm]++
		}
		var sizes []int
		for _, c := range count {
			sizes = append(sizes, c)
		}
		slices.Sort(sizes)
		if !slices.Equal(sizes, tc.sizes) {
			t.Errorf("%d nodes %+v: swarm sizes %v, want %v", tc.nodes, tc.params, sizes, tc.sizes)
		}
		// Reopening keeps keys, ports and swarms.
		l2, keys2, err := openLayout(dir, 0, "", tc.params)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(l.Nodes, l2.Nodes) {
			t.Errorf("reopened layout differs")
		}
		for i := range keys {
			if keys[i].Ed25519Public() != keys2[i].Ed25519Public() {
				t.Errorf("node %d key changed", i)
			}
		}
	}
}

func TestLayoutMismatch(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := openLayout(dir, 3, "127.0.0.1", DevnetSwarms); err != nil {
		t.Fatal(err)
	}
	var le *LayoutError
	if _, _, err := openLayout(dir, 4, "", DevnetSwarms); !errors.As(err, &le) {
		t.Fatalf("other size: %v", err)
	}
	if _, _, err := openLayout(dir, 3, "127.0.0.2", DevnetSwarms); !errors.As(err, &le) {
		t.Fatalf("other address: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, LayoutFile), []byte(`{"format":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openLayout(dir, 3, "", DevnetSwarms); !errors.As(err, &le) {
		t.Fatalf("bad format: %v", err)
	}
	if _, _, err := openLayout(t.TempDir(), 3, "0.0.0.0", DevnetSwarms); err == nil {
		t.Fatal("unspecified listen address accepted")
	}
	if _, _, err := openLayout(t.TempDir(), 0, "", DevnetSwarms); err == nil {
		t.Fatal("zero nodes accepted")
	}
}

// storeMessage stores data for acct on node i and returns its hash.
func storeMessage(t *testing.T, n *Network, acct *Account, i int, data []byte) string {
	t.Helper()
	body, err := acct.StoreRequest(data, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, b := rpc(t, n, i, string(body))
	if st != 200 {
		t.Fatalf("store on node %d: %d %s", i, st, b)
	}
	var resp struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(b, &resp); err != nil || resp.Hash == "" {
		t.Fatalf("store reply %s: %v", b, err)
	}
	return resp.Hash
}

// retrieveHashes lists the hashes of acct's messages on node i, waiting
// while the node still syncs after a start.
func retrieveHashes(t *testing.T, n *Network, acct *Account, i int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		body, err := acct.RetrieveRequest("", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		st, b := rpc(t, n, i, string(body))
		if st == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			<-tick.C
			continue
		}
		if st != 200 {
			t.Fatalf("retrieve on node %d: %d %s", i, st, b)
		}
		var resp struct {
			Messages []struct {
				Hash string `json:"hash"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(b, &resp); err != nil {
			t.Fatalf("retrieve reply %s: %v", b, err)
		}
		var out []string
		for _, m := range resp.Messages {
			out = append(out, m.Hash)
		}
		return out
	}
}

func TestRestartKeepsIdentityAndData(t *testing.T) {
	dir := t.TempDir()
	n := StartT(t, Options{Nodes: 5, Dir: dir})
	acct, err := NewAccount()
	if err != nil {
		t.Fatal(err)
	}
	_, members := n.SwarmOf(acct.Key())
	target := members[0]
	hash := storeMessage(t, n, acct, target, []byte("hello"))
	before := n.Node(target)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.Restart(ctx, target); err != nil {
		t.Fatal(err)
	}
	after := n.Node(target)
	if after.Ed25519 != before.Ed25519 || after.Addr != before.Addr {
		t.Fatal("restart changed the node's key or address")
	}
	if got := retrieveHashes(t, n, acct, target); !slices.Equal(got, []string{hash}) {
		t.Fatalf("after restart: %v, want [%s]", got, hash)
	}

	// Stop and start the whole network in the same directory.
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n2 := StartT(t, Options{Dir: dir})
	if n2.Len() != 5 || n2.Node(target).Ed25519 != before.Ed25519 || n2.Node(target).Addr != before.Addr {
		t.Fatal("reopened network differs")
	}
	for _, i := range members {
		if got := retrieveHashes(t, n2, acct, i); !slices.Equal(got, []string{hash}) {
			t.Fatalf("reopened node %d: %v, want [%s]", i, got, hash)
		}
	}
}

func TestStopAndStart(t *testing.T) {
	n := StartT(t, Options{Nodes: 3})
	if err := n.Stop(1); err != nil {
		t.Fatal(err)
	}
	if n.Running(1) {
		t.Fatal("stopped node still running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.ping(ctx, n.Node(1).URL); err == nil {
		t.Fatal("stopped node answers")
	}
	if err := n.Pause(1); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Pause in-process: %v", err)
	}
	if err := n.Start(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if st, _ := rpc(t, n, 1, `{"method":"info","params":{}}`); st != 200 {
		t.Fatal("restarted node does not answer")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

func TestSubprocessKillPauseResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	n := StartT(t, Options{Nodes: 3, Subprocess: true})
	acct, err := NewAccount()
	if err != nil {
		t.Fatal(err)
	}
	hash := storeMessage(t, n, acct, 0, []byte("before the kill"))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.Pause(1); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	if err := n.ping(pctx, n.Node(1).URL); err == nil {
		t.Fatal("paused node answers")
	}
	pcancel()
	if err := n.Resume(1); err != nil {
		t.Fatal(err)
	}
	if st, _ := rpc(t, n, 1, `{"method":"info","params":{}}`); st != 200 {
		t.Fatalf("resumed node answers %d", st)
	}

	if err := n.Kill(0); err != nil {
		t.Fatal(err)
	}
	if n.Running(0) {
		t.Fatal("killed node still running")
	}
	if err := n.Start(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := retrieveHashes(t, n, acct, 0); !slices.Contains(got, hash) {
		t.Fatalf("after kill -9 and restart: %v, want %s", got, hash)
	}
	// The node logs went to its log file.
	if b, err := os.ReadFile(n.Node(0).LogFile); err != nil || !bytes.Contains(b, []byte("serving")) {
		t.Fatalf("node log: %v %.300s", err, b)
	}
	// A paused node is stopped cleanly by Close.
	if err := n.Pause(2); err != nil {
		t.Fatal(err)
	}
}

// TestCometBFTLedger runs the nodes on the embedded CometBFT ledger: they
// register themselves, are listed in its swarms, answer on every endpoint,
// and keep serving as the chain advances (they send their uptime proofs),
// also after a restart of the whole network.
func TestCometBFTLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT")
	}
	dir := t.TempDir()
	n := StartT(t, Options{Nodes: 5, Dir: dir, CometBFT: true})
	sw := n.Swarms()
	if len(sw) != 1 {
		t.Fatalf("swarms %v", sw)
	}
	for i := range n.Len() {
		if len(serviceNodes(t, n, i)) != 5 {
			t.Fatalf("node %d does not list 5 nodes", i)
		}
		if resp := onionInfo(t, n, []int{i, (i + 1) % 5, (i + 2) % 5}, (i+3)%5); resp.Status != 200 {
			t.Fatalf("onion via node %d: %d %s", i, resp.Status, resp.Body)
		}
	}
	acct, err := NewAccount()
	if err != nil {
		t.Fatal(err)
	}
	_, members := n.SwarmOf(acct.Key())
	hash := storeMessage(t, n, acct, members[0], []byte("on the chain"))

	// The chain advances.
	h0 := n.Ledger().View().Current().Height
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.LedgerClient().WaitHeight(ctx, h0+3); err != nil {
		t.Fatalf("ledger stuck: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, LedgerDir)); err != nil {
		t.Fatal(err)
	}

	n2 := StartT(t, Options{Dir: dir, CometBFT: true})
	if got := n2.Ledger().View().Current().Height; got < h0+3 {
		t.Fatalf("restarted ledger at height %d, was past %d", got, h0+3)
	}
	for _, i := range members {
		if got := retrieveHashes(t, n2, acct, i); !slices.Contains(got, hash) {
			t.Fatalf("node %d after restart: %v", i, got)
		}
	}
}

// TestCometBFTSubprocess runs child processes that follow the CometBFT
// ledger over its RPC: they register with their operator keys; one killed
// with SIGKILL is decommissioned, and recommissioned once it runs again.
func TestCometBFTSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT and child processes")
	}
	p := state.DevnetParams()
	p.BlockTime = 200 * time.Millisecond
	p.ProofInterval, p.ProofValidity = 5, 12
	p.QuorumInterval, p.VoteLifetime = 3, 10
	p.CreditInitial, p.CreditMax = 100, 100
	n := StartT(t, Options{Nodes: 5, CometBFT: true, Subprocess: true, LedgerParams: &p})
	c := n.LedgerClient()
	if n.LedgerRPC() == "" || c == nil {
		t.Fatal("no ledger RPC")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	node := func(i int) *ledger.NodeInfo {
		t.Helper()
		ni, err := c.Node(ctx, key.NodePublic(n.Node(i).Ed25519))
		if err != nil {
			t.Fatal(err)
		}
		return ni
	}
	for i := range n.Len() {
		op, err := ledgercli.ReadKey(n.Node(i).OperatorKey)
		if err != nil {
			t.Fatal(err)
		}
		if ni := node(i); !ni.Active || ni.OperatorAddress != state.Address(op.PublicKey()).String() {
			t.Fatalf("node %d: %+v", i, ni)
		}
	}
	if err := n.Kill(2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "decommission of the killed node", func() error {
		if st := node(2).State; st != "decommissioned" {
			return fmt.Errorf("still %s", st)
		}
		return nil
	})
	// Node 0 follows the ledger over RPC: it drops the node at its next poll.
	waitUntil(t, 10*time.Second, "node 0 drops the decommissioned node", func() error {
		if l := len(serviceNodes(t, n, 0)); l != 4 {
			return fmt.Errorf("%d nodes listed", l)
		}
		return nil
	})
	if err := n.Start(ctx, 2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "recommission of the restarted node", func() error {
		if ni := node(2); !ni.Active {
			return fmt.Errorf("still %s", ni.State)
		}
		return nil
	})
}

// waitUntil checks cond every 100 ms until it returns nil, and fails the
// test if timeout passes first. It is for what child processes and the
// ledger bring about without an event to wait on.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gave up after %v: %v", what, timeout, err)
		}
		<-tick.C
	}
}

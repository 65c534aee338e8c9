package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sotto.dev/internal/loadtest"
	"sotto.dev/internal/testnet"
	"sotto.dev/onion"
)

func TestMain(m *testing.M) {
	testnet.ChildMain()
	goleak.VerifyTestMain(m,
		// CometBFT 0.38 and goleveldb leave these behind after the
		// embedded ledger stopped (see the ledger package's tests).
		goleak.IgnoreTopFunction("github.com/cometbft/cometbft/libs/autofile.OpenAutoFile.func1"),
		goleak.IgnoreTopFunction("github.com/cometbft/cometbft/libs/autofile.(*AutoFile).closeFileRoutine"),
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}

// lineBuffer collects output and signals each write.
type lineBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newLineBuffer() *lineBuffer { return &lineBuffer{wrote: make(chan struct{}, 100)} }

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.wrote <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runDevnet runs the devnet command with args.
func runDevnet(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := Command()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(io.Discard)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(ctx)
}

// startDevnet runs the devnet command until the returned stop is called; it
// returns once the ready line is printed.
func startDevnet(t *testing.T, args ...string) (stdout *lineBuffer, stop func() error) {
	t.Helper()
	stdout = newLineBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDevnet(ctx, args, stdout) }()
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(stdout.String(), "\n") {
		select {
		case <-stdout.wrote:
		case err := <-done:
			cancel()
			t.Fatalf("devnet ended before it was ready: %v", err)
		case <-deadline:
			cancel()
			t.Fatal("devnet not ready in 2 minutes")
		}
	}
	return stdout, func() error {
		cancel()
		return <-done
	}
}

type seedFile struct {
	Seeds []struct {
		URL        string `json:"url"`
		CertSHA256 string `json:"cert_sha256"`
	} `json:"seed_nodes"`
	AllowSameSubnet bool `json:"allow_same_subnet"`
	SeedNodes       []string
}

func readSeeds(t *testing.T, path string) seedFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nf seedFile
	if err := json.Unmarshal(data, &nf); err != nil {
		t.Fatal(err)
	}
	for _, s := range nf.Seeds {
		if len(s.CertSHA256) != 64 {
			t.Fatalf("seed %s has no certificate pin: %q", s.URL, s.CertSHA256)
		}
		nf.SeedNodes = append(nf.SeedNodes, s.URL)
	}
	return nf
}

// TestDevnetServesEveryNode runs the default devnet (15 nodes, embedded
// CometBFT ledger) and checks what the issue asks of every node:
// get_n_service_nodes with the ledger's swarm ids, /storage_rpc/v1 (421
// for accounts of the other swarm) and /onion_req/v2; then a restart in
// the same directory keeps the nodes.
func TestDevnetServesEveryNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 15 nodes")
	}
	dir := t.TempDir()
	stdout, stop := startDevnet(t, "--dir", dir, "--quiet")
	netFile := filepath.Join(dir, "network.json")
	if got := stdout.String(); got != "devnet ready: "+netFile+"\n" {
		t.Fatalf("stdout %q", got)
	}
	nf := readSeeds(t, netFile)
	if len(nf.SeedNodes) != DefaultNodes || !nf.AllowSameSubnet {
		t.Fatalf("network file %+v", nf)
	}
	c := loadtest.NewHTTPClient(4, false)
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var nodes []loadtest.Node
	for _, seed := range nf.SeedNodes {
		list, err := loadtest.FetchNodes(ctx, c, seed)
		if err != nil {
			t.Fatalf("%s get_n_service_nodes: %v", seed, err)
		}
		if len(list) != DefaultNodes {
			t.Fatalf("%s lists %d nodes", seed, len(list))
		}
		nodes = list
		st, body, err := testnet.Post(ctx, c, seed+"/storage_rpc/v1", []byte(`{"method":"info","params":{}}`))
		if err != nil || st != http.StatusOK {
			t.Fatalf("%s info: %d %s %v", seed, st, body, err)
		}
	}
	swarms := map[uint64]int{}
	for _, n := range nodes {
		swarms[n.Swarm]++
	}
	if len(swarms) != 2 {
		t.Fatalf("15 nodes in %d swarms, want 2", len(swarms))
	}
	// The nodes registered themselves in the embedded ledger: its swarms
	// are what the nodes list and serve.
	checkServedSwarms(t, dir, DefaultNodes)
	// Every node relays: each is the guard of one path and the
	// destination of another.
	for i, guard := range nodes {
		path := []loadtest.Node{guard, nodes[(i+1)%len(nodes)], nodes[(i+2)%len(nodes)]}
		dest := nodes[(i+5)%len(nodes)]
		hops := []onion.Hop{path[0].Hop(), path[1].Hop(), path[2].Hop()}
		body, key, err := onion.BuildSnodeRequest(hops, dest.Hop(), []byte(`{"method":"info","params":{}}`), onion.CipherAESGCM)
		if err != nil {
			t.Fatal(err)
		}
		st, reply, err := testnet.Post(ctx, c, guard.URL+"/onion_req/v2", body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := onion.DecodeSnodeResponse(key, st, reply)
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("onion via %s to %s: %+v %v", guard.URL, dest.URL, resp, err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	// The same directory again: same nodes, same ports, same keys, same
	// swarms.
	_, stop = startDevnet(t, "--dir", dir, "--quiet")
	defer stop()
	// The seeds and their certificates' pins survive the restart.
	if again := readSeeds(t, netFile); !slices.Equal(again.Seeds, nf.Seeds) {
		t.Fatalf("seeds changed: %v", again.Seeds)
	}
	list, err := loadtest.FetchNodes(ctx, c, nf.SeedNodes[3])
	if err != nil || len(list) != DefaultNodes {
		t.Fatalf("after restart: %d nodes, %v", len(list), err)
	}
	for _, n := range nodes {
		i := slices.IndexFunc(list, func(m loadtest.Node) bool { return m.Ed25519 == n.Ed25519 })
		if i < 0 || list[i] != n {
			t.Fatalf("node %s changed across a restart", n.URL)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, testnet.LedgerDir)); err != nil {
		t.Fatalf("no embedded ledger: %v", err)
	}
}

// TestDevnetGenesisLedger runs a small devnet on the genesis-file ledger.
func TestDevnetGenesisLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	dir := t.TempDir()
	_, stop := startDevnet(t, "--dir", dir, "--nodes", "4", "--ledger", "genesis", "--quiet")
	defer stop()
	nf := readSeeds(t, filepath.Join(dir, "network.json"))
	c := loadtest.NewHTTPClient(1, false)
	defer c.CloseIdleConnections()
	list, err := loadtest.FetchNodes(context.Background(), c, nf.SeedNodes[0])
	if err != nil || len(list) != 4 {
		t.Fatalf("%d nodes, %v", len(list), err)
	}
	if _, err := os.Stat(filepath.Join(dir, testnet.GenesisFile)); err != nil {
		t.Fatal(err)
	}
}

// TestDevnetLinks runs a devnet on emulated links: a client in another
// process (here, the test's own HTTP client) reaches the nodes through the
// link from linkem.External, one round trip costing at least two delays.
func TestDevnetLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	dir := t.TempDir()
	_, stop := startDevnet(t, "--dir", dir, "--nodes", "4", "--ledger", "genesis", "--quiet",
		"--file-server=false", "--community=false", "--latency", "20ms", "--jitter", "2ms", "--loss", "0%", "--seed", "3")
	defer stop()
	nf := readSeeds(t, filepath.Join(dir, "network.json"))
	c := loadtest.NewHTTPClient(1, false)
	defer c.CloseIdleConnections()
	for range 2 {
		start := time.Now()
		list, err := loadtest.FetchNodes(context.Background(), c, nf.SeedNodes[0])
		if err != nil || len(list) != 4 {
			t.Fatalf("%d nodes, %v", len(list), err)
		}
		if d := time.Since(start); d < 36*time.Millisecond {
			t.Errorf("node list in %v over links of 20 ± 2 ms, want at least a round trip (36 ms)", d)
		}
	}
}

func TestDevnetUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--nodes", "3"},
		{"--dir", t.TempDir(), "extra"},
		{"--dir", t.TempDir(), "--log-level", "loud"},
		{"--dir", t.TempDir(), "--ledger", "paper"},
		{"--dir", t.TempDir(), "--addresses", "wifi"},
		{"--bogus"},
		{"--dir", t.TempDir(), "--loss", "3"},
		{"--dir", t.TempDir(), "--bandwidth", "fast"},
		{"--dir", t.TempDir(), "--latency", "-1ms"},
	} {
		err := runDevnet(context.Background(), args, io.Discard)
		if !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

func TestDevnetRefusesAnotherSize(t *testing.T) {
	dir := t.TempDir()
	_, stop := startDevnet(t, "--dir", dir, "--nodes", "3", "--ledger", "genesis", "--quiet")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	err := runDevnet(context.Background(), []string{"--dir", dir, "--nodes", "4", "--ledger", "genesis", "--quiet"}, io.Discard)
	var le *testnet.LayoutError
	if !errors.As(err, &le) {
		t.Fatalf("4 nodes in a 3-node directory: %v", err)
	}
}

// TestDevnetOwnAddresses runs `sottod devnet --addresses` with every node
// at an address of its own: network namespaces where the test runs as
// root (in a namespace of its own), loopback addresses elsewhere.
func TestDevnetOwnAddresses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	if testnet.RunInNetns(t) {
		return
	}
	mode := testnet.PickAddressMode()
	t.Logf("address mode: %s", mode)
	dir := t.TempDir()
	_, stop := startDevnet(t, "--dir", dir, "--nodes", "4", "--ledger", "genesis", "--addresses", string(mode), "--quiet")
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	nf := readSeeds(t, filepath.Join(dir, "network.json"))
	if nf.AllowSameSubnet {
		t.Fatal("a devnet with one address per node lifts the subnet rule")
	}
	hosts := map[string]bool{}
	for _, u := range nf.SeedNodes {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if hosts[pu.Hostname()] {
			t.Fatalf("two seeds at %s", pu.Hostname())
		}
		hosts[pu.Hostname()] = true
	}
	c := loadtest.NewHTTPClient(1, false)
	defer c.CloseIdleConnections()
	for _, seed := range nf.SeedNodes {
		list, err := loadtest.FetchNodes(context.Background(), c, seed)
		if err != nil || len(list) != 4 {
			t.Fatalf("%s: %d nodes, %v", seed, len(list), err)
		}
	}
	stopped = true
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

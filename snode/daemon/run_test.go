package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto.dev/internal/ports"
	"sotto.dev/key"
	"sotto.dev/ledger"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/snode"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// sottodRun runs `sottod run` with cfg until the returned stop is called.
func sottodRun(t *testing.T, cfg Config, stderr *lockedBuffer) (stop func() error) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, stderr) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			return fmt.Errorf("sottod run did not stop")
		}
	}
}

func freeTCP(t *testing.T) int {
	t.Helper()
	// ports.Reserve, not port 0: a kernel-chosen port may go to an
	// outgoing connection before the server binds it.
	got, err := ports.Reserve(netip.MustParseAddr("127.0.0.1"), 1)
	if err != nil {
		t.Fatal(err)
	}
	return int(got[0])
}

// waitNode waits until the ledger lists node k as active in a swarm,
// with an uptime proof.
func waitNode(t *testing.T, c *ledger.Client, k key.NodePublic, stderr *lockedBuffer) *ledger.NodeInfo {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, err := c.Node(ctx, k)
		cancel()
		if err == nil && n.Active && n.SwarmID != ledger.UnassignedSwarm && n.LastProofHeight != 0 {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not active: %+v %v\n%s", k, n, err, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func nodeKeyOf(t *testing.T, dataDir string) key.NodePublic {
	t.Helper()
	k, err := loadNodeKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRunEmbeddedLedger runs `sottod run --ledger-embedded`: the node
// registers itself with the operator key the ledger's genesis funds, and
// serves its swarm; a second sottod follows that ledger over RPC
// (--ledger) and registers with an operator key funded by a transfer. A
// restart registers nothing again.
func TestRunEmbeddedLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT")
	}
	dir := t.TempDir()
	cfg, params := embeddedLedgerConfig(t, dir)
	var errA lockedBuffer
	stopA := sottodRun(t, cfg, &errA)

	c, err := ledger.Dial(cfg.LedgerRPCListen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	keyA := waitNodeKey(t, cfg.DataDir, &errA)
	na, op := checkEmbeddedNode(t, c, cfg, keyA, &errA)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errB lockedBuffer
	stopB := runFundedNode(t, ctx, c, cfg, params, op, dir, &errB)
	if err := stopB(); err != nil {
		t.Fatalf("stop b: %v\n%s", err, &errB)
	}
	if err := stopA(); err != nil {
		t.Fatalf("stop a: %v\n%s", err, &errA)
	}
	if !strings.Contains(errA.String(), "registered in the ledger") || !strings.Contains(errB.String(), "registered in the ledger") {
		t.Fatalf("no registration logged:\n%s\n%s", &errA, &errB)
	}
	checkRestartRegistersNothing(t, ctx, c, cfg, keyA, na.LastProofHeight)
}

// embeddedLedgerConfig writes fast devnet parameters into dir and returns
// them with the config of a node in dir/a that runs the embedded ledger
// in dir/ledger, its RPC on a free port.
func embeddedLedgerConfig(t *testing.T, dir string) (Config, state.Params) {
	t.Helper()
	params := state.DevnetParams()
	params.BlockTime = 200 * time.Millisecond
	pj, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	paramsFile := filepath.Join(dir, "params.json")
	if err := os.WriteFile(paramsFile, pj, 0o644); err != nil {
		t.Fatal(err)
	}
	rpcAddr := "tcp://127.0.0.1:" + strconv.Itoa(freeTCP(t))
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(dir, "a")
	cfg.PublicIP = "127.0.0.1"
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.AdminAddr = ""
	cfg.Limits.ClientRate = 0
	cfg.LedgerEmbedded = filepath.Join(dir, "ledger")
	cfg.LedgerRPCListen = rpcAddr
	cfg.LedgerParams = paramsFile
	return cfg, params
}

// waitNodeKey waits until the node writes its key into dataDir and
// returns it.
func waitNodeKey(t *testing.T, dataDir string, stderr *lockedBuffer) key.NodePublic {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dataDir, "key.json")); err == nil {
			return nodeKeyOf(t, dataDir)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no node key\n%s", stderr)
		}
	}
}

// checkEmbeddedNode waits for the node running the embedded ledger to
// register with the ledger's operator key and checks that it serves the
// swarm the ledger assigned; it returns the node's entry and the
// operator key.
func checkEmbeddedNode(t *testing.T, c *ledger.Client, cfg Config, k key.NodePublic, stderr *lockedBuffer) (*ledger.NodeInfo, state.Signer) {
	t.Helper()
	na := waitNode(t, c, k, stderr)
	if na.PublicIP != "127.0.0.1" || na.StoragePort == 0 || na.LastProofHeight == 0 {
		t.Fatalf("registration %+v", na)
	}
	op, err := ledgercli.ReadKey(filepath.Join(cfg.LedgerEmbedded, "operator.json"))
	if err != nil {
		t.Fatal(err)
	}
	if na.OperatorAddress != state.Address(op.PublicKey()).String() {
		t.Fatalf("operator %s, want the embedded ledger's", na.OperatorAddress)
	}
	// The node serves what the ledger says: get_n_service_nodes lists it
	// in the swarm the ledger assigned.
	list := serviceNodes(t, "https://127.0.0.1:"+strconv.Itoa(int(na.StoragePort)))
	if len(list) != 1 || list[0].Ed25519 != na.Ed25519 || list[0].Swarm != na.SwarmID {
		t.Fatalf("get_n_service_nodes %+v, ledger %+v", list, na)
	}
	return na, op
}

// runFundedNode starts a second node in dir/b that follows the ledger over
// RPC and registers with its own operator key, funded by op, and checks
// that it staked; it returns the node's stop.
func runFundedNode(t *testing.T, ctx context.Context, c *ledger.Client, cfg Config, params state.Params, op state.Signer, dir string, stderr *lockedBuffer) (stop func() error) {
	t.Helper()
	opB := filepath.Join(dir, "operator-b.json")
	addrB, err := ledgercli.WriteKey(opB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitWith(ctx, op, &state.Transfer{To: addrB, Amount: 2 * params.StakingRequirement}); err != nil {
		t.Fatal(err)
	}
	cfgB := cfg
	cfgB.DataDir = filepath.Join(dir, "b")
	cfgB.LedgerEmbedded, cfgB.LedgerRPCListen, cfgB.LedgerParams = "", "", ""
	cfgB.LedgerRPC = cfg.LedgerRPCListen
	cfgB.OperatorKey = opB
	stopB := sottodRun(t, cfgB, stderr)
	nb := waitNode(t, c, waitNodeKey(t, cfgB.DataDir, stderr), stderr)
	if nb.OperatorAddress != addrB.String() {
		t.Fatalf("second node's operator %s", nb.OperatorAddress)
	}
	acc, err := c.Account(ctx, addrB)
	if err != nil || acc.Balance >= 2*params.StakingRequirement-params.StakingRequirement/2 { // staked 100; rewards since are a few coins
		t.Fatalf("operator b after staking: %+v %v", acc, err)
	}
	return stopB
}

// checkRestartRegistersNothing runs the first node again: the ledger
// continues, the node is still registered (nothing new is staked) and
// sends proofs again, past height h0.
func checkRestartRegistersNothing(t *testing.T, ctx context.Context, c *ledger.Client, cfg Config, k key.NodePublic, h0 uint64) {
	t.Helper()
	var errA2 lockedBuffer
	stopA := sottodRun(t, cfg, &errA2)
	defer func() {
		if err := stopA(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		n, err := c.Node(ctx, k)
		if err == nil && n.LastProofHeight > h0 && n.Active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new proof after the restart: %+v %v\n%s", n, err, &errA2)
		}
	}
	if strings.Contains(errA2.String(), "registered in the ledger") {
		t.Fatalf("registered twice:\n%s", &errA2)
	}
}

type listedNode struct {
	Ed25519 string `json:"pubkey_ed25519"`
	Swarm   uint64 `json:"swarm_id"`
}

// serviceNodes asks a node for get_n_service_nodes.
func serviceNodes(t *testing.T, url string) []listedNode {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // node certificates are self-signed
	}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(url+"/json_rpc", "application/json",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"get_n_service_nodes","params":{"fields":{"pubkey_ed25519":true,"swarm_id":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Result struct {
			States []listedNode `json:"service_node_states"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r.Result.States
}

func loadNodeKey(dataDir string) (key.NodePublic, error) {
	k, err := snode.LoadKeys(filepath.Join(dataDir, snode.KeyFileName))
	if err != nil {
		return key.NodePublic{}, err
	}
	return key.NodePublic(k.Ed25519Public()), nil
}

func TestValidateLedgerSources(t *testing.T) {
	base := DefaultConfig()
	base.PublicIP, base.DataDir = "203.0.113.7", "/var/lib/sottod"
	for _, c := range []struct {
		name string
		set  func(*Config)
		want string // "" for valid
	}{
		{"genesis", func(c *Config) { c.GenesisFile = "g.json" }, ""},
		{"follow", func(c *Config) { c.LedgerRPC = "tcp://127.0.0.1:26657" }, ""},
		{"follow and register", func(c *Config) { c.LedgerRPC, c.OperatorKey = "tcp://127.0.0.1:26657", "op.json" }, ""},
		{"embedded", func(c *Config) {
			c.LedgerEmbedded, c.LedgerRPCListen, c.LedgerParams, c.OperatorKey = "l", "tcp://127.0.0.1:26657", "p.json", "op.json"
		}, ""},
		{"none", func(c *Config) {}, "no node list"},
		{"two", func(c *Config) { c.GenesisFile, c.LedgerEmbedded = "g.json", "l" }, "exclusive"},
		{"three", func(c *Config) { c.GenesisFile, c.LedgerRPC, c.LedgerEmbedded = "g.json", "tcp://x:1", "l" }, "exclusive"},
		{"rpc listen without embedded", func(c *Config) { c.LedgerRPC, c.LedgerRPCListen = "tcp://x:1", "tcp://127.0.0.1:1" }, "need ledger_embedded"},
		{"params without embedded", func(c *Config) { c.GenesisFile, c.LedgerParams = "g.json", "p.json" }, "need ledger_embedded"},
		{"operator with genesis", func(c *Config) { c.GenesisFile, c.OperatorKey = "g.json", "op.json" }, "operator_key needs a ledger"},
	} {
		cfg := base
		c.set(&cfg)
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestReadParams(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, fmt.Sprintf("p%d.json", len(s)))
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := state.DevnetParams()
	want.BlockTime, want.ProofInterval, want.ProofValidity = 250*time.Millisecond, 4, 9
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	p, err := readParams(write(string(b)))
	if err != nil || p != want {
		t.Fatalf("%+v %v", p, err)
	}
	// Incomplete, unknown or invalid rules are refused.
	for _, bad := range []string{`{"colour": 1}`, `{"block_time": "1s", "proof_interval": 30}`, strings.Replace(string(b), `"proof_validity":9`, `"proof_validity":3`, 1), `[`} {
		if _, err := readParams(write(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

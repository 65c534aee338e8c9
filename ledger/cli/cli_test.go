package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sotto.dev/internal/ports"
	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
	"sotto.dev/snode"
)

// cometLeaks are the goroutines CometBFT leaves behind after a node
// stops (ledger/embedded_test.go says why the indexer one is left).
var cometLeaks = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/cometbft/cometbft/libs/autofile.OpenAutoFile.func1"),
	goleak.IgnoreTopFunction("github.com/cometbft/cometbft/libs/autofile.(*AutoFile).closeFileRoutine"),
	goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	goleak.IgnoreTopFunction("github.com/cometbft/cometbft/state/txindex.(*IndexerService).OnStart.func1"),
}

// run executes the ledger command with args and returns its output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	a := newApp(func(string) string { return "" })
	cmd := a.root()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("ledger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestCoins(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"1", state.Coin}, {"0.5", state.Coin / 2}, {"25000", 25_000 * state.Coin}, {".000000001", 1}, {"12.340000000", 12_340_000_000},
	} {
		got, err := ParseCoins(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseCoins(%q) = %d, %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{"", ".", "1.", "x", "1.0000000001", "-1", "99999999999999999999"} {
		if _, err := ParseCoins(bad); err == nil {
			t.Errorf("ParseCoins(%q) accepted", bad)
		}
	}
	for v, want := range map[uint64]string{0: "0", state.Coin: "1", 1: "0.000000001", 12_340_000_000: "12.34"} {
		if got := Coins(v); got != want {
			t.Errorf("Coins(%d) = %q, want %q", v, got, want)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	// ports.Reserve, not port 0: a kernel-chosen port may go to an
	// outgoing connection before the ledger binds it.
	got, err := ports.Reserve(netip.MustParseAddr("127.0.0.1"), 1)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), got[0]).String()
}

func TestOperatorCommands(t *testing.T) {
	t.Cleanup(func() {
		goleak.VerifyNone(t, cometLeaks...)
	})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "operator.json")
	operator := checkKeygen(t, keyFile)

	node := startLedger(t, dir, operator)

	nodeDir := filepath.Join(dir, "snode")
	sn := checkRegister(t, node, keyFile, nodeDir)
	checkRejectedRegister(t, node, keyFile, nodeDir)
	checkNames(t, node, keyFile, operator)
	bob := filepath.Join(dir, "bob.json")
	checkTransfers(t, node, keyFile, bob, operator)
	checkContributeUnlock(t, node, keyFile, bob, sn)
}

// checkKeygen writes an operator key to keyFile, checks that keygen does
// not overwrite it and that only its owner reads it, and returns its
// address.
func checkKeygen(t *testing.T, keyFile string) string {
	t.Helper()
	var kg struct{ Address string }
	if err := json.Unmarshal([]byte(must(t, "keygen", "--out", keyFile, "--json")), &kg); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "keygen", "--out", keyFile); err == nil {
		t.Fatal("keygen overwrote a key file")
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v", err)
	}
	return kg.Address
}

// checkRegister registers a node with its keys in nodeDir, checks the
// node's and the ledger's status, and returns the node's Ed25519 key.
func checkRegister(t *testing.T, node, keyFile, nodeDir string) string {
	t.Helper()
	nk, _, err := snode.LoadOrCreateKeys(nodeDir)
	if err != nil {
		t.Fatal(err)
	}
	sn := nk.Ed25519Public().String()

	out := must(t, node, "register", "--key", keyFile, "--node-key", nodeDir, "--ip", "127.0.0.5", "--port", "22021", "--fee-bps", "250")
	if !strings.Contains(out, "register: ok") || !strings.Contains(out, "node: "+sn) {
		t.Fatalf("register output:\n%s", out)
	}
	out = must(t, node, "status", "--sn", sn)
	for _, want := range []string{"state: active", "address: 127.0.0.5:22021", "staked: 100 of 100", "operator fee: 2.50 %", "swarm: 0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("status lacks %q:\n%s", want, out)
		}
	}
	out = must(t, node, "status")
	if !strings.Contains(out, "active nodes: 1") || !strings.Contains(out, "chain id: sotto-cli-test") || !strings.Contains(out, "transaction fee: ") {
		t.Fatalf("ledger status:\n%s", out)
	}
	return sn
}

// checkRejectedRegister checks that a rejected transaction explains
// itself.
func checkRejectedRegister(t *testing.T, node, keyFile, nodeDir string) {
	t.Helper()
	_, err := run(t, node, "register", "--key", keyFile, "--node-key", nodeDir, "--ip", "127.0.0.6", "--port", "22021")
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Error(), "duplicate") {
		t.Fatalf("duplicate registration: %v", err)
	}
	if _, err := run(t, node, "register", "--key", keyFile, "--node-key", nodeDir, "--ip", "nope", "--port", "1"); !errors.As(err, &ce) || ce.Hint == "" {
		t.Fatalf("bad ip: %v", err)
	}
}

// checkNames registers, looks up and renews a name owned by owner.
func checkNames(t *testing.T, node, keyFile, owner string) {
	t.Helper()
	sid := "05" + strings.Repeat("ab", 32)
	out := must(t, node, "name-register", "--key", keyFile, "--name", "Sotto_Op", "--session-id", sid)
	if !strings.Contains(out, "name-register: ok") {
		t.Fatalf("name-register:\n%s", out)
	}
	var look struct {
		SessionID string `json:"session_id"`
		Owner     string `json:"owner"`
	}
	if err := json.Unmarshal([]byte(must(t, node, "--json", "name-lookup", "sotto_op")), &look); err != nil {
		t.Fatal(err)
	}
	if look.SessionID != sid || look.Owner != owner {
		t.Fatalf("name-lookup %+v", look)
	}
	must(t, node, "name-renew", "--key", keyFile, "--name", "sotto_op")
	if _, err := run(t, node, "name-lookup", "unknown"); err == nil {
		t.Fatal("unknown name resolved")
	}
}

// checkTransfers writes a second key to bob, funds it with two transfers
// from keyFile and checks that a transfer back to operator that fails in
// its block still pays its fee.
func checkTransfers(t *testing.T, node, keyFile, bob, operator string) {
	t.Helper()
	var bk struct{ Address string }
	if err := json.Unmarshal([]byte(must(t, "keygen", "--out", bob, "--json")), &bk); err != nil {
		t.Fatal(err)
	}
	if out := must(t, node, "transfer", "--key", keyFile, "--to", bk.Address, "--amount", "2.5"); !strings.Contains(out, "fee: 0.00") {
		t.Fatalf("transfer output shows no fee:\n%s", out)
	}
	var sent struct {
		Height    uint64 `json:"height"`
		Fee       uint64 `json:"fee"`
		LastValid uint64 `json:"last_valid_height"`
	}
	if err := json.Unmarshal([]byte(must(t, node, "--json", "transfer", "--key", keyFile, "--to", bk.Address, "--amount", "0.5")), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Fee == 0 || sent.LastValid < sent.Height || sent.LastValid > sent.Height+ledger.DefaultTxWindow {
		t.Fatalf("transfer result %+v", sent)
	}
	var acc ledger.AccountInfo
	if err := json.Unmarshal([]byte(must(t, node, "--json", "account", "--key", bob)), &acc); err != nil {
		t.Fatal(err)
	}
	if acc.Balance != 3_000_000_000 {
		t.Fatalf("bob's balance %d", acc.Balance)
	}
	// A transfer that fails in its block still pays its fee and uses its
	// nonce, and says so.
	var ce *Error
	if _, err := run(t, node, "transfer", "--key", bob, "--to", operator, "--amount", "5"); !errors.As(err, &ce) ||
		!strings.Contains(ce.Error(), "insufficient_funds") || !strings.Contains(ce.Error(), "fee of") {
		t.Fatalf("overdrawn transfer: %v", err)
	}
	var after ledger.AccountInfo
	if err := json.Unmarshal([]byte(must(t, node, "--json", "account", "--key", bob)), &after); err != nil {
		t.Fatal(err)
	}
	if after.Nonce != acc.Nonce+1 || after.Balance >= acc.Balance {
		t.Fatalf("after a failed transfer: %+v, before %+v", after, acc)
	}
}

// checkContributeUnlock checks that bob can neither contribute to the full
// node sn nor unlock it, and that its operator can unlock it.
func checkContributeUnlock(t *testing.T, node, keyFile, bob, sn string) {
	t.Helper()
	var ce *Error
	if _, err := run(t, node, "contribute", "--key", bob, "--sn", sn, "--amount", "1"); !errors.As(err, &ce) || !strings.Contains(ce.Error(), "wrong_state") {
		t.Fatalf("contribute to a full node: %v", err)
	}
	if _, err := run(t, node, "unlock", "--key", bob, "--sn", sn); err == nil {
		t.Fatal("a non-contributor unlocked")
	}
	must(t, node, "unlock", "--key", keyFile, "--sn", sn)
	if out := must(t, node, "status", "--sn", sn); !strings.Contains(out, "unlocks at: height") {
		t.Fatalf("after unlock:\n%s", out)
	}
}

// startLedger runs a one-validator ledger in dir with operator funded,
// its RPC on loopback, until the test ends. It returns the --node flag
// that reaches it.
func startLedger(t *testing.T, dir, operator string) string {
	t.Helper()
	p := state.DevnetParams()
	p.BlockTime = 150 * time.Millisecond
	rpcAddr := freeAddr(t)
	e, err := ledger.NewEmbedded(ledger.EmbeddedConfig{
		Dir: filepath.Join(dir, "ledger"), ChainID: "sotto-cli-test",
		Genesis: &state.Genesis{Params: &p, Accounts: []state.GenesisAccount{{Address: operator, Balance: 1000 * state.Coin}}},
		Home:    ledger.HomeConfig{RPCListen: "tcp://" + rpcAddr},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := e.Client().WaitHeight(wctx, 1); err != nil {
		t.Fatal(err)
	}
	return "--node=http://" + rpcAddr
}

func TestNetworkSetupCommands(t *testing.T) {
	dir := t.TempDir()
	var ids [2]struct {
		NodeID       string `json:"node_id"`
		ValidatorKey string `json:"validator_key"`
	}
	for i := range ids {
		home := filepath.Join(dir, fmt.Sprintf("v%d", i))
		if err := json.Unmarshal([]byte(must(t, "init", "--home", home, "--json", "--p2p", "tcp://127.0.0.1:0")), &ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	var params state.Params
	if err := json.Unmarshal([]byte(must(t, "params", "--devnet")), &params); err != nil || params.Validate() != nil {
		t.Fatalf("params: %v", err)
	}
	app, _ := json.Marshal(state.Genesis{Params: &params, Pool: 5})
	appFile := filepath.Join(dir, "app.json")
	if err := os.WriteFile(appFile, app, 0o600); err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "genesis.json")
	out := must(t, "genesis", "--chain-id", "sotto-two", "--app", appFile, "--out", gen,
		"--validator", "v0="+ids[0].ValidatorKey, "--validator", "v1="+ids[1].ValidatorKey+":20")
	if !strings.Contains(out, "validators: 2") {
		t.Fatalf("genesis:\n%s", out)
	}
	out = must(t, "init", "--home", filepath.Join(dir, "v1"), "--genesis", gen)
	if !strings.Contains(out, "chain id: sotto-two") || !strings.Contains(out, "node id: "+ids[1].NodeID) {
		t.Fatalf("init with genesis (keys must be kept):\n%s", out)
	}
	for _, bad := range [][]string{
		{"genesis", "--chain-id", "x", "--app", appFile, "--out", gen, "--validator", "v0=zz"},
		{"genesis", "--chain-id", "x", "--out", gen},
		{"init"},
		{"init", "--home", filepath.Join(dir, "v0"), "--genesis", appFile},
	} {
		if _, err := run(t, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"sotto.dev/internal/ports"
	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// childHomeEnv makes the test binary run one ledger node (see
// TestLedgerNodeProcess) instead of tests.
const childHomeEnv = "SOTTO_LEDGER_TEST_NODE_HOME"

// TestLedgerNodeProcess is not a test: it is the body of a validator
// process started by TestFourValidatorProcesses, which re-executes the test
// binary with childHomeEnv set.
func TestLedgerNodeProcess(t *testing.T) {
	home := os.Getenv(childHomeEnv)
	if home == "" {
		t.Skip("only runs as a child of TestFourValidatorProcesses")
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e, err := NewEmbedded(EmbeddedConfig{Dir: home, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := e.Serve(ctx); err != nil {
		t.Fatal(err)
	}
}

// freePorts are n distinct free ports below the ephemeral range, which
// outgoing connections of other tests cannot take before the ledger
// processes bind them.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	got, err := ports.Reserve(netip.MustParseAddr("127.0.0.1"), n)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, n)
	for i, p := range got {
		out[i] = int(p)
	}
	return out
}

type nodeProc struct {
	home   string
	rpc    string
	client *Client
	cmd    *exec.Cmd
	log    *os.File
	done   chan struct{}
}

func (n *nodeProc) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(n.home, "process.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLedgerNodeProcess$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), childHomeEnv+"="+n.home)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd, n.log, n.done = cmd, f, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(n.done)
	}()
}

func (n *nodeProc) kill() {
	if n.cmd != nil {
		_ = n.cmd.Process.Kill()
		<-n.done
		n.cmd = nil
	}
}

func (n *nodeProc) stop() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		n.kill()
	}
	n.cmd = nil
}

func (n *nodeProc) logTail() string {
	b, _ := os.ReadFile(filepath.Join(n.home, "process.log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// TestFourValidatorProcesses runs a four-validator network as four
// processes on loopback: one validator is killed and the others keep
// producing blocks (three of four hold more than two thirds of the power);
// restarted, it catches up, replays the blocks it missed and reports the
// same app hash as the others.
func TestFourValidatorProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	if os.Getenv(childHomeEnv) != "" {
		t.Skip("child process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	procs := startValidators(t, 4)
	fail := func(format string, args ...any) {
		t.Helper()
		for i, pr := range procs {
			t.Logf("--- validator %d log tail ---\n%s", i, pr.logTail())
		}
		t.Fatalf(format, args...)
	}
	waitHeight := func(pr *nodeProc, h uint64) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
		defer wcancel()
		if err := pr.client.WaitHeight(wctx, h); err != nil {
			fail("%s did not reach height %d: %v", pr.home, h, err)
		}
	}
	for _, pr := range procs {
		waitHeight(pr, 3)
	}

	// Registrations through validator 0 reach every validator.
	c0 := procs[0].client
	register := func(name string, last byte) {
		t.Helper()
		r := Registration{Operator: state.KeySigner(testPriv("op")), NodeKey: state.KeySigner(testPriv(name)), X25519: key.OnionPublic(sha256.Sum256([]byte(name))),
			IP: state.IPv4{127, 0, 2, last}, Port: 20000}
		if _, err := c0.Register(ctx, r); err != nil {
			fail("register %s: %v", name, err)
		}
	}
	register("before", 1)

	// Kill validator 3 outright; the chain goes on without it.
	procs[3].kill()
	h0, err := c0.Height(ctx)
	if err != nil {
		fail("height: %v", err)
	}
	waitHeight(procs[0], h0+5)
	register("during1", 2)
	register("during2", 3)
	for _, pr := range procs[:3] {
		waitHeight(pr, h0+8)
	}

	// Restart it: it replays what it missed and agrees on the app hash.
	procs[3].start(t)
	target, err := c0.Height(ctx)
	if err != nil {
		fail("height: %v", err)
	}
	waitHeight(procs[3], target+2)
	st3, err := procs[3].client.Status(ctx)
	if err != nil {
		fail("status of the restarted validator: %v", err)
	}
	waitHeight(procs[0], st3.Height+1)
	agreed, err := c0.AppHashAt(ctx, st3.Height)
	if err != nil {
		fail("app hash at %d: %v", st3.Height, err)
	}
	if got := hex.EncodeToString(agreed); got != st3.AppHash {
		fail("restarted validator has app hash %s at height %d, the network %s", st3.AppHash, st3.Height, got)
	}
	for _, name := range []string{"before", "during1", "during2"} {
		k := key.NodePublic(testPriv(name).Public().(ed25519.PublicKey))
		ni, err := procs[3].client.Node(ctx, k)
		if err != nil || ni.State != state.StatusActive.String() {
			fail("restarted validator does not know node %s: %v", name, err)
		}
	}
	var missing *state.TxError
	if _, err := procs[3].client.Node(ctx, key.NodePublic{}); !errors.Is(err, ErrNotFound) && !errors.As(err, &missing) {
		fail("unknown node: %v", err)
	}
}

// startValidators starts a network of n validators, each a process on
// loopback with its own home, peered with all the others, on one genesis
// with a 300 ms block time. They are stopped when the test ends.
func startValidators(t *testing.T, n int) []*nodeProc {
	t.Helper()
	return startValidatorsVia(t, n, nil)
}

// startValidatorsVia is startValidators where validator i reaches
// validator j, listening on addr, at via(i, j, addr) (a proxy), with peer
// exchange off so that no validator learns another address; nil via
// peers them directly.
func startValidatorsVia(t *testing.T, n int, via func(i, j int, addr string) string) []*nodeProc {
	t.Helper()
	procs := make([]*nodeProc, n)
	infos := make([]*HomeInfo, n)
	p2p := make([]int, n)
	base := t.TempDir()
	free := freePorts(t, 2*n)
	for i := range n {
		home := filepath.Join(base, fmt.Sprintf("v%d", i))
		p2p[i] = free[2*i]
		rpc := fmt.Sprintf("tcp://127.0.0.1:%d", free[2*i+1])
		info, err := InitHome(home, HomeConfig{Moniker: fmt.Sprintf("v%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		infos[i] = info
		procs[i] = &nodeProc{home: home, rpc: rpc}
	}
	var validators []NetworkValidator
	for i := range n {
		var peers []string
		for j := range n {
			if j != i {
				addr := fmt.Sprintf("127.0.0.1:%d", p2p[j])
				if via != nil {
					addr = via(i, j, addr)
				}
				peers = append(peers, infos[j].NodeID+"@"+addr)
			}
		}
		if _, err := InitHome(procs[i].home, HomeConfig{
			Moniker:   fmt.Sprintf("v%d", i),
			P2PListen: fmt.Sprintf("tcp://127.0.0.1:%d", p2p[i]),
			Peers:     peers,
			RPCListen: procs[i].rpc,
			Loopback:  true,
			NoPEX:     via != nil,
		}); err != nil {
			t.Fatal(err)
		}
		validators = append(validators, NetworkValidator{Name: fmt.Sprintf("v%d", i), Key: infos[i].ValidatorKey, Power: 10})
	}
	p := state.DevnetParams()
	p.BlockTime = 300 * time.Millisecond
	doc, err := NewNetworkGenesis("sotto-four", validators, testGenesis(p, map[string]uint64{"op": 10_000 * state.Coin}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := WriteNetworkGenesis(procs[i].home, doc); err != nil {
			t.Fatal(err)
		}
		c, err := Dial(procs[i].rpc)
		if err != nil {
			t.Fatal(err)
		}
		procs[i].client = c
		t.Cleanup(c.Close)
		procs[i].start(t)
	}
	t.Cleanup(func() {
		for _, pr := range procs {
			pr.stop()
		}
	})
	return procs
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"sotto.dev/client/store"
	"sotto.dev/internal/testnet"
)

// TestMain lets testscript run the CLI as the "sotto" command (the test
// binary re-executes itself).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sotto": func() { os.Exit(Main(os.Args[1:], OSEnv())) },
	})
}

var (
	netOnce sync.Once
	netErr  error
	shared  *testnet.Network
	fsStop  func()
)

// sharedNetwork starts one loopback network for every script of the run.
func sharedNetwork(t *testing.T) *testnet.Network {
	netOnce.Do(func() {
		shared, netErr = testnet.Start(context.Background(), testnet.Options{Nodes: 6})
		if netErr == nil {
			fsStop, netErr = startFileServer(shared)
		}
	})
	if netErr != nil {
		t.Fatalf("start network: %v", netErr)
	}
	return shared
}

// deadNetworkFile writes a network file whose only seed refuses
// connections.
func deadNetworkFile(dir string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	path := filepath.Join(dir, "dead-network.json")
	data := fmt.Sprintf(`{"seed_nodes": [{"url": "https://%s", "cert_sha256": "%064x"}], "allow_same_subnet": true}`, addr, 0)
	return path, os.WriteFile(path, []byte(data), 0o644)
}

// TestScripts runs testdata/script/*.txtar: every chat command against a
// real loopback network, including the error cases.
func TestScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	nw := sharedNetwork(t)
	t.Cleanup(func() {
		fsStop()
		_ = nw.Close()
	})
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("SOTTO_NETWORK", nw.NetworkFile())
			env.Setenv("SOTTO_ARGON2", "t=1,m=64,p=1")
			env.Setenv("SOTTO_HOME", filepath.Join(env.WorkDir, "default-home"))
			// Receipts and sync copies at once: the scripts check them
			// right after one-shot commands (passphrase.txtar sets it).
			env.Setenv("SOTTO_DELAY", "off")
			dead, err := deadNetworkFile(env.WorkDir)
			if err != nil {
				return err
			}
			env.Setenv("DEAD_NETWORK", dead)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sid":       cmdSID,
			"waitfile":  cmdWaitFile,
			"stdoutvar": cmdStdoutVar,
			"mkfile":    cmdMkfile,
			"mkpng":     cmdMkpng,
			"mkogg":     cmdMkogg,
		},
	})
}

// cmdSID: sid VAR HOME — sets $VAR to the Session ID of the identity in
// HOME (read from its identity.json).
func cmdSID(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sid VAR HOME")
	}
	b, err := os.ReadFile(filepath.Join(ts.MkAbs(args[1]), IdentityFile))
	ts.Check(err)
	var f struct {
		SessionID string `json:"session_id"`
	}
	ts.Check(json.Unmarshal(b, &f))
	if f.SessionID == "" {
		ts.Fatalf("no session_id in %s", args[1])
	}
	ts.Setenv(args[0], f.SessionID)
}

// cmdWaitFile: waitfile FILE TEXT [SECONDS] — waits until FILE contains
// TEXT (for the output of a command running in the background).
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitfile FILE TEXT [SECONDS]")
	}
	limit := 30 * time.Second
	if len(args) == 3 {
		var s int
		if _, err := fmt.Sscan(args[2], &s); err != nil {
			ts.Fatalf("bad seconds %q", args[2])
		}
		limit = time.Duration(s) * time.Second
	}
	// The file is another process's output: poll it.
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		if strings.Contains(string(b), args[1]) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s does not contain %q after %v:\n%s", args[0], args[1], limit, b)
		}
		<-tick.C
	}
}

func TestParseDisappear(t *testing.T) {
	for _, tc := range []struct {
		in        string
		afterRead bool
		mode      store.ExpiryMode
		d         time.Duration
		ok        bool
	}{
		{"off", false, store.ExpiryOff, 0, true},
		{"OFF", true, store.ExpiryOff, 0, true},
		{"30s", false, store.ExpiryAfterSend, 30 * time.Second, true},
		{"5m", true, store.ExpiryAfterRead, 5 * time.Minute, true},
		{"1d", false, store.ExpiryAfterSend, 24 * time.Hour, true},
		{"14d", false, store.ExpiryAfterSend, 14 * 24 * time.Hour, true},
		{"15d", false, 0, 0, false},
		{"0d", false, 0, 0, false},
		{"9s", false, 0, 0, false},
		{"337h", false, 0, 0, false},
		{"soon", false, 0, 0, false},
		{"", false, 0, 0, false},
		{"-5m", false, 0, 0, false},
	} {
		mode, d, err := parseDisappear(tc.in, tc.afterRead)
		if (err == nil) != tc.ok {
			t.Errorf("parseDisappear(%q) error = %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (mode != tc.mode || d != tc.d) {
			t.Errorf("parseDisappear(%q, %v) = %v %v, want %v %v", tc.in, tc.afterRead, mode, d, tc.mode, tc.d)
		}
	}
}

func TestParseMsgRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"12", 12}, {"#12", 12}, {"#", 0}, {"0", 0}, {"-3", 0}, {"x", 0}, {"99999999999999999999", 0},
	} {
		got, err := parseMsgRef(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("parseMsgRef(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseMsgRef(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

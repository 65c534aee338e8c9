package main

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"sotto.dev/internal/ports"
	"sotto.dev/ledger"
	"sotto.dev/snode"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sottod": func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// genesis DATADIR FILE: a genesis listing the node of DATADIR
			// (key created if needed) as the only member of swarm 0.
			"genesis": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: genesis DATADIR FILE")
				}
				k, _, err := snode.LoadOrCreateKeys(ts.MkAbs(args[0]))
				ts.Check(err)
				s := &ledger.Snapshot{Nodes: []ledger.Node{{Ed25519: k.Ed25519Public(), X25519: k.X25519Public(),
					PublicIP: "127.0.0.1", StoragePort: 1, SwarmID: 0, State: ledger.StateActive}}}
				ts.Check(ledger.WriteGenesis(ts.MkAbs(args[1]), s))
			},
			// freeport VAR: set VAR to a free TCP port on 127.0.0.1.
			"freeport": func(ts *testscript.TestScript, neg bool, args []string) {
				// ports.Reserve, not port 0: a kernel-chosen port may go
				// to an outgoing connection before sottod binds it.
				got, err := ports.Reserve(netip.MustParseAddr("127.0.0.1"), 1)
				ts.Check(err)
				ts.Setenv(args[0], strconv.Itoa(int(got[0])))
			},
			// waitport PORT: wait until 127.0.0.1:PORT accepts connections.
			"waitport": func(ts *testscript.TestScript, neg bool, args []string) {
				deadline := time.Now().Add(30 * time.Second)
				for {
					c, err := net.Dial("tcp", "127.0.0.1:"+args[0])
					if err == nil {
						c.Close()
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("port %s never opened", args[0])
					}
					time.Sleep(50 * time.Millisecond)
				}
			},
			// keymode FILE MODE: check a file's permission bits (octal).
			"keymode": func(ts *testscript.TestScript, neg bool, args []string) {
				fi, err := os.Stat(filepath.Clean(ts.MkAbs(args[0])))
				ts.Check(err)
				if got := strconv.FormatUint(uint64(fi.Mode().Perm()), 8); got != args[1] {
					ts.Fatalf("mode %s, want %s", got, args[1])
				}
			},
		},
	})
}

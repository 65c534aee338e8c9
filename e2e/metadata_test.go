package e2e

import (
	"bytes"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sotto.dev/internal/testnet"
)

// clientIP is the address clients connect from in TestNoClientMetadata:
// the nodes listen on nodeIP, so the kernel gives connections to them the
// source address 127.0.0.1, which then appears nowhere else.
const (
	clientIP = "127.0.0.1"
	nodeIP   = "127.0.0.2"
)

var ipv4 = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)

// TestNoClientMetadata has a conversation on a network run by the
// CometBFT ledger, reads every block of the ledger (no account, no client
// address), then reads every file the nodes wrote (logs at debug
// level, databases with their WAL): no file may contain a client's IP
// address, and no log line, the ledger's and CometBFT's included, may name
// an account next to any IP address.
func TestNoClientMetadata(t *testing.T) {
	checkSourceAddress(t)
	nw := startNetwork(t, testnet.Options{
		Nodes: 10, Swarm: swarmsOf5, Listen: nodeIP, LogFiles: true, LogLevel: slog.LevelDebug,
		CometBFT: true,
	})
	sa, sb := twoSwarms(t, nw)
	alice := newUser(t, nw, "alice", sa)
	bob := newUser(t, nw, "bob", sb)
	warmUp(t, alice, bob)
	for _, p := range [][2]*user{{alice, bob}, {bob, alice}} {
		tr := sendStream(p[0], p[1].id(), "hello from "+p[0].name, 5, 50*time.Millisecond, nil)
		acked, queued := tr.wait(t, time.Minute)
		p[1].waitDelivered(p[0].id(), append(acked, queued...), time.Minute)
	}
	alice.stop()
	bob.stop()
	// A ledger reader: no block holds an account or the client's address.
	checkLedgerBlocks(t, nw, accountSecrets(alice.kf, bob.kf))
	// Stop the nodes so that logs and databases are complete on disk.
	if err := nw.Close(); err != nil {
		t.Fatal(err)
	}

	// Everything that identifies the two accounts, in the forms a node
	// could write it.
	var accountIDs []string
	for _, u := range []*user{alice, bob} {
		k := u.kf.Keys
		x, ed := k.X25519Public(), k.Ed25519Public()
		accountIDs = append(accountIDs, k.SessionID().String(), hex.EncodeToString(x[:]), hex.EncodeToString(ed[:]))
	}

	var files int
	for _, ni := range nw.Nodes() {
		err := filepath.WalkDir(ni.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			if bytes.Contains(data, []byte(clientIP)) {
				t.Errorf("%s contains the client's IP %s", path, clientIP)
			}
			if !strings.HasSuffix(path, ".log") {
				return nil
			}
			checkLogLines(t, path, data, accountIDs)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 2*nw.Len() {
		t.Fatalf("read only %d files", files)
	}

	// The ledger's log, with CometBFT's own lines. Nodes (not clients)
	// talk to the ledger, from the same loopback address as clients, so
	// only IPs next to accounts count here.
	ledgerLog := filepath.Join(nw.Dir(), testnet.LedgerLog)
	data, err := os.ReadFile(ledgerLog)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("module=cometbft")) {
		t.Fatalf("%s has no CometBFT lines (%d bytes)", ledgerLog, len(data))
	}
	checkLogLines(t, ledgerLog, data, accountIDs)
}

// checkLogLines fails for each line of the log at path that names one of
// the accounts next to an IP address.
func checkLogLines(t *testing.T, path string, data []byte, accountIDs []string) {
	t.Helper()
	for i, line := range strings.Split(string(data), "\n") {
		if !ipv4.MatchString(line) {
			continue
		}
		for _, id := range accountIDs {
			if strings.Contains(strings.ToLower(line), id) {
				t.Errorf("%s:%d names an account next to an IP address: %s", path, i+1, line)
			}
		}
	}
}

// checkSourceAddress makes sure that a connection to nodeIP comes from
// clientIP on this machine, which the test relies on, and fails saying
// what is missing if not. On Linux all of 127.0.0.0/8 is loopback and
// the kernel picks 127.0.0.1 as the source; elsewhere (macOS, BSDs)
// 127.0.0.2 is an alias to add to the loopback interface first.
func checkSourceAddress(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", nodeIP+":0")
	if err != nil {
		t.Fatalf("cannot listen on %s: %v\nhint: this test needs %s on a loopback interface (macOS: sudo ifconfig lo0 alias %s)", nodeIP, err, nodeIP, nodeIP)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if host, _, _ := net.SplitHostPort(s.RemoteAddr().String()); host != clientIP {
		t.Fatalf("connections to %s come from %s, not %s: the test tells clients from nodes by source address", nodeIP, host, clientIP)
	}
}

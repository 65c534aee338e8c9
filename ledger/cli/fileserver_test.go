package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"sotto.dev/fileserver"
	"sotto.dev/ledger"
)

// runFS executes the fileserver command with args.
func runFS(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newApp(func(string) string { return "" }).fileServerRoot()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func mustFS(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runFS(t, args...)
	if err != nil {
		t.Fatalf("fileserver %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func listFS(t *testing.T, node string) ledger.FileServerList {
	t.Helper()
	var l ledger.FileServerList
	if err := json.Unmarshal([]byte(mustFS(t, node, "--json", "list")), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestFileServerCommands(t *testing.T) {
	t.Cleanup(func() {
		goleak.VerifyNone(t, cometLeaks...)
	})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "operator.json")
	operator := checkKeygen(t, keyFile)
	node := startLedger(t, dir, operator)
	checkRegister(t, node, keyFile, filepath.Join(dir, "snode"))

	serverKey := filepath.Join(dir, "files.json")
	var sk struct{ Address string }
	if err := json.Unmarshal([]byte(must(t, "keygen", "--out", serverKey, "--json")), &sk); err != nil {
		t.Fatal(err)
	}
	x := strings.Repeat("5a", 32)
	out := mustFS(t, node, "register", "--key", keyFile, "--server-key", serverKey, "--x25519", x, "--url", "http://127.0.0.1:9000")
	if !strings.Contains(out, "file server register: ok") || !strings.Contains(out, "file server: "+sk.Address) {
		t.Fatalf("register output:\n%s", out)
	}
	l := listFS(t, node)
	if len(l.FileServers) != 1 || l.FileServers[0].URL != "http://127.0.0.1:9000" || l.FileServers[0].PubkeyX25519 != x ||
		l.FileServers[0].PubkeyEd25519 != sk.Address || l.FileServers[0].Operator != operator {
		t.Fatalf("list %+v", l)
	}
	if out := mustFS(t, node, "list"); !strings.Contains(out, "file servers: 1") || !strings.Contains(out, "url: http://127.0.0.1:9000") {
		t.Fatalf("list output:\n%s", out)
	}

	// Mistakes are caught before anything is sent, with a hint.
	var ce *Error
	for _, bad := range [][]string{
		{"register", "--key", keyFile, "--server-key", serverKey, "--x25519", x, "--url", "http://127.0.0.1:9000/?q"},
		{"register", "--key", keyFile, "--server-key", serverKey, "--x25519", x, "--url", "https://me@files.example.org"},
		{"register", "--key", keyFile, "--server-key", serverKey, "--x25519", x[2:], "--url", "http://127.0.0.1:9001"},
		{"register", "--key", keyFile, "--x25519", x, "--url", "http://127.0.0.1:9001"},
		{"remove", "--key", keyFile, "--server", "zz"},
	} {
		if _, err := runFS(t, append([]string{node}, bad...)...); !errors.As(err, &ce) || ce.Hint == "" {
			t.Errorf("%v: %v", bad, err)
		}
	}
	// The ledger's refusals come back with their code.
	bob := filepath.Join(dir, "bob.json")
	must(t, "keygen", "--out", bob)
	must(t, node, "transfer", "--key", keyFile, "--to", readAddress(t, bob), "--amount", "1")
	if _, err := runFS(t, node, "register", "--key", bob, "--server-key", bob, "--x25519", strings.Repeat("6b", 32),
		"--url", "http://127.0.0.1:9002"); !errors.As(err, &ce) || !strings.Contains(ce.Error(), "not_allowed") {
		t.Fatalf("registration by someone who runs no node: %v", err)
	}
	if _, err := runFS(t, node, "remove", "--key", bob, "--server", sk.Address); !errors.As(err, &ce) || !strings.Contains(ce.Error(), "not_allowed") {
		t.Fatalf("removal by another account: %v", err)
	}

	mustFS(t, node, "update", "--key", keyFile, "--server-key", serverKey, "--x25519", x, "--url", "https://files.example.org/v2")
	if l := listFS(t, node); len(l.FileServers) != 1 || l.FileServers[0].URL != "https://files.example.org/v2" {
		t.Fatalf("after update %+v", l)
	}
	if out := mustFS(t, node, "remove", "--key", keyFile, "--server", sk.Address); !strings.Contains(out, "file server remove: ok") {
		t.Fatalf("remove output:\n%s", out)
	}
	if l := listFS(t, node); len(l.FileServers) != 0 {
		t.Fatalf("after remove %+v", l)
	}

	// With sotto-files' own key file, the X25519 key comes from it.
	fk, _, err := fileserver.LoadOrCreateKeys(filepath.Join(dir, "files", fileserver.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	fkFile := filepath.Join(dir, "files", fileserver.KeyFileName)
	if _, err := runFS(t, node, "register", "--key", keyFile, "--server-key", fkFile, "--x25519", x, "--url", "http://127.0.0.1:9000"); !errors.As(err, &ce) || ce.Hint == "" {
		t.Fatalf("an --x25519 that is not the key file's: %v", err)
	}
	if _, err := runFS(t, node, "register", "--key", keyFile, "--server-key", serverKey, "--url", "http://127.0.0.1:9000"); !errors.As(err, &ce) || ce.Hint == "" {
		t.Fatalf("an account key without --x25519: %v", err)
	}
	mustFS(t, node, "register", "--key", keyFile, "--server-key", fkFile, "--url", "http://127.0.0.1:9000")
	if l := listFS(t, node); len(l.FileServers) != 1 || l.FileServers[0].PubkeyX25519 != fk.X25519Public().String() ||
		l.FileServers[0].PubkeyEd25519 != fk.Ed25519Public().String() {
		t.Fatalf("registered with a sotto-files key: %+v", l)
	}
}

// readAddress is the address of the key file at path.
func readAddress(t *testing.T, path string) string {
	t.Helper()
	k, err := readKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k.address().String()
}

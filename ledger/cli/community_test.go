package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"sotto.dev/community"
	"sotto.dev/ledger"
)

// runCommunity executes the community command with args.
func runCommunity(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newApp(func(string) string { return "" }).communityRoot()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func mustCommunity(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCommunity(t, args...)
	if err != nil {
		t.Fatalf("community %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func listCommunities(t *testing.T, node string) ledger.CommunityList {
	t.Helper()
	var l ledger.CommunityList
	if err := json.Unmarshal([]byte(mustCommunity(t, node, "--json", "list")), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCommunityCommands(t *testing.T) {
	t.Cleanup(func() {
		goleak.VerifyNone(t, cometLeaks...)
	})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "operator.json")
	operator := checkKeygen(t, keyFile)
	node := startLedger(t, dir, operator)
	checkRegister(t, node, keyFile, filepath.Join(dir, "snode"))

	serverKey := filepath.Join(dir, "community", community.KeyFileName)
	ck, _, err := community.LoadOrCreateKeys(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	ed, pk := ck.Ed25519Public().String(), ck.OnionPublic().String()
	out := mustCommunity(t, node, "register", "--key", keyFile, "--server-key", serverKey, "--url", "http://127.0.0.1:9100",
		"--room", "lobby", "--room", "dev")
	if !strings.Contains(out, "community register: ok") || !strings.Contains(out, "community: "+ed) || !strings.Contains(out, "pubkey: "+pk) {
		t.Fatalf("register output:\n%s", out)
	}
	l := listCommunities(t, node)
	if len(l.Communities) != 1 || l.Communities[0].URL != "http://127.0.0.1:9100" || l.Communities[0].Pubkey != pk ||
		l.Communities[0].PubkeyEd25519 != ed || !slices.Equal(l.Communities[0].Rooms, []string{"lobby", "dev"}) || l.Communities[0].Operator != operator {
		t.Fatalf("list %+v", l)
	}
	if out := mustCommunity(t, node, "list"); !strings.Contains(out, "communities: 1") || !strings.Contains(out, "rooms: lobby dev") {
		t.Fatalf("list output:\n%s", out)
	}

	// Mistakes are caught before anything is sent, with a hint.
	var ce *Error
	for _, bad := range [][]string{
		{"register", "--key", keyFile, "--server-key", serverKey, "--url", "http://127.0.0.1:9100/?q", "--room", "lobby"},
		{"register", "--key", keyFile, "--server-key", serverKey, "--url", "http://127.0.0.1:9101"},
		{"register", "--key", keyFile, "--server-key", serverKey, "--url", "http://127.0.0.1:9101", "--room", "lob by"},
		{"register", "--key", keyFile, "--server-key", serverKey, "--url", "http://127.0.0.1:9101", "--room", "a", "--room", "a"},
		{"register", "--key", keyFile, "--server-key", keyFile, "--url", "http://127.0.0.1:9101", "--room", "lobby"},
		{"register", "--key", keyFile, "--url", "http://127.0.0.1:9101", "--room", "lobby"},
		{"remove", "--key", keyFile, "--server", "zz"},
	} {
		if _, err := runCommunity(t, append([]string{node}, bad...)...); !errors.As(err, &ce) || ce.Hint == "" {
			t.Errorf("%v: %v", bad, err)
		}
	}
	// The ledger's refusals come back with their code.
	bob := filepath.Join(dir, "bob.json")
	must(t, "keygen", "--out", bob)
	must(t, node, "transfer", "--key", keyFile, "--to", readAddress(t, bob), "--amount", "1")
	other := filepath.Join(dir, "other", community.KeyFileName)
	if _, _, err := community.LoadOrCreateKeys(other); err != nil {
		t.Fatal(err)
	}
	if _, err := runCommunity(t, node, "register", "--key", bob, "--server-key", other, "--url", "http://127.0.0.1:9102",
		"--room", "lobby"); !errors.As(err, &ce) || !strings.Contains(ce.Error(), "not_allowed") {
		t.Fatalf("registration by someone who runs no node: %v", err)
	}
	if _, err := runCommunity(t, node, "remove", "--key", bob, "--server", ed); !errors.As(err, &ce) || !strings.Contains(ce.Error(), "not_allowed") {
		t.Fatalf("removal by another account: %v", err)
	}

	mustCommunity(t, node, "update", "--key", keyFile, "--server-key", serverKey, "--url", "https://chat.example.org", "--room", "lobby")
	if l := listCommunities(t, node); len(l.Communities) != 1 || l.Communities[0].URL != "https://chat.example.org" || len(l.Communities[0].Rooms) != 1 {
		t.Fatalf("after update %+v", l)
	}
	if out := mustCommunity(t, node, "remove", "--key", keyFile, "--server", ed); !strings.Contains(out, "community remove: ok") {
		t.Fatalf("remove output:\n%s", out)
	}
	if l := listCommunities(t, node); len(l.Communities) != 0 {
		t.Fatalf("after remove %+v", l)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runMain(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestOperatorCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	if code, _, errOut := runMain("room", "list", "--dir", dir); code != 1 || !strings.Contains(errOut, "hint: create one with 'sotto-community init") {
		t.Fatalf("room list before init: %d %q", code, errOut)
	}
	if code, _, errOut := runMain("init"); code != 1 || !strings.Contains(errOut, "hint: sotto-community init --dir") {
		t.Fatalf("init without --dir: %q", errOut)
	}
	code, out, errOut := runMain("init", "--dir", dir, "--url", "https://chat.example.org/")
	pkLine := regexp.MustCompile(`public_key: ([0-9a-f]{64})\n`).FindStringSubmatch(out)
	if code != 0 || !strings.HasPrefix(out, "created community server in "+dir) || pkLine == nil {
		t.Fatalf("init: %d %q %q", code, out, errOut)
	}
	st, err := os.Stat(filepath.Join(dir, "key.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if code, again, _ := runMain("init", "--dir", dir); code != 0 || !strings.HasPrefix(again, "community server already exists") || !strings.Contains(again, pkLine[1]) {
		t.Fatalf("init again: %q", again)
	}
	if code, out, _ := runMain("room", "list", "--dir", dir); code != 0 || out != "no rooms\n" {
		t.Fatalf("empty list: %q", out)
	}
	if code, out, errOut := runMain("room", "add", "lobby", "--name", "The Lobby", "--dir", dir); code != 0 || out != "added room lobby\n" {
		t.Fatalf("room add: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runMain("room", "add", "lobby", "--dir", dir); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("room add twice: %q", errOut)
	}
	if code, _, errOut := runMain("room", "add", "bad token", "--dir", dir); code != 1 || !strings.Contains(errOut, "hint: 1 to 64") {
		t.Fatalf("bad token: %q", errOut)
	}
	code, out, _ = runMain("room", "list", "--dir", dir, "--json")
	var rooms []struct {
		Token string `json:"token"`
		Name  string `json:"name"`
	}
	if err := json.Unmarshal([]byte(out), &rooms); code != 0 || err != nil || len(rooms) != 1 || rooms[0].Name != "The Lobby" {
		t.Fatalf("room list --json: %q", out)
	}
	if code, out, _ := runMain("url", "lobby", "--dir", dir); code != 0 || out != "https://chat.example.org/lobby?public_key="+pkLine[1]+"\n" {
		t.Fatalf("url: %q", out)
	}
	if code, out, _ := runMain("url", "lobby", "--dir", dir, "--url", "http://127.0.0.1:8080"); code != 0 || out != "http://127.0.0.1:8080/lobby?public_key="+pkLine[1]+"\n" {
		t.Fatalf("url --url: %q", out)
	}
	if code, _, errOut := runMain("url", "nowhere", "--dir", dir); code != 1 || !strings.Contains(errOut, "error: no room nowhere") {
		t.Fatalf("url of no room: %q", errOut)
	}
	if code, out, _ := runMain("room", "remove", "lobby", "--dir", dir); code != 0 || out != "removed room lobby\n" {
		t.Fatalf("room remove: %q", out)
	}
	if code, _, errOut := runMain("room", "remove", "lobby", "--dir", dir); code != 1 || !strings.Contains(errOut, "error: no room lobby") {
		t.Fatalf("remove again: %q", errOut)
	}
	if code, _, errOut := runMain("serve", "--dir", dir, "--metrics-listen", "0.0.0.0:9"); code != 1 || !strings.Contains(errOut, "not a loopback") {
		t.Fatalf("serve with public metrics: %q", errOut)
	}
}

func TestServeTLSFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	if code, _, errOut := runMain("init", "--dir", dir); code != 0 {
		t.Fatalf("init: %q", errOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", "cert.pem"}, "error: HTTPS needs both --tls-cert and --tls-key"},
		{[]string{"--tls-key", "key.pem"}, "error: HTTPS needs both --tls-cert and --tls-key"},
		{[]string{"--listen", ""}, "hint: --listen :8080, or --tls-cert and --tls-key"},
		{[]string{"--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--tls-cert", filepath.Join(dir, "none.pem"), "--tls-key", filepath.Join(dir, "none.pem")}, "TLS certificate"},
	} {
		args := append([]string{"serve", "--dir", dir}, c.args...)
		if code, _, errOut := runMain(args...); code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("serve %q: %d %q, want %q", c.args, code, errOut, c.want)
		}
	}
}

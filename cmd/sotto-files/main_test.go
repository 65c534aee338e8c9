package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"sotto.dev/key"
	"sotto.dev/onion"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runMain(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestKeygenAndShow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fs")
	code, _, errOut := runMain("show", "--dir", dir)
	if code != 1 || !strings.Contains(errOut, "error: no file server key") || !strings.Contains(errOut, "hint: create one with 'sotto-files keygen") {
		t.Fatalf("show without a key: %d %q", code, errOut)
	}
	code, out, _ := runMain("keygen", "--dir", dir)
	if code != 0 || !strings.HasPrefix(out, "created file server key in "+filepath.Join(dir, "key.json")) {
		t.Fatalf("keygen: %d %q", code, out)
	}
	st, err := os.Stat(filepath.Join(dir, "key.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st.Mode(), err)
	}
	code, again, _ := runMain("keygen", "--dir", dir)
	if code != 0 || !strings.HasPrefix(again, "file server key already exists") {
		t.Fatalf("keygen again: %q", again)
	}
	code, shown, _ := runMain("show", "--dir", dir, "--json")
	var keys struct {
		Ed string `json:"pubkey_ed25519"`
		X  string `json:"pubkey_x25519"`
	}
	if err := json.Unmarshal([]byte(shown), &keys); code != 0 || err != nil {
		t.Fatalf("show --json: %d %q", code, shown)
	}
	if !strings.Contains(out, "pubkey_ed25519: "+keys.Ed) || !strings.Contains(out, "pubkey_x25519:  "+keys.X) {
		t.Fatalf("keygen printed\n%s\nshow printed %s", out, shown)
	}
	if code, _, errOut := runMain("keygen"); code != 1 || !strings.Contains(errOut, "hint: sotto-files keygen --dir") {
		t.Fatalf("keygen without --dir: %q", errOut)
	}
}

func TestRunFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "error: no data directory"},
		{[]string{"--dir", dir, "--release", "desktop"}, `error: bad --release "desktop"`},
		{[]string{"--dir", dir, "--release", "windows=1", "--listen", "127.0.0.1:0"}, "error: start file server"},
		{[]string{"--dir", dir, "--metrics-listen", "0.0.0.0:9190", "--listen", "127.0.0.1:0"}, "not a loopback"},
		{[]string{"--dir", dir, "--log-level", "loud"}, "error: bad --log-level"},
		{[]string{"--dir", dir, "--exit-upload-bytes-per-minute", "1000", "--listen", "127.0.0.1:0"}, "below the file size limit"},
	} {
		code, _, errOut := runMain(tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: %d %q", tc.args, code, errOut)
		}
	}
}

// TestRunServes starts the command, uploads and downloads a file through
// an onion v4 request, and stops it.
func TestRunServes(t *testing.T) {
	dir := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--dir", dir, "--listen", "127.0.0.1:0", "--release", "desktop=v1.0.0"}, io.Discard, pw)
		pw.Close()
	}()
	listen := regexp.MustCompile(`listen=(127\.0\.0\.1:\d+) pubkey_ed25519=[0-9a-f]{64} pubkey_x25519=([0-9a-f]{64})`)
	sc := bufio.NewScanner(pr)
	var m []string
	for sc.Scan() {
		if m = listen.FindStringSubmatch(sc.Text()); m != nil {
			break
		}
	}
	if m == nil {
		t.Fatal("no listen line")
	}
	go io.Copy(io.Discard, pr)
	x, err := key.ParseOnionPublic(m[2])
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	call := func(method, endpoint string, body []byte) onion.V4Response {
		t.Helper()
		req, _ := onion.EncodeV4Request(onion.V4RequestInfo{Method: method, Endpoint: endpoint}, body)
		eph, _ := onion.GenerateKeyPair()
		lk, _ := onion.ClientLayerKey(onion.CipherXChaCha20, eph, x)
		frame, _ := onion.EncodeHop(lk.Seal(req), onion.LayerInfo{EphemeralKey: eph.Public(), Cipher: onion.CipherXChaCha20}.Marshal())
		resp, err := hc.Post("http://"+m[1]+onion.TargetV4, "application/octet-stream", bytes.NewReader(frame))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r, err := onion.DecodeServerResponse(lk, resp.StatusCode, b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := call("POST", "/file", []byte("attachment bytes"))
	var up struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(r.Body, &up); r.Code != 200 || len(up.ID) != 44 {
		t.Fatalf("upload: %d %s", r.Code, r.Body)
	}
	if r := call("GET", "/file/"+up.ID, nil); r.Code != 200 || string(r.Body) != "attachment bytes" {
		t.Fatalf("download: %d %q", r.Code, r.Body)
	}
	if r := call("GET", "/session_version?platform=desktop", nil); r.Code != 200 || !strings.Contains(string(r.Body), `"result":"v1.0.0"`) {
		t.Fatalf("version: %d %s", r.Code, r.Body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
}

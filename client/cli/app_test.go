package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestAppRefusesNonLoopback(t *testing.T) {
	var out, errOut bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	code := Main([]string{"--home", t.TempDir(), "app", "--no-browser", "--listen", "0.0.0.0:0"}, env)
	if code == 0 {
		t.Fatal("sotto app listened on 0.0.0.0")
	}
	if !strings.Contains(errOut.String(), "error: cannot start the app") || !strings.Contains(errOut.String(), "hint: --listen takes a loopback address") {
		t.Errorf("stderr %q", errOut.String())
	}
	if strings.Contains(out.String(), "app ready") {
		t.Errorf("stdout %q", out.String())
	}
}

package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSyncPrivacy: the private form of sync copies is on for an account
// 'sotto id new' creates, off for one restored from its phrase (with a
// hint how to turn it on), and 'sotto sync privacy on|off' sets it.
func TestSyncPrivacy(t *testing.T) {
	private := func(env map[string]string, args ...string) bool {
		t.Helper()
		r := run(t, env, "", append([]string{"sync", "privacy", "--json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("sync privacy %v: exit %d: %s", args, r.code, r.stderr)
		}
		var out struct {
			Private *bool `json:"private"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Private == nil {
			t.Fatalf("sync privacy: %v: %q", err, r.stdout)
		}
		return *out.Private
	}
	env := map[string]string{"SOTTO_HOME": t.TempDir(), "SOTTO_ARGON2": fastArgon2}
	decodeID(t, run(t, env, "", "id", "new", "--json"))
	if !private(env) {
		t.Error("new account: sync privacy off")
	}
	r := run(t, env, "", "id", "export")
	if r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	env2 := map[string]string{"SOTTO_HOME": t.TempDir(), "SOTTO_ARGON2": fastArgon2}
	restored := run(t, env2, "", "id", "restore", "--phrase", strings.TrimSpace(r.stdout))
	if restored.code != 0 {
		t.Fatalf("restore: exit %d: %s", restored.code, restored.stderr)
	}
	if !strings.Contains(restored.stderr, "sotto sync privacy on") {
		t.Errorf("restore says nothing of sync privacy: %q", restored.stderr)
	}
	if private(env2) {
		t.Error("restored account: sync privacy on")
	}
	if !private(env2, "on") || !private(env2) {
		t.Error("sync privacy on did not stick")
	}
	if text := run(t, env2, "", "sync", "privacy", "off"); text.code != 0 || !strings.Contains(text.stdout, "sync privacy: off") {
		t.Errorf("sync privacy off: %+v", text)
	}
	if private(env2) {
		t.Error("sync privacy off did not stick")
	}
	wantError(t, run(t, env2, "", "sync", "privacy", "maybe"), `"maybe"`, "on or off")
}

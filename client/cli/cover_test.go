package cli_test

import (
	"testing"
)

// TestCoverTrafficFlag: --cover-traffic and $SOTTO_COVER_TRAFFIC take an
// interval; anything else is refused before the command runs.
func TestCoverTrafficFlag(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"SOTTO_HOME": home, "SOTTO_ARGON2": fastArgon2, "SOTTO_COVER_TRAFFIC": "soon"}
	wantError(t, run(t, env, "", "id", "new"), "SOTTO_COVER_TRAFFIC", "30s")
	wantError(t, run(t, env, "", "--cover-traffic", "-1s", "id", "new"), "must not be negative", "--cover-traffic 30s")
	// The flag wins over the environment.
	if r := run(t, env, "", "--cover-traffic", "30s", "id", "new", "--json"); r.code != 0 {
		t.Fatalf("--cover-traffic 30s: exit %d: %s", r.code, r.stderr)
	}
	env["SOTTO_COVER_TRAFFIC"] = "45s"
	if r := run(t, env, "", "id", "show"); r.code != 0 {
		t.Fatalf("SOTTO_COVER_TRAFFIC=45s: exit %d: %s", r.code, r.stderr)
	}
}

package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sotto.dev/client/cli"
	"sotto.dev/internal/vectors"
)

// fastArgon2 keeps the key derivation cheap in tests; the files record
// their parameters, so reading them back uses the same code as defaults.
const fastArgon2 = "t=1,m=64,p=1"

type idJSON struct {
	SessionID      string `json:"session_id"`
	Ed25519Pubkey  string `json:"ed25519_pubkey"`
	X25519Pubkey   string `json:"x25519_pubkey"`
	RecoveryPhrase string `json:"recovery_phrase"`
	IdentityFile   string `json:"identity_file"`
	Encrypted      bool   `json:"encrypted"`
}

func decodeID(t *testing.T, r result) idJSON {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	var v idJSON
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("output %q is not JSON: %v", r.stdout, err)
	}
	return v
}

// wantError checks a failed run: exit 1, an error line containing msg and,
// when hint is set, a hint line containing it.
func wantError(t *testing.T, r result, msg, hint string) {
	t.Helper()
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s", r.code, r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], msg) {
		t.Errorf("stderr %q: want an error line with %q", r.stderr, msg)
	}
	if hint != "" && (len(lines) < 2 || !strings.HasPrefix(lines[1], "hint: ") || !strings.Contains(lines[1], hint)) {
		t.Errorf("stderr %q: want a hint line with %q", r.stderr, hint)
	}
}

func TestIDNewShowExportRestore(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"SOTTO_HOME": home, "SOTTO_ARGON2": fastArgon2}

	created := decodeID(t, run(t, env, "", "id", "new", "--json"))
	if !strings.HasPrefix(created.SessionID, "05") || len(created.SessionID) != 66 || created.Encrypted {
		t.Fatalf("new: %+v", created)
	}
	path := filepath.Join(home, "identity.json")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("identity file mode %v, want 0600", st.Mode().Perm())
	}

	shown := decodeID(t, run(t, env, "", "id", "show", "--json"))
	if shown.SessionID != created.SessionID || len(shown.Ed25519Pubkey) != 64 || len(shown.X25519Pubkey) != 64 || shown.RecoveryPhrase != "" {
		t.Errorf("show: %+v", shown)
	}
	if shown.SessionID != "05"+shown.X25519Pubkey {
		t.Errorf("session id %s is not 05 || x25519 key %s", shown.SessionID, shown.X25519Pubkey)
	}
	// The debug command derives the same keys from nothing but the phrase.
	r := run(t, env, "", "id", "export")
	if r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	phrase := strings.TrimSpace(r.stdout)
	if n := len(strings.Fields(phrase)); n != 13 {
		t.Fatalf("export printed %d words", n)
	}
	withPhrase := decodeID(t, run(t, env, "", "id", "show", "--json", "--phrase"))
	if withPhrase.RecoveryPhrase != phrase {
		t.Errorf("show --phrase gave %q, export %q", withPhrase.RecoveryPhrase, phrase)
	}
	text := run(t, env, "", "id", "show")
	if text.code != 0 || !strings.Contains(text.stdout, "session id: "+created.SessionID+"\n") {
		t.Errorf("show (text): %q", text.stdout)
	}

	// new refuses to overwrite.
	wantError(t, run(t, env, "", "id", "new"), "already exists", "sotto id show")
	wantError(t, run(t, env, "", "id", "restore", "--phrase", phrase), "already exists", "")

	// Restore into another home from the phrase on stdin gives the same ID.
	env2 := map[string]string{"SOTTO_HOME": t.TempDir(), "SOTTO_ARGON2": fastArgon2}
	restored := decodeID(t, run(t, env2, phrase+"\n", "id", "restore", "--json"))
	if restored.SessionID != created.SessionID {
		t.Errorf("restored %s, created %s", restored.SessionID, created.SessionID)
	}
	// ... and from --phrase, in upper case and with only 3-letter prefixes.
	short := make([]string, 0, 13)
	for _, w := range strings.Fields(phrase) {
		short = append(short, strings.ToUpper(w[:3]))
	}
	env3 := map[string]string{"SOTTO_HOME": t.TempDir(), "SOTTO_ARGON2": fastArgon2}
	if got := decodeID(t, run(t, env3, "", "id", "restore", "--json", "--phrase", strings.Join(short, " "))); got.SessionID != created.SessionID {
		t.Errorf("restore from prefixes gave %s", got.SessionID)
	}
}

// TestIDNewFetched: a new account's config objects count as fetched (its
// swarm has none, so its first changes are pushed at once); an account
// restored without a network waits for its first fetch.
func TestIDNewFetched(t *testing.T) {
	fetched := func(env map[string]string) map[string]bool {
		t.Helper()
		r := run(t, env, "", "sync", "status", "--json")
		if r.code != 0 {
			t.Fatalf("sync status: exit %d: %s", r.code, r.stderr)
		}
		var st struct {
			Objects []struct {
				Name    string `json:"name"`
				Fetched bool   `json:"fetched"`
			} `json:"objects"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Objects) == 0 {
			t.Fatalf("sync status: %v: %q", err, r.stdout)
		}
		out := map[string]bool{}
		for _, o := range st.Objects {
			out[o.Name] = o.Fetched
		}
		return out
	}
	env := map[string]string{"SOTTO_HOME": t.TempDir(), "SOTTO_ARGON2": fastArgon2}
	decodeID(t, run(t, env, "", "id", "new", "--json"))
	for name, ok := range fetched(env) {
		if !ok {
			t.Errorf("new account: %s not fetched", name)
		}
	}
	r := run(t, env, "", "id", "export")
	if r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	env2 := map[string]string{"SOTTO_HOME": t.TempDir(), "SOTTO_ARGON2": fastArgon2}
	decodeID(t, run(t, env2, "", "id", "restore", "--json", "--phrase", strings.TrimSpace(r.stdout)))
	for name, ok := range fetched(env2) {
		if ok {
			t.Errorf("restored offline: %s fetched", name)
		}
	}
	text := run(t, env2, "", "sync", "status")
	if text.code != 0 || !strings.Contains(text.stdout, "contacts namespace 3 seqno 0 clean") || !strings.Contains(text.stdout, "not fetched yet") {
		t.Errorf("sync status (text): %q", text.stdout)
	}
}

func TestIDRestoreVector(t *testing.T) {
	// The 13 words of seed 000102...0f give the keys of that seed.
	v := vectors.Get(t, "mnemonic.seed16_13words")
	var words []string
	v.Out(t, "words", &words)
	env := map[string]string{"SOTTO_HOME": t.TempDir(), "SOTTO_ARGON2": fastArgon2}
	got := decodeID(t, run(t, env, "", "id", "restore", "--json", "--phrase", strings.Join(words, " ")))
	keys := debugJSON(t, "keys", "--seed", v.InString(t, "seed"))
	if got.SessionID != str(t, keys, "session_id") {
		t.Errorf("restore gave %s, debug keys %s", got.SessionID, str(t, keys, "session_id"))
	}
	r := run(t, env, "", "id", "export")
	if strings.TrimSpace(r.stdout) != strings.Join(words, " ") {
		t.Errorf("export after restore: %q", r.stdout)
	}
}

func TestIDEncrypted(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"SOTTO_HOME": home, "SOTTO_ARGON2": fastArgon2}

	created := decodeID(t, run(t, env, "s3cret\n", "id", "new", "--json", "--passphrase-stdin"))
	if !created.Encrypted {
		t.Fatal("identity not encrypted")
	}
	raw, err := os.ReadFile(filepath.Join(home, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"encrypted"`) || strings.Contains(string(raw), `"secret"`) {
		t.Errorf("identity file is not in encrypted form:\n%s", raw)
	}

	// Locked without a passphrase, refused with a wrong one.
	wantError(t, run(t, env, "", "id", "show"), "encrypted", "SOTTO_PASSPHRASE")
	wantError(t, run(t, env, "", "id", "export"), "encrypted", "SOTTO_PASSPHRASE")
	wantError(t, run(t, env, "wrong\n", "id", "show", "--passphrase-stdin"), "wrong passphrase", "passphrase")
	bad := map[string]string{"SOTTO_HOME": home, "SOTTO_PASSPHRASE": "wrong"}
	wantError(t, run(t, bad, "", "id", "export"), "wrong passphrase", "")

	// The passphrase from stdin or the environment opens it.
	if got := decodeID(t, run(t, env, "s3cret\n", "id", "show", "--json", "--passphrase-stdin")); got.SessionID != created.SessionID {
		t.Errorf("show: %s", got.SessionID)
	}
	good := map[string]string{"SOTTO_HOME": home, "SOTTO_PASSPHRASE": "s3cret"}
	r := run(t, good, "", "id", "export")
	if r.code != 0 || len(strings.Fields(r.stdout)) != 13 {
		t.Fatalf("export: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// Restore with phrase and passphrase both on stdin, one per line.
	env2 := map[string]string{"SOTTO_HOME": t.TempDir(), "SOTTO_ARGON2": fastArgon2}
	restored := decodeID(t, run(t, env2, r.stdout+"other pass\n", "id", "restore", "--json", "--passphrase-stdin"))
	if restored.SessionID != created.SessionID || !restored.Encrypted {
		t.Errorf("restore: %+v", restored)
	}
	wantError(t, run(t, env2, "", "id", "show"), "encrypted", "")
	env2["SOTTO_PASSPHRASE"] = "other pass"
	if got := decodeID(t, run(t, env2, "", "id", "show", "--json")); got.SessionID != created.SessionID {
		t.Errorf("show restored: %s", got.SessionID)
	}
}

func TestIDErrors(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"SOTTO_HOME": home, "SOTTO_ARGON2": fastArgon2}
	phrase12 := strings.Join(slices.Repeat([]string{"abbey"}, 12), " ")
	cases := []struct {
		name, stdin string
		args        []string
		env         map[string]string
		msg, hint   string
	}{
		{"show without identity", "", []string{"id", "show"}, env, "no identity", "sotto id new"},
		{"export without identity", "", []string{"id", "export"}, env, "no identity", "sotto id new"},
		{"restore 12 words", "", []string{"id", "restore", "--phrase", phrase12}, env, "12 words", "13 words"},
		{"restore unknown word", "", []string{"id", "restore", "--phrase", phrase12 + " xylophoneq"}, env, `"xylophoneq"`, "spelling"},
		{"restore bad checksum", "amaze buffet cake entrance symptoms tiger lamb maze nestle python dusted faxed amaze", []string{"id", "restore"}, env, "checksum", "order"},
		{"restore empty stdin", "", []string{"id", "restore"}, env, "no recovery phrase", "--phrase"},
		{"new empty passphrase", "\n", []string{"id", "new", "--passphrase-stdin"}, env, "passphrase is empty", ""},
		{"new no passphrase line", "", []string{"id", "new", "--passphrase-stdin"}, env, "no passphrase", ""},
		{"bad argon2 setting", "", []string{"id", "new"}, map[string]string{"SOTTO_HOME": home, "SOTTO_ARGON2": "t=0"}, "SOTTO_ARGON2", "t=3"},
		{"stray argument", "", []string{"id", "show", "extra"}, env, "extra", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, run(t, c.env, c.stdin, c.args...), c.msg, c.hint)
		})
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("failed commands left files: %v", entries)
	}

	// A corrupt identity file is reported, not overwritten.
	if err := os.WriteFile(filepath.Join(home, "identity.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantError(t, run(t, env, "", "id", "show"), "cannot read the identity file", "")
	wantError(t, run(t, env, "", "id", "new"), "already exists", "")
}

// terminal answers ReadSecret prompts in order, as a person at a terminal
// would, and records the prompts.
type terminal struct {
	answers []string
	prompts []string
}

func (tm *terminal) readSecret(prompt string) ([]byte, error) {
	tm.prompts = append(tm.prompts, prompt)
	if len(tm.answers) == 0 {
		return nil, io.EOF
	}
	a := tm.answers[0]
	tm.answers = tm.answers[1:]
	return []byte(a), nil
}

func runAtTerminal(t *testing.T, env map[string]string, tm *terminal, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(args, cli.Env{
		Stdin:      strings.NewReader(stdin),
		Stdout:     &out,
		Stderr:     &errb,
		Getenv:     func(k string) string { return env[k] },
		ReadSecret: tm.readSecret,
	})
	return result{code, out.String(), errb.String()}
}

func TestIDPassphrasePrompt(t *testing.T) {
	env := func() map[string]string {
		return map[string]string{"SOTTO_HOME": t.TempDir(), "SOTTO_ARGON2": fastArgon2}
	}

	// Typed twice: the file is encrypted, and opening it asks once.
	e := env()
	tm := &terminal{answers: []string{"correct horse", "correct horse"}}
	created := decodeID(t, runAtTerminal(t, e, tm, "", "id", "new", "--json"))
	if !created.Encrypted || len(tm.prompts) != 2 {
		t.Fatalf("new at a terminal: %+v, prompts %q", created, tm.prompts)
	}
	tm = &terminal{answers: []string{"correct horse"}}
	shown := decodeID(t, runAtTerminal(t, e, tm, "", "id", "show", "--json"))
	if shown.SessionID != created.SessionID || len(tm.prompts) != 1 || !strings.Contains(tm.prompts[0], "identity.json") {
		t.Errorf("show at a terminal: %+v, prompts %q", shown, tm.prompts)
	}
	tm = &terminal{answers: []string{"wrong"}}
	wantError(t, runAtTerminal(t, e, tm, "", "id", "show"), "wrong passphrase", "check the passphrase")
	// Without a terminal nothing prompts: the old error stands.
	wantError(t, run(t, e, "", "id", "show"), "encrypted and no passphrase", "SOTTO_PASSPHRASE")

	// Two different answers: nothing is written.
	e = env()
	tm = &terminal{answers: []string{"one", "two"}}
	wantError(t, runAtTerminal(t, e, tm, "", "id", "new"), "passphrases differ", "same passphrase twice")
	if _, err := os.Stat(filepath.Join(e["SOTTO_HOME"], "identity.json")); !os.IsNotExist(err) {
		t.Errorf("identity written after a mismatch: %v", err)
	}

	// An empty answer keeps the file plain once confirmed, and says what
	// that means.
	e = env()
	tm = &terminal{answers: []string{"", "none"}}
	var words []string
	vectors.Get(t, "mnemonic.seed16_13words").Out(t, "words", &words)
	r := runAtTerminal(t, e, tm, "", "id", "restore", "--phrase", strings.Join(words, " "))
	if r.code != 0 || !strings.Contains(r.stdout, "encrypted: no") || !strings.Contains(r.stderr, "seed is in clear on disk") ||
		!strings.Contains(r.stderr, "anyone who can read") || len(tm.prompts) != 2 || !strings.Contains(tm.prompts[1], "in clear on disk") {
		t.Errorf("restore with an empty passphrase: %+v, prompts %q", r, tm.prompts)
	}
	if fi, err := os.Stat(filepath.Join(e["SOTTO_HOME"], "identity.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("identity file: %v, %v; want mode 0600", fi, err)
	}
	// show says so again.
	if r := runAtTerminal(t, e, &terminal{}, "", "id", "show"); r.code != 0 || !strings.Contains(r.stderr, "seed is in clear on disk") {
		t.Errorf("show of a plain identity: %+v", r)
	}

	// An empty answer not confirmed: nothing is written.
	for _, answers := range [][]string{{"", ""}, {"", "yes"}} {
		e = env()
		tm = &terminal{answers: answers}
		wantError(t, runAtTerminal(t, e, tm, "", "id", "new"), "none confirmed", "--no-passphrase")
		if _, err := os.Stat(filepath.Join(e["SOTTO_HOME"], "identity.json")); !os.IsNotExist(err) {
			t.Errorf("identity written without a confirmation (answers %q): %v", answers, err)
		}
	}

	// --no-passphrase: no prompt, a plain file, and the warning.
	e = env()
	tm = &terminal{}
	r = runAtTerminal(t, e, tm, "", "id", "new", "--no-passphrase")
	if r.code != 0 || !strings.Contains(r.stdout, "encrypted: no") || !strings.Contains(r.stderr, "seed is in clear on disk") || len(tm.prompts) != 0 {
		t.Errorf("new --no-passphrase: %+v, prompts %q", r, tm.prompts)
	}
	// ... and not together with a passphrase.
	e = env()
	e["SOTTO_PASSPHRASE"] = "secret"
	wantError(t, runAtTerminal(t, e, &terminal{}, "", "id", "new", "--no-passphrase"), "contradicts", "leave out --no-passphrase")

	// SOTTO_PASSPHRASE wins over the prompt.
	e = env()
	e["SOTTO_PASSPHRASE"] = "from the environment"
	tm = &terminal{}
	if created := decodeID(t, runAtTerminal(t, e, tm, "", "id", "new", "--json")); !created.Encrypted || len(tm.prompts) != 0 {
		t.Errorf("new with SOTTO_PASSPHRASE: %+v, prompts %q", created, tm.prompts)
	}
}

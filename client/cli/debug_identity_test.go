package cli_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"sotto.dev/client/cli"
	"sotto.dev/internal/vectors"
)

// result is one in-process run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

// run executes sotto with args, the given environment variables and stdin.
func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(args, cli.Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	})
	return result{code, out.String(), errb.String()}
}

// debugJSON runs a debug command that must succeed and decodes its output.
func debugJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	r := run(t, nil, "", append([]string{"debug"}, args...)...)
	if r.code != 0 {
		t.Fatalf("sotto debug %v: exit %d\nstderr: %s", args, r.code, r.stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("sotto debug %v: output %q is not JSON: %v", args, r.stdout, err)
	}
	return m
}

func str(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	s, ok := m[key].(string)
	if !ok {
		t.Fatalf("output %v has no string %q", m, key)
	}
	return s
}

func strs(t *testing.T, m map[string]any, key string) []string {
	t.Helper()
	raw, ok := m[key].([]any)
	if !ok {
		t.Fatalf("output %v has no list %q", m, key)
	}
	out := make([]string, len(raw))
	for i, x := range raw {
		out[i], _ = x.(string)
	}
	return out
}

func TestDebugKeys(t *testing.T) {
	v := vectors.Get(t, "identity.seed16_padded_1")
	for _, key := range []string{"seed16", "seed32"} {
		m := debugJSON(t, "keys", "--seed", v.InString(t, key))
		for _, f := range []struct{ out, want string }{
			{"ed25519_pubkey", "ed25519_pk"}, {"x25519_pubkey", "x25519_pk"}, {"session_id", "session_id"},
		} {
			if got, want := str(t, m, f.out), v.OutString(t, f.want); got != want {
				t.Errorf("%s: %s = %s, want %s", key, f.out, got, want)
			}
		}
	}
	bl := vectors.Get(t, "blinding.libsession.keys")
	m := debugJSON(t, "keys", "--seed", bl.InString(t, "seed2"))
	if str(t, m, "ed25519_pubkey") != bl.OutString(t, "ed_pk2_negative") || str(t, m, "session_id") != bl.OutString(t, "session_id2") {
		t.Errorf("seed2: %v", m)
	}
}

func TestDebugMnemonic(t *testing.T) {
	for _, name := range []string{"mnemonic.seed16_13words", "mnemonic.zero_seed"} {
		v := vectors.Get(t, name)
		var want []string
		v.Out(t, "words", &want)
		m := debugJSON(t, "mnemonic-encode", "--hex", v.InString(t, "seed"))
		if got := strs(t, m, "words"); !slices.Equal(got, want) {
			t.Errorf("%s: words %v", name, got)
		}
		m = debugJSON(t, "mnemonic-decode", "--words", strings.Join(want, " "))
		if got := str(t, m, "hex"); got != v.InString(t, "seed") {
			t.Errorf("%s: decoded %s", name, got)
		}
	}
	v := vectors.Get(t, "mnemonic.prefix_and_typo_tolerance")
	var words []string
	v.In(t, "words", &words)
	if got := str(t, debugJSON(t, "mnemonic-decode", "--words", strings.Join(words, " ")), "hex"); got != v.OutString(t, "seed") {
		t.Errorf("typo tolerance: %s", got)
	}
	// Without checksum: 12 words for 16 bytes, and back.
	m := debugJSON(t, "mnemonic-encode", "--hex", "000102030405060708090a0b0c0d0e0f", "--no-checksum")
	w := strs(t, m, "words")
	if len(w) != 12 {
		t.Fatalf("--no-checksum gave %d words", len(w))
	}
	if got := str(t, debugJSON(t, "mnemonic-decode", "--no-checksum", "--words", strings.Join(w, " ")), "hex"); got != "000102030405060708090a0b0c0d0e0f" {
		t.Errorf("--no-checksum decode: %s", got)
	}
}

func TestDebugBlind(t *testing.T) {
	for _, v := range vectors.WithPrefix(t, "blinding.pysogs.blind15_") {
		m := debugJSON(t, "blind", "--seed", v.InString(t, "ed25519_seed"), "--server-pubkey", v.InString(t, "server_pk"))
		if got := str(t, m, "blind15_id"); got != v.OutString(t, "blinded_id") {
			t.Errorf("%s: blind15_id %s", v.Name, got)
		}
		if !strings.HasPrefix(str(t, m, "blind25_id"), "25") {
			t.Errorf("%s: blind25_id %s", v.Name, str(t, m, "blind25_id"))
		}
	}
	for _, name := range []string{"derived.blinded_dm_15", "derived.blinded_dm_25"} {
		v := vectors.Get(t, name)
		key := "blind15_id"
		if strings.HasSuffix(name, "25") {
			key = "blind25_id"
		}
		for _, who := range []string{"sender", "recipient"} {
			m := debugJSON(t, "blind", "--seed", v.InString(t, who+"_ed25519_seed"), "--server-pubkey", v.InString(t, "server_pk"))
			if got := str(t, m, key); got != v.OutString(t, who+"_blinded_id") {
				t.Errorf("%s %s: %s = %s", name, who, key, got)
			}
		}
	}
}

func TestDebugBlindID(t *testing.T) {
	v := vectors.Get(t, "blinding.libsession.blind15_ids")
	var cases []struct {
		SessionID string `json:"session_id"`
		ServerPK  string `json:"server_pk"`
	}
	var want []string
	v.In(t, "cases", &cases)
	v.Out(t, "blinded_ids_positive_variant", &want)
	for i, c := range cases {
		m := debugJSON(t, "blind-id", "--session-id", c.SessionID, "--server-pubkey", c.ServerPK)
		ids := strs(t, m, "blind15_ids")
		if len(ids) != 2 || ids[0] != want[i] {
			t.Errorf("case %d: blind15_ids %v, want first %s", i, ids, want[i])
		}
		// The account's own 25 ID (from its seed) equals the one from its Session ID.
		keys := vectors.Get(t, "blinding.libsession.keys")
		seed := keys.InString(t, "seed1")
		if c.SessionID == keys.OutString(t, "session_id2") {
			seed = keys.InString(t, "seed2")
		}
		own := debugJSON(t, "blind", "--seed", seed, "--server-pubkey", c.ServerPK)
		if str(t, m, "blind25_id") != str(t, own, "blind25_id") {
			t.Errorf("case %d: blind25 from id %s, from seed %s", i, str(t, m, "blind25_id"), str(t, own, "blind25_id"))
		}
		if !slices.Contains(ids, str(t, own, "blind15_id")) {
			t.Errorf("case %d: own blind15 %s not among %v", i, str(t, own, "blind15_id"), ids)
		}
	}
}

func TestDebugBlindSign(t *testing.T) {
	for _, v := range vectors.WithPrefix(t, "blinding.libsession.sign_") {
		msg := hex.EncodeToString([]byte(v.InString(t, "message_utf8")))
		base := []string{"blind-sign", "--seed", v.InString(t, "ed25519_seed"), "--server-pubkey", v.InString(t, "server_pk"), "--message-hex", msg}
		if got := str(t, debugJSON(t, append(base, "--scheme", "15")...), "signature"); got != v.OutString(t, "blind15_signature") {
			t.Errorf("%s: blind15 %s", v.Name, got)
		}
		if got := str(t, debugJSON(t, append(base, "--scheme", "15", "--nonce-key", "sk64")...), "signature"); got != v.OutString(t, "blind15_signature") {
			t.Errorf("%s: blind15 sk64 %s", v.Name, got)
		}
		if got := str(t, debugJSON(t, append(base, "--scheme", "25")...), "signature"); got != v.OutString(t, "blind25_signature") {
			t.Errorf("%s: blind25 %s", v.Name, got)
		}
	}
}

func TestDebugVersion(t *testing.T) {
	v := vectors.Get(t, "blinding.version.keypair_and_sign")
	seed := v.InString(t, "ed25519_seed")
	if got := str(t, debugJSON(t, "version-key", "--seed", seed), "pubkey"); got != "07"+v.OutString(t, "pubkey") {
		t.Errorf("version-key %s", got)
	}
	msg := hex.EncodeToString([]byte(v.InString(t, "signed_message_utf8")))
	if got := str(t, debugJSON(t, "version-sign", "--seed", seed, "--message-hex", msg), "signature"); got != v.OutString(t, "signature") {
		t.Errorf("version-sign %s", got)
	}
}

func TestDebugIdentityErrors(t *testing.T) {
	seed := strings.Repeat("ab", 16)
	server := strings.Repeat("cd", 32)
	sid := "05" + strings.Repeat("d2", 32)
	cases := []struct {
		name    string
		args    []string
		mention string // the error line must contain this
	}{
		{"seed not hex", []string{"keys", "--seed", "xyz"}, "--seed is not valid hex"},
		{"seed length", []string{"keys", "--seed", "abcd"}, "--seed is 2 bytes, want 16 or 32"},
		{"seed missing", []string{"keys"}, "seed"},
		{"stray argument", []string{"keys", "--seed", seed, "extra"}, "extra"},
		{"mnemonic odd length", []string{"mnemonic-encode", "--hex", "010203"}, "multiple of 4"},
		{"mnemonic 12 words", []string{"mnemonic-decode", "--words", "abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey"}, "12 words"},
		{"mnemonic unknown word", []string{"mnemonic-decode", "--words", "abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey qqqq"}, `"qqqq"`},
		{"mnemonic checksum", []string{"mnemonic-decode", "--words", "amaze buffet cake entrance symptoms tiger lamb maze nestle python dusted faxed amaze"}, "checksum"},
		{"server key length", []string{"blind", "--seed", seed, "--server-pubkey", "abcd"}, "--server-pubkey is 2 bytes"},
		{"blind-id blinded id", []string{"blind-id", "--session-id", "15" + sid[2:], "--server-pubkey", server}, "prefix 15"},
		{"blind-id short id", []string{"blind-id", "--session-id", "05ab", "--server-pubkey", server}, "66"},
		{"blind-sign scheme", []string{"blind-sign", "--seed", seed, "--server-pubkey", server, "--scheme", "16", "--message-hex", ""}, "--scheme"},
		{"blind-sign nonce key", []string{"blind-sign", "--seed", seed, "--server-pubkey", server, "--scheme", "15", "--message-hex", "", "--nonce-key", "other"}, "--nonce-key"},
		{"blind-sign nonce key with 25", []string{"blind-sign", "--seed", seed, "--server-pubkey", server, "--scheme", "25", "--message-hex", "", "--nonce-key", "seed"}, "--nonce-key"},
		{"blind-sign message hex", []string{"blind-sign", "--seed", seed, "--server-pubkey", server, "--scheme", "25", "--message-hex", "0"}, "--message-hex"},
		{"version-sign message missing", []string{"version-sign", "--seed", seed}, "message-hex"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, nil, "", append([]string{"debug"}, c.args...)...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1 (stdout %q)", r.code, r.stdout)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			if !strings.HasPrefix(first, "error: ") || !strings.Contains(first, c.mention) {
				t.Errorf("stderr %q: want an error line mentioning %q", r.stderr, c.mention)
			}
		})
	}
}

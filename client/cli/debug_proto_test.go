package cli_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"sotto.dev/client/cli"
	"sotto.dev/identity"
	"sotto.dev/internal/vectors"
)

// protoRun runs `sotto debug args...` in process and returns the exit code,
// stdout and stderr.
func protoRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(append([]string{"debug"}, args...), cli.Env{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(string) string { return "" },
	})
	return code, out.String(), errb.String()
}

// protoJSON runs a debug command that must succeed and decodes its
// one-object JSON output.
func protoJSON(t *testing.T, args ...string) map[string]string {
	t.Helper()
	code, out, errs := protoRun(t, args...)
	if code != 0 {
		t.Fatalf("sotto debug %v: exit %d\nstderr: %s", args, code, errs)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("sotto debug %v: output %q is not a JSON object of strings: %v", args, out, err)
	}
	return m
}

func TestDebugSealOpenVector(t *testing.T) {
	v := vectors.Get(t, "session_protocol.deterministic_encrypt")
	senderSeed := v.InString(t, "sender_ed25519_seed")
	recipient := v.InString(t, "recipient_session_id")
	pt := hex.EncodeToString([]byte(v.InString(t, "plaintext_utf8")))
	want := v.OutString(t, "ciphertext")

	m := protoJSON(t, "seal", "--seed", senderSeed, "--recipient", recipient, "--plaintext-hex", pt, "--deterministic")
	if m["ciphertext"] != want {
		t.Errorf("seal --deterministic = %s, want %s", m["ciphertext"], want)
	}

	m = protoJSON(t, "open", "--seed", v.OutString(t, "decrypts_with_recipient_seed"), "--ciphertext", want)
	if m["plaintext_hex"] != pt {
		t.Errorf("open plaintext_hex = %s, want %s", m["plaintext_hex"], pt)
	}
	if m["sender_ed25519_pubkey"] != v.OutString(t, "sender_ed25519_pk") {
		t.Errorf("open sender_ed25519_pubkey = %s", m["sender_ed25519_pubkey"])
	}
	if got, want := m["sender_session_id"], protoSessionID(t, senderSeed); got != want {
		t.Errorf("open sender_session_id = %s, want %s", got, want)
	}
}

// protoSessionID derives a seed's Session ID with the library.
func protoSessionID(t *testing.T, seedHex string) string {
	t.Helper()
	seed, err := hex.DecodeString(seedHex)
	if err != nil {
		t.Fatal(err)
	}
	k, err := identity.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k.SessionID().String()
}

func TestDebugSealRandomRoundTrip(t *testing.T) {
	alice := strings.Repeat("11", 16)
	bob := strings.Repeat("22", 32)
	for _, pt := range []string{"", "00", "0a070a0568656c6c6f80" + strings.Repeat("00", 150)} {
		a := protoJSON(t, "seal", "--seed", alice, "--recipient", protoSessionID(t, bob), "--plaintext-hex", pt)
		b := protoJSON(t, "seal", "--seed", alice, "--recipient", protoSessionID(t, bob), "--plaintext-hex", pt)
		if a["ciphertext"] == b["ciphertext"] {
			t.Errorf("two random seals of %q are equal", pt)
		}
		m := protoJSON(t, "open", "--seed", bob, "--ciphertext", a["ciphertext"])
		if m["plaintext_hex"] != pt || m["sender_session_id"] != protoSessionID(t, alice) {
			t.Errorf("open = %v, want plaintext %q from %s", m, pt, protoSessionID(t, alice))
		}
	}
}

func TestDebugSOGSSignVectors(t *testing.T) {
	for _, v := range vectors.WithPrefix(t, "sogs.auth_headers.") {
		t.Run(v.Name, func(t *testing.T) {
			var blinded bool
			var ts int64
			v.In(t, "blinded", &blinded)
			v.In(t, "timestamp", &ts)
			args := []string{"sogs-sign",
				"--seed", v.InString(t, "ed25519_seed"),
				"--server-pubkey", v.InString(t, "server_pk"),
				"--timestamp", strconv.FormatInt(ts, 10),
				"--nonce-b64", v.InString(t, "nonce_b64"),
				"--method", v.InString(t, "method"),
				"--path", v.InString(t, "path"),
			}
			switch {
			case !blinded:
				args = append(args, "--unblinded")
			case strings.HasSuffix(v.Name, "_libsession_nonce"):
				// the default, libsession's nonce derivation
			default:
				args = append(args, "--nonce-key", "seed") // session-desktop's
			}
			m := protoJSON(t, args...)
			if len(m) != 4 {
				t.Errorf("output has %d fields, want the 4 headers: %v", len(m), m)
			}
			for name := range v.Expected {
				if want := v.OutString(t, name); m[name] != want {
					t.Errorf("%s = %q, want %q", name, m[name], want)
				}
			}
		})
	}
}

// TestDebugSOGSSignBody checks a signed request with a body against
// session-desktop's OpenGroupAuthentication_test.ts (body "hello 🎂").
func TestDebugSOGSSignBody(t *testing.T) {
	v := vectors.Get(t, "sogs.auth_headers.blinded_no_body")
	base := []string{"sogs-sign",
		"--seed", v.InString(t, "ed25519_seed"),
		"--server-pubkey", v.InString(t, "server_pk"),
		"--timestamp", "1642472103",
		"--nonce-b64", v.InString(t, "nonce_b64"),
		"--method", "GET",
		"--path", v.InString(t, "path"),
		"--body-hex", hex.EncodeToString([]byte("hello 🎂")),
	}
	blinded := protoJSON(t, append(base, "--nonce-key", "seed")...)
	if want := "hZCg5pEoy9t98umaY6fNarzcLP5UKUF8chz5mIjwwrRIQLy1kinRoYcNPdFOpJu8heA0val4viymXRTp1DGeBg=="; blinded["X-SOGS-Signature"] != want {
		t.Errorf("blinded signature = %s, want %s", blinded["X-SOGS-Signature"], want)
	}
	unblinded := protoJSON(t, append(base, "--unblinded")...)
	if want := "uumZNee7NUb0lVufegjzgjjnj4pe3kAe6OYw7iVTJrcxxxdIxUCgt5/xliBWqPlgY6ReUZRAuptNa4nprv7nCA=="; unblinded["X-SOGS-Signature"] != want {
		t.Errorf("unblinded signature = %s, want %s", unblinded["X-SOGS-Signature"], want)
	}
}

func TestDebugProtoErrors(t *testing.T) {
	seed := strings.Repeat("ab", 16)
	other := strings.Repeat("cd", 32)
	server := strings.Repeat("cd", 32)
	sid := protoSessionID(t, other)
	ct := protoJSON(t, "seal", "--seed", seed, "--recipient", sid, "--plaintext-hex", "0102")["ciphertext"]
	// The last byte with its low bit flipped: replacing it with a fixed
	// value left it unchanged in one seal of 256 (sealing is randomised).
	last, err := strconv.ParseUint(ct[len(ct)-2:], 16, 8)
	if err != nil {
		t.Fatalf("ciphertext %q is not hex: %v", ct, err)
	}
	tampered := ct[:len(ct)-2] + hex.EncodeToString([]byte{byte(last ^ 1)})
	sogs := func(extra ...string) []string {
		args := map[string]string{
			"--seed": seed, "--server-pubkey": server, "--timestamp": "1700000000",
			"--nonce-b64": "CdB5nyKVmQGCw6s0Bvv8Ww==", "--method": "GET", "--path": "/rooms",
		}
		for i := 0; i+1 < len(extra); i += 2 {
			args[extra[i]] = extra[i+1]
		}
		out := []string{"sogs-sign"}
		for k, v := range args {
			if v != "<absent>" {
				out = append(out, k, v)
			}
		}
		return append(out, extra[len(extra)-len(extra)%2:]...)
	}
	cases := []struct {
		name    string
		args    []string
		mention string
	}{
		{"seal seed not hex", []string{"seal", "--seed", "zz", "--recipient", sid, "--plaintext-hex", ""}, "--seed is not valid hex"},
		{"seal seed length", []string{"seal", "--seed", "abcd", "--recipient", sid, "--plaintext-hex", ""}, "--seed is 2 bytes, want 16 or 32"},
		{"seal recipient blinded", []string{"seal", "--seed", seed, "--recipient", "15" + sid[2:], "--plaintext-hex", ""}, "prefix 15"},
		{"seal recipient short", []string{"seal", "--seed", seed, "--recipient", "05ab", "--plaintext-hex", ""}, "66"},
		{"seal recipient small order", []string{"seal", "--seed", seed, "--recipient", "05" + strings.Repeat("00", 32), "--plaintext-hex", ""}, "key agreement"},
		{"seal plaintext odd", []string{"seal", "--seed", seed, "--recipient", sid, "--plaintext-hex", "abc"}, "--plaintext-hex is not valid hex"},
		{"seal plaintext missing", []string{"seal", "--seed", seed, "--recipient", sid}, "plaintext-hex"},
		{"seal stray argument", []string{"seal", "--seed", seed, "--recipient", sid, "--plaintext-hex", "", "x"}, "x"},
		{"open wrong key", []string{"open", "--seed", seed, "--ciphertext", ct}, "decryption failed"},
		{"open too short", []string{"open", "--seed", other, "--ciphertext", "abcd"}, "2 bytes, want at least 144"},
		{"open tampered", []string{"open", "--seed", other, "--ciphertext", tampered}, "decryption failed"},
		{"open ciphertext missing", []string{"open", "--seed", other}, "ciphertext"},
		{"sogs server key length", sogs("--server-pubkey", "abcd"), "--server-pubkey is 2 bytes, want 32"},
		{"sogs nonce not base64", sogs("--nonce-b64", "!!"), "--nonce-b64 is not valid base64"},
		{"sogs nonce length", sogs("--nonce-b64", "AAAA"), "--nonce-b64 is 3 bytes, want 16"},
		{"sogs lower-case method", sogs("--method", "get"), "method"},
		{"sogs relative path", sogs("--path", "rooms"), "path"},
		{"sogs negative timestamp", sogs("--timestamp", "-5"), "timestamp"},
		{"sogs timestamp not a number", sogs("--timestamp", "soon"), "timestamp"},
		{"sogs body not hex", sogs("--body-hex", "0g"), "--body-hex is not valid hex"},
		{"sogs nonce key", sogs("--nonce-key", "other"), "--nonce-key"},
		{"sogs nonce key unblinded", sogs("--nonce-key", "seed", "--unblinded"), "--nonce-key"},
		{"sogs path missing", sogs("--path", "<absent>"), "path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := protoRun(t, c.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (stdout %q)", code, out)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			first, _, _ := strings.Cut(errs, "\n")
			if !strings.HasPrefix(first, "error: ") || !strings.Contains(first, c.mention) {
				t.Errorf("stderr %q: want an error line mentioning %q", errs, c.mention)
			}
		})
	}
}

package cli_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"sotto.dev/client/cli"
	"sotto.dev/internal/vectors"
	"sotto.dev/key"
	"sotto.dev/onion"
)

// onionRun runs `sotto debug args...` in process.
func onionRun(t *testing.T, args ...string) (int, map[string]string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(append([]string{"debug"}, args...), cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" },
	})
	var m map[string]string
	if code == 0 {
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("output %q is not a JSON object of strings: %v", out.String(), err)
		}
	}
	return code, m, errb.String()
}

func TestDebugOnionOpenVector(t *testing.T) {
	v := vectors.Get(t, "onion.parser_aes_gcm")
	code, m, stderr := onionRun(t, "onion-open",
		"--x25519-secret", v.InString(t, "server_seckey_b"), "--blob", v.InString(t, "blob"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := hex.EncodeToString([]byte(v.OutString(t, "payload_utf8"))); m["payload_hex"] != want {
		t.Errorf("payload_hex %s, want %s", m["payload_hex"], want)
	}
	if want := v.OutString(t, "json"); m["json"] != want {
		t.Errorf("json %q, want %q", m["json"], want)
	}
	if want := v.OutString(t, "remote_pubkey"); m["ephemeral_key"] != want {
		t.Errorf("ephemeral_key %s, want %s", m["ephemeral_key"], want)
	}
}

func TestDebugOnionDecryptVector(t *testing.T) {
	v := vectors.Get(t, "onion.hop_decrypt_xchacha20")
	code, m, stderr := onionRun(t, "onion-decrypt",
		"--x25519-secret", v.InString(t, "server_seckey_b"),
		"--ephemeral", v.InString(t, "client_pubkey_A"),
		"--cipher", "xchacha20",
		"--ciphertext", v.InString(t, "ciphertext"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := hex.EncodeToString([]byte(v.OutString(t, "plaintext_utf8"))); m["plaintext_hex"] != want {
		t.Fatalf("plaintext_hex %s, want %s", m["plaintext_hex"], want)
	}
	// The wrong cipher does not open it.
	code, _, stderr = onionRun(t, "onion-decrypt",
		"--x25519-secret", v.InString(t, "server_seckey_b"),
		"--ephemeral", v.InString(t, "client_pubkey_A"),
		"--cipher", "aes-gcm",
		"--ciphertext", v.InString(t, "ciphertext"))
	if code != 1 || !strings.HasPrefix(stderr, "error: ") {
		t.Fatalf("aes-gcm on an xchacha20 layer: exit %d %q", code, stderr)
	}
}

// TestDebugOnionRoundTrip builds layers with the onion package, for both
// ciphers, and opens them through the command line.
func TestDebugOnionRoundTrip(t *testing.T) {
	node := key.OnionPrivate{1, 2, 3}
	kp, err := onion.NewKeyPair(node)
	if err != nil {
		t.Fatal(err)
	}
	secret := hex.EncodeToString(node[:])
	payload := []byte(`{"method":"info","params":{}}`)
	for _, c := range []onion.Cipher{onion.CipherAESGCM, onion.CipherXChaCha20} {
		body, key, err := onion.BuildSnodeRequest(nil, onion.Hop{X25519: kp.Public()}, payload, c)
		if err != nil {
			t.Fatal(err)
		}
		code, m, stderr := onionRun(t, "onion-open", "--x25519-secret", secret, "--blob", hex.EncodeToString(body))
		if code != 0 {
			t.Fatalf("%s open: exit %d %s", c, code, stderr)
		}
		inner, _ := hex.DecodeString(m["payload_hex"])
		f, err := onion.ParseHop(inner)
		if err != nil || !bytes.Equal(f.Blob, payload) || string(f.Control) != `{"headers":""}` {
			t.Fatalf("%s: opened %q (%v)", c, inner, err)
		}
		if m["enc_type"] != c.String() {
			t.Fatalf("enc_type %q", m["enc_type"])
		}
		frame, _ := onion.ParseHop(body)
		li, _ := onion.ParseLayerInfo(frame.Control)
		code, m, stderr = onionRun(t, "onion-decrypt", "--x25519-secret", secret,
			"--ephemeral", li.EphemeralKey.String(), "--cipher", c.String(), "--ciphertext", hex.EncodeToString(frame.Blob))
		if code != 0 || m["plaintext_hex"] != hex.EncodeToString(inner) {
			t.Fatalf("%s decrypt: exit %d %s %v", c, code, stderr, m)
		}
		// The reply direction uses the same layer key: a reply sealed with
		// the client's key decrypts with the node's secret and E.
		reply := key.Seal([]byte("pong"))
		code, m, stderr = onionRun(t, "onion-decrypt", "--x25519-secret", secret,
			"--ephemeral", li.EphemeralKey.String(), "--cipher", c.String(), "--ciphertext", hex.EncodeToString(reply))
		if code != 0 || m["plaintext_hex"] != hex.EncodeToString([]byte("pong")) {
			t.Fatalf("%s reply: exit %d %s %v", c, code, stderr, m)
		}
	}
}

func TestDebugOnionBadInput(t *testing.T) {
	v := vectors.Get(t, "onion.parser_aes_gcm")
	sk, blob := v.InString(t, "server_seckey_b"), v.InString(t, "blob")
	other := strings.Repeat("11", 32)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"secret not hex", []string{"onion-open", "--x25519-secret", "zz" + sk[2:], "--blob", blob}, "not valid hex"},
		{"secret short", []string{"onion-open", "--x25519-secret", sk[:62], "--blob", blob}, "31 bytes"},
		{"blob odd", []string{"onion-open", "--x25519-secret", sk, "--blob", blob[:5]}, "not valid hex"},
		{"blob truncated", []string{"onion-open", "--x25519-secret", sk, "--blob", blob[:6]}, "not an onion frame"},
		{"blob length lies", []string{"onion-open", "--x25519-secret", sk, "--blob", "ff000000" + blob[8:]}, "not an onion frame"},
		{"json not object", []string{"onion-open", "--x25519-secret", sk, "--blob", "00000000" + hex.EncodeToString([]byte("[1]"))}, "not an onion frame"},
		{"no ephemeral", []string{"onion-open", "--x25519-secret", sk, "--blob", "00000000" + hex.EncodeToString([]byte("{}"))}, "control object"},
		{"wrong key", []string{"onion-open", "--x25519-secret", other, "--blob", blob}, "does not decrypt"},
		{"missing flag", []string{"onion-open", "--blob", blob}, "x25519-secret"},
		{"bad cipher", []string{"onion-decrypt", "--x25519-secret", sk, "--ephemeral", other, "--cipher", "aes-cbc", "--ciphertext", "00"}, "not a layer cipher"},
		{"short ephemeral", []string{"onion-decrypt", "--x25519-secret", sk, "--ephemeral", "11", "--cipher", "aes-gcm", "--ciphertext", "00"}, "--ephemeral is 1 bytes"},
		{"zero ephemeral", []string{"onion-decrypt", "--x25519-secret", sk, "--ephemeral", strings.Repeat("00", 32), "--cipher", "aes-gcm", "--ciphertext", "00"}, "layer key"},
		{"short ciphertext", []string{"onion-decrypt", "--x25519-secret", sk, "--ephemeral", other, "--cipher", "xchacha20", "--ciphertext", "00"}, "does not decrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := onionRun(t, tt.args...)
			if code != 1 || !strings.HasPrefix(stderr, "error: ") || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 and %q", code, stderr, tt.want)
			}
			if strings.Contains(stderr, sk) {
				t.Fatal("the secret key appears in the error output")
			}
		})
	}
}

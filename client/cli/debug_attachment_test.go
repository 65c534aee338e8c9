package cli_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"sotto.dev/client/cli"
)

// attachmentRun runs `sotto debug <cmd>` with stdin and returns the exit
// code, stdout and stderr.
func attachmentRun(t *testing.T, cmd, stdin string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main([]string{"debug", cmd}, cli.Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(string) string { return "" },
	})
	return code, out.String(), errb.String()
}

func attachmentJSON(t *testing.T, cmd string, in map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := attachmentRun(t, cmd, string(b))
	if code != 0 {
		t.Fatalf("%s %s: exit %d\nstderr: %s", cmd, b, code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("%s: output %q is not one JSON object: %v", cmd, out, err)
	}
	return m
}

func testPlaintext(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return hex.EncodeToString(b)
}

// The deterministic form through the CLI: §8's size table and a round trip
// at each size class edge.
func TestDebugAttachmentDeterministic(t *testing.T) {
	seed := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	sizes := map[int]int{0: 4096, 1: 4096, 4053: 4096, 4054: 8192, 8149: 8192, 8150: 12288, 33333: 36864, 261982: 262144, 261983: 270336}
	for n, want := range sizes {
		pt := testPlaintext(n)
		enc := attachmentJSON(t, "attachment-encrypt", map[string]any{"mode": "deterministic", "seed": seed, "plaintext": pt})
		ct := enc["ciphertext"].(string)
		if len(ct)/2 != want || enc["size"].(float64) != float64(n) || len(enc["key"].(string)) != 64 {
			t.Errorf("%d: %d bytes, size %v; want %d", n, len(ct)/2, enc["size"], want)
		}
		if _, ok := enc["digest"]; ok {
			t.Errorf("%d: deterministic output has a digest", n)
		}
		dec := attachmentJSON(t, "attachment-decrypt", map[string]any{"mode": "deterministic", "key": enc["key"], "ciphertext": ct, "size": n})
		if dec["plaintext"] != pt {
			t.Errorf("%d: round trip differs", n)
		}
	}
	// libsession's construction, byte for byte (attachment/testdata).
	var f struct {
		Seed    string `json:"seed"`
		Vectors []struct {
			Domain       string `json:"domain"`
			PlaintextLen int    `json:"plaintext_len"`
			Key          string `json:"key"`
			Ciphertext   string `json:"ciphertext"`
		} `json:"vectors"`
	}
	readTestJSON(t, "../../attachment/testdata/deterministic.json", &f)
	for _, v := range f.Vectors {
		if v.Ciphertext == "" {
			continue
		}
		enc := attachmentJSON(t, "attachment-encrypt", map[string]any{"mode": "deterministic", "seed": f.Seed, "domain": v.Domain, "plaintext": testPlaintext(v.PlaintextLen)})
		if enc["ciphertext"] != v.Ciphertext || enc["key"] != v.Key {
			t.Errorf("%s %d: differs from the vector", v.Domain, v.PlaintextLen)
		}
	}
}

func readTestJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// The legacy form through the CLI reproduces desktop's blobs (computed by
// node's WebCrypto, attachment/testdata/legacy.json) and decrypts them.
func TestDebugAttachmentLegacy(t *testing.T) {
	var f struct {
		Key     string `json:"key"`
		IV      string `json:"iv"`
		Vectors []struct {
			PlaintextLen int    `json:"plaintext_len"`
			BlobLen      int    `json:"blob_len"`
			Digest       string `json:"digest"`
			Blob         string `json:"blob"`
		} `json:"vectors"`
	}
	readTestJSON(t, "../../attachment/testdata/legacy.json", &f)
	for _, v := range f.Vectors {
		pt := testPlaintext(v.PlaintextLen)
		enc := attachmentJSON(t, "attachment-encrypt", map[string]any{"mode": "legacy", "key": f.Key, "iv": f.IV, "plaintext": pt})
		ct := enc["ciphertext"].(string)
		if len(ct)/2 != v.BlobLen || enc["digest"] != v.Digest || (v.Blob != "" && ct != v.Blob) {
			t.Errorf("%d: differs from desktop's blob", v.PlaintextLen)
		}
		dec := attachmentJSON(t, "attachment-decrypt", map[string]any{"mode": "legacy", "key": f.Key, "ciphertext": ct, "size": v.PlaintextLen, "digest": v.Digest})
		if dec["plaintext"] != pt {
			t.Errorf("%d: round trip differs", v.PlaintextLen)
		}
	}
}

// Bad input and data that does not verify: exit 1, an error: line and a
// hint: line, nothing on stdout.
func TestDebugAttachmentErrors(t *testing.T) {
	seed := strings.Repeat("11", 32)
	enc := attachmentJSON(t, "attachment-encrypt", map[string]any{"mode": "deterministic", "seed": seed, "plaintext": "00"})
	ct := []byte(enc["ciphertext"].(string))
	ct[100] ^= 1 // one hex digit changed
	lkey := strings.Repeat("22", 64)
	lenc := attachmentJSON(t, "attachment-encrypt", map[string]any{"mode": "legacy", "key": lkey, "iv": strings.Repeat("33", 16), "plaintext": "0102"})
	cases := []struct{ cmd, in, want string }{
		{"attachment-encrypt", "", "no JSON object"},
		{"attachment-encrypt", "[1]", "not the expected JSON"},
		{"attachment-encrypt", `{"mode":"deterministic","seed":"` + seed + `","plaintext":""} {}`, "more than one"},
		{"attachment-encrypt", `{"mode":"deterministic","seed":"` + seed + `","plaintext":"","extra":1}`, "not the expected JSON"},
		{"attachment-encrypt", `{"mode":"aes","plaintext":""}`, `unknown mode "aes"`},
		{"attachment-encrypt", `{"mode":"deterministic","seed":"` + seed + `"}`, `missing "plaintext"`},
		{"attachment-encrypt", `{"mode":"deterministic","seed":"11","plaintext":""}`, `"seed" is 1 bytes, want 32`},
		{"attachment-encrypt", `{"mode":"deterministic","seed":"` + seed + `","plaintext":"zz"}`, `"plaintext" is not valid hex`},
		{"attachment-encrypt", `{"mode":"deterministic","seed":"` + seed + `","plaintext":"","domain":"x"}`, `unknown domain`},
		{"attachment-encrypt", `{"mode":"deterministic","seed":"` + seed + `","plaintext":"","iv":"00"}`, `"iv" is not used`},
		{"attachment-encrypt", `{"mode":"legacy","key":"` + lkey + `","iv":"00","plaintext":""}`, `"iv" is 1 bytes, want 16`},
		{"attachment-decrypt", `{"mode":"deterministic","key":"` + enc["key"].(string) + `","ciphertext":"` + string(ct) + `"}`, "does not authenticate"},
		{"attachment-decrypt", `{"mode":"deterministic","key":"` + enc["key"].(string) + `","ciphertext":"` + enc["ciphertext"].(string) + `","size":2}`, "size does not match"},
		{"attachment-decrypt", `{"mode":"deterministic","key":"` + enc["key"].(string) + `","ciphertext":"53"}`, "malformed"},
		{"attachment-decrypt", `{"mode":"legacy","key":"` + lkey + `","ciphertext":"` + lenc["ciphertext"].(string) + `","size":2,"digest":"` + strings.Repeat("00", 32) + `"}`, "digest does not match"},
		{"attachment-decrypt", `{"mode":"legacy","key":"` + strings.Repeat("44", 64) + `","ciphertext":"` + lenc["ciphertext"].(string) + `","size":2,"digest":"` + lenc["digest"].(string) + `"}`, "MAC does not verify"},
		{"attachment-decrypt", `{"mode":"legacy","key":"` + lkey + `","ciphertext":"` + lenc["ciphertext"].(string) + `","size":2}`, `missing "digest"`},
	}
	for _, c := range cases {
		code, out, errs := attachmentRun(t, c.cmd, c.in)
		if code != 1 || out != "" || !strings.HasPrefix(errs, "error: ") || !strings.Contains(errs, c.want) || !strings.Contains(errs, "\nhint: ") {
			t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want an error with %q and a hint", c.cmd, c.in, code, out, errs, c.want)
		}
	}
}

package storagerpc

import (
	"encoding/base64"
	"testing"
)

func TestMessageHash(t *testing.T) {
	var file struct {
		Cases []struct {
			Name      string    `json:"name"`
			Pubkey    string    `json:"pubkey"`
			Namespace Namespace `json:"namespace"`
			DataB64   string    `json:"data_b64"`
			Hash      string    `json:"hash"`
		} `json:"cases"`
	}
	loadTestdata(t, "message_hash.json", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			acct, err := ParseAccount(c.Pubkey)
			if err != nil {
				t.Fatal(err)
			}
			data, err := base64.StdEncoding.DecodeString(c.DataB64)
			if err != nil {
				t.Fatal(err)
			}
			got := MessageHash(acct, c.Namespace, data)
			if got != c.Hash {
				t.Errorf("MessageHash = %s, want %s", got, c.Hash)
			}
			if !ValidMessageHash(got) {
				t.Errorf("ValidMessageHash(%s) = false", got)
			}
		})
	}
}

func TestValidMessageHash(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHs", true},
		{"4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjH", false},   // 42
		{"4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHsA", false}, // 44
		{"4sMyAuaZlMwww3oFvfhazfw7ASx_7TDtO-TVc8aAjHs", false},  // URL alphabet
		{"4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAj=s", false},
		{"", false},
	} {
		if got := ValidMessageHash(tc.s); got != tc.want {
			t.Errorf("ValidMessageHash(%q) = %v", tc.s, got)
		}
	}
}

func TestBase64Rules(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want string // decoded, or "!" for invalid
	}{
		{"", ""},
		{"YQ", "a"},
		{"YQ==", "a"},
		{"YWI", "ab"},
		{"YWI=", "ab"},
		{"YWJj", "abc"},
		{"YR", "a"},       // non-zero trailing bits are ignored, as oxenc
		{"Y", "!"},        // 4n+1
		{"YQ=", "!"},      // padding that does not complete a multiple of 4
		{"YQ===", "!"},    // 4n+1
		{"Y===", "!"},     // three '='
		{"Y\nQ=", "!"},    // Go would skip the newline
		{"YQ-_", "!"},     // URL alphabet
		{"=YQ=", "!"},     // padding inside
		{"YWJj\r\n", "!"}, // trailing CRLF
	} {
		got, err := decodeBase64(tc.s)
		switch {
		case tc.want == "!" && err == nil:
			t.Errorf("decodeBase64(%q) = %q, want error", tc.s, got)
		case tc.want != "!" && (err != nil || string(got) != tc.want):
			t.Errorf("decodeBase64(%q) = %q, %v, want %q", tc.s, got, err, tc.want)
		}
		if isBase64(tc.s) != (tc.want != "!") {
			t.Errorf("isBase64(%q) = %v", tc.s, !(tc.want != "!"))
		}
	}
}

func BenchmarkMessageHash(b *testing.B) {
	acct, _ := ParseAccount("05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48")
	data := make([]byte, 1024)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		MessageHash(acct, NamespaceGroupMessages, data)
	}
}

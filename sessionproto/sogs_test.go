package sessionproto

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"sotto.dev/identity"
	"sotto.dev/internal/vectors"
	"sotto.dev/key"
)

func decodeNonce(t testing.TB, s string) [16]byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		t.Fatalf("nonce %q: %v", s, err)
	}
	return [16]byte(b)
}

func TestSOGSHeaderVectors(t *testing.T) {
	for _, v := range vectors.WithPrefix(t, "sogs.auth_headers.") {
		t.Run(v.Name, func(t *testing.T) {
			var blinded bool
			var body *string
			v.In(t, "blinded", &blinded)
			v.In(t, "body", &body)
			if body != nil {
				t.Fatalf("vector has a body; extend the test")
			}
			var ts int64
			v.In(t, "timestamp", &ts)
			keys := keysFromBytes(t, v.InHex(t, "ed25519_seed"))
			if pk := keys.Ed25519Public(); hex.EncodeToString(pk[:]) != v.InString(t, "ed25519_pk") {
				t.Fatalf("seed gives Ed25519 key %x", pk)
			}
			// The session-desktop vectors use desktop's nonce derivation; the
			// derived one says it uses libsession's.
			opts := SOGSOptions{Unblinded: !blinded, Nonce: identity.NonceSeed}
			if strings.HasSuffix(v.Name, "_libsession_nonce") {
				opts.Nonce = identity.NonceSK64
			}
			got, err := SOGSHeaders(keys, [32]byte(v.InHex(t, "server_pk")), ts,
				decodeNonce(t, v.InString(t, "nonce_b64")), v.InString(t, "method"), v.InString(t, "path"), nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 4 {
				t.Errorf("got %d headers, want 4", len(got))
			}
			for name := range v.Expected {
				if want := v.OutString(t, name); got[name] != want {
					t.Errorf("%s = %q, want %q", name, got[name], want)
				}
			}
		})
	}
}

// TestSOGSHeaderBodyVectors checks signed requests with a body against
// session-desktop's test values (testdata/sogs-body.json).
func TestSOGSHeaderBodyVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/sogs-body.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Seed      string `json:"seed"`
		ServerPK  string `json:"server_pk"`
		Timestamp int64  `json:"timestamp"`
		Method    string `json:"method"`
		Path      string `json:"path"`
		Nonce     string `json:"nonce_b64"`
		Body      string `json:"body_utf8"`
		Cases     []struct {
			Blinded   bool   `json:"blinded"`
			Signature string `json:"signature"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	keys := keysFromHex(t, f.Seed)
	spk, err := hex.DecodeString(f.ServerPK)
	if err != nil || len(spk) != 32 {
		t.Fatal("bad server_pk")
	}
	for _, c := range f.Cases {
		h, err := SOGSHeaders(keys, [32]byte(spk), f.Timestamp, decodeNonce(t, f.Nonce), f.Method, f.Path, []byte(f.Body),
			SOGSOptions{Unblinded: !c.Blinded, Nonce: identity.NonceSeed})
		if err != nil {
			t.Fatal(err)
		}
		if h[HeaderSOGSSignature] != c.Signature {
			t.Errorf("blinded=%v: signature = %s, want %s", c.Blinded, h[HeaderSOGSSignature], c.Signature)
		}
	}
}

// TestSOGSHeadersVerify checks what a server checks: the signature
// verifies under the key in X-SOGS-Pubkey over the documented message.
func TestSOGSHeadersVerify(t *testing.T) {
	keys := newKeys(t)
	serverPK := [32]byte{0xc3, 1}
	nonce := [16]byte{1, 2, 3}
	body := []byte(`{"data":"x"}`)
	for _, opts := range []SOGSOptions{{}, {Nonce: identity.NonceSeed}, {Unblinded: true}} {
		for _, b := range [][]byte{nil, body} {
			h, err := SOGSHeaders(keys, serverPK, 1700000000, nonce, "POST", "/room/r/message", b, opts)
			if err != nil {
				t.Fatal(err)
			}
			id, err := key.ParseSessionID(h[HeaderSOGSPubkey])
			if err != nil {
				t.Fatal(err)
			}
			wantPrefix := key.PrefixBlind15
			if opts.Unblinded {
				wantPrefix = key.PrefixUnblinded
			}
			if id.Prefix() != wantPrefix {
				t.Errorf("pubkey prefix = %s, want %s", id.Prefix(), wantPrefix)
			}
			msg := append(serverPK[:], nonce[:]...)
			msg = append(msg, "1700000000POST/room/r/message"...)
			if len(b) > 0 {
				sum := blake2b.Sum512(b)
				msg = append(msg, sum[:]...)
			}
			sig, err := base64.StdEncoding.DecodeString(h[HeaderSOGSSignature])
			if err != nil {
				t.Fatal(err)
			}
			key := id.Key()
			if !ed25519.Verify(key[:], msg, sig) {
				t.Errorf("opts %+v, body %q: signature does not verify", opts, b)
			}
		}
	}
}

func TestSOGSHeadersErrors(t *testing.T) {
	keys := newKeys(t)
	tests := []struct {
		name   string
		ts     int64
		method string
		path   string
		opts   SOGSOptions
		field  string
	}{
		{"negative timestamp", -1, "GET", "/rooms", SOGSOptions{}, "timestamp"},
		{"empty method", 1, "", "/rooms", SOGSOptions{}, "method"},
		{"lower-case method", 1, "get", "/rooms", SOGSOptions{}, "method"},
		{"method with space", 1, "GET ", "/rooms", SOGSOptions{}, "method"},
		{"empty path", 1, "GET", "", SOGSOptions{}, "path"},
		{"relative path", 1, "GET", "rooms", SOGSOptions{}, "path"},
		{"unknown nonce key", 1, "GET", "/rooms", SOGSOptions{Nonce: 99}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := SOGSHeaders(keys, [32]byte{1}, tt.ts, [16]byte{}, tt.method, tt.path, nil, tt.opts)
			if h != nil || err == nil {
				t.Fatalf("SOGSHeaders = %v, %v", h, err)
			}
			var re *RequestError
			if tt.field == "" {
				if !errors.Is(err, identity.ErrNonceKey) {
					t.Errorf("err = %v, want identity.ErrNonceKey", err)
				}
			} else if !errors.As(err, &re) || re.Field != tt.field {
				t.Errorf("err = %v, want a RequestError on %s", err, tt.field)
			}
		})
	}
}

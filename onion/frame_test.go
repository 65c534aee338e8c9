package onion

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"sotto.dev/key"
)

func TestParseHop(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		blob    string
		control string
		kind    FrameErrorKind
	}{
		{"ok", append([]byte{3, 0, 0, 0}, "abc{\"a\":1}"...), "abc", `{"a":1}`, 0},
		{"empty blob", append([]byte{0, 0, 0, 0}, "{}"...), "", `{}`, 0},
		{"whitespace around object", append([]byte{1, 0, 0, 0}, "x {} \n"...), "x", " {} \n", 0},
		{"empty", nil, "", "", FrameTruncated},
		{"three bytes", []byte{1, 0, 0}, "", "", FrameTruncated},
		{"length past end", append([]byte{9, 0, 0, 0}, "abc{}"...), "", "", FrameLengthOverflow},
		{"huge length", append([]byte{0xff, 0xff, 0xff, 0xff}, "{}"...), "", "", FrameLengthOverflow},
		{"no json", append([]byte{3, 0, 0, 0}, "abc"...), "", "", FrameBadJSON},
		{"bad json", append([]byte{0, 0, 0, 0}, "{\"a\""...), "", "", FrameBadJSON},
		{"trailing garbage", append([]byte{0, 0, 0, 0}, "{}x"...), "", "", FrameBadJSON},
		{"array", append([]byte{0, 0, 0, 0}, "[1]"...), "", "", FrameNotObject},
		{"string", append([]byte{0, 0, 0, 0}, `"x"`...), "", "", FrameNotObject},
		{"null", append([]byte{0, 0, 0, 0}, "null"...), "", "", FrameNotObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseHop(tt.in)
			if tt.kind != 0 {
				var fe *FrameError
				if !errors.As(err, &fe) || fe.Kind != tt.kind {
					t.Fatalf("err %v, want kind %d", err, tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(f.Blob) != tt.blob || string(f.Control) != tt.control {
				t.Fatalf("got %q %q", f.Blob, f.Control)
			}
		})
	}
}

func TestEncodeHopRoundTrip(t *testing.T) {
	blob := bytes.Repeat([]byte{0xab}, 300)
	ctl := []byte(`{"headers":""}`)
	b, err := EncodeHop(blob, ctl)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:4], []byte{44, 1, 0, 0}) {
		t.Fatalf("length prefix %x", b[:4])
	}
	f, err := ParseHop(b)
	if err != nil || !bytes.Equal(f.Blob, blob) || !bytes.Equal(f.Control, ctl) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "[]", "{", "1"} {
		if _, err := EncodeHop(nil, []byte(bad)); err == nil {
			t.Errorf("EncodeHop accepted control %q", bad)
		}
	}
}

const (
	hexA = "8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652"
	hexN = "caea52c5b0c316d85ffb53ea536826618b13dee40685f166f632653114526a78"
)

func TestParseLayerInfo(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		cipher Cipher
		hop    int
		errKey string
	}{
		{"default cipher", `{"ephemeral_key":"` + hexA + `"}`, CipherAESGCM, 0, ""},
		{"xchacha", `{"ephemeral_key":"` + hexA + `","enc_type":"xchacha20"}`, CipherXChaCha20, 0, ""},
		{"xchacha legacy", `{"ephemeral_key":"` + hexA + `","enc_type":"xchacha20-poly1305"}`, CipherXChaCha20, 0, ""},
		{"gcm alias", `{"ephemeral_key":"` + hexA + `","enc_type":"gcm"}`, CipherAESGCM, 0, ""},
		{"hop", `{"ephemeral_key":"` + hexA + `","hop_no":7}`, CipherAESGCM, 7, ""},
		{"negative hop", `{"ephemeral_key":"` + hexA + `","hop_no":-3}`, CipherAESGCM, 0, ""},
		{"missing key", `{"enc_type":"aes-gcm"}`, 0, 0, keyEphemeral},
		{"short key", `{"ephemeral_key":"abcd"}`, 0, 0, keyEphemeral},
		{"non-hex key", `{"ephemeral_key":"` + strings.Repeat("zz", 32) + `"}`, 0, 0, keyEphemeral},
		{"numeric key", `{"ephemeral_key":5}`, 0, 0, keyEphemeral},
		{"unknown cipher", `{"ephemeral_key":"` + hexA + `","enc_type":"aes-cbc"}`, 0, 0, keyEncType},
		{"hop string", `{"ephemeral_key":"` + hexA + `","hop_no":"1"}`, 0, 0, keyHopNo},
		{"hop float", `{"ephemeral_key":"` + hexA + `","hop_no":1.5}`, 0, 0, keyHopNo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			li, err := ParseLayerInfo([]byte(tt.in))
			if tt.errKey != "" {
				var ce *ControlError
				if !errors.As(err, &ce) || ce.Key != tt.errKey {
					t.Fatalf("err %v, want control error on %q", err, tt.errKey)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if li.Cipher != tt.cipher || li.HopNo != tt.hop || li.EphemeralKey.String() != hexA {
				t.Fatalf("got %+v", li)
			}
			back, err := ParseLayerInfo(li.Marshal())
			if err != nil || back != li {
				t.Fatalf("marshal round trip: %+v %v", back, err)
			}
		})
	}
}

func TestParseControl(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   Control
		errKey string
	}{
		{"libsession snode", `{"headers":""}`, &SnodeControl{Base64: true}, ""},
		{"desktop snode", `{"headers":{},"body":null}`, &SnodeControl{Base64: true}, ""},
		{"snode flags", `{"headers":"","json":true,"base64":false}`, &SnodeControl{JSON: true}, ""},
		{"snode bad flag", `{"headers":"","json":1}`, nil, keyJSON},
		{"relay", `{"destination":"` + hexN + `","ephemeral_key":"` + hexA + `","enc_type":"xchacha20"}`,
			&RelayControl{Destination: mustNode(hexN), EphemeralKey: mustPub(hexA), Cipher: CipherXChaCha20}, ""},
		{"relay default cipher", `{"destination":"` + hexN + `","ephemeral_key":"` + hexA + `"}`,
			&RelayControl{Destination: mustNode(hexN), EphemeralKey: mustPub(hexA), Cipher: CipherAESGCM}, ""},
		{"relay no destination", `{"ephemeral_key":"` + hexA + `"}`, nil, keyDestination},
		{"relay bad destination", `{"destination":"00","ephemeral_key":"` + hexA + `"}`, nil, keyDestination},
		{"relay no key", `{"destination":"` + hexN + `"}`, nil, keyEphemeral},
		{"server defaults", `{"host":"example.org","target":"/oxen/v4/lsrpc"}`,
			&ServerControl{Host: "example.org", Target: "/oxen/v4/lsrpc", Port: 443, Protocol: "https", Method: "POST", Cipher: CipherAESGCM}, ""},
		{"server http", `{"host":"10.0.0.1","target":"/loki/v3/lsrpc","protocol":"http","port":8080,"method":"POST","ephemeral_key":"` + hexA + `","enc_type":"xchacha20"}`,
			&ServerControl{Host: "10.0.0.1", Target: "/loki/v3/lsrpc", Port: 8080, Protocol: "http", Method: "POST", EphemeralKey: mustPub(hexA), Cipher: CipherXChaCha20}, ""},
		{"server http default port", `{"host":"h","target":"/oxen/v4/lsrpc","protocol":"http"}`,
			&ServerControl{Host: "h", Target: "/oxen/v4/lsrpc", Port: 80, Protocol: "http", Method: "POST", Cipher: CipherAESGCM}, ""},
		{"server no target", `{"host":"h"}`, nil, keyTarget},
		{"server port zero", `{"host":"h","target":"/oxen/v4/lsrpc","port":0}`, nil, keyPort},
		{"server port too big", `{"host":"h","target":"/oxen/v4/lsrpc","port":70000}`, nil, keyPort},
		{"server host number", `{"host":1,"target":"/oxen/v4/lsrpc"}`, nil, keyHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseControl([]byte(tt.in))
			if tt.errKey != "" {
				var ce *ControlError
				if !errors.As(err, &ce) || ce.Key != tt.errKey {
					t.Fatalf("err %v, want control error on %q", err, tt.errKey)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalControl(c, tt.want) {
				t.Fatalf("got %+v, want %+v", c, tt.want)
			}
			back, err := ParseControl(c.Marshal())
			if err != nil || !equalControl(back, c) {
				t.Fatalf("marshal round trip %s: %+v %v", c.Marshal(), back, err)
			}
		})
	}
	if _, err := ParseControl([]byte("[]")); err == nil {
		t.Error("ParseControl accepted an array")
	}
}

func TestRelayControlMarshalMatchesLibsession(t *testing.T) {
	// libsession dumps an nlohmann object: keys sorted, no spaces.
	c := &RelayControl{Destination: mustNode(hexN), EphemeralKey: mustPub(hexA), Cipher: CipherXChaCha20}
	want := `{"destination":"` + hexN + `","enc_type":"xchacha20","ephemeral_key":"` + hexA + `"}`
	if got := string(c.Marshal()); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if got := string((&SnodeControl{Base64: true}).Marshal()); got != `{"headers":""}` {
		t.Fatalf("snode control %s", got)
	}
}

func TestServerControlRules(t *testing.T) {
	tests := []struct {
		c   ServerControl
		ok  bool
		url string
	}{
		{ServerControl{Host: "open.getsession.org", Target: "/oxen/v4/lsrpc", Protocol: "https", Port: 443}, true, "https://open.getsession.org/oxen/v4/lsrpc"},
		{ServerControl{Host: "1.2.3.4", Target: "/loki/v3/lsrpc", Protocol: "http", Port: 80}, true, "http://1.2.3.4/loki/v3/lsrpc"},
		{ServerControl{Host: "1.2.3.4", Target: "/oxen/v4/lsrpc", Protocol: "http", Port: 8080}, true, "http://1.2.3.4:8080/oxen/v4/lsrpc"},
		{ServerControl{Host: "[::1]", Target: "/oxen/v4/lsrpc", Protocol: "https", Port: 4443}, true, "https://[::1]:4443/oxen/v4/lsrpc"},
		{ServerControl{Host: "h", Target: "/oxen/v4/lsrpc?x=1", Protocol: "https", Port: 443}, false, ""},
		{ServerControl{Host: "h", Target: "/admin/lsrpc", Protocol: "https", Port: 443}, false, ""},
		{ServerControl{Host: "h", Target: "/oxen/v4/other", Protocol: "https", Port: 443}, false, ""},
		{ServerControl{Host: "h", Target: "/oxen/v4/lsrpc", Protocol: "ftp", Port: 443}, false, ""},
		{ServerControl{Host: "evil.com/x#", Target: "/oxen/v4/lsrpc", Protocol: "https", Port: 443}, false, ""},
		{ServerControl{Host: "user@h", Target: "/oxen/v4/lsrpc", Protocol: "https", Port: 443}, false, ""},
		{ServerControl{Host: "", Target: "/oxen/v4/lsrpc", Protocol: "https", Port: 443}, false, ""},
	}
	for _, tt := range tests {
		if got := tt.c.Allowed(); got != tt.ok {
			t.Errorf("%+v: Allowed = %v", tt.c, got)
		}
		if tt.ok && tt.c.URL() != tt.url {
			t.Errorf("URL = %s, want %s", tt.c.URL(), tt.url)
		}
	}
}

func TestParseCipher(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Cipher
	}{{"aes-gcm", CipherAESGCM}, {"gcm", CipherAESGCM}, {"xchacha20", CipherXChaCha20}, {"xchacha20-poly1305", CipherXChaCha20}} {
		c, err := ParseCipher(tt.in)
		if err != nil || c != tt.want {
			t.Errorf("%q: %v %v", tt.in, c, err)
		}
	}
	for _, bad := range []string{"", "AES-GCM", "aes-cbc", "chacha"} {
		var ce *CipherError
		if _, err := ParseCipher(bad); !errors.As(err, &ce) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestLowOrderEphemeralRejected(t *testing.T) {
	kp, err := GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Cipher{CipherAESGCM, CipherXChaCha20} {
		if _, err := ServerLayerKey(c, kp, key.OnionPublic{}); err == nil {
			t.Errorf("%s: zero ephemeral key accepted", c)
		}
	}
	// Through Open it is a layer that does not decrypt.
	body, _ := EncodeHop(make([]byte, 40), LayerInfo{Cipher: CipherAESGCM}.Marshal())
	if _, err := Open(kp, body); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open with zero ephemeral key: %v", err)
	}
}

func mustNode(s string) key.NodePublic {
	n, err := key.ParseNodePublic(s)
	if err != nil {
		panic(err)
	}
	return n
}

func mustPub(s string) key.OnionPublic {
	k, err := key.ParseOnionPublic(s)
	if err != nil {
		panic(err)
	}
	return k
}

func equalControl(a, b Control) bool {
	switch x := a.(type) {
	case *RelayControl:
		y, ok := b.(*RelayControl)
		return ok && *x == *y
	case *SnodeControl:
		y, ok := b.(*SnodeControl)
		return ok && *x == *y
	case *ServerControl:
		y, ok := b.(*ServerControl)
		return ok && *x == *y
	}
	return false
}

func TestHMACLabel(t *testing.T) {
	for _, s := range [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xa5}, 32)} {
		m := hmac.New(sha256.New, []byte("LOKI"))
		m.Write(s)
		if got := hmacLabel(s); !bytes.Equal(got[:], m.Sum(nil)) {
			t.Fatalf("hmacLabel(%x) = %x, want %x", s, got, m.Sum(nil))
		}
	}
}

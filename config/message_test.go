package config

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

// h32 is a 32-byte bt string for lagged-diff hashes.
var h32 = "32:" + strings.Repeat("h", 32)

func TestParseMessageAccepts(t *testing.T) {
	tests := []struct {
		name, in string
		reenc    string // the serialization of the parsed message, if not in
	}{
		{name: "empty", in: "d1:#i0e1:&de1:<le1:=dee"},
		{name: "no lagged list", in: "d1:#i0e1:&de1:=dee", reenc: "d1:#i0e1:&de1:<le1:=dee"},
		{name: "data", in: "d1:#i3e1:&d1:ad1:bi-1e1:cl1:xee1:sli1ei9e1:a1:bee1:<le1:=dee"},
		{name: "unknown keys kept", in: "d1:#i5e1:$i18446744073709551615e1:&de1:'3:abc1:<le1:=de1:zl1:xee"},
		{name: "lagged and diff", in: "d1:#i5e1:&d1:ai1ee1:<lli4e" + h32 + "d1:a0:eee1:=d1:a1:-1:bd1:c0:e1:sll1:xel1:yeeee"},
		{
			name:  "lagged too old dropped unchecked",
			in:    "d1:#i10e1:&de1:<lli5e3:badi7eeli6e" + h32 + "deee1:=dee",
			reenc: "d1:#i10e1:&de1:<lli6e" + h32 + "deee1:=dee",
		},
		{name: "negative seqno", in: "d1:#i-3e1:&de1:<le1:=dee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseMessage([]byte(tt.in), nil, nil, DefaultLag, false)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if m.hash != hashBytes([]byte(tt.in)) {
				t.Error("hash is not BLAKE2b-256 of the bytes")
			}
			want := tt.reenc
			if want == "" {
				want = tt.in
			}
			if got := m.serialize(true); string(got) != want {
				t.Errorf("serialize:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestParseMessageRejects(t *testing.T) {
	tests := map[string]string{
		"not a dict":               "l1:#e",
		"first key not #":          "d1:&de1:#i0ee",
		"seqno not an int":         "d1:#1:01:&de1:<le1:=dee",
		"seqno out of range":       "d1:#i9223372036854775808e1:&de1:<le1:=dee",
		"no data":                  "d1:#i0e1:<le1:=dee",
		"data not a dict":          "d1:#i0e1:&le1:<le1:=dee",
		"ends after data":          "d1:#i0e1:&dee",
		"ends after lagged":        "d1:#i0e1:&de1:<lee",
		"data keys unsorted":       "d1:#i0e1:&d1:bi1e1:ai1ee1:<le1:=dee",
		"empty nested dict":        "d1:#i0e1:&d1:adee1:<le1:=dee",
		"empty set":                "d1:#i0e1:&d1:alee1:<le1:=dee",
		"unsorted set":             "d1:#i0e1:&d1:ali2ei1eee1:<le1:=dee",
		"string before int in set": "d1:#i0e1:&d1:al1:ai1eee1:<le1:=dee",
		"duplicate in set":         "d1:#i0e1:&d1:al1:a1:aee1:<le1:=dee",
		"dict in set":              "d1:#i0e1:&d1:aldeee1:<le1:=dee",
		"lagged not a list":        "d1:#i1e1:&de1:<de1:=dee",
		"lagged entry not a list":  "d1:#i1e1:&de1:<li0ee1:=dee",
		"lagged seqno = current":   "d1:#i1e1:&de1:<lli1e" + h32 + "deee1:=dee",
		"lagged hash 31 bytes":     "d1:#i1e1:&de1:<lli0e31:" + strings.Repeat("h", 31) + "deee1:=dee",
		"lagged unsorted":          "d1:#i3e1:&de1:<lli2e" + h32 + "deeli1e" + h32 + "deee1:=dee",
		"lagged duplicate":         "d1:#i3e1:&de1:<lli2e" + h32 + "deeli2e" + h32 + "deee1:=dee",
		"lagged four elements":     "d1:#i1e1:&de1:<lli0e" + h32 + "dei0eee1:=dee",
		"lagged diff not a dict":   "d1:#i1e1:&de1:<lli0e" + h32 + "leee1:=dee",
		"diff not a dict":          "d1:#i0e1:&de1:<le1:=lee",
		"diff bad marker":          "d1:#i0e1:&de1:<le1:=d1:a1:xee",
		"diff integer":             "d1:#i0e1:&de1:<le1:=d1:ai1eee",
		"diff set of one list":     "d1:#i0e1:&de1:<le1:=d1:allee",
		"diff set of three lists":  "d1:#i0e1:&de1:<le1:=d1:alllelelee",
		"diff set not lists":       "d1:#i0e1:&de1:<le1:=d1:ai1ei2eeee",
		"diff set unsorted":        "d1:#i0e1:&de1:<le1:=d1:alli2ei1eeleeee",
		"diff set non-scalar":      "d1:#i0e1:&de1:<le1:=d1:allleeleeee",
		"diff keys unsorted":       "d1:#i0e1:&de1:<le1:=d1:b0:1:a0:ee",
		"unknown key out of order": "d1:#i0e1:%i1e1:$i1e1:&de1:<le1:=dee",
		"signature not a string":   "d1:#i0e1:&de1:<le1:=de1:~i1ee",
		"signature short":          "d1:#i0e1:&de1:<le1:=de1:~3:abce",
		"key after signature":      "d1:#i0e1:&de1:<le1:=de1:~64:" + strings.Repeat("s", 64) + "1:\x7fi1ee",
		"key after ~ position":     "d1:#i0e1:&de1:<le1:=de1:\x7fi1ee",
		"trailing data":            "d1:#i0e1:&de1:<le1:=deex",
		"truncated":                "d1:#i0e1:&de1:<le1:=de",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := parseMessage([]byte(in), nil, nil, DefaultLag, false)
			if err == nil {
				t.Fatalf("parsed %q (seqno %d)", in, m.seqno)
			}
			if !errors.Is(err, ErrMessage) && !errors.Is(err, ErrSignature) {
				t.Errorf("error %v wraps neither ErrMessage nor ErrSignature", err)
			}
		})
	}
}

func TestMessageSignature(t *testing.T) {
	sk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	pk := sk.Public().(ed25519.PublicKey)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)).Public().(ed25519.PublicKey)

	m := emptyMessage(DefaultLag, pk, sk).increment(Dict{"n": "group"})
	signed := m.serialize(true)
	at := bytes.Index(signed, []byte("1:~64:"))
	if at < 0 || len(signed) != at+len("1:~64:")+64+1 {
		t.Fatalf("signature not last: %q", signed)
	}
	if !ed25519.Verify(pk, signed[:at], signed[at+6:at+70]) {
		t.Fatal("the signature does not sign the message up to its key")
	}
	if unsigned := m.serialize(false); bytes.Contains(unsigned, []byte("1:~")) {
		t.Error("serialize(false) signed")
	}

	got, err := parseMessage(signed, pk, nil, DefaultLag, false)
	if err != nil {
		t.Fatalf("verify own signature: %v", err)
	}
	if !bytes.Equal(got.serialize(true), signed) {
		t.Error("a verified message does not serialize to its bytes")
	}
	if _, err := parseMessage(signed, other, nil, DefaultLag, false); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong verifier: %v, want ErrSignature", err)
	}
	unsigned := m.serialize(false)
	if _, err := parseMessage(unsigned, pk, nil, DefaultLag, false); !errors.Is(err, ErrSignature) {
		t.Errorf("missing signature: %v, want ErrSignature", err)
	}
	tampered := bytes.Clone(signed)
	tampered[at-3] ^= 1 // inside the data
	if _, err := parseMessage(tampered, pk, nil, DefaultLag, false); err == nil {
		t.Error("tampered message verified")
	}

	// Without a verifier the signature is dropped unless trusted (dumps).
	plain, err := parseMessage(signed, nil, nil, DefaultLag, false)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain.serialize(true), []byte("1:~")) {
		t.Error("an unverified signature was kept")
	}
	trusted, err := parseMessage(signed, nil, nil, DefaultLag, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(trusted.serialize(false), signed) {
		t.Error("a trusted signature was not kept")
	}
}

func TestIncrementDropsOldLaggedDiffs(t *testing.T) {
	m := emptyMessage(DefaultLag, nil, nil)
	for i := range 8 {
		m = m.increment(m.data.Clone())
		m.data["n"] = int64(i)
		if i%2 == 0 {
			m.hash = hashBytes(m.serialize(true))
		}
	}
	if m.seqno != 8 {
		t.Fatalf("seqno %d", m.seqno)
	}
	b := m.serialize(true)
	p, err := parseMessage(b, nil, nil, DefaultLag, false)
	if err != nil {
		t.Fatal(err)
	}
	var seqnos []int64
	for _, l := range p.lagged {
		seqnos = append(seqnos, l.seqno)
	}
	if want := []int64{4, 5, 6, 7}; !equalInts(seqnos, want) {
		t.Errorf("lagged seqnos %v, want %v", seqnos, want)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParseMessage checks that parsing never panics, and that a message
// that parses serializes to something that parses to the same message.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"d1:#i0e1:&de1:<le1:=dee",
		"d1:#i5e1:&d1:ai1ee1:<lli4e" + h32 + "d1:a0:eee1:=d1:a1:-1:bd1:c0:e1:sll1:xel1:yeeee",
		"d1:#i5e1:$i1e1:&d1:sli1e1:aee1:'3:abc1:<le1:=de1:zl1:xee",
		"d1:#i0e1:&de1:<le1:=de1:~64:" + strings.Repeat("s", 64) + "e",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b, nil, nil, DefaultLag, true)
		if err != nil {
			return
		}
		out := m.serialize(true)
		m2, err := parseMessage(out, nil, nil, DefaultLag, true)
		if err != nil {
			t.Fatalf("reparse %q (from %q): %v", out, b, err)
		}
		if out2 := m2.serialize(true); !bytes.Equal(out, out2) {
			t.Fatalf("not stable: %q -> %q", out, out2)
		}
	})
}

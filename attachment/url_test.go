package attachment

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const (
	testID     = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf"
	testServer = "b8eef9821445ae16e2e97ef8aa6fe782fd11ad5253cd6723b281341dba22e371"
)

func TestParseURL(t *testing.T) {
	base := "http://filev2.getsession.org/file/" + testID
	cases := []struct {
		in            string
		det           bool
		server, pkey  bool
		canonical, id string
	}{
		{in: base, canonical: base, id: testID},
		{in: base + "#d=", det: true, canonical: base + "#d=", id: testID},
		{in: base + "#d", det: true, canonical: base + "#d=", id: testID},
		{in: base + "#p=" + testServer + "&d=", det: true, server: true, canonical: base + "#p=" + testServer + "&d=", id: testID},
		{in: base + "#d&p=" + testServer, det: true, server: true, canonical: base + "#p=" + testServer + "&d=", id: testID},
		{in: base + "#d=&e=" + testServer, det: true, pkey: true, canonical: base + "#d=&e=" + testServer, id: testID},
		{in: base + "#x=1&d=yes", det: true, canonical: base + "#d=", id: testID},
		{in: base + "#", canonical: base, id: testID},
		{in: "https://files.example:8443/file/123", canonical: "https://files.example:8443/file/123", id: "123"},
	}
	for _, c := range cases {
		u, err := ParseURL(c.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.in, err)
			continue
		}
		if u.Deterministic != c.det || (u.ServerKey != nil) != c.server || (u.ProfileKey != nil) != c.pkey {
			t.Errorf("ParseURL(%q) = %+v", c.in, u)
		}
		if got := u.String(); got != c.canonical {
			t.Errorf("ParseURL(%q).String() = %q, want %q", c.in, got, c.canonical)
		}
		if got := u.FileID(); got != c.id {
			t.Errorf("ParseURL(%q).FileID() = %q, want %q", c.in, got, c.id)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	base := "http://filev2.getsession.org/file/" + testID
	bad := []string{
		"", "filev2.getsession.org/file/x", "ftp://h/file/x", "http:///file/x", "http://u:p@h/file/x",
		"http://h/", "http://h", "http://h/file/a.b", "http://h/file/%41", "mailto:x",
		base + "#p=00", base + "#p=" + strings.Repeat("zz", 32), base + "#e=" + testServer[:62],
		base + "#d&d", base + "#p=" + testServer + "&p=" + testServer, base + "#d=%zz",
		"http://h/file/" + strings.Repeat("a", maxURLLen),
	}
	for _, s := range bad {
		if u, err := ParseURL(s); !errors.Is(err, ErrURL) {
			t.Errorf("ParseURL(%q) = %+v, %v; want ErrURL", s, u, err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	base := "http://filev2.getsession.org/file/" + testID
	for _, s := range []string{base, base + "#d=", base + "#p=" + testServer + "&d=", base + "#d&e=" + testServer, "https://h:1/x/y#&&d", "http://h/file/1#%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			if !errors.Is(err, ErrURL) {
				t.Fatalf("ParseURL(%q): untyped error %v", s, err)
			}
			return
		}
		c := u.String()
		u2, err := ParseURL(c)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", c, s, err)
		}
		if u2.String() != c || u2.Base != u.Base || u2.Deterministic != u.Deterministic ||
			!bytes.Equal(u2.ServerKey, u.ServerKey) || !bytes.Equal(u2.ProfileKey, u.ProfileKey) {
			t.Fatalf("round trip of %q: %+v, then %+v", s, u, u2)
		}
	})
}

package lsu

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzBTJSON checks that any input decodes to something JSON can encode,
// without panicking.
func FuzzBTJSON(f *testing.F) {
	f.Add([]byte("d1:#i1e1:&d1:n3:Bobe1:<le1:=dee"))
	f.Add([]byte("l4:\x00\x01\x02\x03i-5ee"))
	f.Add([]byte("d1:a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := json.Marshal(btJSON(b)); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzJSONText checks that jsonText returns valid UTF-8, keeps valid input
// as it is, and writes one U+FFFD at most per input byte.
func FuzzJSONText(f *testing.F) {
	for _, s := range []string{"Bob", "\xff\x41\xc3", "a\xf0\x9f", "\xed\xa0\x80", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := jsonText(s)
		if !utf8.ValidString(got) {
			t.Fatalf("jsonText(%q) = %q, not UTF-8", s, got)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("jsonText changed valid %q to %q", s, got)
		}
		if utf8.RuneCountInString(got) > len(s) {
			t.Fatalf("jsonText(%q) = %q: more runes than input bytes", s, got)
		}
	})
}

// TestJSONText: each case was checked against the reference oracle (a
// set_name with name_hex, then the reply's name).
func TestJSONText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Bob", "Bob"},
		{"\xff\x41\xc3", "\ufffdA\ufffd"},      // oracle reply of name_hex ff41c3
		{"a\xf0\x9f", "a\ufffd"},               // a cut 4-byte sequence is one U+FFFD
		{"a\xf0\x9f\x41", "a\ufffdA"},          // the byte that breaks a sequence is read again
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"}, // a surrogate: ED accepts 80–9F only
		{"\xc0\xaf", "\ufffd\ufffd"},           // an overlong lead is invalid alone
	} {
		if got := jsonText(tc.in); got != tc.want {
			t.Errorf("jsonText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

package community

import "testing"

func TestJoinURL(t *testing.T) {
	pk := [32]byte{0xab}
	const hexPK = "ab00000000000000000000000000000000000000000000000000000000000000"
	for _, tc := range []struct{ base, token, want string }{
		{"https://chat.example.org", "lobby", "https://chat.example.org/lobby?public_key=" + hexPK},
		{"http://127.0.0.1:8080/", "a_b-1", "http://127.0.0.1:8080/a_b-1?public_key=" + hexPK},
		{"ftp://x", "lobby", ""},
		{"https://x?q=1", "lobby", ""},
		{"https://", "lobby", ""},
		{"https://x", "no/slash", ""},
		{"https://x", "", ""},
	} {
		got, err := JoinURL(tc.base, tc.token, pk)
		if (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("JoinURL(%q, %q) = %q, %v; want %q", tc.base, tc.token, got, err, tc.want)
		}
	}
}

package storagerpc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func goodCommunity(i byte) Community {
	return Community{URL: "https://chat" + string('a'+rune(i)) + ".example.org", Pubkey: strings.Repeat(string("0123456789abcdef"[i%16])+"1", 32),
		PubkeyEd25519: strings.Repeat("e"+string("0123456789abcdef"[i%16]), 32), Rooms: []string{"lobby", "dev_talk-2"}}
}

func TestCheckRooms(t *testing.T) {
	for _, ok := range [][]string{{"lobby"}, {"a", "B", "0", "_", "-"}, {strings.Repeat("x", 64)}, strings.Fields(strings.Repeat("r ", 1))} {
		if err := CheckRooms(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	many := make([]string, 33)
	for i := range many {
		many[i] = "r" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	for _, bad := range [][]string{nil, {}, {""}, {"lob by"}, {"lobby/x"}, {"é"}, {strings.Repeat("x", 65)}, {"a", "a"}, many} {
		if err := CheckRooms(bad); !errors.Is(err, ErrCommunity) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestCheckCommunities(t *testing.T) {
	a, b := goodCommunity(1), goodCommunity(2)
	if err := CheckCommunities([]Community{a, b}, false); err != nil {
		t.Fatal(err)
	}
	noEd := a
	noEd.PubkeyEd25519 = "" // a network file's entry
	if err := CheckCommunities([]Community{noEd}, false); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Community){
		"private URL":   func(c *Community) { c.URL = "http://127.0.0.1:80" },
		"bad URL":       func(c *Community) { c.URL = "ftp://chat.example.org" },
		"short pubkey":  func(c *Community) { c.Pubkey = c.Pubkey[2:] },
		"upper pubkey":  func(c *Community) { c.Pubkey = strings.Repeat("AB", 32) },
		"zero pubkey":   func(c *Community) { c.Pubkey = strings.Repeat("0", 64) },
		"bad ed25519":   func(c *Community) { c.PubkeyEd25519 = "zz" },
		"no rooms":      func(c *Community) { c.Rooms = nil },
		"bad room":      func(c *Community) { c.Rooms = []string{"a b"} },
		"repeated room": func(c *Community) { c.Rooms = []string{"a", "a"} },
	} {
		c := goodCommunity(3)
		mutate(&c)
		if err := CheckCommunities([]Community{c}, false); !errors.Is(err, ErrCommunity) {
			t.Errorf("%s: %v", name, err)
		}
	}
	dupURL := b
	dupURL.URL = a.URL
	dupKey := b
	dupKey.Pubkey = a.Pubkey
	for name, l := range map[string][]Community{"same URL": {a, dupURL}, "same key": {a, dupKey}} {
		if err := CheckCommunities(l, false); !errors.Is(err, ErrCommunity) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Private hosts are allowed on a devnet.
	c := goodCommunity(4)
	c.URL = "http://127.0.0.1:8080"
	if err := CheckCommunities([]Community{c}, true); err != nil {
		t.Fatal(err)
	}
}

func TestParseCommunityList(t *testing.T) {
	good, _ := json.Marshal(CommunityList{Height: 9, Communities: []Community{goodCommunity(1)}})
	l, err := ParseCommunityList(good, false)
	if err != nil || l.Height != 9 || len(l.Communities) != 1 || l.Communities[0].Rooms[0] != "lobby" {
		t.Fatalf("%+v, %v", l, err)
	}
	if l, err := ParseCommunityList([]byte(`{"height":1,"communities":[]}`), false); err != nil || len(l.Communities) != 0 {
		t.Fatalf("empty list: %+v, %v", l, err)
	}
	for _, bad := range []string{``, `[]`, `{"height":1}`, `{"height":1,"communities":[]} {}`, `{"height":1,"communities":[{"url":"https://a.example.org"}]}`} {
		if _, err := ParseCommunityList([]byte(bad), false); !errors.Is(err, ErrCommunity) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseCommunityList(f *testing.F) {
	good, _ := json.Marshal(CommunityList{Height: 9, Communities: []Community{goodCommunity(1), goodCommunity(2)}})
	f.Add(good)
	f.Add([]byte(`{"height":1,"communities":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseCommunityList(b, true)
		if err != nil {
			return
		}
		again, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseCommunityList(again, true); err != nil {
			t.Fatalf("a parsed list does not parse again: %v", err)
		}
	})
}

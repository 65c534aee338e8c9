package config

import (
	"testing"
)

// FuzzUserObjects loads any config data (as a merged message may carry)
// into each user object and reads and re-sets every entry: no reader or
// setter may panic, whatever the types and sizes found under the keys.
func FuzzUserObjects(f *testing.F) {
	f.Add([]byte("d1:cd33:\x05aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "d1:n3:Bob1:ei5e1:Ei-1eee1:nl1:ae1:+i9e1:qi3ee"))
	f.Add([]byte("d1:1d33:\x05bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbd1:ri5eee1:od15:https://foo.bard1:#2:pk1:Rd1:xd1:ri1eeeeee"))
	f.Add([]byte("d1:Cd33:\x05ccccccccccccccccccccccccccccccccd1:ali1e4:abcde1:ml33:\x05dddddddddddddddddddddddddddddddde1:n0:ee1:gd33:\x03eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeed1:K32:ffffffffffffffffffffffffffffffff1:s1:xeee"))
	acct := userAccount("fuzz")
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := readData(&btReader{b: b}, 0)
		if err != nil {
			return
		}
		load := func(c *Config) {
			c.Mutate(func(d Dict) bool {
				clear(d)
				for k, v := range data.Clone() {
					d[k] = v
				}
				return true
			})
		}
		p, err := NewUserProfile(Options{Account: acct})
		if err != nil {
			t.Fatal(err)
		}
		load(p.Config)
		_, _ = p.Name(), p.Pic()
		_, _ = p.NoteToSelfPriority(), p.NoteToSelfExpiry()
		_, _ = p.BlindedMsgReqs()
		_ = p.SetPic(p.Pic())

		cs, err := NewContacts(Options{Account: acct})
		if err != nil {
			t.Fatal(err)
		}
		load(cs.Config)
		_ = cs.Len()
		for _, c := range cs.All() {
			if got, ok := cs.Get(c.ID); !ok || got.Name != c.Name {
				t.Fatalf("Get(%s) disagrees with All", c.ID)
			}
			if err := cs.Set(c); err != nil {
				t.Fatalf("re-set %s: %v", c.ID, err)
			}
			cs.Erase(c.ID)
		}

		ci, err := NewConvoInfo(Options{Account: acct})
		if err != nil {
			t.Fatal(err)
		}
		load(ci.Config)
		_ = ci.Len()
		for _, cv := range ci.All() {
			// Like libsession, Get finds a community only under its
			// canonical URL.
			if u, _ := CanonicalURL(cv.Community.BaseURL); cv.Kind != ConvoCommunity || u == cv.Community.BaseURL {
				if _, ok := ci.Get(cv); !ok {
					t.Fatalf("Get(%+v) misses an entry of All", cv)
				}
			}
			_ = ci.Set(cv) // a stored room may not be a valid address
			ci.Erase(cv)
		}
		ci.Prune()

		ug, err := NewUserGroups(Options{Account: acct})
		if err != nil {
			t.Fatal(err)
		}
		load(ug.Config)
		_ = ug.Len()
		for _, g := range ug.Groups() {
			if err := ug.SetGroup(g); err != nil {
				t.Fatal(err)
			}
			ug.EraseGroup(g.ID)
		}
		for _, g := range ug.LegacyGroups() {
			if err := ug.SetLegacyGroup(g); err != nil {
				t.Fatal(err)
			}
			_ = ug.EraseLegacyGroup(g.ID)
		}
		for _, c := range ug.Communities() {
			_ = ug.SetCommunity(c)
			ug.EraseCommunity(c.BaseURL, c.Room)
		}
	})
}

// FuzzCanonicalURL checks that a canonical URL is its own canonical form.
func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{"https://Example.ORG:443/", "http://foo.bar:8080", "http://a.b", "ftp://x.y", "http://x.y:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := CanonicalURL(s)
		if err != nil {
			return
		}
		v, err := CanonicalURL(u)
		if err != nil || v != u {
			t.Fatalf("CanonicalURL(%q) = %q, then %q, %v", s, u, v, err)
		}
	})
}

// FuzzDecodeCommunityPubkey checks that the hex form of any decoded key
// decodes to the same key.
func FuzzDecodeCommunityPubkey(f *testing.F) {
	for _, s := range []string{
		"a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238",
		"wy6dox8s8o6r79u8iun1nrig5i3wsqwwpqkwm7reikwu5jh3nehy",
		"oDw4PPY8PE7+Z6zFIRKm3XNLOpRrlUX0iKqpPaeZEjg=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pk, err := DecodeCommunityPubkey(s)
		if err != nil {
			return
		}
		again, err := DecodeCommunityPubkey(hexString(pk[:]))
		if err != nil || again != pk {
			t.Fatalf("%q: %x, then %x, %v", s, pk, again, err)
		}
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

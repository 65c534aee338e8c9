package groups

import (
	"crypto/ed25519"
	"testing"

	"sotto.dev/config"
)

// FuzzMergeGarbage merges arbitrary bytes into the info and members of an
// admin and of a member, both already holding a valid message: nothing
// may panic, and the objects stay readable and dumpable.
func FuzzMergeGarbage(f *testing.F) {
	sk := testGroupKey("fuzz")
	admInfo, _ := NewInfo(adminOpts(sk))
	_ = admInfo.SetName("g")
	admMembers, _ := NewMembers(adminOpts(sk))
	_ = admMembers.Set(Member{ID: testMemberID(f, 1), Name: "m", Invite: InviteSent})
	pi, err := admInfo.Push()
	if err != nil {
		f.Fatal(err)
	}
	pm, err := admMembers.Push()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pi.Messages[0])
	f.Add(pm.Messages[0])
	f.Add([]byte("d1:#i1e1:&de1:<le1:=dee"))
	f.Add(make([]byte, 256))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, opts := range []config.Options{adminOpts(sk), memberOpts(sk)} {
			in, err := NewInfo(opts)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := NewMembers(opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := in.Merge([]config.Incoming{{Hash: "i", Data: pi.Messages[0]}}); err != nil {
				t.Fatal(err)
			}
			if _, err := ms.Merge([]config.Incoming{{Hash: "m", Data: pm.Messages[0]}}); err != nil {
				t.Fatal(err)
			}
			_, _ = in.Merge([]config.Incoming{{Hash: "x", Data: b}})
			_, _ = ms.Merge([]config.Incoming{{Hash: "x", Data: b}})
			_ = in.Fields()
			for _, m := range ms.All() {
				if _, ok := ms.Get(m.ID); !ok {
					t.Fatalf("Get(%s) misses a member of All", m.ID)
				}
			}
			if _, err := NewMembers(config.Options{Signer: sk, Dump: ms.Dump()}); err != nil {
				t.Fatalf("reload dump: %v", err)
			}
		}
	})
}

// FuzzMembersData loads any data dict into a members object (as a merged
// message may carry) and reads and re-sets every member.
func FuzzMembersData(f *testing.F) {
	f.Add([]byte("d1:md33:\x05aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad1:Ai1e1:Ii5e1:n3:Bob1:si1eeee"))
	f.Add([]byte("d1:md3:abcd1:n0:e33:\x03bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbi5eee"))
	sk := testGroupKey("fuzzdata")
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := config.DecodeBT(b)
		if err != nil {
			return
		}
		raw, ok := v.(map[string]any)
		if !ok {
			return
		}
		data, ok := toDict(raw)
		if !ok {
			return
		}
		ms, err := NewMembers(adminOpts(sk))
		if err != nil {
			t.Fatal(err)
		}
		ms.Mutate(func(d config.Dict) bool {
			for k, v := range data {
				d[k] = v
			}
			return true
		})
		in, _ := NewInfo(adminOpts(sk))
		in.Mutate(func(d config.Dict) bool {
			for k, v := range data.Clone() {
				d[k] = v
			}
			return true
		})
		_ = in.Fields()
		for _, m := range ms.All() {
			_ = ms.Set(m) // an ID with another prefix is refused
			_, _ = ms.Erase(m.ID)
		}
	})
}

// toDict converts a decoded bt dict to a config.Dict (lists become sets of
// scalars); ok is false for what a config cannot hold.
func toDict(m map[string]any) (config.Dict, bool) {
	d := config.Dict{}
	for k, v := range m {
		switch v := v.(type) {
		case int64, string:
			d[k] = v
		case map[string]any:
			sub, ok := toDict(v)
			if !ok {
				return nil, false
			}
			d[k] = sub
		case []any:
			s := config.Set{}
			for _, e := range v {
				switch e.(type) {
				case int64, string:
					s[e] = struct{}{}
				default:
					return nil, false
				}
			}
			d[k] = s
		default:
			return nil, false
		}
	}
	return d, true
}

// FuzzOpenDumps opens a group from arbitrary info and members dumps: Open
// either fails or gives objects that read, change and dump again.
func FuzzOpenDumps(f *testing.F) {
	sk := testGroupKey("fuzzdump")
	ms, _ := NewMembers(adminOpts(sk))
	_ = ms.Set(NewMember(testMemberID(f, 1)))
	in, _ := NewInfo(adminOpts(sk))
	_ = in.SetName("n")
	f.Add(in.Dump(), ms.Dump())
	f.Add([]byte("d1:!i1e1:$3:abce"), []byte("d1:!i0e1:$23:d1:#i0e1:&de1:<le1:=dee1:+d16:pending_send_idsl1:xeee"))
	user := testGroupKey("fuzzuser")
	f.Fuzz(func(t *testing.T, infoDump, membersDump []byte) {
		for _, secret := range []ed25519.PrivateKey{sk, nil} {
			g, err := Open(Options{User: user, Public: sk.Public().(ed25519.PublicKey), Secret: secret,
				InfoDump: infoDump, MembersDump: membersDump})
			if err != nil {
				continue
			}
			_ = g.Info.Fields()
			for _, m := range g.Members.All() {
				_ = g.Members.Set(m)
			}
			_ = g.Info.SetName("x")
			_, _ = g.Members.Erase(testMemberID(t, 1))
			if _, err := NewInfo(config.Options{Signer: sk, Dump: g.Info.Dump()}); err != nil {
				t.Fatalf("info dump does not reload: %v", err)
			}
			if _, err := NewMembers(config.Options{Signer: sk, Dump: g.Members.Dump()}); err != nil {
				t.Fatalf("members dump does not reload: %v", err)
			}
		}
	})
}

package groups

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"
)

// vectorInputs returns the key messages and group message ciphertexts of
// the vectors, as fuzz seeds.
func vectorInputs(t testing.TB) (keyMsgs, ciphertexts [][]byte) {
	for _, v := range loadVectors(t) {
		for _, c := range v.Calls {
			results, _ := c.Response["results"].([]any)
			for _, r := range results {
				res, _ := r.(map[string]any)
				for _, f := range []string{"key_message", "supplement_message"} {
					if s, ok := res[f].(string); ok {
						b, _ := hex.DecodeString(s)
						keyMsgs = append(keyMsgs, b)
					}
				}
				if s, ok := res["ciphertext"].(string); ok {
					b, _ := hex.DecodeString(s)
					ciphertexts = append(ciphertexts, b)
				}
			}
		}
	}
	return keyMsgs, ciphertexts
}

// FuzzLoad loads arbitrary key messages into a member's and an admin's
// Keys: never a panic, a rejected message changes nothing, and the state
// survives a dump and restore.
func FuzzLoad(f *testing.F) {
	group := testGroup(f)
	a, m := newTestUser(f, "admin"), newTestUser(f, "m")
	admin := newTestKeys(f, a, group, true)
	good, err := admin.Rekey(ids(a, m))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	if supp, err := func() ([]byte, error) {
		if _, err := admin.Load("h", good, 1); err != nil {
			return nil, err
		}
		return admin.Supplement(ids(m))
	}(); err == nil {
		f.Add(supp)
	}
	f.Add([]byte("d1:#24:nnnnnnnnnnnnnnnnnnnnnnnn1:Gi0e1:K48:kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk1:klee"))
	keyMsgs, _ := vectorInputs(f)
	for _, msg := range keyMsgs {
		if len(msg) < 8<<10 {
			f.Add(msg)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range []*Keys{newTestKeys(t, m, group, false), newTestKeys(t, a, group, true)} {
			if _, err := k.Load("h0", good, 1); err != nil {
				t.Fatal(err)
			}
			before := k.Dump()
			_, err := k.Load("h1", data, 2)
			after := k.Dump()
			if err != nil && !bytes.Equal(before, after) {
				t.Fatalf("rejected message changed the state: %v", err)
			}
			r, err := NewKeys(KeysOptions{User: k.user, GroupPublic: k.groupPublic, GroupSecret: k.groupSecret, Dump: after})
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			if len(r.EncryptionKeys()) != len(k.EncryptionKeys()) {
				t.Fatal("restored Keys differs")
			}
		}
	})
}

// FuzzDecryptMessage decrypts arbitrary ciphertexts (rarely valid) and
// parses arbitrary message bodies, which the AEAD keeps fuzzing from
// reaching: never a panic, never a plaintext over MaxMessageSize.
func FuzzDecryptMessage(f *testing.F) {
	admin, member, m := messageKeys(f)
	for _, pt := range [][]byte{[]byte("hi"), bytes.Repeat([]byte("squash "), 100)} {
		ct, err := member.EncryptMessage(pt, true, DefaultPadding)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
	}
	_, cts := vectorInputs(f)
	for _, ct := range cts {
		f.Add(ct)
	}
	a := m.sk[32:]
	f.Add(body("0:i1e", "1:a"+btStr(a), "1:d2:hi", "1:s64:"+string(make([]byte, 64))))
	f.Add(body("0:i1e", "1:a"+btStr(a), "1:s64:"+string(make([]byte, 64)), "1:z4:zzzz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, pt, err := admin.DecryptMessage(data); err == nil && len(pt) > MaxMessageSize {
			t.Fatal("plaintext over MaxMessageSize")
		}
		if _, pt, err := parseMessage(bytes.Clone(data)); err == nil && len(pt) > MaxMessageSize {
			t.Fatal("plaintext over MaxMessageSize")
		}
	})
}

// FuzzDump restores arbitrary dumps: never a panic, and a restored Keys
// dumps to something that restores again.
func FuzzDump(f *testing.F) {
	admin, member, _ := messageKeys(f)
	f.Add(admin.Dump())
	f.Add(member.Dump())
	f.Add([]byte("d1:Ale1:Lee"))
	group := testGroup(f)
	u := newTestUser(f, "m")
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := NewKeys(KeysOptions{User: u.sk, GroupPublic: group.Public().(ed25519.PublicKey), Dump: data})
		if err != nil {
			return
		}
		if _, err := NewKeys(KeysOptions{User: u.sk, GroupPublic: group.Public().(ed25519.PublicKey), Dump: k.Dump()}); err != nil {
			t.Fatalf("a dump of a restored Keys does not restore: %v", err)
		}
	})
}

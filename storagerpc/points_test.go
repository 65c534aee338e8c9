package storagerpc

import (
	"crypto/rand"
	"testing"

	"filippo.io/edwards25519"
	"sotto.dev/identity"
	"sotto.dev/key"
)

// decodedSmallOrder is the reference the cheap checks replaced: decode the
// point and multiply by the cofactor. ok is false when b is not a point.
func decodedSmallOrder(b []byte) (small, ok bool) {
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return false, false
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1, true
}

// The eight small-order points, generated as the multiples of a point of
// order 8, are exactly the points hasSmallOrder flags.
func TestSmallOrderPoints(t *testing.T) {
	// A point of order 8: the y computed by smallOrderYs, decoded.
	t8, err := new(edwards25519.Point).SetBytes(smallOrderY[3].Bytes())
	if err != nil {
		t.Fatalf("y8 is not on the curve: %v", err)
	}
	id := edwards25519.NewIdentityPoint()
	seen := map[[32]byte]bool{}
	p := edwards25519.NewIdentityPoint()
	for k := range 8 {
		enc := [32]byte(p.Bytes())
		if k > 0 && p.Equal(id) == 1 {
			t.Fatalf("[%d]T8 is the identity: T8 has order %d, not 8", k, k)
		}
		if !hasSmallOrder(&enc) {
			t.Errorf("[%d]T8 = %x not flagged", k, enc)
		}
		if small, _ := decodedSmallOrder(enc[:]); !small {
			t.Errorf("[%d]T8 = %x has large order", k, enc)
		}
		seen[enc] = true
		p.Add(p, t8)
	}
	if p.Equal(id) != 1 || len(seen) != 8 {
		t.Fatalf("%d distinct multiples, [8]T8 identity: %v", len(seen), p.Equal(id) == 1)
	}
	// Non-canonical encodings of y = 0 and y = 1 (p and p + 1), either sign.
	for _, low := range []byte{0xed, 0xee} {
		for _, sign := range []byte{0, 0x80} {
			var b [32]byte
			for i := range b {
				b[i] = 0xff
			}
			b[0], b[31] = low, 0x7f|sign
			if !hasSmallOrder(&b) {
				t.Errorf("non-canonical %x not flagged", b)
			}
		}
	}
}

// The cheap checks agree with decoding on every point; they differ only on
// encodings that are not points, which ed25519.Verify rejects anyway.
func checkPointRules(t *testing.T, b [32]byte) {
	small, isPoint := decodedSmallOrder(b[:])
	if !isPoint {
		return
	}
	if hasSmallOrder(&b) != small {
		t.Fatalf("%x: hasSmallOrder %v, decoded %v", b, hasSmallOrder(&b), small)
	}
	p, _ := new(edwards25519.Point).SetBytes(b[:])
	canonical := string(p.Bytes()) == string(b[:])
	if strongKey(&b) != (canonical && !small) {
		t.Fatalf("%x: strongKey %v, canonical %v, small %v", b, strongKey(&b), canonical, small)
	}
	if x, err := identity.Ed25519ToX25519(key.AccountPublic(b)); err == nil {
		u, ok := edwardsToMontgomery(&b)
		if !ok || u != [32]byte(x) {
			t.Fatalf("%x: edwardsToMontgomery %x %v, identity %x", b, u, ok, x)
		}
	}
}

func TestPointRules(t *testing.T) {
	for range 200 {
		k, _, err := identity.NewKeys()
		if err != nil {
			t.Fatal(err)
		}
		pk := [32]byte(k.Ed25519Public())
		checkPointRules(t, pk)
		neg := pk
		neg[31] ^= 0x80 // −A: same image
		checkPointRules(t, neg)
		if u1, _ := edwardsToMontgomery(&pk); u1 != [32]byte(k.SessionID().Key()) {
			t.Fatalf("image of %x is not the account key", pk)
		}
		if u1, u2 := mustImage(t, pk), mustImage(t, neg); u1 != u2 {
			t.Fatal("A and −A have different images")
		}
		var junk [32]byte
		rand.Read(junk[:])
		checkPointRules(t, junk)
	}
	if _, ok := edwardsToMontgomery(&[32]byte{1}); ok {
		t.Error("the identity has an image")
	}
	if canonicalY(&[32]byte{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}) {
		t.Error("y = p is canonical")
	}
}

func mustImage(t *testing.T, b [32]byte) [32]byte {
	u, ok := edwardsToMontgomery(&b)
	if !ok {
		t.Fatalf("no image for %x", b)
	}
	return u
}

func FuzzPointRules(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add([]byte{1, 31: 0})
	f.Add(smallOrderY[3].Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 32 {
			return
		}
		checkPointRules(t, [32]byte(b))
	})
}

func TestKeyCache(t *testing.T) {
	key := func(i byte) *key.AccountPublic { return &key.AccountPublic{i} }
	c := NewKeyCache(2)
	c.add(key(1), [32]byte{11})
	c.add(key(2), [32]byte{12})
	if x, ok := c.get(key(1)); !ok || x[0] != 11 { // 1 is now the most recent
		t.Fatalf("get 1: %x %v", x, ok)
	}
	c.add(key(3), [32]byte{13}) // evicts 2, the least recently used
	for _, tc := range []struct {
		k    byte
		want bool
	}{{1, true}, {2, false}, {3, true}} {
		if _, ok := c.get(key(tc.k)); ok != tc.want {
			t.Errorf("key %d cached %v, want %v", tc.k, ok, tc.want)
		}
	}
	c.add(key(3), [32]byte{99}) // already there: kept as verified first
	if x, _ := c.get(key(3)); x[0] != 13 {
		t.Errorf("re-adding replaced the image: %x", x)
	}
	if st := c.Stats(); st.Len != 2 || st.Hits != 4 || st.Misses != 1 {
		t.Errorf("stats %+v", st)
	}
	if NewKeyCache(0).c.max != 1 {
		t.Error("size 0 is not raised to 1")
	}
}

// Only verified keys enter the cache.
func TestKeyCacheOnlyVerified(t *testing.T) {
	u := newUser(t, 3)
	msg := RetrieveSigMessage(NamespaceDefault, testNow.UnixMilli())
	auth := u.auth(msg)
	c := NewKeyCache(8)
	bad := append([]byte{}, msg...)
	bad[0] ^= 1
	if verifyAuth(u.acct, auth, bad, 0, nil, authCaches{keys: c}) == nil {
		t.Fatal("bad signature accepted")
	}
	if c.Stats().Len != 0 {
		t.Fatal("a key whose signature failed was cached")
	}
	if err := verifyAuth(u.acct, auth, msg, 0, nil, authCaches{keys: c}); err != nil {
		t.Fatal(err)
	}
	if err := verifyAuth(u.acct, auth, msg, 0, nil, authCaches{keys: c}); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Len != 1 || st.Hits != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func BenchmarkEdwardsToMontgomery(b *testing.B) {
	u := newUser(b, 1)
	pk := [32]byte(u.ed)
	for b.Loop() {
		if _, ok := edwardsToMontgomery(&pk); !ok {
			b.Fatal("no image")
		}
	}
}

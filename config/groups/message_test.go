package groups

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/chacha20poly1305"
)

// messageKeys returns an admin and a member Keys sharing generation 0.
func messageKeys(t testing.TB) (admin, member *Keys, m testUser) {
	group := testGroup(t)
	a := newTestUser(t, "admin")
	m = newTestUser(t, "m")
	admin, member = newTestKeys(t, a, group, true), newTestKeys(t, m, group, false)
	msg, err := admin.Rekey(ids(a, m))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Keys{admin, member} {
		if _, err := k.Load("h", msg, 1); err != nil {
			t.Fatal(err)
		}
	}
	return admin, member, m
}

func TestMessageRoundTrip(t *testing.T) {
	admin, member, m := messageKeys(t)
	for _, tc := range []struct {
		pt       []byte
		compress bool
		padding  int
	}{
		{[]byte("hi"), true, DefaultPadding},
		{[]byte("hi"), false, 0},
		{[]byte("hi"), true, 1},
		{[]byte("x"), true, 100},
		{bytes.Repeat([]byte("squash "), 3000), true, DefaultPadding},
		{bytes.Repeat([]byte("squash "), 3000), false, DefaultPadding},
		{make([]byte, MaxMessageSize), true, DefaultPadding},
	} {
		ct, err := member.EncryptMessage(tc.pt, tc.compress, tc.padding)
		if err != nil {
			t.Fatal(err)
		}
		if tc.padding > 1 && len(ct)%tc.padding != 0 {
			t.Errorf("%d-byte ciphertext is not a multiple of %d", len(ct), tc.padding)
		}
		sender, pt, err := admin.DecryptMessage(ct)
		if err != nil {
			t.Fatal(err)
		}
		if sender != m.id || !bytes.Equal(pt, tc.pt) {
			t.Errorf("DecryptMessage = %s, %.20q", sender, pt)
		}
	}
}

func TestMessageErrors(t *testing.T) {
	admin, member, m := messageKeys(t)
	// libsession 1.2.0 (the oracle): "Cannot encrypt plaintext: message
	// size is too large" above 1,000,000 bytes.
	if _, err := member.EncryptMessage(make([]byte, MaxMessageSize+1), true, DefaultPadding); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("EncryptMessage(too large) = %v", err)
	}
	ct, err := member.EncryptMessage([]byte("hi"), true, DefaultPadding)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 30, len(ct) - 1} {
		bad := bytes.Clone(ct)
		bad[i] ^= 1
		if _, _, err := admin.DecryptMessage(bad); !errors.Is(err, ErrNoMessageKey) {
			t.Errorf("tampered byte %d: %v", i, err)
		}
	}
	if _, _, err := admin.DecryptMessage(ct[:39]); !errors.Is(err, ErrMessageFormat) {
		t.Errorf("short ciphertext: %v", err)
	}

	// Bodies sealed with the group key.
	key := admin.EncryptionKeys()[0]
	seal := func(body []byte) []byte {
		a, _ := chacha20poly1305.NewX(key[:])
		nonce := make([]byte, 24)
		return a.Seal(nonce, nonce, body, nil)
	}
	a := m.sk[32:]
	d := []byte("hi")
	sig := ed25519.Sign(m.sk, d)
	enc, _ := zstd.NewWriter(nil)
	bomb := enc.EncodeAll(make([]byte, MaxMessageSize+1), nil)
	for _, tc := range []struct {
		body []byte
		want error
	}{
		{body("0:i2e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(sig)), ErrMessageVersion},
		{body("0:i1e", "1:a"+btStr(a), "1:d"+btStr([]byte("ho")), "1:s"+btStr(sig)), ErrMessageSignature},
		{body("0:i1e", "1:a"+btStr(a), "1:s"+btStr(ed25519.Sign(m.sk, bomb)), "1:z"+btStr(bomb)), ErrMessageTooLarge},
		{body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d)), ErrMessageFormat},
		{[]byte("garbage"), ErrMessageFormat},
		{nil, ErrMessageFormat},
	} {
		if _, _, err := admin.DecryptMessage(seal(tc.body)); !errors.Is(err, tc.want) {
			t.Errorf("body %.30q: %v, want %v", tc.body, err, tc.want)
		}
	}
}

func TestMessageRandError(t *testing.T) {
	group := testGroup(t)
	a := newTestUser(t, "a")
	k, err := NewKeys(KeysOptions{User: a.sk, GroupPublic: group.Public().(ed25519.PublicKey), GroupSecret: group, Rand: bytes.NewReader(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Rekey(ids(a)); err != nil {
		t.Fatal(err)
	}
	if _, err := k.EncryptMessage([]byte("x"), true, DefaultPadding); err == nil {
		t.Fatal("EncryptMessage succeeded without randomness")
	}
}

func btStr(b []byte) string { return string(appendBytes(nil, b)) }

func body(entries ...string) []byte {
	b := []byte{'d'}
	for _, e := range entries {
		b = append(b, e...)
	}
	return append(b, 'e')
}

package identity

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"filippo.io/edwards25519"

	"sotto.dev/internal/vectors"
	"sotto.dev/key"
)

func TestIdentitySeed16Padded(t *testing.T) {
	v := vectors.Get(t, "identity.seed16_padded_1")
	seed16, seed32 := v.InHex(t, "seed16"), v.InHex(t, "seed32")
	for _, seed := range [][]byte{seed16, seed32} {
		k := mustKeys(t, seed)
		if got, want := k.Ed25519Public().String(), v.OutString(t, "ed25519_pk"); got != want {
			t.Errorf("seed %d bytes: ed25519 pk = %s, want %s", len(seed), got, want)
		}
		if got, want := k.X25519Public().String(), v.OutString(t, "x25519_pk"); got != want {
			t.Errorf("seed %d bytes: x25519 pk = %s, want %s", len(seed), got, want)
		}
		if got, want := k.SessionID().String(), v.OutString(t, "session_id"); got != want {
			t.Errorf("seed %d bytes: session id = %s, want %s", len(seed), got, want)
		}
		if !bytes.Equal(k.Seed(), seed) {
			t.Errorf("Seed() = %x, want the seed as given %x", k.Seed(), seed)
		}
		if s32 := k.Seed32(); !bytes.Equal(s32[:], seed32) {
			t.Errorf("Seed32() = %x, want %x", s32, seed32)
		}
	}
}

func TestIdentityEd25519Keypair(t *testing.T) {
	v := vectors.Get(t, "identity.ed25519_keypair_1")
	k := mustKeys(t, v.InHex(t, "seed32"))
	if got := k.Ed25519Public(); !bytes.Equal(got[:], v.OutHex(t, "ed25519_pk")) {
		t.Errorf("ed25519 pk = %x", got)
	}
	if got := k.Ed25519Private(); !bytes.Equal(got, v.OutHex(t, "ed25519_sk64")) {
		t.Errorf("ed25519 sk64 = %x", []byte(got))
	}
	if got := k.X25519Private(); !bytes.Equal(got[:], v.OutHex(t, "x25519_sk")) {
		t.Error("x25519 sk differs from the vector")
	}
	if got := k.Sign([]byte("hello")); !bytes.Equal(got[:], v.OutHex(t, "signature_of_hello")) {
		t.Errorf("signature of hello = %x", got)
	}
	// The scalar is the clamped X25519 secret reduced mod L, and a·B = A.
	A := new(edwards25519.Point).ScalarBaseMult(k.Scalar())
	if pk := k.Ed25519Public(); !bytes.Equal(A.Bytes(), pk[:]) {
		t.Errorf("Scalar()·B = %x, want the public key %x", A.Bytes(), pk)
	}
}

func TestEd25519ToX25519Vector(t *testing.T) {
	v := vectors.Get(t, "identity.ed_to_x25519_pubkey")
	pk, err := key.AccountPublicFromBytes(v.InHex(t, "ed25519_pk"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := Ed25519ToX25519(pk)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := x.String(), v.OutString(t, "x25519_pk"); got != want {
		t.Errorf("x25519 = %s, want %s", got, want)
	}
}

// smallOrderPoint returns a point of order 8 (an encoding from the list of
// low-order points every Ed25519 implementation rejects).
func smallOrderPoint(t *testing.T) []byte {
	t.Helper()
	return mustHex(t, "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
}

func TestEd25519ToX25519Rejects(t *testing.T) {
	k := mustKeys(t, make([]byte, 32))
	pk := k.Ed25519Public()
	A, err := new(edwards25519.Point).SetBytes(pk[:])
	if err != nil {
		t.Fatal(err)
	}
	T, err := new(edwards25519.Point).SetBytes(smallOrderPoint(t))
	if err != nil {
		t.Fatal(err)
	}
	mixed := new(edwards25519.Point).Add(A, T).Bytes()
	notOnCurve := mustHex(t, "0200000000000000000000000000000000000000000000000000000000000000")
	identityPt := edwards25519.NewIdentityPoint().Bytes()

	cases := []struct {
		name   string
		in     []byte
		reason string
	}{
		{"not on curve", notOnCurve, "not a point"},
		{"identity", identityPt, "small order"},
		{"order 8", smallOrderPoint(t), "small order"},
		{"torsion component", mixed, "prime-order subgroup"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Ed25519ToX25519(key.AccountPublic(c.in))
			var pe *PointError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *PointError", err)
			}
			if !strings.Contains(pe.Reason, c.reason) {
				t.Errorf("reason %q does not mention %q", pe.Reason, c.reason)
			}
		})
	}
}

func TestXEd25519Public(t *testing.T) {
	v := vectors.Get(t, "blinding.libsession.keys")
	cases := []struct{ sessionID, want string }{
		{v.OutString(t, "session_id1"), v.OutString(t, "ed_pk1")},
		{v.OutString(t, "session_id2"), v.OutString(t, "ed_pk2_abs")},
	}
	for _, c := range cases {
		id := mustID(t, c.sessionID)
		got, err := XEd25519Public(key.BoxPublic(id.Key()))
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != c.want {
			t.Errorf("XEd25519Public(%s) = %s, want %s", id, got, c.want)
		}
		back, err := Ed25519ToX25519(got)
		if err != nil {
			t.Fatal(err)
		}
		if back != key.BoxPublic(id.Key()) {
			t.Errorf("Ed25519ToX25519(XEd25519Public(x)) = %s, want %x", back, id.Key())
		}
	}

	// u = p−1 (≡ −1) has no Edwards image; u = 2 lies on the twist.
	minusOne := mustHex32(t, "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	for _, x := range [][32]byte{minusOne, {2}} {
		var pe *PointError
		if _, err := XEd25519Public(x); !errors.As(err, &pe) {
			t.Errorf("XEd25519Public(%x): err = %v, want *PointError", x, err)
		}
	}
}

func TestKeysFromSeedBadLength(t *testing.T) {
	for _, n := range []int{0, 1, 15, 17, 24, 31, 33, 64} {
		k, err := KeysFromSeed(make([]byte, n))
		var le *LengthError
		if !errors.As(err, &le) || k != nil {
			t.Errorf("KeysFromSeed(%d bytes) = %v, %v; want nil, *LengthError", n, k, err)
			continue
		}
		if le.Got != n {
			t.Errorf("LengthError.Got = %d, want %d", le.Got, n)
		}
	}
}

func TestNewKeys(t *testing.T) {
	k, seed, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(seed) != SeedLen16 {
		t.Fatalf("seed is %d bytes, want 16", len(seed))
	}
	k2 := mustKeys(t, seed)
	if k.SessionID() != k2.SessionID() {
		t.Error("NewKeys keys differ from KeysFromSeed(seed)")
	}
	k3, _, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	if k3.SessionID() == k.SessionID() {
		t.Error("two NewKeys calls gave the same account")
	}
	// The X25519 public key is the X25519 image of the secret.
	if id := k.SessionID(); id.Prefix() != key.PrefixStandard {
		t.Errorf("prefix = %s", id.Prefix())
	}
}

func TestSecretsRedacted(t *testing.T) {
	k := mustKeys(t, bytes.Repeat([]byte{0xab}, 32))
	x := k.X25519Private()
	secretHex := []string{hex.EncodeToString(x[:]), "abababab"}
	bp, err := k.Blind15([32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	log.Info("test", "xpriv", x, "keys", k, "blinded", bp)

	outputs := []string{
		fmt.Sprintf("%v %+v %#v %s %x %X %q", x, x, x, x, x, x, x),
		fmt.Sprintf("%v %+v %#v %s %x", k, k, k, k, k),
		fmt.Sprint(x, k),
		fmt.Sprintf("%x %v", bp, bp),
		logged.String(),
	}
	scalarHex := hex.EncodeToString(bp.Scalar.Bytes())
	secretHex = append(secretHex, scalarHex)
	for _, out := range outputs {
		for _, s := range secretHex {
			if strings.Contains(strings.ToLower(out), s) {
				t.Errorf("output %q reveals secret %s", out, s)
			}
		}
	}
	if !strings.Contains(logged.String(), "REDACTED") {
		t.Errorf("log output %q has no REDACTED marker", logged.String())
	}
}

func TestBoxPrivateEqual(t *testing.T) {
	a := mustKeys(t, make([]byte, 16)).X25519Private()
	b := mustKeys(t, make([]byte, 16)).X25519Private()
	c := mustKeys(t, bytes.Repeat([]byte{1}, 16)).X25519Private()
	if !a.Equal(&b) || a.Equal(&c) {
		t.Error("Equal gives the wrong answer")
	}
}

func TestWipe(t *testing.T) {
	k := mustKeys(t, bytes.Repeat([]byte{0x42}, 16))
	seed := k.seed // the slice Keys owns
	priv := k.edPriv
	k.Wipe()
	if !bytes.Equal(seed, make([]byte, 16)) || !bytes.Equal(priv, make([]byte, 64)) {
		t.Error("Wipe left secret bytes in place")
	}
	if k.seed32 != [32]byte{} || k.xPriv != (key.BoxPrivate{}) || k.hashHi != [32]byte{} || k.sk64Hi != [32]byte{} {
		t.Error("Wipe left derived secrets in place")
	}
	if k.scalar.Equal(edwards25519.NewScalar()) != 1 {
		t.Error("Wipe left the scalar in place")
	}
}

func TestSignVerifies(t *testing.T) {
	k := mustKeys(t, bytes.Repeat([]byte{3}, 16))
	msg := []byte("message")
	sig := k.Sign(msg)
	pk := k.Ed25519Public()
	if !ed25519.Verify(pk[:], msg, sig[:]) {
		t.Error("signature does not verify")
	}
}

func BenchmarkKeysFromSeed(b *testing.B) {
	seed := bytes.Repeat([]byte{9}, 16)
	for b.Loop() {
		if _, err := KeysFromSeed(seed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519ToX25519(b *testing.B) {
	k, _, err := NewKeys()
	if err != nil {
		b.Fatal(err)
	}
	pk := k.Ed25519Public()
	for b.Loop() {
		if _, err := Ed25519ToX25519(pk); err != nil {
			b.Fatal(err)
		}
	}
}

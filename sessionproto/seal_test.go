package sessionproto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"

	"sotto.dev/identity"
	"sotto.dev/internal/vectors"
	"sotto.dev/key"
)

func TestSealDeterministicVector(t *testing.T) {
	v := vectors.Get(t, "session_protocol.deterministic_encrypt")
	sender := keysFromBytes(t, v.InHex(t, "sender_ed25519_seed"))
	recipientID := parseID(t, v.InString(t, "recipient_session_id"))
	msg := []byte(v.InString(t, "plaintext_utf8"))

	ct, err := SealDeterministic(sender, recipientID, msg)
	if err != nil {
		t.Fatal(err)
	}
	if want := v.OutHex(t, "ciphertext"); !bytes.Equal(ct, want) {
		t.Fatalf("SealDeterministic =\n %x\nwant\n %x", ct, want)
	}

	recipient := keysFromBytes(t, v.OutHex(t, "decrypts_with_recipient_seed"))
	if recipient.SessionID() != recipientID {
		t.Fatalf("recipient seed gives %s, vector says %s", recipient.SessionID(), recipientID)
	}
	op, err := Open(recipient, ct)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(op.Plaintext, msg) {
		t.Errorf("Open plaintext = %q, want %q", op.Plaintext, msg)
	}
	if want := v.OutHex(t, "sender_ed25519_pk"); !bytes.Equal(op.SenderEd25519[:], want) {
		t.Errorf("sender Ed25519 = %x, want %x", op.SenderEd25519, want)
	}
	if op.Sender != sender.SessionID() {
		t.Errorf("sender = %s, want %s", op.Sender, sender.SessionID())
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	alice, bob := newKeys(t), newKeys(t)
	for _, size := range []int{0, 1, 159, 160, 1120, 70000} {
		m := make([]byte, size)
		rand.Read(m)
		for _, seal := range []struct {
			name string
			fn   func(*identity.Keys, key.SessionID, []byte) ([]byte, error)
		}{{"Seal", Seal}, {"SealDeterministic", SealDeterministic}} {
			ct, err := seal.fn(alice, bob.SessionID(), m)
			if err != nil {
				t.Fatalf("%s(%d bytes): %v", seal.name, size, err)
			}
			if len(ct) != size+SealOverhead {
				t.Errorf("%s(%d bytes) = %d bytes, want %d", seal.name, size, len(ct), size+SealOverhead)
			}
			op, err := Open(bob, ct)
			if err != nil {
				t.Fatalf("Open after %s(%d bytes): %v", seal.name, size, err)
			}
			if !bytes.Equal(op.Plaintext, m) || op.Sender != alice.SessionID() || op.SenderEd25519 != alice.Ed25519Public() {
				t.Errorf("Open after %s(%d bytes) gave a different message or sender", seal.name, size)
			}
			if _, err := Open(alice, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("Open with the sender's key: err = %v, want ErrDecrypt", err)
			}
		}
	}
}

func TestSealRandomness(t *testing.T) {
	alice, bob := newKeys(t), newKeys(t)
	m := Pad([]byte("same message"))
	a, err := Seal(alice, bob.SessionID(), m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Seal(alice, bob.SessionID(), m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[:32], b[:32]) {
		t.Errorf("two Seals of the same message used the same ephemeral key")
	}
	c, _ := SealDeterministic(alice, bob.SessionID(), m)
	d, _ := SealDeterministic(alice, bob.SessionID(), m)
	if !bytes.Equal(c, d) {
		t.Errorf("SealDeterministic is not deterministic")
	}
}

func TestSealErrors(t *testing.T) {
	alice := newKeys(t)
	var lowOrder [32]byte // u = 0: X25519 gives the all-zero secret
	tests := []struct {
		name      string
		recipient key.SessionID
		check     func(error) bool
	}{
		{"blinded recipient", key.NewSessionID(key.PrefixBlind15, alice.X25519Public()), isPrefixError},
		{"group recipient", key.NewSessionID(key.PrefixGroup, alice.X25519Public()), isPrefixError},
		{"zero value recipient", key.SessionID{}, isPrefixError},
		{"small-order recipient key", key.NewSessionID(key.PrefixStandard, lowOrder), func(err error) bool { return errors.Is(err, ErrPeerKey) }},
	}
	for _, tt := range tests {
		for _, seal := range []func(*identity.Keys, key.SessionID, []byte) ([]byte, error){Seal, SealDeterministic} {
			_, err := seal(alice, tt.recipient, []byte("x"))
			if !tt.check(err) {
				t.Errorf("%s: err = %v", tt.name, err)
			}
		}
	}
}

func isPrefixError(err error) bool {
	var pe *PrefixError
	return errors.As(err, &pe)
}

func TestOpenErrors(t *testing.T) {
	alice, bob := newKeys(t), newKeys(t)
	good, err := Seal(alice, bob.SessionID(), Pad([]byte("hi")))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(good)
		c[i] ^= 1
		return c
	}

	// sealRaw seals arbitrary inner bytes for bob, bypassing the signing
	// step, to build messages with bad signatures or sender keys.
	sealRaw := func(inner []byte) []byte {
		y := [32]byte(bob.X25519Public())
		ct, err := box.SealAnonymous(nil, inner, &y, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	m := []byte("message")
	A := alice.Ed25519Public()

	badSig := append(append(bytes.Clone(m), A[:]...), make([]byte, 64)...)

	// An Ed25519 "signature" that verifies under the identity point as
	// key, which has no X25519 image: R = identity, S = 0.
	identityPoint := [32]byte{1}
	smallOrderSender := append(append(bytes.Clone(m), identityPoint[:]...), identityPoint[:]...)
	smallOrderSender = append(smallOrderSender, make([]byte, 32)...)
	y := bob.X25519Public()
	signed := append(append(bytes.Clone(m), identityPoint[:]...), y[:]...)
	if !ed25519.Verify(identityPoint[:], signed, smallOrderSender[len(m)+32:]) {
		t.Fatal("test setup: small-order signature does not verify")
	}

	var zeroE [SealOverhead]byte // E = 0 is of small order
	tests := []struct {
		name  string
		ct    []byte
		check func(error) bool
	}{
		{"empty", nil, isLengthError},
		{"one byte short", good[:SealOverhead-1], isLengthError},
		{"minimum length garbage", make([]byte, SealOverhead), isErr(ErrDecrypt)},
		{"small-order ephemeral key", zeroE[:], isErr(ErrDecrypt)},
		{"flipped ephemeral key", flip(0), isErr(ErrDecrypt)},
		{"flipped tag", flip(40), isErr(ErrDecrypt)},
		{"flipped body", flip(len(good) - 1), isErr(ErrDecrypt)},
		{"truncated", good[:len(good)-1], isErr(ErrDecrypt)},
		{"bad signature", sealRaw(badSig), isErr(ErrSignature)},
		{"small-order sender key", sealRaw(smallOrderSender), isErr(ErrSenderKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, err := Open(bob, tt.ct)
			if op != nil || !tt.check(err) {
				t.Errorf("Open = %v, %v", op, err)
			}
		})
	}
}

func isLengthError(err error) bool {
	var le *LengthError
	return errors.As(err, &le)
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func FuzzOpen(f *testing.F) {
	bob := keysFromHex(f, "00112233445566778899aabbccddeeff00000000000000000000000000000000")
	alice := keysFromHex(f, "0123456789abcdef0123456789abcdef00000000000000000000000000000000")
	good, err := SealDeterministic(alice, bob.SessionID(), Pad([]byte("hello")))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add(make([]byte, SealOverhead))
	f.Fuzz(func(t *testing.T, ct []byte) {
		op, err := Open(bob, ct)
		if (op == nil) == (err == nil) {
			t.Fatalf("Open returned %v, %v", op, err)
		}
		if err == nil && op.Sender != alice.SessionID() {
			t.Fatalf("opened a message from an unexpected sender")
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	alice, bob := newKeys(b), newKeys(b)
	m := Pad(make([]byte, 1000)) // 1120 bytes
	b.SetBytes(int64(len(m)))
	for b.Loop() {
		if _, err := Seal(alice, bob.SessionID(), m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	alice, bob := newKeys(b), newKeys(b)
	m := Pad(make([]byte, 1000))
	ct, err := Seal(alice, bob.SessionID(), m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(m)))
	for b.Loop() {
		if _, err := Open(bob, ct); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSmallOrder checks smallOrder against X25519, which fails exactly
// for the keys that give the all-zero secret: the small-order points, made
// here as the torsion part L·P of random Edwards points P (libsodium's
// list: 0, 1, two points of order 8, p−1, p, p+1), each also with the top
// bit set, which X25519 ignores, and random keys, which are not.
func TestSmallOrder(t *testing.T) {
	le := func(b ...byte) [32]byte { // p + d for small d, or p − 1
		var u [32]byte
		copy(u[:], b)
		for i := len(b); i < 31; i++ {
			u[i] = 0xff
		}
		u[31] = 0x7f
		return u
	}
	small := [][32]byte{{0}, {1}, le(0xec), le(0xed), le(0xee)}
	minusOne := new(edwards25519.Scalar).Negate(scalarOne())
	for len(small) < 40 {
		var b [32]byte
		rand.Read(b[:])
		P, err := new(edwards25519.Point).SetBytes(b[:])
		if err != nil {
			continue
		}
		LP := new(edwards25519.Point).ScalarMult(minusOne, P)
		LP.Add(LP, P)
		if LP.Equal(edwards25519.NewIdentityPoint()) == 1 {
			continue // u = 1/0 has no Montgomery form
		}
		small = append(small, [32]byte(LP.BytesMontgomery()))
	}
	var random [][32]byte
	for range 64 {
		var u [32]byte
		rand.Read(u[:])
		random = append(random, u)
	}
	var k [32]byte
	rand.Read(k[:])
	for _, u := range append(small, random...) {
		for _, top := range []byte{0, 0x80} {
			u[31] |= top
			_, err := curve25519.X25519(k[:], u[:])
			if got, want := smallOrder(&u), err != nil; got != want {
				t.Fatalf("smallOrder(%x) = %v, X25519 fails: %v", u, got, want)
			}
		}
	}
	for _, u := range small {
		if !smallOrder(&u) {
			t.Errorf("smallOrder(%x) = false", u)
		}
	}
}

package sessionproto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/identity"
	"sotto.dev/internal/vectors"
	"sotto.dev/key"
)

func TestBlindedVectors(t *testing.T) {
	for _, name := range []string{"derived.blinded_dm_15", "derived.blinded_dm_25"} {
		t.Run(name, func(t *testing.T) {
			v := vectors.Get(t, name)
			sender := keysFromBytes(t, v.InHex(t, "sender_ed25519_seed"))
			recipient := keysFromBytes(t, v.InHex(t, "recipient_ed25519_seed"))
			serverPK := [32]byte(v.InHex(t, "server_pk"))
			nonce := [24]byte(v.InHex(t, "nonce"))
			msg := []byte(v.InString(t, "plaintext_utf8"))
			senderID := parseBlinded(t, v.OutString(t, "sender_blinded_id"))
			recipientID := parseBlinded(t, v.OutString(t, "recipient_blinded_id"))

			own, err := blindedKeyPair(sender, senderID.Prefix(), serverPK)
			if err != nil {
				t.Fatal(err)
			}
			if own.ID() != senderID {
				t.Errorf("sender blinded ID = %s, want %s", own.ID(), senderID)
			}
			rk, err := blindedKeyPair(recipient, recipientID.Prefix(), serverPK)
			if err != nil {
				t.Fatal(err)
			}
			if rk.ID() != recipientID {
				t.Errorf("recipient blinded ID = %s, want %s", rk.ID(), recipientID)
			}

			// Both sides derive the vector's key.
			want := v.OutHex(t, "shared_key")
			sk, err := blindedKey(sender, own, recipientID.Key(), senderID.Key(), recipientID.Key())
			if err != nil || !bytes.Equal(sk[:], want) {
				t.Errorf("sender-side key = %x, %v; want %x", sk, err, want)
			}
			rkey, err := blindedKey(recipient, rk, senderID.Key(), senderID.Key(), recipientID.Key())
			if err != nil || !bytes.Equal(rkey[:], want) {
				t.Errorf("recipient-side key = %x, %v; want %x", rkey, err, want)
			}

			ct, err := encryptBlinded(sender, recipientID, serverPK, msg, nonce)
			if err != nil {
				t.Fatal(err)
			}
			if want := v.OutHex(t, "ciphertext"); !bytes.Equal(ct, want) {
				t.Fatalf("ciphertext =\n %x\nwant\n %x", ct, want)
			}

			// The recipient's inbox and the sender's outbox copy.
			for _, who := range []*identity.Keys{recipient, sender} {
				pt, from, err := DecryptBlinded(who, serverPK, senderID, recipientID, ct)
				if err != nil {
					t.Fatalf("DecryptBlinded as %s: %v", who.SessionID(), err)
				}
				if !bytes.Equal(pt, msg) || from != sender.SessionID() {
					t.Errorf("DecryptBlinded = %q from %s, want %q from %s", pt, from, msg, sender.SessionID())
				}
			}
		})
	}
}

func TestBlindedRoundTrip(t *testing.T) {
	// Random keys: about half have a negative Ed25519 key, which
	// exercises the blind25 sign rule and the blind15 sign ambiguity.
	for i := range 8 {
		alice, bob := newKeys(t), newKeys(t)
		var serverPK [32]byte
		rand.Read(serverPK[:])
		for _, p := range blindedPrefixes {
			t.Run(fmt.Sprintf("%d/%s", i, p), func(t *testing.T) {
				a, err := blindedKeyPair(alice, p, serverPK)
				if err != nil {
					t.Fatal(err)
				}
				b, err := blindedKeyPair(bob, p, serverPK)
				if err != nil {
					t.Fatal(err)
				}
				msg := Pad([]byte("psst"))
				ct, err := EncryptBlinded(alice, b.ID(), serverPK, msg)
				if err != nil {
					t.Fatal(err)
				}
				if len(ct) != len(msg)+BlindedOverhead {
					t.Errorf("ciphertext is %d bytes, want %d", len(ct), len(msg)+BlindedOverhead)
				}
				for _, who := range []*identity.Keys{bob, alice} {
					pt, from, err := DecryptBlinded(who, serverPK, a.ID(), b.ID(), ct)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(pt, msg) || from != alice.SessionID() {
						t.Errorf("wrong plaintext or sender")
					}
				}
				// A third party cannot read it.
				if _, _, err := DecryptBlinded(newKeys(t), serverPK, a.ID(), b.ID(), ct); !errors.Is(err, ErrDecrypt) {
					t.Errorf("third party: %v, want ErrDecrypt", err)
				}
				// Under another server key the message is rejected: with
				// 25-blinding the key differs; with 15-blinding the key
				// (b·kA) does not depend on the server, but the sender's
				// key no longer blinds to the sender ID.
				other := serverPK
				other[0] ^= 1
				want := ErrDecrypt
				if p == key.PrefixBlind15 {
					want = ErrBlindedSender
				}
				if _, _, err := DecryptBlinded(bob, other, a.ID(), b.ID(), ct); !errors.Is(err, want) {
					t.Errorf("other server: %v, want %v", err, want)
				}
			})
		}
	}
}

func TestBlindedErrors(t *testing.T) {
	alice, bob := newKeys(t), newKeys(t)
	serverPK := [32]byte{9}
	a15, _ := alice.Blind15(serverPK)
	b15, _ := bob.Blind15(serverPK)
	b25, _ := bob.Blind25(serverPK)
	good, err := EncryptBlinded(alice, b15.ID(), serverPK, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}

	var badPoint [32]byte
	badPoint[0] = 2 // y = 2 is not on the curve
	var smallOrder [32]byte
	smallOrder[0] = 1 // the identity point
	encTests := []struct {
		name      string
		recipient key.BlindedID
		check     func(error) bool
	}{
		{"version-check recipient", bob.VersionPublic(), isPrefixError},
		{"unblinded recipient", key.NewBlindedID(key.PrefixUnblinded, bob.Ed25519Public()), isPrefixError},
		{"recipient not a point", key.NewBlindedID(key.PrefixBlind15, badPoint), isErr(ErrPeerKey)},
		{"recipient of small order", key.NewBlindedID(key.PrefixBlind25, smallOrder), isErr(ErrPeerKey)},
	}
	for _, tt := range encTests {
		if _, err := EncryptBlinded(alice, tt.recipient, serverPK, []byte("x")); !tt.check(err) {
			t.Errorf("EncryptBlinded, %s: %v", tt.name, err)
		}
	}

	withVersion := bytes.Clone(good)
	withVersion[0] = 1
	tampered := bytes.Clone(good)
	tampered[5] ^= 1

	// A message whose inner key is not the sender's: carol encrypts
	// with alice's blinded ID as sender but her own A inside.
	carol := newKeys(t)
	forged := forgeBlinded(t, alice, carol, a15, b15.ID(), serverPK)

	decTests := []struct {
		name              string
		sender, recipient key.BlindedID
		ct                []byte
		check             func(error) bool
	}{
		{"sender version-check", alice.VersionPublic(), b15.ID(), good, isPrefixError},
		{"prefixes differ", a15.ID(), b25.ID(), good, isPrefixError},
		{"empty", a15.ID(), b15.ID(), nil, isLengthError},
		{"too short", a15.ID(), b15.ID(), good[:BlindedOverhead-1], isLengthError},
		{"version 1", a15.ID(), b15.ID(), withVersion, func(err error) bool { var ve *VersionError; return errors.As(err, &ve) && ve.Got == 1 }},
		{"tampered", a15.ID(), b15.ID(), tampered, isErr(ErrDecrypt)},
		{"truncated", a15.ID(), b15.ID(), good[:len(good)-1], isErr(ErrDecrypt)},
		{"sender not a point", key.NewBlindedID(key.PrefixBlind15, badPoint), b15.ID(), good, isErr(ErrPeerKey)},
		{"forged sender", a15.ID(), b15.ID(), forged, isErr(ErrBlindedSender)},
	}
	for _, tt := range decTests {
		t.Run(tt.name, func(t *testing.T) {
			pt, _, err := DecryptBlinded(bob, serverPK, tt.sender, tt.recipient, tt.ct)
			if pt != nil || !tt.check(err) {
				t.Errorf("DecryptBlinded = %q, %v", pt, err)
			}
		})
	}
}

// forgeBlinded builds a blinded message that decrypts under the key
// between senderKP (alice's blinded pair) and recipient but carries
// inner's Ed25519 key instead of the sender's.
func forgeBlinded(t *testing.T, sender, inner *identity.Keys, senderKP *identity.BlindedKeyPair, recipient key.BlindedID, serverPK [32]byte) []byte {
	t.Helper()
	key, err := blindedKey(sender, senderKP, recipient.Key(), senderKP.Public, recipient.Key())
	if err != nil {
		t.Fatal(err)
	}
	A := inner.Ed25519Public()
	aead, _ := chacha20poly1305.NewX(key[:])
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	out := aead.Seal([]byte{0}, nonce, append([]byte("hi"), A[:]...), nil)
	return append(out, nonce...)
}

package sessionproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"sotto.dev/key"
)

// Known answers from libsession-util 1.2.0 (vectors/libsession-public.json
// session.*): sender alice, recipient bob; the random streams are the
// oracle's recorded draws.
const (
	bobSeed = "b6ed3fc867071219bb15ceeb9f502e5729a7865d4ae47a3c27e3649170467560"
	bobID   = "057cf9dab54eef8628dfa9d6e84e4639f2ee4f7b1163da646c6accd29960dde535"
	sogsPK  = "a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238"
)

func TestSignForRecipientVector(t *testing.T) {
	alice := keysFromHex(t, multiAlice)
	got, err := SignForRecipient(alice, parseID(t, bobID), []byte("sig me"))
	if err != nil {
		t.Fatal(err)
	}
	const want = "736967206d65729d685f0c7c4cf466cb5699019004f43040495fcc1274febe43becb51387928c3be0d2f5c5c099f7178051e980c94161d6beac1cc4b0102e72d00dba4b735d9917987578c9be93ea4ef1850f87b736523af4030445b4f63250c6718e12f3a0a"
	if hex.EncodeToString(got) != want {
		t.Fatalf("SignForRecipient = %x\nwant %s", got, want)
	}
	blinded := key.NewSessionID(key.PrefixBlind15, parseID(t, bobID).Key())
	var pe *PrefixError
	if _, err := SignForRecipient(alice, blinded, nil); !errors.As(err, &pe) {
		t.Errorf("15 recipient: err = %v, want *PrefixError", err)
	}
}

func TestSealFromVector(t *testing.T) {
	alice := keysFromHex(t, multiAlice)
	msg := []byte("Hello Bob \U0001f44b")
	eph := hexBytes(t, "7ec1e820febdf83c9521146f77d4f13646bae0d477dfb8d7433ead5fdb258f90")
	ct, err := SealFrom(alice, parseID(t, bobID), msg, bytes.NewReader(eph))
	if err != nil {
		t.Fatal(err)
	}
	const want = "c066e8c91dfe7016adca4bf0783c2899c014ccd87b0cbced169e726dd7f9216dca85e4e3476cb17e72fd68e8975e933df9a20e3c04b524c25dee03723c77f8cc3830e76b53863a997d632422cc042a39f3eb5d91b045d66ae7b83dd86fbfe3a27267b958b978fa826ab14c12568a06e1ed0148e7c29c9d1c8d0fa23b9bd3e96f723c514502e2fc03365a33844f0563fba9f1044b3f96ef35119cae76b76c"
	if hex.EncodeToString(ct) != want {
		t.Fatalf("SealFrom = %x\nwant %s", ct, want)
	}
	op, err := Open(keysFromHex(t, bobSeed), ct)
	if err != nil || !bytes.Equal(op.Plaintext, msg) || op.Sender != alice.SessionID() {
		t.Fatalf("Open = %+v, %v", op, err)
	}
	if _, err := SealFrom(alice, parseID(t, bobID), msg, bytes.NewReader(eph[:31])); err == nil {
		t.Error("31 random bytes: no error")
	}
}

func TestEncryptBlindedFromVectors(t *testing.T) {
	alice := keysFromHex(t, multiAlice)
	bob := keysFromHex(t, bobSeed)
	server := [32]byte(hexBytes(t, sogsPK))
	tests := []struct {
		name, recipient, msg, nonce, want string
	}{
		{
			name:      "15",
			recipient: "152a5b6497a320f10b5b279fdfc8ec4be42e6644eb4fbd590dd4747c7f3a3817e3",
			msg:       "blinded 15 hi",
			nonce:     "31223bb978941353b5d577831789f96e5f391cde8496f2ba",
			want:      "00d8d74ee5369c64cfafff43844b7fa8f435ca54539232e55e466451154ad2c26f37b6b520edd80113b79d26a890d019faf83cda5b94768efdbc8ec8559231223bb978941353b5d577831789f96e5f391cde8496f2ba",
		},
		{
			name:      "25",
			recipient: "25b662979ddb36424ba4e927f171acb6d5c792a84b10eefaf2d7021973a5a2b196",
			msg:       "blinded 25 hi",
			nonce:     "e14c8ceaa9c02d859c119ea5945e290366ed47410d1d0386",
			want:      "008e057151de6290c4e136b5254a8b513b0e98aa8eac9fbfb9f2e91b5cc1dfde821929949edd0b84b7ce8a1e9f8d2ce875dc1f1f4384ccd34735c9418a23e14c8ceaa9c02d859c119ea5945e290366ed47410d1d0386",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rid, err := key.ParseBlindedID(tc.recipient)
			if err != nil {
				t.Fatal(err)
			}
			ct, err := EncryptBlindedFrom(alice, rid, server, []byte(tc.msg), bytes.NewReader(hexBytes(t, tc.nonce)))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(ct) != tc.want {
				t.Fatalf("EncryptBlindedFrom = %x\nwant %s", ct, tc.want)
			}
			own, err := blindedKeyPair(alice, rid.Prefix(), server)
			if err != nil {
				t.Fatal(err)
			}
			pt, sender, err := DecryptBlinded(bob, server, own.ID(), rid, ct)
			if err != nil || string(pt) != tc.msg || sender != alice.SessionID() {
				t.Errorf("recipient: DecryptBlinded = %q, %s, %v", pt, sender, err)
			}
			pt, sender, err = DecryptBlinded(alice, server, own.ID(), rid, ct)
			if err != nil || string(pt) != tc.msg || sender != alice.SessionID() {
				t.Errorf("sender: DecryptBlinded = %q, %s, %v", pt, sender, err)
			}
		})
	}
}

package state

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func sampleBodies() []Body {
	return []Body{
		&Transfer{To: testAddr("bob"), Amount: 42},
		&Register{Node: testNode("n"), X25519: testX("n"), IP: IPv4{203, 0, 113, 7}, Port: 22021, FeeBps: 500, Stake: 7,
			Reserved: []Reservation{{Addr: testAddr("r1"), Amount: 3}, {Addr: testAddr("r2"), Amount: 4}}, NodeSig: [64]byte{1, 2, 3}},
		&Register{Node: testNode("n"), X25519: testX("n"), IP: IPv4{203, 0, 113, 7}, Port: 1},
		&Contribute{Node: testNode("n"), Amount: 9},
		&Unlock{Node: testNode("n")},
		&UptimeProof{IP: IPv4{198, 51, 100, 1}, Port: 443, Version: [3]uint16{1, 2, 3}},
		&Vote{Height: 99, Results: []uint8{ResultPass, FailStorage | FailOnion, ResultAbstain}},
		&Vote{Height: 1},
		&NameRegister{Name: NameHash{7}, Value: []byte("ciphertext"), ValueNonce: [24]byte{9}, Terms: 2},
		&NameRenew{Name: NameHash{7}, Terms: 1},
		&NameUpdate{Name: NameHash{7}, Value: []byte("new"), ValueNonce: [24]byte{8}},
		&PoolDeposit{Amount: 5},
		&FileServerRegister{Ed25519: testFileServer("fs"), X25519: testX("fs"), URL: "https://files.example.org", ServerSig: [64]byte{4}},
		&FileServerUpdate{Ed25519: testFileServer("fs"), X25519: testX("fs2"), URL: "http://127.0.0.1:8080/f", ServerSig: [64]byte{5}},
		&FileServerRemove{Ed25519: testFileServer("fs")},
		&CommunityRegister{Ed25519: testFileServer("cs"), X25519: testX("cs"), URL: "https://chat.example.org", Rooms: []string{"lobby", "dev-talk"}, ServerSig: [64]byte{6}},
		&CommunityUpdate{Ed25519: testFileServer("cs"), X25519: testX("cs2"), URL: "http://127.0.0.1:8081", Rooms: []string{"lobby"}, ServerSig: [64]byte{7}},
		&CommunityRemove{Ed25519: testFileServer("cs")},
	}
}

func TestTxRoundTrip(t *testing.T) {
	for _, body := range sampleBodies() {
		t.Run(body.Type().String(), func(t *testing.T) {
			tx := &Tx{ChainID: testChain, Nonce: 3, LastValid: 1 << 40, Body: body}
			tx.Sign(testKey("alice"))
			raw := tx.Encode()
			got, err := DecodeTx(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Encode(), raw) {
				t.Fatal("re-encoding differs")
			}
			if !got.VerifySignature() || got.Signer != testAddr("alice") || got.Nonce != 3 || got.LastValid != 1<<40 || got.ChainID != testChain {
				t.Fatalf("decoded header %+v", got)
			}
			if got.Hash() != tx.Hash() {
				t.Fatal("hash differs")
			}
		})
	}
}

func TestDecodeTxErrors(t *testing.T) {
	tx := &Tx{ChainID: testChain, Body: &Transfer{Amount: 1}}
	tx.Sign(testKey("alice"))
	good := tx.Encode()
	vote := &Tx{ChainID: testChain, Body: &Vote{Height: 1, Results: []uint8{0x08}}}
	vote.Sign(testKey("alice"))
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"version only", []byte{TxVersion}},
		{"old version", append([]byte{1}, good[1:]...)},
		{"unknown type", append([]byte{TxVersion, 99}, good[2:]...)},
		{"type zero", append([]byte{TxVersion, 0}, good[2:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"oversize", make([]byte, MaxTxSize+1)},
		{"unknown vote flag", vote.Encode()},
		{"chain id length past end", []byte{TxVersion, byte(TypeTransfer), 200, 'a'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeTx(tc.raw)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *DecodeError", err)
			}
		})
	}
}

func TestSignatureCoversEveryField(t *testing.T) {
	tx := &Tx{ChainID: testChain, Nonce: 1, LastValid: 77, Body: &Transfer{To: testAddr("bob"), Amount: 10}}
	tx.Sign(testKey("alice"))
	raw := tx.Encode()
	for i := range len(raw) - 64 {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x01
		got, err := DecodeTx(bad)
		if err != nil {
			continue // no longer parses: also rejected
		}
		if got.VerifySignature() {
			t.Fatalf("flipping byte %d kept the signature valid", i)
		}
	}
}

func FuzzDecodeTx(f *testing.F) {
	for _, b := range sampleBodies() {
		tx := &Tx{ChainID: testChain, Nonce: 1, Body: b}
		tx.Sign(testKey("alice"))
		f.Add(tx.Encode())
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := DecodeTx(raw)
		if err != nil {
			return
		}
		if !bytes.Equal(tx.Encode(), raw) {
			t.Fatalf("decode/encode is not the identity for %x", raw)
		}
	})
}

func TestKeySignerHidesTheKey(t *testing.T) {
	s := KeySigner(testKey("alice"))
	secret := fmt.Sprintf("%x", testKey("alice").Seed())
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %x %s", s, s, s, s, s)} {
		if strings.Contains(out, secret) || !strings.Contains(out, testAddr("alice").String()) {
			t.Fatalf("formatted signer: %s", out)
		}
	}
}

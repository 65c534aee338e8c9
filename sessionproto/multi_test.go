package sessionproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// Keys of the libsession-util vectors (vectors/libsession-public.json,
// keypairs alice, r0, r1, r2: seeds sha256("lsu-vectors:"+tag)).
const (
	multiAlice = "f2a26789582cc7090794a016b77429187b86f9ce3ca85fc2453f7d58ee3d40ee"
	multiR0    = "909cc8b54c1d28882319354355c53630fb97d975d7cb3a1a84a4456b57b43db3"
	multiR1    = "c779b3588e5ef1119099bbd0602f4a553f1a21f73ec6f8434d8a462a9790bed4"
	multiR2    = "5ba4f4ba3de62e0342b57f972df3b1aacd1cb57975422c38d962d32061a0f78a"
)

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nonce24(t testing.TB, s string) *[MultiNonceSize]byte {
	t.Helper()
	return (*[MultiNonceSize]byte)(hexBytes(t, s))
}

func multiRecipients(t testing.TB) ([]*identity.Keys, []key.BoxPublic) {
	var ks []*identity.Keys
	var pubs []key.BoxPublic
	for _, s := range []string{multiR0, multiR1, multiR2} {
		k := keysFromHex(t, s)
		ks = append(ks, k)
		pubs = append(pubs, k.X25519Public())
	}
	return ks, pubs
}

func hexList(t testing.TB, ss ...string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, hexBytes(t, s))
	}
	return out
}

// Vector multi.encrypt_for_multiple_raw.
func TestEncryptForMultipleVector(t *testing.T) {
	alice := keysFromHex(t, multiAlice)
	rs, pubs := multiRecipients(t)
	priv := alice.X25519Private()
	nonce := nonce24(t, "242424242424242424242424242424242424242424242424")
	const domain = "SessionGroupKickedMessage"
	cts, err := EncryptForMultiple(hexList(t, "68656c6c6f"), pubs, nonce, &priv, alice.X25519Public(), domain)
	if err != nil {
		t.Fatal(err)
	}
	want := hexList(t, "6f5cebb50e1d5a424295d9ea7d4f3c8bfbbaf3ab61", "0045836bc94aac38827ce4aed88292b01a439c8bd5", "ffc1a149fab4c81fab36259eb58bd9150cb3f9b3f7")
	for i := range want {
		if !bytes.Equal(cts[i], want[i]) {
			t.Errorf("ciphertext %d = %x, want %x", i, cts[i], want[i])
		}
	}
	for i, r := range rs {
		rp := r.X25519Private()
		m, err := DecryptForMultiple(cts, nonce, &rp, r.X25519Public(), alice.X25519Public(), domain)
		if err != nil || string(m) != "hello" {
			t.Errorf("recipient %d: DecryptForMultiple = %q, %v", i, m, err)
		}
	}
	bob := keysFromHex(t, "b6ed3fc867071219bb15ceeb9f502e5729a7865d4ae47a3c27e3649170467560")
	bp := bob.X25519Private()
	if _, err := DecryptForMultiple(cts, nonce, &bp, bob.X25519Public(), alice.X25519Public(), domain); !errors.Is(err, ErrDecrypt) {
		t.Errorf("non-recipient: err = %v, want ErrDecrypt", err)
	}
}

// Vectors multi.simple_with_nonce_pad and multi.simple_random_nonce: the
// random stream holds the oracle's recorded draws.
func TestEncryptForMultipleSimpleVectors(t *testing.T) {
	alice := keysFromHex(t, multiAlice)
	rs, pubs := multiRecipients(t)
	priv := alice.X25519Private()
	tests := []struct {
		name     string
		nonce    string
		domain   string
		messages [][]byte
		pubs     []key.BoxPublic
		pad      int
		draws    string
		want     string
	}{
		{
			name:     "nonce_pad",
			nonce:    "424242424242424242424242424242424242424242424242",
			domain:   "test-domain",
			messages: hexList(t, "01010101010101010101", "02020202020202020202", "03030303030303030303"),
			pubs:     pubs,
			pad:      5,
			draws:    "cd3c205e5e411baf6cc2" + "85d2686df88d14f8da3f",
			want:     "64313a2332343a424242424242424242424242424242424242424242424242313a656c32363a9f60f880bca4b3ed6ce308033d585120279ef13ac6ba3a7dd11732363a2aaa5aed3c138c086de6b74a7f42899a7e65eaf7f197f85223a832363a37b4d3c185afbadf9cc4e6732a30a3c1b1f140a173b4cd038f7331303acd3c205e5e411baf6cc231303a85d2686df88d14f8da3f6565",
		},
		{
			name:     "random_nonce",
			domain:   "d",
			messages: hexList(t, "abcdef"),
			pubs:     pubs[:2],
			draws:    "951f72fa1b42d818d409ddd606a91efe36102c9302297d30",
			want:     "64313a2332343a951f72fa1b42d818d409ddd606a91efe36102c9302297d30313a656c31393a59c68e2b399618afd74644fee713e42b3635ee31393a3efc22789934ee5f9c8e9dc75208f8f50225576565",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var nonce *[MultiNonceSize]byte
			if tc.nonce != "" {
				nonce = nonce24(t, tc.nonce)
			}
			random := bytes.NewReader(hexBytes(t, tc.draws))
			enc, err := EncryptForMultipleSimple(tc.messages, tc.pubs, &priv, alice.X25519Public(), tc.domain, nonce, tc.pad, random)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(enc); got != tc.want {
				t.Fatalf("encoded =\n %s\nwant\n %s", got, tc.want)
			}
			if random.Len() != 0 {
				t.Errorf("%d random bytes left unused", random.Len())
			}
			for i := range tc.pubs {
				rp := rs[i].X25519Private()
				m, err := DecryptForMultipleSimple(enc, &rp, rs[i].X25519Public(), alice.X25519Public(), tc.domain)
				want := tc.messages[0]
				if len(tc.messages) > 1 {
					want = tc.messages[i]
				}
				if err != nil || !bytes.Equal(m, want) {
					t.Errorf("recipient %d: got %x, %v; want %x", i, m, err, want)
				}
			}
		})
	}
}

func TestMultiErrors(t *testing.T) {
	alice := keysFromHex(t, multiAlice)
	_, pubs := multiRecipients(t)
	priv := alice.X25519Private()
	var nonce [MultiNonceSize]byte
	if _, err := EncryptForMultiple(hexList(t, "01", "02"), pubs, &nonce, &priv, alice.X25519Public(), "d"); !errors.Is(err, ErrMultiMessages) {
		t.Errorf("2 messages, 3 recipients: err = %v", err)
	}
	low := []key.BoxPublic{{}} // the all-zero key has order 1
	if _, err := EncryptForMultiple(hexList(t, "01"), low, &nonce, &priv, alice.X25519Public(), "d"); !errors.Is(err, ErrPeerKey) {
		t.Errorf("zero recipient key: err = %v", err)
	}
	if _, err := DecryptForMultiple(nil, &nonce, &priv, alice.X25519Public(), key.BoxPublic{}, "d"); !errors.Is(err, ErrPeerKey) {
		t.Errorf("zero sender key: err = %v", err)
	}
	if cts, err := EncryptForMultiple(hexList(t, "01"), nil, &nonce, &priv, alice.X25519Public(), "d"); err != nil || len(cts) != 0 {
		t.Errorf("no recipients: %v, %v", cts, err)
	}
}

// Only the first 64 bytes of the domain key the hash, as in libsession.
func TestMultiDomainTruncated(t *testing.T) {
	alice := keysFromHex(t, multiAlice)
	_, pubs := multiRecipients(t)
	priv := alice.X25519Private()
	var nonce [MultiNonceSize]byte
	d64 := string(bytes.Repeat([]byte{'x'}, 64))
	a, _ := EncryptForMultiple(hexList(t, "01"), pubs[:1], &nonce, &priv, alice.X25519Public(), d64)
	b, _ := EncryptForMultiple(hexList(t, "01"), pubs[:1], &nonce, &priv, alice.X25519Public(), d64+"yz")
	c, _ := EncryptForMultiple(hexList(t, "01"), pubs[:1], &nonce, &priv, alice.X25519Public(), d64[:63])
	if !bytes.Equal(a[0], b[0]) || bytes.Equal(a[0], c[0]) {
		t.Errorf("64-byte domain %x, 66-byte %x, 63-byte %x", a[0], b[0], c[0])
	}
}

func TestParseMultiSimple(t *testing.T) {
	n := "24:" + string(bytes.Repeat([]byte{'n'}, 24))
	good := []struct{ in string }{
		{"d1:#" + n + "1:elee"},
		{"d1:#" + n + "1:el1:a0:ee"},
		{"d0:i1e1:#" + n + "1:dl1:xd1:ai-3eee1:el1:aee"}, // unknown keys are skipped
	}
	for _, tc := range good {
		if _, _, err := ParseMultiSimple([]byte(tc.in)); err != nil {
			t.Errorf("%q: %v", tc.in, err)
		}
	}
	bad := []string{
		"",
		"le",
		"d1:#" + n + "1:elee" + "x",        // trailing data
		"d1:el1:#" + n + "e1:#" + n + "e",  // keys out of order
		"d1:#23:" + n[3:26] + "1:elee",     // 23-byte nonce
		"d1:#" + n + "e",                   // no "e"
		"d1:elee",                          // no "#"
		"d1:#" + n + "1:eli1eee",           // non-string entry
		"d1:#" + n + "1:el01:aee",          // leading zero length
		"d1:#" + n + "1:el5:aee",           // length past the end
		"d1:#" + n + "1:e",                 // truncated
		"d0:i01e1:#" + n + "1:elee",        // bad integer in a skipped value
		"d0:i-0e1:#" + n + "1:elee",        // "-0"
		"d1:#" + n + "1:el99999999999:aee", // absurd length
		"d1:#" + n + "1:el" + "1:a",        // unterminated list
		"d0:" + string(bytes.Repeat([]byte{'l'}, 100)) + "1:#" + n + "1:elee", // too deep
	}
	for _, in := range bad {
		if _, _, err := ParseMultiSimple([]byte(in)); !errors.Is(err, ErrMultiEncoding) {
			t.Errorf("%q: err = %v, want ErrMultiEncoding", in, err)
		}
	}
}

func FuzzParseMultiSimple(f *testing.F) {
	var nonce [MultiNonceSize]byte
	f.Add(EncodeMultiSimple(&nonce, [][]byte{[]byte("a"), {}}))
	f.Add([]byte("d0:i1e1:#24:nnnnnnnnnnnnnnnnnnnnnnnn1:dl1:xd1:ai-3eee1:el1:aee"))
	f.Add([]byte("d1:el"))
	f.Fuzz(func(t *testing.T, in []byte) {
		nonce, entries, err := ParseMultiSimple(in)
		if err != nil {
			return
		}
		// What parses re-encodes to a value that parses the same.
		again := EncodeMultiSimple(&nonce, entries)
		n2, e2, err := ParseMultiSimple(again)
		if err != nil || n2 != nonce || len(e2) != len(entries) {
			t.Fatalf("re-encoding %x: %v", again, err)
		}
		for i := range entries {
			if !bytes.Equal(entries[i], e2[i]) {
				t.Fatalf("entry %d changed", i)
			}
		}
	})
}

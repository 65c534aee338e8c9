package identity

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"sotto.dev/key"
)

// Vectors from libsession-util 1.2.0 (the project's oracle, command
// xed25519 with rng_seed): x25519_sk, message, the 64-byte random draw Z,
// and the signature. The first key's Ed25519 image has sign bit 0, the
// second's sign bit 1 (so a is negated).
func TestXEd25519SignVectors(t *testing.T) {
	long := strings.Repeat("ab", 300)
	tests := []struct {
		name, sk, pk, msg, z, sig string
	}{
		{
			name: "positive/empty",
			sk:   "98017bb81b0f8f668aeae1598b551a777ac6259c7caf2d08e403de0c509f6a66",
			pk:   "687ec4c00a3edcf3108819a5fe98542f85cb9ef5cef17e50914868d39a26d606",
			msg:  "",
			z:    "e7d93fe3eaa2103df6fd54553a839e5208fa157743c573a9bdca8806fbbb90b6d57240191c5c00d25385b67a08261a02f6137fd379ad9fa3cd35916e1e54cd63",
			sig:  "3aad9f86123e490e5c588f80cfed14b3e93070526daf1c262c395b4a3b6db104e1674fd0c941312b84d58500f3922dc667ea2487cb63271c2e58ca0219658906",
		},
		{
			name: "positive/long",
			sk:   "98017bb81b0f8f668aeae1598b551a777ac6259c7caf2d08e403de0c509f6a66",
			pk:   "687ec4c00a3edcf3108819a5fe98542f85cb9ef5cef17e50914868d39a26d606",
			msg:  long,
			z:    "0e799549a48cf15a92b44c3c1533dea6605982006268a25b1afe59d22f553df55dd91d08b5aff41fe44b2e749469caa2fd10ed052a2de93cd1b7fc60c53a7168",
			sig:  "d432c5215cd0cd7f435602b9663b133681c5e80358f3c1eb3e24283ffd42f6166171bbd6b89c130be79982861bdd31b3f3b39faaf97dcb3ba1362786d8b13006",
		},
		{
			name: "negative/hi",
			sk:   "f0e5f302455e6d68f8f4cdcb2e99b8f843797fe28b26484622bfa861c9dc326c",
			pk:   "7cf9dab54eef8628dfa9d6e84e4639f2ee4f7b1163da646c6accd29960dde535",
			msg:  "6869",
			z:    "00a961eda71032dd20341b0d25547cd863a27586db5787c4cefa8a3c7276e34b3c72256fd1c7186c51366f20fc0caced8e4418028152e7e1a15907b4f542d464",
			sig:  "2aa4443d00761a586d00d7782de49cbbdb9e012024ad84ce9365e1be69d372fd460d3aacb0125fc207375a4a651906e48cb35244a3491d7a5ae32408eb0bd504",
		},
		{
			name: "negative/long",
			sk:   "f0e5f302455e6d68f8f4cdcb2e99b8f843797fe28b26484622bfa861c9dc326c",
			pk:   "7cf9dab54eef8628dfa9d6e84e4639f2ee4f7b1163da646c6accd29960dde535",
			msg:  long,
			z:    "f460e384bdc0e06a085c9fc1816da3a6dc492ec1fe65190ad01782b34a0a86c8168ab9d5bdf296a9da1593f90d37767a9ea5a55249efa0b82ceda30c771047f7",
			sig:  "c1380923b5843c2aab6cb10cd86a7303c531be2b2f497eee8a1a6ecbe21f980acad746850101d4a3dea180f3ea8921dc1576ccc585fd5d8a72aac5868703d903",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sk := key.BoxPrivate(mustHex32(t, tc.sk))
			msg := mustHex(t, tc.msg)
			sig, err := XEd25519Sign(&sk, msg, bytes.NewReader(mustHex(t, tc.z)))
			if err != nil {
				t.Fatal(err)
			}
			if got := sig[:]; !bytes.Equal(got, mustHex(t, tc.sig)) {
				t.Fatalf("signature %x, want %s", got, tc.sig)
			}
			edPK, err := XEd25519Public(key.BoxPublic(mustHex32(t, tc.pk)))
			if err != nil {
				t.Fatal(err)
			}
			if !ed25519.Verify(edPK[:], msg, sig[:]) {
				t.Error("signature does not verify under XEd25519Public")
			}
		})
	}
}

// A fresh key signs and verifies; a short random source is an error.
func TestXEd25519SignRoundTrip(t *testing.T) {
	k := mustKeys(t, bytes.Repeat([]byte{7}, 32))
	x := k.X25519Private()
	edPK, err := XEd25519Public(k.X25519Public())
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("round trip")
	sig, err := XEd25519Sign(&x, msg, bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(edPK[:], msg, sig[:]) {
		t.Error("signature does not verify")
	}
	if ed25519.Verify(edPK[:], []byte("other"), sig[:]) {
		t.Error("signature verifies for another message")
	}
	if _, err := XEd25519Sign(&x, msg, bytes.NewReader(make([]byte, 63))); err == nil {
		t.Error("63 random bytes: no error")
	}
}

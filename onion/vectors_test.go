package onion

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"sotto.dev/internal/vectors"
	"sotto.dev/key"
)

func keyPairFromHex(t testing.TB, s string) *KeyPair {
	t.Helper()
	sk, err := key.ParseOnionPrivate(s)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := NewKeyPair(sk)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectorHopDecryptXChaCha20(t *testing.T) {
	v := vectors.Get(t, "onion.hop_decrypt_xchacha20")
	kp := keyPairFromHex(t, v.InString(t, "server_seckey_b"))
	if got := kp.Public(); !bytes.Equal(got[:], v.InHex(t, "server_pubkey_B")) {
		t.Fatalf("public key %x, want %x", got, v.InHex(t, "server_pubkey_B"))
	}
	a, err := key.ParseOnionPublic(v.InString(t, "client_pubkey_A"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ServerLayerKey(CipherXChaCha20, kp, a)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := key.Open(v.InHex(t, "ciphertext"))
	if err != nil {
		t.Fatal(err)
	}
	if want := v.OutString(t, "plaintext_utf8"); string(pt) != want {
		t.Fatalf("plaintext %q, want %q", pt, want)
	}
	// The same ciphertext must not open as AES-GCM.
	gcm, err := ServerLayerKey(CipherAESGCM, kp, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gcm.Open(v.InHex(t, "ciphertext")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("aes-gcm open of an xchacha20 layer: %v, want ErrDecrypt", err)
	}
}

func TestVectorParserAESGCM(t *testing.T) {
	v := vectors.Get(t, "onion.parser_aes_gcm")
	kp := keyPairFromHex(t, v.InString(t, "server_seckey_b"))
	if got := kp.Public(); !bytes.Equal(got[:], v.InHex(t, "server_pubkey_B")) {
		t.Fatalf("public key %x, want %x", got, v.InHex(t, "server_pubkey_B"))
	}
	o, err := Open(kp, v.InHex(t, "blob"))
	if err != nil {
		t.Fatal(err)
	}
	if want := v.OutString(t, "payload_utf8"); string(o.Payload) != want {
		t.Errorf("payload %q, want %q", o.Payload, want)
	}
	if got, want := o.Info.EphemeralKey.String(), v.OutString(t, "remote_pubkey"); got != want {
		t.Errorf("remote key %s, want %s", got, want)
	}
	if want := v.OutString(t, "json"); string(o.Control) != want {
		t.Errorf("json %q, want %q", o.Control, want)
	}
	if o.Info.Cipher != CipherAESGCM {
		t.Errorf("cipher %v", o.Info.Cipher)
	}
}

// libsessionVectors is onion/testdata/libsession-onionreq.json.
type libsessionVectors struct {
	HopDecrypt struct {
		ClientPub string `json:"client_pubkey_A"`
		ServerPub string `json:"server_pubkey_B"`
		ServerSec string `json:"server_seckey_b"`
		Plaintext string `json:"plaintext"`
		Good, Bad []struct {
			Cipher     string `json:"cipher"`
			Ciphertext string `json:"ciphertext"`
		}
	} `json:"hop_decrypt"`
	Parser struct {
		ClientPub string `json:"client_pubkey_A"`
		ClientSec string `json:"client_seckey_a"`
		ServerPub string `json:"server_pubkey_B"`
		ServerSec string `json:"server_seckey_b"`
		Payload   string `json:"payload"`
		Reply     string `json:"reply"`
		Blobs     []struct {
			Cipher    string `json:"cipher"`
			Blob      string `json:"blob"`
			ReplySize int    `json:"reply_size"`
		} `json:"blobs"`
	} `json:"parser"`
}

func loadLibsession(t testing.TB) libsessionVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/libsession-onionreq.json")
	if err != nil {
		t.Fatal(err)
	}
	var v libsessionVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLibsessionHopDecrypt(t *testing.T) {
	v := loadLibsession(t).HopDecrypt
	kp := keyPairFromHex(t, v.ServerSec)
	if kp.Public().String() != v.ServerPub {
		t.Fatalf("B = %s, want %s", kp.Public(), v.ServerPub)
	}
	a, err := key.ParseOnionPublic(v.ClientPub)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range v.Good {
		cph, err := ParseCipher(c.Cipher)
		if err != nil {
			t.Fatal(err)
		}
		key, err := ServerLayerKey(cph, kp, a)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := key.Open(mustHex(t, c.Ciphertext))
		if err != nil || string(pt) != v.Plaintext {
			t.Errorf("good[%d] %s: %q, %v", i, c.Cipher, pt, err)
		}
	}
	for i, c := range v.Bad {
		cph, _ := ParseCipher(c.Cipher)
		key, err := ServerLayerKey(cph, kp, a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := key.Open(mustHex(t, c.Ciphertext)); !errors.Is(err, ErrDecrypt) {
			t.Errorf("bad[%d] %s: %v, want ErrDecrypt", i, c.Cipher, err)
		}
	}
}

func TestLibsessionParserAndReply(t *testing.T) {
	v := loadLibsession(t).Parser
	server := keyPairFromHex(t, v.ServerSec)
	client := keyPairFromHex(t, v.ClientSec)
	if client.Public().String() != v.ClientPub || server.Public().String() != v.ServerPub {
		t.Fatal("vector key pairs do not match their public keys")
	}
	for _, b := range v.Blobs {
		t.Run(b.Cipher, func(t *testing.T) {
			o, err := Open(server, mustHex(t, b.Blob))
			if err != nil {
				t.Fatal(err)
			}
			if string(o.Payload) != v.Payload || o.Info.EphemeralKey.String() != v.ClientPub || o.Info.Cipher.String() != b.Cipher {
				t.Fatalf("opened %q from %s with %s", o.Payload, o.Info.EphemeralKey, o.Info.Cipher)
			}
			reply := o.Key.Seal([]byte(v.Reply))
			if len(reply) != b.ReplySize {
				t.Errorf("reply is %d bytes, want %d", len(reply), b.ReplySize)
			}
			ck, err := ClientLayerKey(o.Info.Cipher, client, server.Public())
			if err != nil {
				t.Fatal(err)
			}
			pt, err := ck.Open(reply)
			if err != nil || string(pt) != v.Reply {
				t.Fatalf("client opens reply: %q, %v", pt, err)
			}
		})
	}
}

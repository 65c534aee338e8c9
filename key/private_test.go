package key

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
)

// secretHex are the hex forms a leak of the secret bytes 0x5a... would
// show; fmt's %v of a byte array shows decimal, so the decimal run too.
func leaks(out string, secret []byte) bool {
	h := hex.EncodeToString(secret)
	dec := strings.Trim(fmt.Sprint([]byte(secret[:4])), "[]")
	return strings.Contains(out, h) || strings.Contains(strings.ToLower(out), h[:16]) ||
		strings.Contains(out, strings.ToUpper(h[:16])) || strings.Contains(out, dec)
}

func TestSecretsNeverPrint(t *testing.T) {
	seed := bytes.Repeat([]byte{0x5a}, ed25519.SeedSize)
	node, err := NodePrivateFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	onion := OnionPrivate(bytes.Repeat([]byte{0x5b}, Size))
	box := BoxPrivate(bytes.Repeat([]byte{0x5c}, Size))
	holder := struct {
		Node  NodePrivate
		Onion OnionPrivate
		Box   BoxPrivate
	}{node, onion, box}
	secrets := [][]byte{seed, node.Ed25519(), onion[:], box[:]}

	var outs []string
	for _, v := range []any{node, &node, onion, &onion, box, &box, holder, &holder} {
		outs = append(outs, fmt.Sprintf("%v|%s|%x|%X|%+v|%#v|%q|%d", v, v, v, v, v, v, v, v))
		outs = append(outs, fmt.Sprint(v), fmt.Sprintln(v))
	}
	var logged bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logged, nil), slog.NewJSONHandler(&logged, nil)} {
		slog.New(h).Info("keys", "node", node, "onion", onion, "box", box, "ptr", &onion)
	}
	outs = append(outs, logged.String())
	for _, out := range outs {
		for _, s := range secrets {
			if leaks(out, s) {
				t.Fatalf("secret bytes printed: %q", out)
			}
		}
		if !strings.Contains(out, "redacted") && !strings.Contains(out, "REDACTED") {
			t.Fatalf("no redaction marker in %q", out)
		}
	}
}

func TestNodePrivate(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	k, err := NodePrivateFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	std := ed25519.NewKeyFromSeed(seed)
	if pub := k.Public(); !bytes.Equal(pub[:], std.Public().(ed25519.PublicKey)) {
		t.Errorf("Public = %s", pub)
	}
	if !bytes.Equal(k.Seed(), seed) || !bytes.Equal(k.Ed25519(), std) {
		t.Error("Seed or Ed25519 differs from crypto/ed25519")
	}
	msg := []byte("uptime proof")
	sig := k.Sign(msg)
	if pub := k.Public(); !ed25519.Verify(pub[:], msg, sig[:]) {
		t.Error("signature does not verify")
	}

	// The onion key is Session's: its public key is the Montgomery form
	// of the Ed25519 key.
	P, err := new(edwards25519.Point).SetBytes(std[32:])
	if err != nil {
		t.Fatal(err)
	}
	ok := k.OnionPrivate()
	if pub := ok.Public(); !bytes.Equal(pub[:], P.BytesMontgomery()) {
		t.Errorf("onion public %s is not the Montgomery form of the node key", pub)
	}

	same, _ := NodePrivateFromSeed(seed)
	other, _ := NodePrivateFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	if !k.Equal(&same) || k.Equal(&other) {
		t.Error("Equal is wrong")
	}
	gen, err := GenerateNodePrivate()
	if err != nil || gen.IsZero() || gen.Equal(&k) {
		t.Errorf("GenerateNodePrivate = %v, %v", gen, err)
	}
	k.Wipe()
	if !k.IsZero() {
		t.Error("Wipe left key bytes")
	}
	for _, n := range []int{0, 31, 33, 64} {
		var le *LengthError
		if _, err := NodePrivateFromSeed(make([]byte, n)); !errors.As(err, &le) || le.Got != n {
			t.Errorf("NodePrivateFromSeed(%d bytes): err = %v", n, err)
		}
	}
}

func TestX25519Private(t *testing.T) {
	// RFC 7748 §6.1: Alice's key pair.
	skHex := "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
	pkHex := "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
	sk, err := ParseOnionPrivate(skHex)
	if err != nil {
		t.Fatal(err)
	}
	if got := sk.Public().String(); got != pkHex {
		t.Errorf("OnionPrivate.Public = %s, want %s", got, pkHex)
	}
	bsk, err := BoxPrivateFromBytes(sk[:])
	if err != nil {
		t.Fatal(err)
	}
	if got := bsk.Public().String(); got != pkHex {
		t.Errorf("BoxPrivate.Public = %s, want %s", got, pkHex)
	}
	osk2, _ := OnionPrivateFromBytes(sk[:])
	bsk2 := bsk
	bsk2[0] ^= 1
	if !sk.Equal(&osk2) || bsk.Equal(&bsk2) {
		t.Error("Equal is wrong")
	}
	gen, err := GenerateOnionPrivate()
	if err != nil || gen.IsZero() || gen.Equal(&sk) {
		t.Error("GenerateOnionPrivate gave a zero or fixed key")
	}
	sk.Wipe()
	bsk.Wipe()
	if !sk.IsZero() || bsk != (BoxPrivate{}) {
		t.Error("Wipe left key bytes")
	}

	for _, n := range []int{0, 31, 33} {
		var le *LengthError
		if _, err := OnionPrivateFromBytes(make([]byte, n)); !errors.As(err, &le) {
			t.Errorf("OnionPrivateFromBytes(%d bytes): err = %v", n, err)
		}
		if _, err := BoxPrivateFromBytes(make([]byte, n)); !errors.As(err, &le) {
			t.Errorf("BoxPrivateFromBytes(%d bytes): err = %v", n, err)
		}
	}
	var ee *EncodingError
	if _, err := ParseOnionPrivate("zz" + skHex[2:]); !errors.As(err, &ee) || strings.Contains(err.Error(), skHex[2:]) {
		t.Errorf("ParseOnionPrivate(bad hex): err = %v", err)
	}
}

func FuzzParseOnionPrivate(f *testing.F) {
	f.Add(strings.Repeat("ab", Size))
	f.Add("")
	f.Add(strings.Repeat("z", 2*Size))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseOnionPrivate(s)
		if err != nil {
			if !k.IsZero() {
				t.Fatal("non-zero key returned with an error")
			}
			return
		}
		if hex.EncodeToString(k[:]) != strings.ToLower(s) {
			t.Fatalf("parsed %q wrongly", s)
		}
	})
}

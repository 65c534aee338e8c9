package key

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A file server key is a node key in another role: the same seed gives the
// same Ed25519 key, signatures and onion key.
func TestFileServerPrivate(t *testing.T) {
	seed := bytes.Repeat([]byte{0x5d}, ed25519.SeedSize)
	k, err := FileServerPrivateFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	node, _ := NodePrivateFromSeed(seed)
	if pub, npub := k.Public(), node.Public(); pub != FileServerPublic(npub) {
		t.Errorf("Public = %s, want %s", pub, npub)
	}
	if !bytes.Equal(k.Seed(), seed) {
		t.Error("Seed differs")
	}
	msg := []byte("file server registration")
	sig := k.Sign(msg)
	if pub := k.Public(); !ed25519.Verify(pub[:], msg, sig[:]) {
		t.Error("signature does not verify")
	}
	if onion, nodeOnion := k.OnionPrivate(), node.OnionPrivate(); !onion.Equal(&nodeOnion) {
		t.Error("onion key differs from the node key's")
	}

	out := fmt.Sprintf("%v|%s|%x|%+v|%#v|%d", k, k, k, &k, k, k)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "k", k, "ptr", &k)
	for _, s := range []string{out, logged.String()} {
		if leaks(s, seed) || !strings.Contains(strings.ToLower(s), "redacted") {
			t.Fatalf("secret printed: %q", s)
		}
	}

	same, _ := FileServerPrivateFromSeed(seed)
	other, _ := FileServerPrivateFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	if !k.Equal(&same) || k.Equal(&other) {
		t.Error("Equal is wrong")
	}
	gen, err := GenerateFileServerPrivate()
	if err != nil || gen.IsZero() || gen.Equal(&k) {
		t.Errorf("GenerateFileServerPrivate = %v, %v", gen, err)
	}
	k.Wipe()
	if !k.IsZero() {
		t.Error("Wipe left key bytes")
	}
	for _, n := range []int{0, 31, 33, 64} {
		var le *LengthError
		if _, err := FileServerPrivateFromSeed(make([]byte, n)); !errors.As(err, &le) || le.Got != n || le.What != "file server key seed" {
			t.Errorf("FileServerPrivateFromSeed(%d bytes): err = %v", n, err)
		}
	}
}

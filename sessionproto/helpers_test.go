package sessionproto

import (
	"encoding/hex"
	"testing"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// keysFromHex builds keys from a hex seed, failing the test on error.
func keysFromHex(t testing.TB, seedHex string) *identity.Keys {
	t.Helper()
	seed, err := hex.DecodeString(seedHex)
	if err != nil {
		t.Fatal(err)
	}
	k, err := identity.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keysFromBytes(t testing.TB, seed []byte) *identity.Keys {
	t.Helper()
	k, err := identity.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newKeys(t testing.TB) *identity.Keys {
	t.Helper()
	k, seed, err := identity.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	clear(seed)
	return k
}

func parseID(t testing.TB, s string) key.SessionID {
	t.Helper()
	id, err := key.ParseSessionID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func parseBlinded(t testing.TB, s string) key.BlindedID {
	t.Helper()
	id, err := key.ParseBlindedID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

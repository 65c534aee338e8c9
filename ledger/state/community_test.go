package state

import (
	"bytes"
	"strings"
	"testing"
)

// csBody builds op's registration or update of community server cs (its
// Ed25519 key is testKey(cs)) for nonce, signed by signerName's key as
// the server key.
func (h *harness) csBody(t TxType, op, cs, signerName, url string, rooms []string, nonce uint64) Body {
	x := testX("cs " + cs)
	sig := SignCommunity(KeySigner(testKey(signerName)), testChain, t, testAddr(op), nonce, x, url, rooms)
	switch t {
	case TypeCommunityRegister:
		return &CommunityRegister{Ed25519: testFileServer(cs), X25519: x, URL: url, Rooms: rooms, ServerSig: sig}
	case TypeCommunityUpdate:
		return &CommunityUpdate{Ed25519: testFileServer(cs), X25519: x, URL: url, Rooms: rooms, ServerSig: sig}
	}
	panic("not a community body")
}

// csTx is op's transaction registering (or updating) cs at url with
// rooms, signed by cs's own key.
func (h *harness) csTx(t TxType, op, cs, url string, rooms ...string) []byte {
	nonce := h.s.Account(testAddr(op)).Nonce
	return h.txNonce(op, nonce, h.csBody(t, op, cs, cs, url, rooms, nonce))
}

func TestCommunityLifecycle(t *testing.T) {
	h := devnet(t)
	h.solo("alice", "an", 1)
	// A file server and a community are counted apart: one of each for
	// one funded node.
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://files.example.org"))
	h.ok(h.csTx(TypeCommunityRegister, "alice", "cs1", "https://chat.example.org", "lobby", "dev"))
	list := h.s.Communities()
	if len(list) != 1 {
		t.Fatalf("listed %d", len(list))
	}
	c := list[0]
	if c.Ed25519 != testFileServer("cs1") || c.X25519 != testX("cs cs1") || c.Operator != testAddr("alice") ||
		strings.Join(c.Rooms, ",") != "lobby,dev" || c.RegisteredHeight != h.s.Height() {
		t.Fatalf("registration %+v", c)
	}
	h.rejectIn(h.csTx(TypeCommunityRegister, "alice", "cs2", "https://two.example.org", "lobby"), CodeFull)

	h.run(1)
	h.ok(h.csTx(TypeCommunityUpdate, "alice", "cs1", "https://chat.example.org:8443", "lobby"))
	got, _ := h.s.Community(testFileServer("cs1"))
	if got.URL != "https://chat.example.org:8443" || len(got.Rooms) != 1 || got.UpdatedHeight != h.s.Height() || got.RegisteredHeight != c.RegisteredHeight {
		t.Fatalf("after update %+v", got)
	}

	// The state round-trips with both sections.
	enc := h.s.Encode()
	s, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Encode(), enc) || s.Hash() != h.s.Hash() || len(s.Communities()) != 1 || len(s.FileServers()) != 1 {
		t.Fatal("communities do not round-trip")
	}
	cl := h.s.Clone()
	cl.communities[testFileServer("cs1")].Rooms[0] = "changed"
	if got, _ := h.s.Community(testFileServer("cs1")); got.Rooms[0] != "lobby" {
		t.Fatal("Clone shares rooms")
	}

	h.ok(h.tx("alice", &CommunityRemove{Ed25519: testFileServer("cs1")}))
	if _, ok := h.s.Community(testFileServer("cs1")); ok || len(h.s.Communities()) != 0 {
		t.Fatal("removed community still registered")
	}
	h.ok(h.csTx(TypeCommunityRegister, "alice", "cs2", "https://two.example.org", "lobby"))
}

func TestCommunityRejections(t *testing.T) {
	h := devnet(t)
	h.solo("alice", "an", 1)
	h.solo("bob", "bn", 1)
	h.ok(h.csTx(TypeCommunityRegister, "alice", "cs1", "https://chat.example.org", "lobby"))
	url := "https://other.example.org"
	lobby := []string{"lobby"}

	t.Run("not an operator", func(t *testing.T) {
		h.rejectIn(h.csTx(TypeCommunityRegister, "carol", "cs2", url, "lobby"), CodeNotAllowed)
	})
	t.Run("already registered", func(t *testing.T) {
		h.rejectIn(h.csTx(TypeCommunityRegister, "bob", "cs1", url, "lobby"), CodeDuplicate)
	})
	t.Run("URL in use", func(t *testing.T) {
		h.rejectIn(h.csTx(TypeCommunityRegister, "bob", "cs2", "https://chat.example.org", "lobby"), CodeDuplicate)
	})
	for name, rooms := range map[string][]string{
		"no rooms":       {},
		"bad token":      {"lob by"},
		"repeated room":  {"lobby", "lobby"},
		"too many rooms": strings.Fields(strings.Repeat("r ", 33)),
		"long token":     {strings.Repeat("a", 65)},
	} {
		t.Run(name, func(t *testing.T) {
			nonce := h.s.Account(testAddr("bob")).Nonce
			raw := h.txNonce("bob", nonce, h.csBody(TypeCommunityRegister, "bob", "cs2", "cs2", url, rooms, nonce))
			if len(rooms) > 32 || (len(rooms) == 1 && len(rooms[0]) > 64) {
				h.rejectIn(raw, CodeMalformed) // the codec bounds sizes
				return
			}
			h.rejectIn(raw, CodeInvalid)
		})
	}
	t.Run("bad URL", func(t *testing.T) {
		h.rejectIn(h.csTx(TypeCommunityRegister, "bob", "cs2", "ftp://chat.example.org", "lobby"), CodeInvalid)
	})
	t.Run("someone else's key", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		h.rejectIn(h.txNonce("bob", nonce, h.csBody(TypeCommunityRegister, "bob", "cs2", "mallory", url, lobby, nonce)), CodeBadSignature)
	})
	t.Run("signed for other rooms", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		b := h.csBody(TypeCommunityRegister, "bob", "cs2", "cs2", url, lobby, nonce).(*CommunityRegister)
		b.Rooms = []string{"lobby", "extra"}
		h.rejectIn(h.txNonce("bob", nonce, b), CodeBadSignature)
	})
	t.Run("a file server signature", func(t *testing.T) {
		// The same key's file server signature does not register a
		// community: the labels differ.
		nonce := h.s.Account(testAddr("bob")).Nonce
		x := testX("cs cs2")
		b := &CommunityRegister{Ed25519: testFileServer("cs2"), X25519: x, URL: url, Rooms: lobby,
			ServerSig: SignFileServer(KeySigner(testKey("cs2")), testChain, TypeCommunityRegister, testAddr("bob"), nonce, x, url)}
		h.rejectIn(h.txNonce("bob", nonce, b), CodeBadSignature)
	})
	t.Run("replayed transaction and signature", func(t *testing.T) {
		old := h.s.Account(testAddr("bob")).Nonce
		b := h.csBody(TypeCommunityRegister, "bob", "cs2", "cs2", url, lobby, old)
		raw := h.txNonce("bob", old, b)
		h.ok(raw)
		h.rejectIn(raw, CodeBadNonce)
		h.ok(h.tx("bob", &CommunityRemove{Ed25519: testFileServer("cs2")}))
		h.rejectIn(raw, CodeBadNonce)
		h.rejectIn(h.tx("bob", b), CodeBadSignature)
	})
	t.Run("update by another operator", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		h.rejectIn(h.txNonce("bob", nonce, h.csBody(TypeCommunityUpdate, "bob", "cs1", "cs1", url, lobby, nonce)), CodeNotAllowed)
	})
	t.Run("update of an unknown server", func(t *testing.T) {
		h.rejectIn(h.csTx(TypeCommunityUpdate, "bob", "cs9", url, "lobby"), CodeUnknownCommunity)
	})
	t.Run("remove by another operator", func(t *testing.T) {
		h.rejectIn(h.tx("bob", &CommunityRemove{Ed25519: testFileServer("cs1")}), CodeNotAllowed)
	})
	t.Run("remove unknown", func(t *testing.T) {
		h.rejectIn(h.tx("bob", &CommunityRemove{Ed25519: testFileServer("cs9")}), CodeUnknownCommunity)
	})
	if got := h.s.Communities(); len(got) != 1 || got[0].URL != "https://chat.example.org" {
		t.Fatalf("listed %+v", got)
	}
}

func TestCommunityStateEncodingRejects(t *testing.T) {
	h := devnet(t)
	h.solo("alice", "an", 1)
	empty := h.s.Encode()
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://files.example.org"))
	withFS := h.s.Encode()
	for name, b := range map[string][]byte{
		"empty community section":       append(bytes.Clone(empty), communitySection, 0, 0, 0, 0),
		"community section before file": append(append(bytes.Clone(empty), communitySection, 0, 0, 0, 1), withFS[len(empty):]...),
		"file section twice":            append(bytes.Clone(withFS), withFS[len(empty):]...),
		"unknown section":               append(bytes.Clone(empty), 3),
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzDecodeStateCommunities from a state with file servers and
// communities: decoding is exact.
func FuzzDecodeStateCommunities(f *testing.F) {
	h := newHarness(f, DevnetParams(), 0, map[string]uint64{"alice": 1000 * Coin})
	h.solo("alice", "an", 2)
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://files.example.org"))
	h.ok(h.csTx(TypeCommunityRegister, "alice", "cs1", "https://one.example.org", "lobby"))
	h.ok(h.csTx(TypeCommunityRegister, "alice", "cs2", "http://[2001:db8::1]:8080/x", "a", "b-c"))
	f.Add(h.s.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatal("decode/encode is not the identity")
		}
	})
}

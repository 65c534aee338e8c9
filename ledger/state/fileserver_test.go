package state

import (
	"bytes"
	"testing"

	"sotto.dev/key"
)

// fsBody builds op's registration or update of file server fs (its
// Ed25519 key is testKey(fs)) for nonce, signed by signerName's key as
// the server key.
func (h *harness) fsBody(t TxType, op, fs, signerName, url string, nonce uint64) Body {
	x := testX("fs " + fs)
	sig := SignFileServer(KeySigner(testKey(signerName)), testChain, t, testAddr(op), nonce, x, url)
	switch t {
	case TypeFileServerRegister:
		return &FileServerRegister{Ed25519: testNode(fs), X25519: x, URL: url, ServerSig: sig}
	case TypeFileServerUpdate:
		return &FileServerUpdate{Ed25519: testNode(fs), X25519: x, URL: url, ServerSig: sig}
	}
	panic("not a file server body")
}

// fsTx is op's transaction registering (or updating) fs at url, signed by
// fs's own key.
func (h *harness) fsTx(t TxType, op, fs, url string) []byte {
	nonce := h.s.Account(testAddr(op)).Nonce
	return h.txNonce(op, nonce, h.fsBody(t, op, fs, fs, url, nonce))
}

func fsURLs(list []FileServer) []string {
	var out []string
	for _, fs := range list {
		out = append(out, fs.URL)
	}
	return out
}

func TestFileServerLifecycle(t *testing.T) {
	h := devnet(t)
	h.solo("alice", "an", 2)
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://files.example.org"))
	list := h.s.FileServers()
	if len(list) != 1 {
		t.Fatalf("listed %v", fsURLs(list))
	}
	fs := list[0]
	if fs.Ed25519 != testNode("fs1") || fs.X25519 != testX("fs fs1") || fs.Operator != testAddr("alice") ||
		fs.RegisteredHeight != h.s.Height() || fs.UpdatedHeight != h.s.Height() {
		t.Fatalf("registration %+v", fs)
	}
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs2", "http://127.0.0.1:8080/files/"))
	if got := fsURLs(h.s.FileServers()); len(got) != 2 {
		t.Fatalf("listed %v", got)
	}
	// Two funded nodes, two servers: a third is over the limit.
	h.rejectIn(h.fsTx(TypeFileServerRegister, "alice", "fs3", "https://three.example.org"), CodeFull)

	h.run(1)
	h.ok(h.fsTx(TypeFileServerUpdate, "alice", "fs1", "https://new.example.org:8443"))
	got, _ := h.s.FileServer(testNode("fs1"))
	if got.URL != "https://new.example.org:8443" || got.UpdatedHeight != h.s.Height() || got.RegisteredHeight != fs.RegisteredHeight {
		t.Fatalf("after update %+v", got)
	}

	h.ok(h.tx("alice", &FileServerRemove{Ed25519: testNode("fs1")}))
	if _, ok := h.s.FileServer(testNode("fs1")); ok {
		t.Fatal("removed server still registered")
	}
	if got := fsURLs(h.s.FileServers()); len(got) != 1 || got[0] != "http://127.0.0.1:8080/files/" {
		t.Fatalf("listed %v", got)
	}
	// The room is free again.
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs3", "https://three.example.org"))
}

func TestFileServerRejections(t *testing.T) {
	h := devnet(t)
	h.solo("alice", "an", 1)
	h.solo("bob", "bn", 1)
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://files.example.org"))
	url := "https://other.example.org"

	t.Run("not an operator", func(t *testing.T) {
		h.rejectIn(h.fsTx(TypeFileServerRegister, "carol", "fs2", url), CodeNotAllowed)
	})
	t.Run("already registered", func(t *testing.T) {
		h.rejectIn(h.fsTx(TypeFileServerRegister, "bob", "fs1", url), CodeDuplicate)
	})
	t.Run("URL in use", func(t *testing.T) {
		h.rejectIn(h.fsTx(TypeFileServerRegister, "bob", "fs2", "https://files.example.org"), CodeDuplicate)
	})
	t.Run("x25519 in use", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		x := testX("fs fs1")
		b := &FileServerRegister{Ed25519: testNode("fs2"), X25519: x, URL: url,
			ServerSig: SignFileServer(KeySigner(testKey("fs2")), testChain, TypeFileServerRegister, testAddr("bob"), nonce, x, url)}
		h.rejectIn(h.txNonce("bob", nonce, b), CodeDuplicate)
	})
	t.Run("zero x25519", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		b := &FileServerRegister{Ed25519: testNode("fs2"), URL: url,
			ServerSig: SignFileServer(KeySigner(testKey("fs2")), testChain, TypeFileServerRegister, testAddr("bob"), nonce, key.OnionPublic{}, url)}
		h.rejectIn(h.txNonce("bob", nonce, b), CodeInvalid)
	})
	for _, bad := range []string{"ftp://files.example.org", "https://user@files.example.org", "https://files.example.org/?q=1",
		"https://files.example.org/#f", "https://files.example.org:0", "https://127.0.0.1:99999", "https://"} {
		t.Run("bad URL "+bad, func(t *testing.T) {
			h.rejectIn(h.fsTx(TypeFileServerRegister, "bob", "fs2", bad), CodeInvalid)
		})
	}
	t.Run("bad server signature", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		b := h.fsBody(TypeFileServerRegister, "bob", "fs2", "fs2", url, nonce).(*FileServerRegister)
		b.ServerSig[5] ^= 1
		h.rejectIn(h.txNonce("bob", nonce, b), CodeBadSignature)
	})
	t.Run("someone else's key", func(t *testing.T) {
		// Bob claims fs2's key with a signature of his own server key.
		nonce := h.s.Account(testAddr("bob")).Nonce
		h.rejectIn(h.txNonce("bob", nonce, h.fsBody(TypeFileServerRegister, "bob", "fs2", "mallory", url, nonce)), CodeBadSignature)
	})
	t.Run("signed for another operator", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		h.rejectIn(h.txNonce("bob", nonce, h.fsBody(TypeFileServerRegister, "alice", "fs2", "fs2", url, nonce)), CodeBadSignature)
	})
	t.Run("signed for another chain", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		x := testX("fs fs2")
		b := &FileServerRegister{Ed25519: testNode("fs2"), X25519: x, URL: url,
			ServerSig: KeySigner(testKey("fs2")).Sign(FileServerMessage("other", TypeFileServerRegister, testAddr("bob"), nonce, testNode("fs2"), x, url))}
		h.rejectIn(h.txNonce("bob", nonce, b), CodeBadSignature)
	})
	t.Run("an update's signature used to register", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		u := h.fsBody(TypeFileServerUpdate, "bob", "fs2", "fs2", url, nonce).(*FileServerUpdate)
		b := &FileServerRegister{Ed25519: u.Ed25519, X25519: u.X25519, URL: u.URL, ServerSig: u.ServerSig}
		h.rejectIn(h.txNonce("bob", nonce, b), CodeBadSignature)
	})
	t.Run("replayed transaction", func(t *testing.T) {
		raw := h.fsTx(TypeFileServerRegister, "bob", "fs2", url)
		h.ok(raw)
		h.rejectIn(raw, CodeBadNonce)
		h.ok(h.tx("bob", &FileServerRemove{Ed25519: testNode("fs2")}))
		h.rejectIn(raw, CodeBadNonce)
	})
	t.Run("replayed server signature", func(t *testing.T) {
		// The server signed a registration at an old nonce; the operator
		// cannot use that signature again after removing the server.
		old := h.s.Account(testAddr("bob")).Nonce
		b := h.fsBody(TypeFileServerRegister, "bob", "fs2", "fs2", url, old)
		h.ok(h.txNonce("bob", old, b))
		h.ok(h.tx("bob", &FileServerRemove{Ed25519: testNode("fs2")}))
		h.rejectIn(h.tx("bob", b), CodeBadSignature)
	})
	t.Run("update by another operator", func(t *testing.T) {
		nonce := h.s.Account(testAddr("bob")).Nonce
		h.rejectIn(h.txNonce("bob", nonce, h.fsBody(TypeFileServerUpdate, "bob", "fs1", "fs1", url, nonce)), CodeNotAllowed)
	})
	t.Run("update of an unknown server", func(t *testing.T) {
		h.rejectIn(h.fsTx(TypeFileServerUpdate, "bob", "fs9", url), CodeUnknownFileServer)
	})
	t.Run("update signed by someone else", func(t *testing.T) {
		nonce := h.s.Account(testAddr("alice")).Nonce
		h.rejectIn(h.txNonce("alice", nonce, h.fsBody(TypeFileServerUpdate, "alice", "fs1", "mallory", url, nonce)), CodeBadSignature)
	})
	t.Run("remove by another operator", func(t *testing.T) {
		h.rejectIn(h.tx("bob", &FileServerRemove{Ed25519: testNode("fs1")}), CodeNotAllowed)
	})
	t.Run("remove unknown", func(t *testing.T) {
		h.rejectIn(h.tx("bob", &FileServerRemove{Ed25519: testNode("fs9")}), CodeUnknownFileServer)
	})
	if got := fsURLs(h.s.FileServers()); len(got) != 1 || got[0] != "https://files.example.org" {
		t.Fatalf("listed %v", got)
	}
}

// A private address is refused on a network that does not allow them.
func TestFileServerPublicNetwork(t *testing.T) {
	h := devnet(t)
	h.solo("alice", "an", 1)
	h.s.params.AllowPrivateIPs = false
	h.rejectIn(h.fsTx(TypeFileServerRegister, "alice", "fs1", "http://127.0.0.1:8080"), CodeInvalid)
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://files.example.org"))
}

// The listing follows the operator's funded nodes.
func TestFileServerListingFollowsStake(t *testing.T) {
	h := devnet(t)
	nodes := h.solo("alice", "an", 2)
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://one.example.org"))
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs2", "https://two.example.org"))
	h.s.nodes[nodes[0]].Status = StatusDeregistered
	if got := h.s.FileServers(); len(got) != 1 {
		t.Fatalf("one funded node lists %d servers", len(got))
	}
	h.s.nodes[nodes[1]].Status = StatusDeregistered
	if got := h.s.FileServers(); len(got) != 0 {
		t.Fatalf("no funded node lists %d servers", len(got))
	}
	if _, ok := h.s.FileServer(testNode("fs1")); !ok {
		t.Fatal("the registration itself is gone")
	}
}

func TestFileServerStateEncoding(t *testing.T) {
	h := devnet(t)
	h.solo("alice", "an", 2)
	empty := h.s.Encode()
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://one.example.org"))
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs2", "https://two.example.org"))
	enc := h.s.Encode()
	s, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Encode(), enc) || s.Hash() != h.s.Hash() || len(s.FileServers()) != 2 {
		t.Fatal("file servers do not round-trip")
	}
	c := h.s.Clone()
	c.fileServers[testNode("fs1")].URL = "https://changed.example.org"
	if fs, _ := h.s.FileServer(testNode("fs1")); fs.URL != "https://one.example.org" {
		t.Fatal("Clone shares registrations")
	}

	// Without file servers the encoding has no section at all, and an
	// empty or unknown section is not canonical.
	if _, err := Decode(empty); err != nil {
		t.Fatal(err)
	}
	for name, tail := range map[string][]byte{
		"empty section":   {fileServerSection, 0, 0, 0, 0},
		"unknown section": {2},
		"short":           {fileServerSection, 0, 0, 0, 1, 7},
	} {
		if _, err := Decode(append(bytes.Clone(empty), tail...)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Keys out of order.
	a, _ := h.s.FileServer(testNode("fs1"))
	b, _ := h.s.FileServer(testNode("fs2"))
	if compareKeys(a.Ed25519, b.Ed25519) < 0 {
		a, b = b, a
	}
	w := &writer{b: bytes.Clone(empty)}
	w.u8(fileServerSection)
	w.u32(2)
	for _, fs := range []FileServer{a, b} {
		w.raw(fs.Ed25519[:])
		w.raw(fs.X25519[:])
		w.str8(fs.URL)
		w.raw(fs.Operator[:])
		w.u64(fs.RegisteredHeight)
		w.u64(fs.UpdatedHeight)
	}
	if _, err := Decode(w.b); err == nil {
		t.Error("unsorted file servers accepted")
	}
}

// Registrations cost the same fee as any transaction and pass Check.
func TestFileServerCheck(t *testing.T) {
	h := devnet(t)
	h.solo("alice", "an", 1)
	raw := h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://files.example.org")
	if _, err := h.s.Check(raw); err != nil {
		t.Fatal(err)
	}
	broke := h.fsTx(TypeFileServerRegister, "erin", "fs2", "https://two.example.org")
	if _, err := h.s.Check(broke); CodeOf(err) != CodeInsufficientFunds {
		t.Fatalf("Check of an empty account: %v", err)
	}
}

// FuzzDecodeState from a state with file servers: decoding is exact.
func FuzzDecodeStateFileServers(f *testing.F) {
	h := newHarness(f, DevnetParams(), 0, map[string]uint64{"alice": 1000 * Coin})
	h.solo("alice", "an", 2)
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs1", "https://one.example.org"))
	h.ok(h.fsTx(TypeFileServerRegister, "alice", "fs2", "http://[2001:db8::1]:8080/x"))
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

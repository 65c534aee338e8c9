package config

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// FuzzOpen feeds arbitrary stored messages to Open: it must not panic, and
// whatever it accepts as a whole message is a bt dict.
func FuzzOpen(f *testing.F) {
	account, seed := testAccount("fuzz")
	for _, msg := range [][]byte{
		[]byte("d1:#i0e1:&de1:<le1:=dee"),
		contactsMessage(200),
		bytes.Repeat([]byte("d"), 80000),
	} {
		s, err := Seal(msg, kindProfile, seed, account, 1)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range s.Messages {
			f.Add(m)
		}
		f.Add(s.Inner)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 300))
	keys := [][32]byte{{1}, seed}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Open(data, kindProfile, keys, account)
		if err != nil {
			return
		}
		if o.Part == nil && (len(o.Plain) == 0 || o.Plain[0] != 'd') {
			t.Fatalf("Open accepted %q", o.Plain)
		}
		if o.Part != nil && (o.Part.Index >= o.Part.Count || len(o.Part.Chunk) == 0) {
			t.Fatalf("Open accepted part %d of %d", o.Part.Index, o.Part.Count)
		}
	})
}

// FuzzDecrypt checks the Encrypt/Decrypt round trip for any plaintext and
// domain, and that Decrypt rejects what it cannot open without panicking.
func FuzzDecrypt(f *testing.F) {
	f.Add([]byte("hello world"), "UserProfile")
	f.Add([]byte{}, "x")
	f.Add(make([]byte, 300), "abcdefghijklmnopqrstuvwxy")
	_, key := testAccount("fuzz")
	f.Fuzz(func(t *testing.T, pt []byte, domain string) {
		if _, err := Decrypt(pt, key, domain); err == nil && len(pt) < Overhead {
			t.Fatalf("Decrypt accepted %d bytes", len(pt))
		}
		ct, err := Encrypt(pt, key, domain)
		if err != nil {
			if !errors.Is(err, ErrDomain) {
				t.Fatalf("Encrypt: %v", err)
			}
			return
		}
		back, err := Decrypt(ct, key, domain)
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("Decrypt(Encrypt(%x)) = %x, %v", pt, back, err)
		}
	})
}

// FuzzUnwrap checks the WrapConfig/UnwrapConfig round trip, and that
// UnwrapConfig only ever fails with a *WrapperError on arbitrary input.
func FuzzUnwrap(f *testing.F) {
	account, _ := testAccount("fuzz")
	w, err := WrapConfig(account, []byte("ciphertext"), 5, 3)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w, 3, int64(5))
	f.Add([]byte{}, 2, int64(0))
	f.Add([]byte{0x08, 0x01, 0x12, 0x00}, 5, int64(-1))
	f.Fuzz(func(t *testing.T, data []byte, ns int, seqno int64) {
		if _, err := UnwrapConfig(account, data, ns); err != nil {
			var we *WrapperError
			if !errors.As(err, &we) {
				t.Fatalf("UnwrapConfig: %v", err)
			}
		}
		if ns < 2 || ns > 5 {
			return
		}
		w, err := WrapConfig(account, data, seqno, ns)
		if err != nil {
			t.Fatalf("WrapConfig: %v", err)
		}
		back, err := UnwrapConfig(account, w, ns)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("UnwrapConfig(WrapConfig(%x)) = %x, %v", data, back, err)
		}
	})
}

// FuzzJoinParts parses arbitrary part plaintexts, and splits a message at
// arbitrary points to join it again.
func FuzzJoinParts(f *testing.F) {
	msg := []byte("d1:#i1e1:&d1:n5:alicee1:<le1:=d1:n0:ee")
	f.Add(encodePart(Part{Index: 0, Count: 1, Chunk: []byte("d")}), []byte{3, 100})
	f.Add([]byte("ml32:"), []byte{})
	f.Add([]byte{}, []byte{255, 1, 1})
	f.Fuzz(func(t *testing.T, raw, cuts []byte) {
		if p, err := decodePart(raw); err == nil {
			if !bytes.Equal(encodePart(*p), raw) {
				t.Fatalf("decodePart accepted a non-canonical part %q", raw)
			}
			_, _ = JoinParts([]Part{*p})
		}

		body := Pad(msg)
		hash := blake2b.Sum256(msg)
		var parts []Part
		for len(body) > 0 && len(parts) < MaxParts-1 {
			n := len(body)
			if len(cuts) > 0 {
				n = min(int(cuts[0])+1, n)
				cuts = cuts[1:]
			}
			parts = append(parts, Part{Hash: hash, Index: len(parts), Chunk: body[:n]})
			body = body[n:]
		}
		if len(body) > 0 {
			parts = append(parts, Part{Hash: hash, Index: len(parts), Chunk: body})
		}
		for i := range parts {
			parts[i].Count = len(parts)
			dec, err := decodePart(encodePart(parts[i]))
			if err != nil || dec.Index != i || !bytes.Equal(dec.Chunk, parts[i].Chunk) {
				t.Fatalf("part %d does not round trip: %v", i, err)
			}
		}
		got, err := JoinParts(parts)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("JoinParts of %d parts: %q, %v", len(parts), got, err)
		}
	})
}

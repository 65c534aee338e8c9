package attachment

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

func testManifest(t testing.TB, sizes ...int64) *Manifest {
	m := &Manifest{SHA256: sha256.Sum256([]byte("file"))}
	for i, s := range sizes {
		u, err := ParseURL(fmt.Sprintf("http://files.example/file/part%d#p=%s&d=", i, testServer))
		if err != nil {
			t.Fatal(err)
		}
		p := Part{URL: u, Size: s}
		p.Key[0] = byte(i)
		p.Digest[0] = byte(i + 100)
		m.Parts = append(m.Parts, p)
		m.Size += s
	}
	return m
}

func TestManifestRoundTrip(t *testing.T) {
	for _, sizes := range [][]int64{{1}, {PartSize, PartSize, 5}, PartSizes(100 << 20), {MaxRegularSize}} {
		m := testManifest(t, sizes...)
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseManifest(b)
		if err != nil {
			t.Fatalf("%v: %v", sizes, err)
		}
		b2, err := got.MarshalBinary()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("%v: re-encoding differs (%v)", sizes, err)
		}
		if got.Size != m.Size || got.SHA256 != m.SHA256 || len(got.Parts) != len(m.Parts) {
			t.Fatalf("%v: header differs", sizes)
		}
		for i := range got.Parts {
			if got.Parts[i].Size != m.Parts[i].Size || got.Parts[i].Key != m.Parts[i].Key ||
				got.Parts[i].Digest != m.Parts[i].Digest || got.Parts[i].URL.String() != m.Parts[i].URL.String() {
				t.Fatalf("%v: part %d differs", sizes, i)
			}
		}
	}
}

func TestPartSizes(t *testing.T) {
	if got := PartSizes(0); len(got) != 0 {
		t.Errorf("PartSizes(0) = %v", got)
	}
	got := PartSizes(100 << 20)
	var sum int64
	for i, s := range got {
		sum += s
		if i < len(got)-1 && s != PartSize {
			t.Errorf("part %d is %d bytes", i, s)
		}
	}
	if sum != 100<<20 || len(got) != 13 {
		t.Errorf("PartSizes(100 MiB) = %d parts, %d bytes", len(got), sum)
	}
	// A part's upload fits Session's 10 MB file limit.
	if e := EncryptedSize(PartSize); e != 8650752 || e > 10_000_000 {
		t.Errorf("EncryptedSize(PartSize) = %d", e)
	}
}

func TestParseManifestErrors(t *testing.T) {
	good, err := testManifest(t, 10, 20).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	part0URL := manifestHeaderLen + manifestPartFixed
	cases := map[string][]byte{
		"empty":       nil,
		"short":       good[:manifestHeaderLen-1],
		"magic":       mod(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version":     mod(func(b []byte) []byte { b[3] = 2; return b }),
		"total":       mod(func(b []byte) []byte { b[11]++; return b }),
		"huge total":  mod(func(b []byte) []byte { b[4] = 0xff; return b }),
		"no parts":    mod(func(b []byte) []byte { b[44], b[45] = 0, 0; return b[:manifestHeaderLen] }),
		"more parts":  mod(func(b []byte) []byte { b[45] = 3; return b }),
		"fewer parts": mod(func(b []byte) []byte { b[45] = 1; return b }),
		"zero size": mod(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[manifestHeaderLen:], 0)
			binary.BigEndian.PutUint64(b[4:], 20)
			return b
		}),
		"big size": mod(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[manifestHeaderLen:], MaxRegularSize+1)
			binary.BigEndian.PutUint64(b[4:], MaxRegularSize+21)
			return b
		}),
		"url len 0":   mod(func(b []byte) []byte { b[part0URL-2], b[part0URL-1] = 0, 0; return b }),
		"url len big": mod(func(b []byte) []byte { b[part0URL-2] = 0x7f; return b }),
		"bad url":     mod(func(b []byte) []byte { b[part0URL] = 'x'; return b }),
		"non-canonical url": mod(func(b []byte) []byte {
			// "p=…&d=" → "d=&p=…" is the same URL, not in canonical order.
			i := bytes.Index(b, []byte("#p="))
			copy(b[i+1:], "d=&p="+testServer)
			return b
		}),
		"trailing": append(bytes.Clone(good), 0),
		"cut":      good[:len(good)-1],
	}
	for name, b := range cases {
		if m, err := ParseManifest(b); !errors.Is(err, ErrManifest) {
			t.Errorf("%s: %+v, %v; want ErrManifest", name, m, err)
		}
	}
	// A part URL without the deterministic flag cannot be marshalled.
	m := testManifest(t, 5)
	m.Parts[0].URL.Deterministic = false
	if _, err := m.MarshalBinary(); !errors.Is(err, ErrManifest) {
		t.Errorf("non-deterministic part: %v", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	for _, sizes := range [][]int64{{1}, {PartSize, 7}} {
		b, err := testManifest(f, sizes...).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("SMF\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := m.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip differs (%v)", err)
		}
	})
}

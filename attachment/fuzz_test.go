package attachment

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// Every decryption entry point takes data from the network: none may panic,
// and every failure is one of the package's errors.

func typed(err error) bool {
	for _, e := range []error{ErrFormat, ErrMAC, ErrDigest, ErrDecrypt, ErrTruncated, ErrTrailing, ErrPadding, ErrSize, ErrKey} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func FuzzOpen(f *testing.F) {
	key := Key{1, 2, 3}
	ct, k, _ := Seal(&testSeed, DomainAttachment, []byte("hello"))
	f.Add(ct, k[:])
	f.Add(ct[:40], key[:])
	f.Add([]byte("S"), key[:])
	f.Fuzz(func(t *testing.T, data, keyBytes []byte) {
		k, err := KeyFromBytes(keyBytes)
		if err != nil {
			return
		}
		pt, err := Open(&k, data)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if m, ok := DecryptedMaxSize(int64(len(data))); !ok || int64(len(pt)) > m {
			t.Fatalf("%d bytes of plaintext from %d bytes", len(pt), len(data))
		}
	})
}

// FuzzSealOpen: what Seal makes, Open and Decrypt give back, and its size is
// EncryptedSize.
func FuzzSealOpen(f *testing.F) {
	f.Add([]byte{}, byte(0))
	f.Add(makeData(5000), byte(1))
	f.Fuzz(func(t *testing.T, pt []byte, d byte) {
		dom := Domain(d & 1)
		ct, key, err := Seal(&testSeed, dom, pt)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(ct)) != EncryptedSize(int64(len(pt))) {
			t.Fatalf("%d bytes, want %d", len(ct), EncryptedSize(int64(len(pt))))
		}
		got, err := Open(&key, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open: %v", err)
		}
	})
}

func FuzzOpenLegacy(f *testing.F) {
	var key LegacyKey
	iv := [16]byte{}
	blob, digest := SealLegacy(&key, &iv, []byte("hello"))
	f.Add(blob, digest[:], int64(5))
	f.Add(blob[:48], digest[:], int64(0))
	f.Fuzz(func(t *testing.T, blob, digest []byte, size int64) {
		pt, err := OpenLegacy(&key, blob, digest, size)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if int64(len(pt)) != size {
			t.Fatalf("%d bytes, want %d", len(pt), size)
		}
	})
}

func FuzzOpenProfile(f *testing.F) {
	var key ProfileKey
	blob, _ := sealProfileIV(&key, &[12]byte{}, []byte("picture"))
	f.Add(blob)
	f.Add(blob[:29])
	f.Fuzz(func(t *testing.T, blob []byte) {
		if _, err := OpenProfile(&key, blob); err != nil && !typed(err) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzDecryptStream feeds a valid stream through a reader that cuts it
// anywhere: it either fails with a typed error or gives the plaintext.
func FuzzDecryptStream(f *testing.F) {
	pt := makeData(3*ChunkSize + 77)
	ct, key, _ := Seal(&testSeed, DomainAttachment, pt)
	f.Add(uint32(len(ct)), uint16(0))
	f.Add(uint32(1+HeaderSize+EncryptedChunkSize), uint16(5))
	f.Fuzz(func(t *testing.T, cut uint32, flip uint16) {
		data := bytes.Clone(ct[:min(int(cut), len(ct))])
		if flip != 0 && len(data) > 0 {
			data[int(flip)%len(data)] ^= byte(flip>>8 | 1)
		}
		var out bytes.Buffer
		_, err := Decrypt(&out, io.MultiReader(bytes.NewReader(data)), &key)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(out.Bytes(), pt) {
			t.Fatal("a changed stream decrypted to something else")
		}
	})
}

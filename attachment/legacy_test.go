package attachment

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLegacyPaddedSizeNode(t *testing.T) {
	var f struct {
		Sizes [][2]int64 `json:"sizes"`
	}
	loadJSON(t, "legacy_padding.json", &f)
	for _, s := range f.Sizes {
		if got := LegacyPaddedSize(s[0]); got != s[1] {
			t.Errorf("LegacyPaddedSize(%d) = %d, want %d (node)", s[0], got, s[1])
		}
	}
}

// TestLegacyPaddedSizeExact checks the floating-point formula against exact
// arithmetic: for every bucket 1.05^k up to past 100 MB, the integer part
// of the exact power is what math.Pow floors to, the power is nowhere near
// an integer (so no rounding of log, division or pow, in Go or in
// JavaScript, can move a size across a bucket edge), and the sizes on
// either side of the edge fall in the right buckets.
func TestLegacyPaddedSizeExact(t *testing.T) {
	const prec = 256
	base := new(big.Float).SetPrec(prec).Quo(big.NewFloat(105).SetPrec(prec), big.NewFloat(100).SetPrec(prec))
	pow := new(big.Float).SetPrec(prec).SetInt64(1)
	for k := 1; k <= 400; k++ {
		pow.Mul(pow, base)
		floor, _ := pow.Int(nil)
		frac := new(big.Float).SetPrec(prec).Sub(pow, new(big.Float).SetPrec(prec).SetInt(floor))
		f, _ := frac.Float64()
		if f < 1e-6 || f > 1-1e-6 {
			t.Fatalf("1.05^%d is within 1e-6 of an integer: the float formula is ambiguous there", k)
		}
		edge := floor.Int64()
		if got := int64(math.Floor(math.Pow(legacyPaddingBase, float64(k)))); got != edge {
			t.Fatalf("floor(math.Pow(1.05, %d)) = %d, exact %d", k, got, edge)
		}
		if edge < legacyMinPadded || edge > 100<<20 {
			continue
		}
		if edge <= LegacyPaddingCap {
			if got := LegacyPaddedSize(edge); got != edge {
				t.Fatalf("LegacyPaddedSize(%d) = %d, want %d (bucket %d)", edge, got, edge, k)
			}
		}
		if got := LegacyPaddedSize(edge + 1); got <= edge {
			t.Fatalf("LegacyPaddedSize(%d) = %d, want the next bucket", edge+1, got)
		}
	}
}

type legacyFile struct {
	Key     string `json:"key"`
	IV      string `json:"iv"`
	Vectors []struct {
		PlaintextLen int    `json:"plaintext_len"`
		BlobLen      int64  `json:"blob_len"`
		Digest       string `json:"digest"`
		Blob         string `json:"blob"`
	} `json:"vectors"`
}

func TestLegacyVectors(t *testing.T) {
	var f legacyFile
	loadJSON(t, "legacy.json", &f)
	key := LegacyKey(unhex(t, f.Key))
	iv := [16]byte(unhex(t, f.IV))
	for _, v := range f.Vectors {
		pt := makeData(v.PlaintextLen)
		blob, digest := SealLegacy(&key, &iv, pt)
		if int64(len(blob)) != v.BlobLen || hex.EncodeToString(digest[:]) != v.Digest {
			t.Errorf("%d: %d bytes, digest %x; want %d, %s", v.PlaintextLen, len(blob), digest, v.BlobLen, v.Digest)
			continue
		}
		if v.Blob != "" && hex.EncodeToString(blob) != v.Blob {
			t.Errorf("%d: blob differs from desktop's", v.PlaintextLen)
		}
		if LegacyEncryptedSize(int64(v.PlaintextLen)) != v.BlobLen {
			t.Errorf("LegacyEncryptedSize(%d) = %d, want %d", v.PlaintextLen, LegacyEncryptedSize(int64(v.PlaintextLen)), v.BlobLen)
		}
		got, err := OpenLegacy(&key, blob, digest[:], int64(v.PlaintextLen))
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("%d: OpenLegacy: %v", v.PlaintextLen, err)
		}
	}
}

func legacyKeyIV(t testing.TB) (LegacyKey, [16]byte) {
	k, err := NewLegacyKey()
	if err != nil {
		t.Fatal(err)
	}
	iv, err := NewLegacyIV()
	if err != nil {
		t.Fatal(err)
	}
	return k, iv
}

func TestLegacyRoundTrip(t *testing.T) {
	key, iv := legacyKeyIV(t)
	for _, n := range []int{0, 1, 15, 16, 17, 540, 541, 542, 4053, 4054, 32767, 32768, 32769, 65536, 3*legacyBuf + 5, 10_000_000} {
		pt := makeData(n)
		var blob bytes.Buffer
		// One byte at a time through the reader exercises short reads.
		src := iotest.HalfReader(bytes.NewReader(pt))
		digest, w, err := EncryptLegacy(&blob, src, int64(n), &key, &iv)
		if err != nil || w != int64(blob.Len()) || w != LegacyEncryptedSize(int64(n)) {
			t.Fatalf("%d: EncryptLegacy = %d bytes, %v; want %d", n, w, err, LegacyEncryptedSize(int64(n)))
		}
		var out bytes.Buffer
		if err := DecryptLegacy(&out, bytes.NewReader(blob.Bytes()), &key, digest[:], int64(n), t.TempDir()); err != nil || !bytes.Equal(out.Bytes(), pt) {
			t.Fatalf("%d: DecryptLegacy: %v", n, err)
		}
		// A shorter pointer size truncates.
		if n > 0 {
			got, err := OpenLegacy(&key, blob.Bytes(), digest[:], int64(n-1))
			if err != nil || !bytes.Equal(got, pt[:n-1]) {
				t.Fatalf("%d: OpenLegacy to size-1: %v", n, err)
			}
		}
	}
}

func TestLegacyTamper(t *testing.T) {
	key, iv := legacyKeyIV(t)
	pt := makeData(5000)
	blob, digest := SealLegacy(&key, &iv, pt)
	n := len(blob)
	// A flipped bit in the IV, the first, a middle and the last ciphertext
	// block, and the MAC: the MAC check fails (the MAC covers IV and
	// ciphertext; a changed MAC does not match).
	for _, off := range []int{0, 15, 16, 17, n / 2, n - 33, n - 32, n - 1} {
		bad := bytes.Clone(blob)
		bad[off] ^= 0x01
		if _, err := OpenLegacy(&key, bad, digest[:], 5000); !errors.Is(err, ErrMAC) {
			t.Errorf("flip at %d: %v, want ErrMAC", off, err)
		}
	}
	// The right blob against a wrong digest.
	d2 := digest
	d2[31] ^= 1
	if _, err := OpenLegacy(&key, blob, d2[:], 5000); !errors.Is(err, ErrDigest) {
		t.Errorf("wrong digest: %v", err)
	}
	if _, err := OpenLegacy(&key, blob, digest[:31], 5000); !errors.Is(err, ErrDigest) {
		t.Errorf("short digest: %v", err)
	}
	// A wrong key: the MAC key differs.
	k2 := key
	k2[40] ^= 1
	if _, err := OpenLegacy(&k2, blob, digest[:], 5000); !errors.Is(err, ErrMAC) {
		t.Errorf("wrong MAC key: %v", err)
	}
	// Truncated and extended blobs.
	for _, b := range [][]byte{blob[:n-1], blob[:n-16], blob[:47], nil, append(bytes.Clone(blob), make([]byte, 16)...)} {
		_, err := OpenLegacy(&key, b, digest[:], 10)
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrMAC) {
			t.Errorf("%d-byte blob: %v, want ErrFormat or ErrMAC", len(b), err)
		}
	}
	// A size beyond the plaintext, and a negative one.
	padded := LegacyPaddedSize(5000)
	for _, size := range []int64{padded + 1, -1, int64(n)} {
		if _, err := OpenLegacy(&key, blob, digest[:], size); !errors.Is(err, ErrSize) {
			t.Errorf("size %d: %v, want ErrSize", size, err)
		}
	}
	// The padded size itself is all the plaintext: fine.
	if got, err := OpenLegacy(&key, blob, digest[:], padded); err != nil || !bytes.Equal(got[:5000], pt) || len(got) != int(padded) {
		t.Errorf("size = padded: %v", err)
	}
}

// A blob authenticated with a bad PKCS#7 padding (the sender's doing) is
// ErrPadding, after the MAC and digest verify.
func TestLegacyBadPKCS7(t *testing.T) {
	key, iv := legacyKeyIV(t)
	// Build an authenticated blob whose last block decrypts to 0x00 padding:
	// encrypt 32 bytes of raw plaintext with no PKCS#7.
	blob, digest := sealLegacyRaw(t, &key, &iv, make([]byte, 32))
	if _, err := OpenLegacy(&key, blob, digest[:], 1); !errors.Is(err, ErrPadding) {
		t.Errorf("bad PKCS#7: %v", err)
	}
}

func TestLegacyShortSource(t *testing.T) {
	key, iv := legacyKeyIV(t)
	var out bytes.Buffer
	if _, _, err := EncryptLegacy(&out, strings.NewReader("abc"), 4, &key, &iv); !errors.Is(err, ErrSize) {
		t.Errorf("short source: %v", err)
	}
	if _, _, err := EncryptLegacy(&out, strings.NewReader("abcde"), 4, &key, &iv); !errors.Is(err, ErrSize) {
		t.Errorf("long source: %v", err)
	}
}

func TestDecryptLegacyTempDir(t *testing.T) {
	key, iv := legacyKeyIV(t)
	blob, digest := SealLegacy(&key, &iv, makeData(100))
	dir := t.TempDir()
	var out bytes.Buffer
	bad := bytes.Clone(blob)
	bad[20] ^= 1
	if err := DecryptLegacy(&out, bytes.NewReader(bad), &key, digest[:], 100, dir); !errors.Is(err, ErrMAC) || out.Len() != 0 {
		t.Errorf("damaged: %v, %d bytes out", err, out.Len())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestProfileLegacy(t *testing.T) {
	var key ProfileKey
	copy(key[:], makeData(32))
	iv := [12]byte(makeData(12))
	pic := makeData(1000)
	blob, err := sealProfileIV(&key, &iv, pic)
	if err != nil || len(blob) != 12+1000+16 {
		t.Fatalf("seal: %d bytes, %v", len(blob), err)
	}
	got, err := OpenProfile(&key, blob)
	if err != nil || !bytes.Equal(got, pic) {
		t.Fatalf("open: %v", err)
	}
	r, err := SealProfile(&key, pic)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenProfile(&key, r); err != nil || !bytes.Equal(got, pic) {
		t.Fatalf("open random-nonce blob: %v", err)
	}
	for _, off := range []int{0, 11, 12, len(blob) / 2, len(blob) - 1} {
		bad := bytes.Clone(blob)
		bad[off] ^= 1
		if _, err := OpenProfile(&key, bad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("flip at %d: %v", off, err)
		}
	}
	if _, err := OpenProfile(&key, blob[:28]); !errors.Is(err, ErrFormat) {
		t.Errorf("28 bytes: %v", err)
	}
}

// sealLegacyRaw authenticates an AES-CBC encryption of pt (a multiple of
// the block) without PKCS#7, as a broken sender would.
func sealLegacyRaw(t *testing.T, key *LegacyKey, iv *[16]byte, pt []byte) ([]byte, [32]byte) {
	t.Helper()
	block, err := aes.NewCipher(key.aesKey())
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(ct, pt)
	blob := append(append([]byte{}, iv[:]...), ct...)
	m := hmac.New(sha256.New, key.macKey())
	m.Write(blob)
	blob = m.Sum(blob)
	return blob, sha256.Sum256(blob)
}

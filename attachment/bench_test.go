package attachment

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"testing"

	xblake2b "golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/internal/blake2bx"
)

// Throughput of both forms and of the primitives that bound them, in MB/s
// of plaintext on one core (go test -bench Encrypt -cpu 1). The figures go
// in docs/PERFORMANCE.md.

const benchSize = 4 << 20

func BenchmarkEncryptDeterministic(b *testing.B) {
	pt := makeData(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, _, err := Encrypt(io.Discard, bytes.NewReader(pt), &testSeed, DomainAttachment); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptDeterministic(b *testing.B) {
	pt := makeData(benchSize)
	ct, key, _ := Seal(&testSeed, DomainAttachment, pt)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := Decrypt(io.Discard, bytes.NewReader(ct), &key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptLegacy(b *testing.B) {
	pt := makeData(benchSize)
	key, iv := legacyKeyIV(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, _, err := EncryptLegacy(io.Discard, bytes.NewReader(pt), benchSize, &key, &iv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptLegacy(b *testing.B) {
	pt := makeData(benchSize)
	key, iv := legacyKeyIV(b)
	blob, digest := SealLegacy(&key, &iv, pt)
	b.SetBytes(benchSize)
	for b.Loop() {
		if err := DecryptLegacyAt(io.Discard, bytes.NewReader(blob), int64(len(blob)), &key, digest[:], benchSize); err != nil {
			b.Fatal(err)
		}
	}
}

// The parts of the deterministic form: its key hash (a second pass over
// the plaintext) and the secretstream alone.
func BenchmarkEncryptPartBLAKE2bPersonal(b *testing.B) {
	pt := makeData(benchSize)
	b.SetBytes(benchSize)
	var out [nonceKeySize]byte
	for b.Loop() {
		h := blake2bx.New(nonceKeySize, testSeed[:], nil, &personalAttachment)
		h.Write(pt)
		h.Sum(out[:0])
	}
}

func BenchmarkEncryptPartSecretstream(b *testing.B) {
	pt := makeData(ChunkSize)
	b.SetBytes(ChunkSize)
	var st secretstream
	st.init(&[32]byte{1}, &[24]byte{2})
	out := make([]byte, 0, EncryptedChunkSize)
	for b.Loop() {
		out = st.push(out[:0], pt, ssTagMessage)
	}
}

// The bounds: the same work done by the fastest primitives Go has.
func BenchmarkEncryptBoundChaCha20Poly1305(b *testing.B) {
	aead, _ := chacha20poly1305.NewX(make([]byte, 32))
	pt := makeData(ChunkSize)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	out := make([]byte, 0, ChunkSize+16)
	b.SetBytes(ChunkSize)
	for b.Loop() {
		out = aead.Seal(out[:0], nonce, pt, nil)
	}
}

func BenchmarkEncryptBoundChaCha20(b *testing.B) {
	pt := makeData(ChunkSize)
	b.SetBytes(ChunkSize)
	for b.Loop() {
		c, _ := chacha20.NewUnauthenticatedCipher(make([]byte, 32), make([]byte, 12))
		c.XORKeyStream(pt, pt)
	}
}

func BenchmarkEncryptBoundBLAKE2b(b *testing.B) {
	pt := makeData(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		h, _ := xblake2b.New(56, testSeed[:])
		h.Write(pt)
		h.Sum(nil)
	}
}

func BenchmarkEncryptBoundAESCBCHMAC(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 32))
	pt := makeData(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		cipher.NewCBCEncrypter(block, make([]byte, 16)).CryptBlocks(pt, pt)
		m := hmac.New(sha256.New, make([]byte, 32))
		m.Write(pt)
		s := sha256.Sum256(pt)
		_ = s
		m.Sum(nil)
	}
}

func BenchmarkEncryptBoundAESGCM(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 32))
	gcm, _ := cipher.NewGCM(block)
	pt := makeData(benchSize)
	out := make([]byte, 0, benchSize+16)
	b.SetBytes(benchSize)
	for b.Loop() {
		out = gcm.Seal(out[:0], make([]byte, 12), pt, nil)
	}
}

package attachment

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// The legacy form (§8.1), which Session desktop still sends: the plaintext
// padded with zeros to LegacyPaddedSize, encrypted with AES-256-CBC and
// PKCS#7 under a random IV, and authenticated with HMAC-SHA256 over
// IV || ciphertext. The blob is IV || ciphertext || MAC, and its SHA-256 is
// AttachmentPointer.digest; the receiver truncates the plaintext to
// AttachmentPointer.size.

// legacyBuf is the streaming buffer, a multiple of the AES block.
const legacyBuf = 64 * 1024

// NewLegacyIV returns a random IV.
func NewLegacyIV() ([LegacyIVSize]byte, error) {
	var iv [LegacyIVSize]byte
	_, err := rand.Read(iv[:])
	return iv, err
}

// SealLegacy encrypts plaintext in the legacy form and returns the blob
// and its digest.
func SealLegacy(key *LegacyKey, iv *[LegacyIVSize]byte, plaintext []byte) ([]byte, [DigestSize]byte) {
	out := bytes.NewBuffer(make([]byte, 0, LegacyEncryptedSize(int64(len(plaintext)))))
	digest, _, err := EncryptLegacy(out, bytes.NewReader(plaintext), int64(len(plaintext)), key, iv)
	if err != nil {
		panic("attachment: legacy encryption of a buffer: " + err.Error()) // a bytes.Buffer and Reader do not fail
	}
	return out.Bytes(), digest
}

// EncryptLegacy encrypts the size bytes that src gives in the legacy form,
// writing the blob (LegacyEncryptedSize(size) bytes) to dst; it returns the
// digest and the number of bytes written. A source with fewer or more than
// size bytes is ErrSize.
func EncryptLegacy(dst io.Writer, src io.Reader, size int64, key *LegacyKey, iv *[LegacyIVSize]byte) ([DigestSize]byte, int64, error) {
	var digest [DigestSize]byte
	if size < 0 {
		return digest, 0, fmt.Errorf("attachment: negative size: %w", ErrSize)
	}
	block, err := aes.NewCipher(key.aesKey())
	if err != nil {
		return digest, 0, err
	}
	enc := cipher.NewCBCEncrypter(block, iv[:])
	mac := hmac.New(sha256.New, key.macKey())
	sum := sha256.New()
	w := &legacyWriter{dst: dst, mac: mac, sum: sum}

	if _, err := w.Write(iv[:]); err != nil {
		return digest, w.n, err
	}
	padded := LegacyPaddedSize(size)
	pkcs := 16 - padded%16
	stream := io.MultiReader(
		&exactReader{r: src, left: size},
		io.LimitReader(zeroReader{}, padded-size),
		bytes.NewReader(bytes.Repeat([]byte{byte(pkcs)}, int(pkcs))),
	)
	buf := make([]byte, legacyBuf)
	defer clear(buf)
	for {
		n, err := io.ReadFull(stream, buf)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return digest, w.n, err
		}
		if n > 0 {
			// Every part but the last is whole blocks, and the total is a
			// multiple of the block.
			enc.CryptBlocks(buf[:n], buf[:n])
			if _, werr := w.Write(buf[:n]); werr != nil {
				return digest, w.n, werr
			}
		}
		if err != nil {
			break
		}
	}
	var one [1]byte
	if n, _ := src.Read(one[:]); n > 0 {
		return digest, w.n, fmt.Errorf("attachment: source longer than its %d bytes: %w", size, ErrSize)
	}
	tag := mac.Sum(nil)
	w.mac = nil
	if _, err := w.Write(tag); err != nil {
		return digest, w.n, err
	}
	sum.Sum(digest[:0])
	return digest, w.n, nil
}

// legacyWriter writes to dst and feeds the MAC (when set) and the digest.
type legacyWriter struct {
	dst      io.Writer
	mac, sum hash.Hash
	n        int64
}

func (w *legacyWriter) Write(p []byte) (int, error) {
	if w.mac != nil {
		w.mac.Write(p)
	}
	w.sum.Write(p)
	n, err := w.dst.Write(p)
	w.n += int64(n)
	return n, err
}

// exactReader gives exactly left bytes of r, and ErrSize if r ends sooner.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), e.left)]
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) && e.left > 0 {
		return n, fmt.Errorf("attachment: source ended %d bytes early: %w", e.left, ErrSize)
	}
	if e.left == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// OpenLegacy decrypts a legacy blob held in memory: it checks the MAC and
// the digest, decrypts, and returns the first size bytes.
func OpenLegacy(key *LegacyKey, blob, digest []byte, size int64) ([]byte, error) {
	var out bytes.Buffer
	if size >= 0 && size <= int64(len(blob)) {
		out.Grow(int(size))
	}
	if err := DecryptLegacyAt(&out, bytes.NewReader(blob), int64(len(blob)), key, digest, size); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// DecryptLegacyAt decrypts the legacy blob of n bytes in src to dst. It
// reads the blob twice: first to check its MAC and digest, in constant
// time, then to decrypt; nothing reaches dst unless both verify and size
// is within the plaintext. src must not change between the two reads (a
// file the caller downloaded and owns).
func DecryptLegacyAt(dst io.Writer, src io.ReaderAt, n int64, key *LegacyKey, digest []byte, size int64) error {
	if err := checkLegacyShape(n, digest, size); err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key.macKey())
	sum := sha256.New()
	body := n - LegacyMACSize
	if _, err := io.Copy(io.MultiWriter(mac, sum), io.NewSectionReader(src, 0, body)); err != nil {
		return fmt.Errorf("attachment: read blob: %w", err)
	}
	var theirs [LegacyMACSize]byte
	if _, err := src.ReadAt(theirs[:], body); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("attachment: read blob: %w", err)
	}
	sum.Write(theirs[:])
	macOK := hmac.Equal(mac.Sum(nil), theirs[:])
	digestOK := subtle.ConstantTimeCompare(sum.Sum(nil), digest) == 1
	switch {
	case !macOK:
		return ErrMAC
	case !digestOK:
		return ErrDigest
	}
	return decryptLegacyVerified(dst, src, n, key, size)
}

func checkLegacyShape(n int64, digest []byte, size int64) error {
	if len(digest) != DigestSize {
		return fmt.Errorf("digest is %d bytes, want %d: %w", len(digest), DigestSize, ErrDigest)
	}
	ct := n - LegacyIVSize - LegacyMACSize
	if ct < aes.BlockSize || ct%aes.BlockSize != 0 {
		return fmt.Errorf("a legacy blob of %d bytes: %w", n, ErrFormat)
	}
	if size < 0 || size >= ct {
		return fmt.Errorf("size %d does not fit a %d-byte ciphertext: %w", size, ct, ErrSize)
	}
	return nil
}

// decryptLegacyVerified decrypts an authenticated blob: the last block
// first, for the PKCS#7 padding and so the plaintext's length, then the
// whole ciphertext in order, writing its first size bytes to dst.
func decryptLegacyVerified(dst io.Writer, src io.ReaderAt, n int64, key *LegacyKey, size int64) error {
	block, err := aes.NewCipher(key.aesKey())
	if err != nil {
		return err
	}
	ctEnd := n - LegacyMACSize
	var tail [2 * aes.BlockSize]byte // the block before the last (or the IV), and the last
	if _, err := src.ReadAt(tail[:], ctEnd-2*aes.BlockSize); err != nil {
		return fmt.Errorf("attachment: read blob: %w", err)
	}
	var last [aes.BlockSize]byte
	cipher.NewCBCDecrypter(block, tail[:aes.BlockSize]).CryptBlocks(last[:], tail[aes.BlockSize:])
	p := int(last[aes.BlockSize-1])
	if p < 1 || p > aes.BlockSize || !bytes.Equal(last[aes.BlockSize-p:], bytes.Repeat([]byte{byte(p)}, p)) {
		return ErrPadding
	}
	clear(last[:])
	plain := ctEnd - LegacyIVSize - int64(p)
	if size > plain {
		return fmt.Errorf("size %d is more than the %d bytes decrypted: %w", size, plain, ErrSize)
	}

	var iv [LegacyIVSize]byte
	if _, err := src.ReadAt(iv[:], 0); err != nil {
		return fmt.Errorf("attachment: read blob: %w", err)
	}
	dec := cipher.NewCBCDecrypter(block, iv[:])
	r := io.NewSectionReader(src, LegacyIVSize, ctEnd-LegacyIVSize)
	buf := make([]byte, legacyBuf)
	defer clear(buf)
	left := size
	for left > 0 {
		k, err := io.ReadFull(r, buf)
		k -= k % aes.BlockSize
		if k == 0 {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("attachment: read blob: %w", err)
		}
		dec.CryptBlocks(buf[:k], buf[:k])
		w := min(int64(k), left)
		if _, err := dst.Write(buf[:w]); err != nil {
			return err
		}
		left -= w
	}
	return nil
}

// DecryptLegacy decrypts a legacy blob read from src, which is read once:
// it is copied to a temporary file in dir (os.TempDir when empty; the
// file holds only ciphertext and is removed before return) and decrypted
// from there with DecryptLegacyAt, since its MAC comes at its end.
func DecryptLegacy(dst io.Writer, src io.Reader, key *LegacyKey, digest []byte, size int64, dir string) (err error) {
	f, err := os.CreateTemp(dir, "sotto-attachment-*")
	if err != nil {
		return fmt.Errorf("attachment: temporary file: %w", err)
	}
	defer func() {
		f.Close()
		if rerr := os.Remove(f.Name()); rerr != nil && err == nil {
			err = fmt.Errorf("attachment: remove temporary file: %w", rerr)
		}
	}()
	n, err := io.Copy(f, src)
	if err != nil {
		return fmt.Errorf("attachment: read blob: %w", err)
	}
	return DecryptLegacyAt(dst, f, n, key, digest, size)
}

// SealProfile encrypts a legacy profile picture under a random nonce:
// nonce (12) || AES-256-GCM ciphertext and tag.
func SealProfile(key *ProfileKey, picture []byte) ([]byte, error) {
	var iv [profileIVSize]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return nil, err
	}
	return sealProfileIV(key, &iv, picture)
}

func sealProfileIV(key *ProfileKey, iv *[profileIVSize]byte, picture []byte) ([]byte, error) {
	gcm, err := profileGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, profileIVSize, profileIVSize+len(picture)+profileTagSize)
	copy(out, iv[:])
	return gcm.Seal(out, iv[:], picture, nil), nil
}

// OpenProfile decrypts a legacy profile picture.
func OpenProfile(key *ProfileKey, blob []byte) ([]byte, error) {
	// Desktop refuses anything shorter than nonce, tag and one byte.
	if len(blob) < profileIVSize+profileTagSize+1 {
		return nil, fmt.Errorf("a profile picture of %d bytes: %w", len(blob), ErrFormat)
	}
	gcm, err := profileGCM(key)
	if err != nil {
		return nil, err
	}
	pt, err := gcm.Open(nil, blob[:profileIVSize], blob[profileIVSize:], nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

func profileGCM(key *ProfileKey) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

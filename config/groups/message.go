package groups

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/key"
)

// Errors of group messages (namespace 11). Their Error() texts are
// libsession's; match them with errors.Is.
var (
	// ErrMessageTooLarge: a plaintext over MaxMessageSize, or a
	// compressed one that expands beyond it.
	ErrMessageTooLarge = errors.New("groups: message too large")
	// ErrNoMessageKey: no group key decrypts the message.
	ErrNoMessageKey = errors.New("groups: no key decrypts the message")
	// ErrMessageVersion: the message is not version 1.
	ErrMessageVersion = errors.New("groups: unknown group message version")
	// ErrMessageSignature: the sender's signature does not verify.
	ErrMessageSignature = errors.New("groups: bad group message signature")
	// ErrMessageFormat: the ciphertext is too short, or the decrypted
	// message is malformed.
	ErrMessageFormat = errors.New("groups: malformed group message")
)

// messageOverhead is the nonce and the Poly1305 tag of a group message.
const messageOverhead = chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
)

// zstdCodecs returns the encoder of config/compress.go's settings
// (level 1, one frame with its content size) and a decoder capped at
// MaxMessageSize.
func zstdCodecs() (*zstd.Encoder, *zstd.Decoder) {
	zstdOnce.Do(func() {
		var err error
		zstdEnc, err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(fmt.Sprintf("groups: zstd encoder: %v", err)) // fixed options
		}
		zstdDec, err = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(MaxMessageSize),
			zstd.WithDecoderMaxWindow(MaxMessageSize))
		if err != nil {
			panic(fmt.Sprintf("groups: zstd decoder: %v", err)) // fixed options
		}
	})
	return zstdEnc, zstdDec
}

// EncryptMessage encrypts a group message with the current group key
// (§4.9; keys.cpp:1195-1280): {"": 1, "a": the user's Ed25519 key, "d":
// data or "z": zstd-compressed data (when compress is set and that is
// shorter), "s": the user's signature of the data as stored}, followed by
// zero bytes until the ciphertext is a multiple of padding (no padding if
// padding ≤ 1), then 24-byte nonce || XChaCha20-Poly1305. The nonce is one
// 24-byte read from KeysOptions.Rand.
func (k *Keys) EncryptMessage(plaintext []byte, compress bool, padding int) ([]byte, error) {
	if len(plaintext) > MaxMessageSize {
		return nil, errText(ErrMessageTooLarge, "Cannot encrypt plaintext: message size is too large")
	}
	k.mu.Lock()
	encKey, err := k.encKey()
	user := k.user
	var nonce [chacha20poly1305.NonceSizeX]byte
	if err == nil {
		// The read is under the lock: KeysOptions.Rand need not be safe
		// for concurrent use, and its draws stay in call order.
		if _, rerr := io.ReadFull(k.rand, nonce[:]); rerr != nil {
			err = fmt.Errorf("groups: read message nonce: %w", rerr)
		}
	}
	k.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer clear(encKey[:])

	data, compressed := plaintext, false
	if compress {
		enc, _ := zstdCodecs()
		if z := enc.EncodeAll(plaintext, nil); len(z) < len(plaintext) {
			data, compressed = z, true
		}
	}
	sig := ed25519.Sign(user, data)

	body := make([]byte, 0, len(data)+150)
	body = append(body, 'd')
	body = appendKey(body, "")
	body = appendInt(body, messageVersion)
	body = appendStr(body, "a", user[32:])
	if !compressed {
		body = appendStr(body, "d", data)
	}
	body = appendStr(body, "s", sig)
	if compressed {
		body = appendStr(body, "z", data)
	}
	body = append(body, 'e')
	if padding > 1 {
		if r := (len(body) + messageOverhead) % padding; r != 0 {
			body = append(body, make([]byte, padding-r)...)
		}
	}

	out := append(make([]byte, 0, len(body)+messageOverhead), nonce[:]...)
	aead, _ := chacha20poly1305.NewX(encKey[:])
	return aead.Seal(out, nonce[:], body, nil), nil
}

// DecryptMessage decrypts a group message with the pending key or any
// group key k holds (§4.9; keys.cpp:1282-1367) and checks the sender's
// signature. It returns the sender's 05 id and the plaintext, which is at
// most MaxMessageSize bytes. Errors match ErrNoMessageKey,
// ErrMessageFormat, ErrMessageVersion, ErrMessageSignature or
// ErrMessageTooLarge.
func (k *Keys) DecryptMessage(ct []byte) (sender key.SessionID, plaintext []byte, err error) {
	if len(ct) < messageOverhead {
		return key.SessionID{}, nil, errText(ErrMessageFormat, "ciphertext is too small to be encrypted data")
	}
	nonce, sealed := ct[:chacha20poly1305.NonceSizeX], ct[chacha20poly1305.NonceSizeX:]
	k.mu.Lock()
	keys := k.groupKeys()
	k.mu.Unlock()
	var body []byte
	opened := false
	for i := range keys {
		aead, _ := chacha20poly1305.NewX(keys[i][:])
		if pt, err := aead.Open(nil, nonce, sealed, nil); err == nil {
			body, opened = pt, true
			break
		}
	}
	for i := range keys {
		clear(keys[i][:])
	}
	if !opened {
		return key.SessionID{}, nil, errText(ErrNoMessageKey, "unable to decrypt ciphertext with any current group keys")
	}
	return parseMessage(body)
}

// parseMessage reads a decrypted group message body.
func parseMessage(body []byte) (key.SessionID, []byte, error) {
	bad := func(text string) (key.SessionID, []byte, error) {
		return key.SessionID{}, nil, errText(ErrMessageFormat, text)
	}
	btErr := func(err error) (key.SessionID, []byte, error) {
		return bad("Failed to parse group message: " + err.Error())
	}
	// Trailing zero bytes are padding (all zero: nothing is stripped).
	end := len(body)
	for end > 0 && body[end-1] == 0 {
		end--
	}
	if end > 0 {
		body = body[:end]
	}
	if len(body) == 0 || body[0] != 'd' || body[len(body)-1] != 'e' {
		return bad("decrypted data is not a bencoded dict")
	}
	d, err := newBTDict(body)
	if err != nil {
		return btErr(err)
	}
	ok, err := d.skipUntil("")
	if err != nil {
		return btErr(err)
	}
	if !ok {
		if d.finished { // libsession reads a value where there is none
			return btErr(errBT)
		}
		return bad(`group message version tag ("") is missing`)
	}
	v, err := d.int()
	if err != nil {
		return btErr(err)
	}
	if v != messageVersion {
		return key.SessionID{}, nil, errText(ErrMessageVersion, fmt.Sprintf("group message version tag (%d) is not compatible (we support v1)", v))
	}
	if ok, err = d.skipUntil("a"); err != nil {
		return btErr(err)
	}
	if !ok {
		return bad("missing message author pubkey")
	}
	author, err := d.str()
	if err != nil {
		return btErr(err)
	}
	if len(author) != ed25519.PublicKeySize {
		return bad(fmt.Sprintf("message author pubkey size (%d) is invalid", len(author)))
	}
	x, err := xPublic(author)
	if err != nil {
		return bad("author ed25519 pubkey is invalid (unable to convert it to a session id)")
	}
	var data []byte
	hasD := false
	if hasD, err = d.skipUntil("d"); err != nil {
		return btErr(err)
	}
	if hasD {
		if data, err = d.str(); err != nil {
			return btErr(err)
		}
		if len(data) == 0 {
			return bad(`uncompressed message data ("d") cannot be empty`)
		}
	}
	if ok, err = d.skipUntil("s"); err != nil {
		return btErr(err)
	}
	if !ok {
		return bad("message signature is missing")
	}
	sig, err := d.str()
	if err != nil {
		return btErr(err)
	}
	if len(sig) != ed25519.SignatureSize {
		return bad(fmt.Sprintf("message signature size (%d) is invalid", len(sig)))
	}
	hasZ, err := d.skipUntil("z")
	if err != nil {
		return btErr(err)
	}
	switch {
	case hasZ && hasD:
		return bad("message signature cannot contain both compressed (z) and uncompressed (d) data")
	case hasZ:
		if data, err = d.str(); err != nil {
			return btErr(err)
		}
		if len(data) == 0 {
			return bad(`compressed message data ("z") cannot be empty`)
		}
	case !hasD:
		return bad("message must contain compressed (z) or uncompressed (d) data")
	}
	if !verify(author, data, sig) {
		return key.SessionID{}, nil, errText(ErrMessageSignature, "message signature failed validation")
	}
	sender := key.AccountID(x)
	if !hasZ {
		return sender, bytes.Clone(data), nil
	}
	_, dec := zstdCodecs()
	out, err := dec.DecodeAll(data, nil)
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded), err == nil && len(out) > MaxMessageSize:
		return key.SessionID{}, nil, errText(ErrMessageTooLarge, "message decompression failed")
	case err != nil:
		return bad("message decompression failed")
	}
	return sender, out, nil
}

// openWith decrypts a group message body with one key.
func openWith(k [32]byte, ct []byte) ([]byte, bool) {
	if len(ct) < messageOverhead {
		return nil, false
	}
	aead, _ := chacha20poly1305.NewX(k[:])
	pt, err := aead.Open(nil, ct[:chacha20poly1305.NonceSizeX], ct[chacha20poly1305.NonceSizeX:], nil)
	return pt, err == nil
}

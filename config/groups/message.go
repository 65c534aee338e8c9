package groups

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/config"
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
		if z := config.Zstd(nil, plaintext); len(z) < len(plaintext) {
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

// messageError is a malformed group message, with libsession's text.
func messageError(text string) error { return errText(ErrMessageFormat, text) }

// messageBTError reports a bt decoding failure of a group message.
func messageBTError(err error) error {
	return messageError("Failed to parse group message: " + err.Error())
}

// parseMessage reads a decrypted group message body.
func parseMessage(body []byte) (key.SessionID, []byte, error) {
	body = trimPadding(body)
	if len(body) == 0 || body[0] != 'd' || body[len(body)-1] != 'e' {
		return key.SessionID{}, nil, messageError("decrypted data is not a bencoded dict")
	}
	d, err := newBTDict(body)
	if err != nil {
		return key.SessionID{}, nil, messageBTError(err)
	}
	if err := readMessageVersion(d); err != nil {
		return key.SessionID{}, nil, err
	}
	author, x, err := readMessageAuthor(d)
	if err != nil {
		return key.SessionID{}, nil, err
	}
	data, sig, compressed, err := readMessageData(d)
	if err != nil {
		return key.SessionID{}, nil, err
	}
	if !verify(author, data, sig) {
		return key.SessionID{}, nil, errText(ErrMessageSignature, "message signature failed validation")
	}
	sender := key.AccountID(x)
	if !compressed {
		return sender, bytes.Clone(data), nil
	}
	out, err := decompressMessage(data)
	if err != nil {
		return key.SessionID{}, nil, err
	}
	return sender, out, nil
}

// trimPadding strips the trailing zero bytes of padding (all zero:
// nothing is stripped).
func trimPadding(body []byte) []byte {
	end := len(body)
	for end > 0 && body[end-1] == 0 {
		end--
	}
	if end > 0 {
		body = body[:end]
	}
	return body
}

// readMessageVersion reads the "" version, which must be 1.
func readMessageVersion(d *btDict) error {
	ok, err := d.skipUntil("")
	if err != nil {
		return messageBTError(err)
	}
	if !ok {
		if d.finished { // libsession reads a value where there is none
			return messageBTError(errBT)
		}
		return messageError(`group message version tag ("") is missing`)
	}
	v, err := d.int()
	if err != nil {
		return messageBTError(err)
	}
	if v != messageVersion {
		return errText(ErrMessageVersion, fmt.Sprintf("group message version tag (%d) is not compatible (we support v1)", v))
	}
	return nil
}

// readMessageAuthor reads the author's Ed25519 key "a" and converts it
// to the X25519 key of the sender's 05 id.
func readMessageAuthor(d *btDict) (author []byte, x [32]byte, err error) {
	ok, err := d.skipUntil("a")
	if err != nil {
		return nil, x, messageBTError(err)
	}
	if !ok {
		return nil, x, messageError("missing message author pubkey")
	}
	if author, err = d.str(); err != nil {
		return nil, x, messageBTError(err)
	}
	if len(author) != ed25519.PublicKeySize {
		return nil, x, messageError(fmt.Sprintf("message author pubkey size (%d) is invalid", len(author)))
	}
	if x, err = xPublic(author); err != nil {
		return nil, x, messageError("author ed25519 pubkey is invalid (unable to convert it to a session id)")
	}
	return author, x, nil
}

// readMessageData reads the data, "d" or compressed "z" (exactly one of
// them, not empty), and the signature "s" between them.
func readMessageData(d *btDict) (data, sig []byte, compressed bool, err error) {
	hasD, err := d.skipUntil("d")
	if err != nil {
		return nil, nil, false, messageBTError(err)
	}
	if hasD {
		if data, err = d.str(); err != nil {
			return nil, nil, false, messageBTError(err)
		}
		if len(data) == 0 {
			return nil, nil, false, messageError(`uncompressed message data ("d") cannot be empty`)
		}
	}
	if sig, err = readMessageSignature(d); err != nil {
		return nil, nil, false, err
	}
	hasZ, err := d.skipUntil("z")
	if err != nil {
		return nil, nil, false, messageBTError(err)
	}
	switch {
	case hasZ && hasD:
		return nil, nil, false, messageError("message signature cannot contain both compressed (z) and uncompressed (d) data")
	case hasZ:
		if data, err = d.str(); err != nil {
			return nil, nil, false, messageBTError(err)
		}
		if len(data) == 0 {
			return nil, nil, false, messageError(`compressed message data ("z") cannot be empty`)
		}
	case !hasD:
		return nil, nil, false, messageError("message must contain compressed (z) or uncompressed (d) data")
	}
	return data, sig, hasZ, nil
}

// readMessageSignature reads the sender's signature "s".
func readMessageSignature(d *btDict) ([]byte, error) {
	ok, err := d.skipUntil("s")
	if err != nil {
		return nil, messageBTError(err)
	}
	if !ok {
		return nil, messageError("message signature is missing")
	}
	sig, err := d.str()
	if err != nil {
		return nil, messageBTError(err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, messageError(fmt.Sprintf("message signature size (%d) is invalid", len(sig)))
	}
	return sig, nil
}

// decompressMessage expands zstd data to at most MaxMessageSize bytes.
func decompressMessage(data []byte) ([]byte, error) {
	out, err := config.Unzstd(data, MaxMessageSize)
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded), err == nil && len(out) > MaxMessageSize:
		return nil, errText(ErrMessageTooLarge, "message decompression failed")
	case err != nil:
		return nil, messageError("message decompression failed")
	}
	return out, nil
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

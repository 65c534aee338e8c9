package sessionproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"

	"sotto.dev/key"
)

// Multi-recipient encryption (libsession-util src/multi_encrypt.cpp,
// spec/libsession-configs.md §4.11): one sender encrypts one message, or
// one message per recipient, for several X25519 recipients under a single
// nonce. The key for sender a/A and recipient b/B is
// BLAKE2b-256[key=domain](X25519(a, B) || A || B), which the recipient
// computes as X25519(b, A) || A || B, and each copy is XChaCha20-Poly1305
// without associated data. Nothing identifies the sender or the recipient
// of a copy: a recipient tries every copy with the sender's key it expects.
// Closed groups use it for key distribution and kicked-member messages.

// MultiNonceSize is the length of the nonce shared by every copy.
const MultiNonceSize = chacha20poly1305.NonceSizeX

// MultiOverhead is what encryption adds to each copy: the Poly1305 tag.
const MultiOverhead = chacha20poly1305.Overhead

// maxMultiDomain is how much of the domain keys the hash: libsodium's
// BLAKE2b takes keys of at most 64 bytes, and libsession truncates.
const maxMultiDomain = blake2b.Size

// ErrMultiMessages means EncryptForMultiple got neither one message nor
// one message per recipient.
var ErrMultiMessages = errors.New("sessionproto: want one message, or one message per recipient")

// ErrMultiEncoding means an encoded multi-recipient value (the bencoded
// dict of EncryptForMultipleSimple) is malformed.
var ErrMultiEncoding = errors.New("sessionproto: malformed multi-recipient encoding")

// multiKey returns the key of the copy exchanged between the owner of
// priv/pub and the peer: sender's public key first in the hash.
func multiKey(priv *key.BoxPrivate, pub, peer key.BoxPublic, encrypting bool, domain string) ([32]byte, error) {
	shared, err := curve25519.X25519(priv[:], peer[:])
	if err != nil {
		return [32]byte{}, ErrPeerKey // low-order peer: all-zero secret
	}
	defer clear(shared)
	d := []byte(domain)
	if len(d) > maxMultiDomain {
		d = d[:maxMultiDomain]
	}
	h, _ := blake2b.New256(d) // key ≤ 64 bytes: cannot fail
	h.Write(shared)
	if encrypting {
		h.Write(pub[:])
		h.Write(peer[:])
	} else {
		h.Write(peer[:])
		h.Write(pub[:])
	}
	var k [32]byte
	h.Sum(k[:0])
	return k, nil
}

// EncryptForMultiple encrypts messages for recipients under nonce, from
// the sender's X25519 key pair priv/pub, and returns one ciphertext per
// recipient, in order (libsession-util encrypt_for_multiple). messages
// holds either one message for everyone or one per recipient; each
// ciphertext is MultiOverhead bytes longer than its message. domain
// separates uses (only its first 64 bytes count). Errors: ErrMultiMessages,
// or ErrPeerKey for a recipient key of low order.
func EncryptForMultiple(messages [][]byte, recipients []key.BoxPublic, nonce *[MultiNonceSize]byte, priv *key.BoxPrivate, pub key.BoxPublic, domain string) ([][]byte, error) {
	if len(messages) != 1 && len(messages) != len(recipients) {
		return nil, ErrMultiMessages
	}
	out := make([][]byte, 0, len(recipients))
	for i, r := range recipients {
		m := messages[0]
		if len(messages) > 1 {
			m = messages[i]
		}
		k, err := multiKey(priv, pub, r, true, domain)
		if err != nil {
			return nil, fmt.Errorf("recipient %d: %w", i, err)
		}
		aead, _ := chacha20poly1305.NewX(k[:]) // 32-byte key: cannot fail
		clear(k[:])
		out = append(out, aead.Seal(make([]byte, 0, len(m)+MultiOverhead), nonce[:], m, nil))
	}
	return out, nil
}

// DecryptForMultiple tries each ciphertext with the key shared between the
// recipient's X25519 key pair priv/pub and the sender's key, and returns
// the first that opens (libsession-util decrypt_for_multiple). It returns
// ErrDecrypt when none does, and ErrPeerKey when sender is of low order.
func DecryptForMultiple(ciphertexts [][]byte, nonce *[MultiNonceSize]byte, priv *key.BoxPrivate, pub, sender key.BoxPublic, domain string) ([]byte, error) {
	k, err := multiKey(priv, pub, sender, false, domain)
	if err != nil {
		return nil, err
	}
	aead, _ := chacha20poly1305.NewX(k[:]) // 32-byte key: cannot fail
	clear(k[:])
	for _, c := range ciphertexts {
		if len(c) < MultiOverhead {
			continue
		}
		if m, err := aead.Open(nil, nonce[:], c, nil); err == nil {
			return m, nil
		}
	}
	return nil, ErrDecrypt
}

// EncryptForMultipleSimple is EncryptForMultiple with its result encoded
// as one bencoded value, d1:#24:<nonce>1:el<copy>...ee (libsession-util
// encrypt_for_multiple_simple). A nil nonce is drawn from random (24 bytes,
// one Read). With pad > 1, random junk entries are appended until the
// number of entries is a multiple of pad; as in libsession each junk entry
// is as long as the first message (not its ciphertext), one Read each, and
// there is no junk when that message is empty.
func EncryptForMultipleSimple(messages [][]byte, recipients []key.BoxPublic, priv *key.BoxPrivate, pub key.BoxPublic, domain string, nonce *[MultiNonceSize]byte, pad int, random io.Reader) ([]byte, error) {
	if nonce == nil {
		nonce = new([MultiNonceSize]byte)
		if _, err := io.ReadFull(random, nonce[:]); err != nil {
			return nil, fmt.Errorf("sessionproto: read random nonce: %w", err)
		}
	}
	cts, err := EncryptForMultiple(messages, recipients, nonce, priv, pub, domain)
	if err != nil {
		return nil, err
	}
	if padSize := 0; pad > 1 && len(messages) > 0 {
		padSize = len(messages[0])
		for n := len(cts); padSize > 0 && n%pad != 0; n++ {
			junk := make([]byte, padSize)
			if _, err := io.ReadFull(random, junk); err != nil {
				return nil, fmt.Errorf("sessionproto: read random padding: %w", err)
			}
			cts = append(cts, junk)
		}
	}
	return EncodeMultiSimple(nonce, cts), nil
}

// EncodeMultiSimple returns the bencoded dict {"#": nonce, "e": entries}.
func EncodeMultiSimple(nonce *[MultiNonceSize]byte, entries [][]byte) []byte {
	n := 16 + MultiNonceSize
	for _, e := range entries {
		n += len(e) + 12
	}
	out := make([]byte, 0, n)
	out = append(out, "d1:#"...)
	out = appendBtString(out, nonce[:])
	out = append(out, "1:el"...)
	for _, e := range entries {
		out = appendBtString(out, e)
	}
	return append(out, "ee"...)
}

func appendBtString(b, s []byte) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// ParseMultiSimple decodes the value EncodeMultiSimple makes. The whole
// input must be one well-formed bencoded dict with keys in increasing
// order; it must hold "#" (a 24-byte string) and "e" (a list of strings),
// and other keys are skipped, as libsession's reader does. Errors wrap
// ErrMultiEncoding.
func ParseMultiSimple(encoded []byte) (nonce [MultiNonceSize]byte, entries [][]byte, err error) {
	fail := func(reason string) ([MultiNonceSize]byte, [][]byte, error) {
		return [MultiNonceSize]byte{}, nil, fmt.Errorf("%w: %s", ErrMultiEncoding, reason)
	}
	p := btParser{b: encoded}
	if !p.consume('d') {
		return fail("not a dict")
	}
	var last []byte
	var haveNonce, haveList bool
	for !p.consume('e') {
		k, ok := p.str()
		if !ok {
			return fail("bad dict key")
		}
		if last != nil && bytes.Compare(k, last) <= 0 {
			return fail("dict keys out of order")
		}
		last = k
		switch string(k) {
		case "#":
			v, ok := p.str()
			if !ok {
				return fail(`"#" is not a string`)
			}
			if len(v) != MultiNonceSize {
				return fail(fmt.Sprintf(`"#" is %d bytes, want %d`, len(v), MultiNonceSize))
			}
			copy(nonce[:], v)
			haveNonce = true
		case "e":
			if !p.consume('l') {
				return fail(`"e" is not a list`)
			}
			entries = [][]byte{}
			for !p.consume('e') {
				v, ok := p.str()
				if !ok {
					return fail(`"e" holds a value that is not a string`)
				}
				entries = append(entries, v)
			}
			haveList = true
		default:
			if !p.skip(0) {
				return fail("bad value")
			}
		}
	}
	switch {
	case p.i != len(p.b):
		return fail("data after the dict")
	case !haveNonce:
		return fail(`no "#"`)
	case !haveList:
		return fail(`no "e"`)
	}
	return nonce, entries, nil
}

// DecryptForMultipleSimple decrypts the copy meant for the recipient's key
// pair priv/pub in a value made by EncryptForMultipleSimple
// (libsession-util decrypt_for_multiple_simple). Errors: ErrMultiEncoding
// (wrapped) for a malformed value, ErrDecrypt when no copy opens,
// ErrPeerKey for a sender key of low order.
func DecryptForMultipleSimple(encoded []byte, priv *key.BoxPrivate, pub, sender key.BoxPublic, domain string) ([]byte, error) {
	nonce, entries, err := ParseMultiSimple(encoded)
	if err != nil {
		return nil, err
	}
	return DecryptForMultiple(entries, &nonce, priv, pub, sender, domain)
}

// maxBtDepth bounds the nesting of skipped bencoded values.
const maxBtDepth = 64

// btParser reads bencode (strings, integers, lists, dicts) from b.
type btParser struct {
	b []byte
	i int
}

func (p *btParser) consume(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string: decimal length without leading zeros, ':', bytes.
func (p *btParser) str() ([]byte, bool) {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	digits := p.b[start:p.i]
	if len(digits) == 0 || len(digits) > 9 || (len(digits) > 1 && digits[0] == '0') || !p.consume(':') {
		return nil, false
	}
	n, _ := strconv.Atoi(string(digits)) // ≤ 9 digits: cannot fail
	if n > len(p.b)-p.i {
		return nil, false
	}
	s := p.b[p.i : p.i+n : p.i+n]
	p.i += n
	return s, true
}

// int reads i<decimal>e, without leading zeros or "-0".
func (p *btParser) int() bool {
	if !p.consume('i') {
		return false
	}
	neg := p.consume('-')
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	d := p.b[start:p.i]
	if len(d) == 0 || len(d) > 19 || (d[0] == '0' && (len(d) > 1 || neg)) {
		return false
	}
	return p.consume('e')
}

// skip reads one value of any type.
func (p *btParser) skip(depth int) bool {
	if depth > maxBtDepth || p.i >= len(p.b) {
		return false
	}
	switch p.b[p.i] {
	case 'i':
		return p.int()
	case 'l':
		p.i++
		for !p.consume('e') {
			if !p.skip(depth + 1) {
				return false
			}
		}
		return true
	case 'd':
		p.i++
		for !p.consume('e') {
			if _, ok := p.str(); !ok || !p.skip(depth+1) {
				return false
			}
		}
		return true
	default:
		_, ok := p.str()
		return ok
	}
}

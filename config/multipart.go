package config

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/blake2b"
)

// Multi-part config messages (spec §4.12; docs/config.md, "Multi-part
// messages"). A config whose single message would be over MaxMessageSize is
// compressed and padded as usual, then the padded body is cut into chunks
// and each chunk becomes its own stored message:
//
//	'm' || bt list [ hash (32 bytes), index (1 byte), count (1 byte), chunk ]
//
// padded and config-encrypted like a whole message, and never
// protobuf-wrapped. hash is BLAKE2b-256 of the serialized config message
// (the message hash of §4.2), which the receiver checks after joining.
const (
	// MaxParts is the most parts one config message can have: index and
	// count are one byte each.
	MaxParts = 255

	// partOverhead is what a part adds to its chunk: 'm', the list
	// markers, "32:" and the hash, "1:" index, "1:" count and the chunk's
	// length prefix (at most "76710:").
	partOverhead = 1 + 2 + 3 + 32 + 2 + 1 + 2 + 1 + 6

	// PartChunkSize is the largest chunk in a part: the part's plaintext,
	// 76,760 bytes, then encrypts to exactly MaxMessageSize.
	PartChunkSize = MaxMessageSize - Overhead - partOverhead

	// MaxMultipartBody is the largest padded body parts can carry.
	MaxMultipartBody = MaxParts * PartChunkSize
)

// ErrMalformed is returned for a decrypted message or part that does not
// parse.
var ErrMalformed = errors.New("config: malformed config message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// encodePart returns the plaintext of one part, before padding.
func encodePart(p Part) []byte {
	n := strconv.Itoa(len(p.Chunk))
	out := make([]byte, 0, partOverhead+len(p.Chunk))
	out = append(out, prefixPart, 'l')
	out = append(out, "32:"...)
	out = append(out, p.Hash[:]...)
	out = append(out, "1:"...)
	out = append(out, byte(p.Index))
	out = append(out, "1:"...)
	out = append(out, byte(p.Count))
	out = append(out, n...)
	out = append(out, ':')
	out = append(out, p.Chunk...)
	return append(out, 'e')
}

// decodePart parses the unpadded plaintext of a part, 'm' included. It
// accepts exactly the encoding encodePart writes.
func decodePart(b []byte) (*Part, error) {
	if len(b) == 0 || b[0] != prefixPart {
		return nil, malformed("part does not start with 'm'")
	}
	rest, ok := bytes.CutPrefix(b[1:], []byte("l"))
	if !ok {
		return nil, malformed("part is not a bt list")
	}
	var p Part
	hash, rest, err := btString(rest)
	if err != nil {
		return nil, malformed("part hash: %v", err)
	}
	if len(hash) != len(p.Hash) {
		return nil, malformed("part hash is %d bytes, want 32", len(hash))
	}
	copy(p.Hash[:], hash)
	idx, rest, err := btString(rest)
	if err != nil || len(idx) != 1 {
		return nil, malformed("part index is not a 1-byte string")
	}
	cnt, rest, err := btString(rest)
	if err != nil || len(cnt) != 1 {
		return nil, malformed("part count is not a 1-byte string")
	}
	p.Index, p.Count = int(idx[0]), int(cnt[0])
	if p.Count == 0 || p.Index >= p.Count {
		return nil, malformed("part %d of %d", p.Index, p.Count)
	}
	chunk, rest, err := btString(rest)
	if err != nil {
		return nil, malformed("part chunk: %v", err)
	}
	if len(chunk) == 0 {
		return nil, malformed("part chunk is empty")
	}
	if !bytes.Equal(rest, []byte("e")) {
		return nil, malformed("part list does not end after its four elements")
	}
	p.Chunk = chunk
	return &p, nil
}

// btString reads one bt string, "<len>:<bytes>", with a canonical decimal
// length.
func btString(b []byte) (s, rest []byte, err error) {
	i := bytes.IndexByte(b, ':')
	if i < 1 || i > 8 {
		return nil, nil, errors.New("not a bt string")
	}
	digits := b[:i]
	if digits[0] == '0' && len(digits) > 1 {
		return nil, nil, errors.New("length has a leading zero")
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, nil, errors.New("length is not decimal")
		}
		n = n*10 + int(c-'0')
	}
	b = b[i+1:]
	if n > len(b) {
		return nil, nil, fmt.Errorf("string of %d bytes, %d left", n, len(b))
	}
	return b[:n:n], b[n:], nil
}

// splitParts cuts a padded body into parts for the message hashed as hash.
func splitParts(body []byte, hash [32]byte) ([]Part, error) {
	if len(body) > MaxMultipartBody {
		return nil, fmt.Errorf("%w: %d bytes after compression and padding, parts hold at most %d",
			ErrTooLarge, len(body), MaxMultipartBody)
	}
	count := (len(body) + PartChunkSize - 1) / PartChunkSize
	parts := make([]Part, 0, count)
	for i := range count {
		chunk := body[i*PartChunkSize : min((i+1)*PartChunkSize, len(body))]
		parts = append(parts, Part{Hash: hash, Index: i, Count: count, Chunk: chunk})
	}
	return parts, nil
}

// JoinParts reassembles the parts of one multi-part message (all with the
// same Hash and Count, every index present once, in any order) into the
// serialized config message: it joins the chunks, strips the padding,
// decompresses, and checks the result against the hash. Errors wrap
// ErrMalformed, or ErrDecompress.
func JoinParts(parts []Part) ([]byte, error) {
	if len(parts) == 0 {
		return nil, malformed("no parts")
	}
	first := parts[0]
	if first.Count < 1 || first.Count > MaxParts {
		return nil, malformed("part count %d", first.Count)
	}
	if len(parts) != first.Count {
		return nil, malformed("%d parts of %d", len(parts), first.Count)
	}
	sorted := make([]*Part, first.Count)
	size := 0
	for i := range parts {
		p := &parts[i]
		if p.Hash != first.Hash {
			return nil, malformed("parts of different messages")
		}
		if p.Count != first.Count {
			return nil, malformed("parts disagree on the count")
		}
		if p.Index < 0 || p.Index >= p.Count {
			return nil, malformed("part %d of %d", p.Index, p.Count)
		}
		if sorted[p.Index] != nil {
			return nil, malformed("part %d given twice", p.Index)
		}
		sorted[p.Index] = p
		size += len(p.Chunk)
	}
	if size > MaxMultipartBody {
		return nil, malformed("parts hold %d bytes, at most %d", size, MaxMultipartBody)
	}
	body := make([]byte, 0, size)
	for _, p := range sorted {
		body = append(body, p.Chunk...)
	}
	msg, err := openBody(unpad(body))
	if err != nil {
		return nil, err
	}
	if blake2b.Sum256(msg) != first.Hash {
		return nil, malformed("joined message does not match the parts' hash")
	}
	return msg, nil
}

// openBody turns an unpadded body into the serialized config message: it
// decompresses a 'z' body and requires a bt dict.
func openBody(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return nil, malformed("message contains no data")
	}
	if body[0] == prefixCompressed {
		var err error
		if body, err = decompress(body); err != nil {
			return nil, err
		}
	}
	if body[0] != prefixDict {
		return nil, malformed("message type %q, want 'd'", body[0])
	}
	return body, nil
}

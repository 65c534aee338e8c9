package attachment

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"sotto.dev/internal/blake2bx"
)

// Domain separates the deterministic keys of uploads used for different
// purposes: the same file sent as an attachment and set as a profile
// picture gets unrelated keys.
type Domain uint8

const (
	// DomainAttachment is a file sent to a conversation.
	DomainAttachment Domain = 0
	// DomainProfilePicture is a profile picture.
	DomainProfilePicture Domain = 1
)

func (d Domain) personal() (*[16]byte, error) {
	switch d {
	case DomainAttachment:
		return &personalAttachment, nil
	case DomainProfilePicture:
		return &personalProfilePic, nil
	}
	return nil, fmt.Errorf("attachment: unknown domain %d", d)
}

// deriver hashes a plaintext into the stream's header and key: BLAKE2b
// keyed by the uploader's seed, personalised by the domain, 56 bytes out,
// header = out[0:24], key = out[24:56].
type deriver struct {
	h *blake2bx.Digest
	n int64
}

func newDeriver(seed *Seed, d Domain) (*deriver, error) {
	p, err := d.personal()
	if err != nil {
		return nil, err
	}
	return &deriver{h: blake2bx.New(nonceKeySize, seed[:], nil, p)}, nil
}

func (dv *deriver) Write(p []byte) (int, error) {
	dv.n += int64(len(p))
	return dv.h.Write(p)
}

func (dv *deriver) finish() (header [HeaderSize]byte, key Key) {
	var nk [nonceKeySize]byte
	dv.h.Sum(nk[:0])
	dv.h.Clear()
	copy(header[:], nk[:HeaderSize])
	copy(key[:], nk[HeaderSize:])
	clear(nk[:])
	return header, key
}

// Seal encrypts plaintext in the deterministic form and returns the
// encrypted attachment (EncryptedSize(len(plaintext)) bytes) and its key.
// The same seed, domain and plaintext always give the same output, which
// is what lets a file server deduplicate re-uploads.
func Seal(seed *Seed, d Domain, plaintext []byte) ([]byte, Key, error) {
	dv, err := newDeriver(seed, d)
	if err != nil {
		return nil, Key{}, err
	}
	dv.Write(plaintext)
	header, key := dv.finish()
	out := bytes.NewBuffer(make([]byte, 0, EncryptedSize(int64(len(plaintext)))))
	if _, err := sealStream(out, bytes.NewReader(plaintext), int64(len(plaintext)), &header, &key); err != nil {
		return nil, Key{}, err
	}
	return out.Bytes(), key, nil
}

// Encrypt encrypts everything from src's current offset to its end in the
// deterministic form, writing it to dst, and returns the key and the
// number of bytes written. src is read twice, first to derive the key
// (the key is a hash of the whole plaintext) and then, after seeking back,
// to encrypt; it is never held in memory. A source whose length changes
// between the two reads is ErrSize.
func Encrypt(dst io.Writer, src io.ReadSeeker, seed *Seed, d Domain) (Key, int64, error) {
	start, err := src.Seek(0, io.SeekCurrent)
	if err != nil {
		return Key{}, 0, fmt.Errorf("attachment: seek source: %w", err)
	}
	dv, err := newDeriver(seed, d)
	if err != nil {
		return Key{}, 0, err
	}
	if _, err := io.Copy(dv, src); err != nil {
		return Key{}, 0, fmt.Errorf("attachment: read source: %w", err)
	}
	header, key := dv.finish()
	if _, err := src.Seek(start, io.SeekStart); err != nil {
		key.Wipe()
		return Key{}, 0, fmt.Errorf("attachment: seek source: %w", err)
	}
	n, err := sealStream(dst, src, dv.n, &header, &key)
	if err != nil {
		key.Wipe()
		return Key{}, n, err
	}
	return key, n, nil
}

// sealStream writes the deterministic form of the size bytes that src
// gives: 'S', the header, then the padding and the data in 32 KiB chunks,
// the last tagged FINAL.
func sealStream(dst io.Writer, src io.Reader, size int64, header *[HeaderSize]byte, key *Key) (int64, error) {
	var st secretstream
	st.init((*[KeySize]byte)(key), header)
	defer st.wipe()

	var prefix [1 + HeaderSize]byte
	prefix[0] = FormatDeterministic
	copy(prefix[1:], header[:])
	written, err := dst.Write(prefix[:])
	total := int64(written)
	if err != nil {
		return total, err
	}

	pt := make([]byte, ChunkSize)
	ct := make([]byte, 0, EncryptedChunkSize)
	defer clear(pt)
	pad := EncryptedPadding(size)
	data := size
	for {
		used := 0
		if pad > ChunkSize {
			clear(pt)
			used = ChunkSize
			pad -= ChunkSize
		} else if pad > 0 {
			clear(pt[:pad-1])
			pt[pad-1] = 0x01
			used = int(pad)
			pad = 0
		}
		if want := min(int64(ChunkSize-used), data); want > 0 {
			if _, err := io.ReadFull(src, pt[used:used+int(want)]); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return total, fmt.Errorf("attachment: source ended before its %d bytes: %w", size, ErrSize)
				}
				return total, fmt.Errorf("attachment: read source: %w", err)
			}
			used += int(want)
			data -= want
		}
		final := pad == 0 && data == 0
		tag := ssTagMessage
		if final {
			tag = ssTagFinal
		}
		ct = st.push(ct[:0], pt[:used], tag)
		written, err := dst.Write(ct)
		total += int64(written)
		if err != nil {
			return total, err
		}
		if final {
			break
		}
	}
	var one [1]byte
	if n, _ := io.ReadFull(src, one[:]); n > 0 {
		return total, fmt.Errorf("attachment: source longer than its %d bytes: %w", size, ErrSize)
	}
	return total, nil
}

// Open decrypts a deterministic attachment held in memory.
func Open(key *Key, data []byte) ([]byte, error) {
	maxSize, ok := DecryptedMaxSize(int64(len(data)))
	if !ok {
		return nil, fmt.Errorf("%d bytes is too short: %w", len(data), ErrFormat)
	}
	out := bytes.NewBuffer(make([]byte, 0, maxSize))
	if _, err := Decrypt(out, bytes.NewReader(data), key); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Decrypt reads a deterministic attachment from src and writes its
// plaintext to dst, returning the number of plaintext bytes written.
//
// Each 32 KiB chunk is authenticated before any of it reaches dst, so dst
// only ever receives authentic data; but a stream that fails later (cut
// short, damaged further on) has by then given dst a prefix of the file.
// On any error, discard what dst received: write to a temporary file and
// rename it into place only when Decrypt returns nil.
func Decrypt(dst io.Writer, src io.Reader, key *Key) (int64, error) {
	var prefix [1 + HeaderSize]byte
	if _, err := io.ReadFull(src, prefix[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("shorter than a header: %w", ErrFormat)
		}
		return 0, err
	}
	if prefix[0] != FormatDeterministic {
		return 0, fmt.Errorf("format byte 0x%02x, want 0x%02x: %w", prefix[0], FormatDeterministic, ErrFormat)
	}
	var st secretstream
	st.init((*[KeySize]byte)(key), (*[HeaderSize]byte)(prefix[1:]))
	defer st.wipe()

	in := make([]byte, EncryptedChunkSize)
	pt := make([]byte, 0, ChunkSize)
	defer clear(pt[:cap(pt)])
	depadded := false
	var total int64
	for {
		n, err := io.ReadFull(src, in)
		last := false
		switch {
		case errors.Is(err, io.EOF):
			return total, ErrTruncated
		case errors.Is(err, io.ErrUnexpectedEOF):
			last = true
		case err != nil:
			return total, err
		}
		if n < ChunkOverhead {
			return total, ErrTruncated
		}
		var tag byte
		pt, tag, err = st.pull(pt[:0], in[:n])
		if err != nil {
			return total, ErrDecrypt
		}
		out := pt
		if !depadded {
			// Padding is 00…00 01: the first non-zero byte ends it.
			j := 0
			for j < len(out) && out[j] == 0 {
				j++
			}
			if j < len(out) {
				if out[j] != 0x01 {
					return total, ErrPadding
				}
				depadded = true
				out = out[j+1:]
			} else {
				out = nil
			}
		}
		if len(out) > 0 {
			w, err := dst.Write(out)
			total += int64(w)
			if err != nil {
				return total, err
			}
		}
		if tag == ssTagFinal {
			if !last {
				var one [1]byte
				if m, _ := io.ReadFull(src, one[:]); m > 0 {
					return total, ErrTrailing
				}
			}
			if !depadded {
				return total, fmt.Errorf("the data ends inside the padding: %w", ErrPadding)
			}
			return total, nil
		}
		if last {
			return total, ErrTruncated
		}
	}
}

package attachment

import (
	"encoding/binary"
	"fmt"
)

// Sotto's manifest of a large file (Sotto clients only; docs/attachments.md).
// A file larger than one upload is cut into parts of PartSize bytes (the
// last may be shorter), each encrypted in the deterministic form and
// uploaded on its own; the message carries the manifest, which lists the
// parts in order. Layout, all integers big-endian:
//
//	magic      "SMF" (3)
//	version    1 (1)
//	total      uint64: the whole file's size
//	sha256     [32]: SHA-256 of the whole plaintext file
//	count      uint16: number of parts, 1..MaxParts
//	count times:
//	  size     uint32: the part's plaintext size, 1..MaxRegularSize
//	  key      [32]: the part's deterministic key
//	  digest   [32]: SHA-256 of the part's encrypted upload
//	  urllen   uint16: 1..2048
//	  url      [urllen]: the part's URL, in ParseURL's canonical form
//	             (String of what it parses to), with the "d" parameter
//
// The sizes must add up to total, and nothing may follow the last part.
const (
	manifestMagic   = "SMF"
	manifestVersion = 1
	// MaxParts bounds a manifest: 4096 parts of PartSize is 32 GiB.
	MaxParts = 4096
	// PartSize is the plaintext size of every part but the last. Its
	// encrypted size (8 650 752 bytes) fits Session's 10 MB upload limit
	// with room for the request around it.
	PartSize = 8 << 20

	manifestHeaderLen = len(manifestMagic) + 1 + 8 + 32 + 2
	manifestPartFixed = 4 + KeySize + DigestSize + 2
)

// Manifest lists the parts of a large file.
type Manifest struct {
	// Size is the whole file's size in bytes.
	Size int64
	// SHA256 is the whole plaintext file's SHA-256, checked after the
	// parts are joined.
	SHA256 [32]byte
	// Parts are the uploads, in file order.
	Parts []Part
}

// Part is one upload of a large file.
type Part struct {
	// URL is where the part was uploaded; Deterministic is set.
	URL *URL
	// Size is the part's plaintext size.
	Size int64
	// Key decrypts the part.
	Key Key
	// Digest is the SHA-256 of the encrypted part as uploaded.
	Digest [DigestSize]byte
}

// PartSizes returns the plaintext sizes of the parts a file of n bytes is
// cut into: PartSize each, the last shorter; one empty part for an empty
// file is not a manifest (send an empty file as an ordinary attachment).
func PartSizes(n int64) []int64 {
	var out []int64
	for n > 0 {
		k := min(n, PartSize)
		out = append(out, k)
		n -= k
	}
	return out
}

// MarshalBinary encodes the manifest, checking it as ParseManifest does.
func (m *Manifest) MarshalBinary() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	out := make([]byte, 0, manifestHeaderLen+len(m.Parts)*(manifestPartFixed+100))
	out = append(out, manifestMagic...)
	out = append(out, manifestVersion)
	out = binary.BigEndian.AppendUint64(out, uint64(m.Size))
	out = append(out, m.SHA256[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(m.Parts)))
	for _, p := range m.Parts {
		u := p.URL.String()
		out = binary.BigEndian.AppendUint32(out, uint32(p.Size))
		out = append(out, p.Key[:]...)
		out = append(out, p.Digest[:]...)
		out = binary.BigEndian.AppendUint16(out, uint16(len(u)))
		out = append(out, u...)
	}
	return out, nil
}

func (m *Manifest) check() error {
	if len(m.Parts) == 0 || len(m.Parts) > MaxParts {
		return fmt.Errorf("%d parts, want 1 to %d: %w", len(m.Parts), MaxParts, ErrManifest)
	}
	var sum int64
	for i, p := range m.Parts {
		if p.Size < 1 || p.Size > MaxRegularSize {
			return fmt.Errorf("part %d of %d bytes: %w", i, p.Size, ErrManifest)
		}
		if p.URL == nil || !p.URL.Deterministic {
			return fmt.Errorf("part %d has no deterministic URL: %w", i, ErrManifest)
		}
		if n := len(p.URL.String()); n > maxURLLen {
			return fmt.Errorf("part %d URL of %d bytes: %w", i, n, ErrManifest)
		}
		sum += p.Size
	}
	if sum != m.Size {
		return fmt.Errorf("parts add up to %d bytes, not %d: %w", sum, m.Size, ErrManifest)
	}
	return nil
}

// ParseManifest decodes a manifest. It is exact: wrong magic or version,
// counts or lengths out of range, a URL that does not parse or is not in
// canonical form, sizes that do not add up, and trailing bytes are all
// ErrManifest.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) < manifestHeaderLen {
		return nil, fmt.Errorf("%d bytes, shorter than the header: %w", len(b), ErrManifest)
	}
	if string(b[:3]) != manifestMagic {
		return nil, fmt.Errorf("bad magic: %w", ErrManifest)
	}
	if b[3] != manifestVersion {
		return nil, fmt.Errorf("version %d, want %d: %w", b[3], manifestVersion, ErrManifest)
	}
	size := binary.BigEndian.Uint64(b[4:])
	if size > MaxParts*MaxRegularSize {
		return nil, fmt.Errorf("total size %d: %w", size, ErrManifest)
	}
	m := &Manifest{Size: int64(size), SHA256: [32]byte(b[12:44])}
	count := int(binary.BigEndian.Uint16(b[44:]))
	if count == 0 || count > MaxParts {
		return nil, fmt.Errorf("%d parts, want 1 to %d: %w", count, MaxParts, ErrManifest)
	}
	rest := b[manifestHeaderLen:]
	m.Parts = make([]Part, 0, min(count, len(rest)/manifestPartFixed+1))
	for i := range count {
		if len(rest) < manifestPartFixed {
			return nil, fmt.Errorf("part %d cut short: %w", i, ErrManifest)
		}
		p := Part{
			Size:   int64(binary.BigEndian.Uint32(rest)),
			Key:    Key(rest[4 : 4+KeySize]),
			Digest: [DigestSize]byte(rest[4+KeySize : 4+KeySize+DigestSize]),
		}
		ulen := int(binary.BigEndian.Uint16(rest[manifestPartFixed-2:]))
		rest = rest[manifestPartFixed:]
		if ulen == 0 || ulen > maxURLLen || ulen > len(rest) {
			return nil, fmt.Errorf("part %d URL length %d: %w", i, ulen, ErrManifest)
		}
		raw := string(rest[:ulen])
		rest = rest[ulen:]
		u, err := ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("part %d: %w: %w", i, ErrManifest, err)
		}
		if u.String() != raw {
			return nil, fmt.Errorf("part %d URL is not in canonical form: %w", i, ErrManifest)
		}
		p.URL = u
		m.Parts = append(m.Parts, p)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the last part: %w", len(rest), ErrManifest)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

package attachment

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"sotto.dev/internal/vectors"
)

var testSeed = Seed{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

// §8.2's size table and libsession's test_attachment_encrypt.cpp.
func TestEncryptedSizeTable(t *testing.T) {
	cases := []struct{ n, want int64 }{
		{0, 4096}, {1, 4096}, {2, 4096}, {10, 4096}, {100, 4096}, {1000, 4096}, {2000, 4096}, {4000, 4096},
		{4053, 4096}, {4054, 8192}, {8149, 8192}, {8150, 12288}, {33333, 36864},
		{60000, 61440}, {261982, 262144}, {261983, 270336}, {523990, 524288}, {523991, 540672},
		{6543210, 6553600}, {10218286, 10223616}, {10000000, 10223616}, {25000000, 25165824},
	}
	for _, c := range cases {
		if got := EncryptedSize(c.n); got != c.want {
			t.Errorf("EncryptedSize(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	if got := EncryptedSize(MaxRegularSize + 1); got <= EncryptedSize(MaxRegularSize) {
		t.Errorf("EncryptedSize(MaxRegularSize+1) = %d, want more than %d", got, EncryptedSize(MaxRegularSize))
	}
}

func TestEncryptedSizeVectors(t *testing.T) {
	v := vectors.Get(t, "attachments.encrypted_size")
	var in []int64
	var want []int64
	v.In(t, "plaintext_sizes", &in)
	v.Out(t, "encrypted_sizes", &want)
	if len(in) != len(want) || len(in) == 0 {
		t.Fatalf("vector has %d sizes and %d answers", len(in), len(want))
	}
	for i := range in {
		if got := EncryptedSize(in[i]); got != want[i] {
			t.Errorf("EncryptedSize(%d) = %d, want %d", in[i], got, want[i])
		}
	}
}

// The padded stream fills the encrypted size exactly, the padding is at
// least one byte, and DecryptedMaxSize bounds the plaintext, at every size
// near a chunk or bucket edge.
func TestEncryptedPaddingInvariants(t *testing.T) {
	var sizes []int64
	for k := int64(0); k <= 8; k++ {
		for _, d := range []int64{-2, -1, 0, 1, 2} {
			if n := k*ChunkSize + d; n >= 0 {
				sizes = append(sizes, n)
			}
		}
	}
	for n := int64(0); n < 300000; n += 997 {
		sizes = append(sizes, n)
	}
	sizes = append(sizes, 4053, 4054, 8149, 8150, 261982, 261983, MaxRegularSize, 100<<20)
	for _, n := range sizes {
		pad := EncryptedPadding(n)
		size := EncryptedSize(n)
		if pad < 1 {
			t.Fatalf("EncryptedPadding(%d) = %d", n, pad)
		}
		stream := n + pad
		chunks := (stream + ChunkSize - 1) / ChunkSize
		if 1+HeaderSize+stream+chunks*ChunkOverhead != size {
			t.Fatalf("%d: padded stream does not fill %d", n, size)
		}
		if m, ok := DecryptedMaxSize(size); !ok || m < n {
			t.Fatalf("DecryptedMaxSize(%d) = %d, %v; plaintext %d", size, m, ok, n)
		}
	}
}

func TestDecryptedMaxSize(t *testing.T) {
	for _, n := range []int64{-1, 0, 25, 26, 26 + 16} {
		if _, ok := DecryptedMaxSize(n); ok {
			t.Errorf("DecryptedMaxSize(%d) ok", n)
		}
	}
	if m, ok := DecryptedMaxSize(4096); !ok || m != 4096-26-17 {
		t.Errorf("DecryptedMaxSize(4096) = %d, %v", m, ok)
	}
}

// Round trips at every size class edge, through the in-memory and the
// streaming paths, with short reads.
func TestDeterministicRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 4053, 4054, 8149, 8150, ChunkSize - 1, ChunkSize, ChunkSize + 1,
		2*ChunkSize - 1, 2 * ChunkSize, 2*ChunkSize + 1, 5 * ChunkSize, 261982, 261983, 10_000_000}
	for _, n := range sizes {
		pt := makeData(n)
		ct, key, err := Seal(&testSeed, DomainAttachment, pt)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(ct)) != EncryptedSize(int64(n)) {
			t.Fatalf("%d: %d bytes, want %d", n, len(ct), EncryptedSize(int64(n)))
		}
		var stream bytes.Buffer
		k2, w, err := Encrypt(&stream, bytes.NewReader(pt), &testSeed, DomainAttachment)
		if err != nil || !k2.Equal(&key) || w != int64(len(ct)) || !bytes.Equal(stream.Bytes(), ct) {
			t.Fatalf("%d: Encrypt differs from Seal (%v)", n, err)
		}
		got, err := Open(&key, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d: Open: %v", n, err)
		}
		var out bytes.Buffer
		r, err := Decrypt(&out, iotest.OneByteReader(bytes.NewReader(ct)), &key)
		if err != nil || r != int64(n) || !bytes.Equal(out.Bytes(), pt) {
			t.Fatalf("%d: Decrypt: %d, %v", n, r, err)
		}
	}
}

func TestDeterministicSeparation(t *testing.T) {
	pt := makeData(1000)
	a, ka, _ := Seal(&testSeed, DomainAttachment, pt)
	b, kb, _ := Seal(&testSeed, DomainProfilePicture, pt)
	s2 := testSeed
	s2[31] ^= 1
	c, kc, _ := Seal(&s2, DomainAttachment, pt)
	pt2 := bytes.Clone(pt)
	pt2[500] ^= 1
	d, kd, _ := Seal(&testSeed, DomainAttachment, pt2)
	keys := []Key{ka, kb, kc, kd}
	cts := [][]byte{a, b, c, d}
	for i := range keys {
		for j := range cts {
			_, err := Open(&keys[i], cts[j])
			if i == j && err != nil {
				t.Errorf("key %d on its own data: %v", i, err)
			}
			if i != j && !errors.Is(err, ErrDecrypt) {
				t.Errorf("key %d on data %d: %v, want ErrDecrypt", i, j, err)
			}
		}
	}
	if _, _, err := Seal(&testSeed, Domain(2), pt); err == nil {
		t.Error("unknown domain accepted")
	}
}

// A change anywhere fails: format byte, header, each chunk's tag byte,
// ciphertext and MAC, in the first, middle and last chunk; so do cuts and
// additions.
func TestDeterministicTamper(t *testing.T) {
	pt := makeData(3*ChunkSize + 100)
	ct, key, _ := Seal(&testSeed, DomainAttachment, pt)
	first := 1 + HeaderSize
	offsets := []int{0, 1, HeaderSize, first, first + 1, first + 100, first + EncryptedChunkSize - 1,
		first + EncryptedChunkSize, first + 2*EncryptedChunkSize + 5, len(ct) - 17, len(ct) - 1}
	for _, off := range offsets {
		bad := bytes.Clone(ct)
		bad[off] ^= 0x04
		_, err := Open(&key, bad)
		want := ErrDecrypt
		if off == 0 {
			want = ErrFormat
		}
		if !errors.Is(err, want) {
			t.Errorf("flip at %d: %v, want %v", off, err, want)
		}
	}
	cuts := []int{0, 1, first - 1, first, first + 16, first + 17, first + EncryptedChunkSize, len(ct) - 1}
	for _, n := range cuts {
		_, err := Open(&key, ct[:n])
		if err == nil {
			t.Errorf("cut to %d bytes: opened", n)
		}
		var out bytes.Buffer
		if _, err := Decrypt(&out, bytes.NewReader(ct[:n]), &key); err == nil {
			t.Errorf("cut to %d bytes: Decrypt succeeded", n)
		}
	}
	// A whole chunk boundary cut leaves a stream without its final tag.
	var out bytes.Buffer
	if _, err := Decrypt(&out, bytes.NewReader(ct[:first+2*EncryptedChunkSize]), &key); !errors.Is(err, ErrTruncated) {
		t.Errorf("cut at a chunk boundary: %v, want ErrTruncated", err)
	}
	if _, err := Open(&key, append(bytes.Clone(ct), 0)); !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrTrailing) {
		t.Errorf("one byte added: %v", err)
	}
}

// Streams a Session client could send but Sotto does not: other tags
// before the last chunk, an empty last chunk, and padding that never ends
// or ends with a byte other than 01.
func TestDeterministicForeignStreams(t *testing.T) {
	key := Key{9}
	header := [HeaderSize]byte{7}
	build := func(chunks [][]byte, tags []byte) []byte {
		var st secretstream
		st.init((*[KeySize]byte)(&key), &header)
		out := append([]byte{FormatDeterministic}, header[:]...)
		for i, c := range chunks {
			out = st.push(out, c, tags[i])
		}
		return out
	}
	// Chunk boundaries are implicit (every chunk but the last is full).
	c1 := make([]byte, ChunkSize)
	c1[2] = 1
	c1[3] = 'a'
	c2 := bytes.Repeat([]byte{'b'}, ChunkSize)
	ok := build([][]byte{c1, c2, {}}, []byte{ssTagRekey, ssTagPush, ssTagFinal})
	want := append(bytes.Clone(c1[3:]), c2...)
	if got, err := Open(&key, ok); err != nil || !bytes.Equal(got, want) {
		t.Errorf("rekey, push and empty final: %d bytes, %v", len(got), err)
	}
	// A final chunk that is full, then more bytes.
	full := build([][]byte{c1}, []byte{ssTagFinal})
	var out bytes.Buffer
	if _, err := Decrypt(&out, bytes.NewReader(append(full, 1, 2, 3)), &key); !errors.Is(err, ErrTrailing) {
		t.Errorf("bytes after a full final chunk: %v, want ErrTrailing", err)
	}
	if got, err := Open(&key, full); err != nil || !bytes.Equal(got, c1[3:]) {
		t.Errorf("full final chunk: %v", err)
	}
	if _, err := Open(&key, build([][]byte{{0, 0, 0}}, []byte{ssTagFinal})); !errors.Is(err, ErrPadding) {
		t.Errorf("padding without its end: %v", err)
	}
	if _, err := Open(&key, build([][]byte{{0, 2, 'a'}}, []byte{ssTagFinal})); !errors.Is(err, ErrPadding) {
		t.Errorf("padding ending in 02: %v", err)
	}
	if _, err := Open(&key, build([][]byte{{1, 'a'}, {'b'}}, []byte{ssTagFinal, ssTagFinal})); !errors.Is(err, ErrTrailing) && !errors.Is(err, ErrDecrypt) {
		t.Errorf("chunk after final: %v", err)
	}
	if _, err := Open(&key, build([][]byte{{1, 'a'}}, []byte{ssTagMessage})); !errors.Is(err, ErrTruncated) {
		t.Errorf("no final tag: %v", err)
	}
}

// Encrypt reads its source twice; a source that changes length between the
// reads is ErrSize.
func TestEncryptChangingSource(t *testing.T) {
	src := &growingSource{ReadSeeker: bytes.NewReader(makeData(5000))}
	if _, _, err := Encrypt(io.Discard, src, &testSeed, DomainAttachment); !errors.Is(err, ErrSize) {
		t.Errorf("source grew: %v", err)
	}
}

// growingSource gives one more byte after its first seek.
type growingSource struct {
	io.ReadSeeker
	seeks int
}

func (g *growingSource) Seek(off int64, whence int) (int64, error) {
	g.seeks++
	if g.seeks == 2 {
		g.ReadSeeker = bytes.NewReader(makeData(5001))
	}
	return g.ReadSeeker.Seek(off, whence)
}

func TestKeyParsing(t *testing.T) {
	for _, n := range []int{0, 31, 33} {
		if _, err := KeyFromBytes(make([]byte, n)); !errors.Is(err, ErrKey) {
			t.Errorf("KeyFromBytes(%d bytes): %v", n, err)
		}
		if _, err := ProfileKeyFromBytes(make([]byte, n)); !errors.Is(err, ErrKey) {
			t.Errorf("ProfileKeyFromBytes(%d bytes): %v", n, err)
		}
	}
	for _, n := range []int{0, 63, 65} {
		if _, err := LegacyKeyFromBytes(make([]byte, n)); !errors.Is(err, ErrKey) {
			t.Errorf("LegacyKeyFromBytes(%d bytes): %v", n, err)
		}
	}
	if _, err := SeedFromBytes(make([]byte, 31)); !errors.Is(err, ErrKey) {
		t.Error("31-byte seed accepted")
	}
	s, err := SeedFromBytes(makeData(64))
	if err != nil || !bytes.Equal(s[:], makeData(32)) {
		t.Errorf("64-byte seed: %v", err)
	}
}

package identity

import (
	_ "embed"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"sync"
	"unicode/utf8"
)

// The English word list of Session's recovery phrases (session-protocol.md
// §1.2): 1626 words, one per line, each identified by its first 3 letters.
// It is the list of session-desktop's mnemonic_languages/english.json, also
// in oxen-core and libsession; TestWordList checks its SHA-256.
//
//go:embed mnemonic-english.txt
var englishText string

const (
	wordCount  = 1626 // N
	prefixLen  = 3    // letters that identify a word
	groupBytes = 4    // bytes per group of 3 words
	groupWords = 3
)

type wordList struct {
	words    []string
	byPrefix map[string]int
}

// english parses the embedded list once; the list is read-only afterwards.
var english = sync.OnceValue(func() *wordList {
	words := strings.Split(strings.TrimSuffix(englishText, "\n"), "\n")
	wl := &wordList{words: words, byPrefix: make(map[string]int, len(words))}
	for i, w := range words {
		wl.byPrefix[w[:prefixLen]] = i
	}
	if len(words) != wordCount || len(wl.byPrefix) != wordCount {
		// The file is embedded at build time and checked by TestWordList;
		// a broken list is a build defect, not an input error.
		panic("identity: embedded mnemonic word list is corrupt")
	}
	return wl
})

// lookup returns the index of the word whose first 3 letters match w,
// ignoring case, or -1.
func (wl *wordList) lookup(w string) int {
	w = strings.ToLower(w)
	if utf8.RuneCountInString(w) < prefixLen {
		return -1
	}
	end := 0
	for range prefixLen {
		_, n := utf8.DecodeRuneInString(w[end:])
		end += n
	}
	i, ok := wl.byPrefix[w[:end]]
	if !ok {
		return -1
	}
	return i
}

// checksumIndex returns the position, among the data words, of the word the
// checksum repeats: CRC-32 (IEEE) of the concatenated 3-letter prefixes,
// modulo the number of data words (§1.2).
func (wl *wordList) checksumIndex(idx []int) int {
	var b strings.Builder
	b.Grow(prefixLen * len(idx))
	for _, i := range idx {
		b.WriteString(wl.words[i][:prefixLen])
	}
	return int(crc32.ChecksumIEEE([]byte(b.String())) % uint32(len(idx)))
}

// EncodeMnemonic encodes data, whose length must be a non-zero multiple of 4,
// as recovery-phrase words (§1.2): each 4 bytes, read as a little-endian
// uint32 x, give the words x mod N, (x/N + w1) mod N and (x/N² + w2) mod N
// for N = 1626. With checksum a last word is added that repeats one of the
// others, chosen by a CRC-32 of their prefixes. A 16-byte seed gives 13
// words, a 32-byte seed 25.
func EncodeMnemonic(data []byte, checksum bool) ([]string, error) {
	if len(data) == 0 || len(data)%groupBytes != 0 {
		return nil, &LengthError{What: "mnemonic data", Got: len(data), Want: "a non-zero multiple of 4", Unit: "bytes"}
	}
	wl := english()
	idx := make([]int, 0, len(data)/groupBytes*groupWords+1)
	for i := 0; i < len(data); i += groupBytes {
		x := uint64(binary.LittleEndian.Uint32(data[i:]))
		w1 := x % wordCount
		w2 := (x/wordCount + w1) % wordCount
		w3 := (x/wordCount/wordCount + w2) % wordCount
		idx = append(idx, int(w1), int(w2), int(w3))
	}
	if checksum {
		idx = append(idx, idx[wl.checksumIndex(idx)])
	}
	words := make([]string, len(idx))
	for i, w := range idx {
		words[i] = wl.words[w]
	}
	return words, nil
}

// DecodeMnemonic decodes a 13- or 25-word recovery phrase (with its checksum
// word) into its 16- or 32-byte seed. Words are matched by their first 3
// letters, ignoring case, so typos after the third letter are tolerated. A
// 12-word phrase is rejected like Session desktop does: without its
// checksum word a single wrong word would go unnoticed. Errors:
// *WordCountError, *UnknownWordError (naming the word), *WordTripleError,
// ErrChecksum.
func DecodeMnemonic(words []string) ([]byte, error) {
	if len(words) != 13 && len(words) != 25 {
		return nil, &WordCountError{Got: len(words), Want: "13 or 25"}
	}
	idx, err := lookupWords(words)
	if err != nil {
		return nil, err
	}
	data := idx[:len(idx)-1]
	seed, err := decodeGroups(data)
	if err != nil {
		return nil, err
	}
	if idx[len(idx)-1] != data[english().checksumIndex(data)] {
		clear(seed)
		return nil, ErrChecksum
	}
	return seed, nil
}

// DecodeMnemonicNoChecksum decodes words that carry no checksum word; their
// number must be a non-zero multiple of 3 (12 words give 16 bytes, 48 words
// 64 bytes). It exists for test vectors and other data encodings; recovery
// phrases use DecodeMnemonic.
func DecodeMnemonicNoChecksum(words []string) ([]byte, error) {
	if len(words) == 0 || len(words)%groupWords != 0 {
		return nil, &WordCountError{Got: len(words), Want: "a non-zero multiple of 3"}
	}
	idx, err := lookupWords(words)
	if err != nil {
		return nil, err
	}
	return decodeGroups(idx)
}

func lookupWords(words []string) ([]int, error) {
	wl := english()
	idx := make([]int, len(words))
	for i, w := range words {
		idx[i] = wl.lookup(w)
		if idx[i] < 0 {
			return nil, &UnknownWordError{Position: i + 1, Word: w}
		}
	}
	return idx, nil
}

// decodeGroups inverts the encoding: x = w1 + N·((w2−w1) mod N) +
// N²·((w3−w2) mod N), which must fit in 32 bits.
func decodeGroups(idx []int) ([]byte, error) {
	out := make([]byte, 0, len(idx)/groupWords*groupBytes)
	for i := 0; i < len(idx); i += groupWords {
		w1, w2, w3 := uint64(idx[i]), uint64(idx[i+1]), uint64(idx[i+2])
		x := w1 + wordCount*((wordCount+w2-w1)%wordCount) + wordCount*wordCount*((wordCount+w3-w2)%wordCount)
		if x > 0xffffffff {
			clear(out)
			return nil, &WordTripleError{Position: i + 1}
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(x))
	}
	return out, nil
}

// RecoveryPhrase returns the account's recovery phrase: 13 words for a
// 16-byte seed, 25 for a 32-byte seed. The words are secret. It fails only
// for a Keys value not made by KeysFromSeed or NewKeys.
func (k *Keys) RecoveryPhrase() ([]string, error) {
	return EncodeMnemonic(k.seed, true)
}

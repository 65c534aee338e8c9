package identity

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"sotto.dev/internal/vectors"
)

func TestWordList(t *testing.T) {
	v := vectors.Get(t, "mnemonic.wordlist_english")
	wl := english()
	var count, plen int
	var first, last []string
	v.Out(t, "count", &count)
	v.Out(t, "prefix_len", &plen)
	v.Out(t, "first", &first)
	v.Out(t, "last", &last)
	if len(wl.words) != count || plen != prefixLen {
		t.Fatalf("list has %d words, prefix %d; want %d, %d", len(wl.words), prefixLen, count, plen)
	}
	if !slices.Equal(wl.words[:len(first)], first) || !slices.Equal(wl.words[len(wl.words)-len(last):], last) {
		t.Errorf("list starts %v and ends %v", wl.words[:3], wl.words[len(wl.words)-3:])
	}
	sum := sha256.Sum256([]byte(strings.Join(wl.words, "\n")))
	if got, want := hex.EncodeToString(sum[:]), v.OutString(t, "sha256_of_words_joined_by_LF"); got != want {
		t.Errorf("SHA-256 of the word list = %s, want %s", got, want)
	}
}

func TestMnemonicVectors(t *testing.T) {
	cases := []struct {
		name    string
		v       vectors.Vector
		seedKey string
	}{
		{"13 words", vectors.Get(t, "mnemonic.seed16_13words"), "seed"},
		{"zero seed", vectors.Get(t, "mnemonic.zero_seed"), "seed"},
		{"25 words", extraVector(t, "extra.mnemonic_25words"), "seed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seed := c.v.InHex(t, c.seedKey)
			var want []string
			c.v.Out(t, "words", &want)
			got, err := EncodeMnemonic(seed, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("EncodeMnemonic = %v\nwant %v", got, want)
			}
			back, err := DecodeMnemonic(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, seed) {
				t.Errorf("DecodeMnemonic = %x, want %x", back, seed)
			}
			if _, ok := c.v.Expected["checksum_index"]; ok {
				var ci int
				c.v.Out(t, "checksum_index", &ci)
				wl := english()
				idx, _ := lookupWords(want[:len(want)-1])
				if got := wl.checksumIndex(idx); got != ci {
					t.Errorf("checksum index = %d, want %d", got, ci)
				}
			}
			if _, ok := c.v.Expected["word_indices"]; ok {
				var wi []int
				c.v.Out(t, "word_indices", &wi)
				idx, _ := lookupWords(got)
				if !slices.Equal(idx, wi) {
					t.Errorf("word indices = %v, want %v", idx, wi)
				}
			}
		})
	}
}

func TestMnemonicPrefixAndTypo(t *testing.T) {
	v := vectors.Get(t, "mnemonic.prefix_and_typo_tolerance")
	var words []string
	v.In(t, "words", &words)
	got, err := DecodeMnemonic(words)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, v.OutHex(t, "seed")) {
		t.Errorf("decoded %x", got)
	}

	x := extraVector(t, "extra.mnemonic_accepted")
	var phrases []string
	x.In(t, "phrases", &phrases)
	for _, p := range phrases {
		got, err := DecodeMnemonic(strings.Fields(p))
		if err != nil {
			t.Errorf("%q: %v", p, err)
			continue
		}
		if !bytes.Equal(got, x.OutHex(t, "seed")) {
			t.Errorf("%q decoded to %x", p, got)
		}
	}
}

func TestMnemonicFourBytes(t *testing.T) {
	v := extraVector(t, "extra.mnemonic_four_bytes")
	data := v.InHex(t, "data")
	var want, wantSum []string
	v.Out(t, "words", &want)
	v.Out(t, "words_with_checksum", &wantSum)
	words, err := EncodeMnemonic(data, false)
	if err != nil || !slices.Equal(words, want) {
		t.Errorf("EncodeMnemonic(%x, false) = %v, %v; want %v", data, words, err, want)
	}
	back, err := DecodeMnemonicNoChecksum(want)
	if err != nil || !bytes.Equal(back, data) {
		t.Errorf("decode = %x, %v", back, err)
	}
	withSum, err := EncodeMnemonic(data, true)
	if err != nil || !slices.Equal(withSum, wantSum) {
		t.Errorf("EncodeMnemonic(%x, true) = %v, %v; want %v", data, withSum, err, wantSum)
	}
}

func TestMnemonic48Words(t *testing.T) {
	v := extraVector(t, "extra.mnemonic_48words")
	data := v.InHex(t, "data")
	sum := sha512.Sum512([]byte(v.InString(t, "message_utf8")))
	if !bytes.Equal(sum[:], data) {
		t.Fatalf("vector data is not SHA-512 of its message")
	}
	var want []string
	v.Out(t, "words", &want)
	got, err := EncodeMnemonic(data, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("EncodeMnemonic = %v", got)
	}
	back, err := DecodeMnemonicNoChecksum(want)
	if err != nil || !bytes.Equal(back, data) {
		t.Errorf("DecodeMnemonicNoChecksum = %x, %v", back, err)
	}
	if _, err := DecodeMnemonic(want); err == nil {
		t.Error("DecodeMnemonic accepted 48 words")
	}
}

func TestMnemonicRejected(t *testing.T) {
	v := extraVector(t, "extra.mnemonic_rejected")
	var cases []struct {
		Phrase   string `json:"phrase"`
		Error    string `json:"error"`
		Position int    `json:"position"`
	}
	v.In(t, "cases", &cases)
	for _, c := range cases {
		t.Run(c.Phrase, func(t *testing.T) {
			seed, err := DecodeMnemonic(strings.Fields(c.Phrase))
			if seed != nil {
				t.Errorf("returned seed %x with error", seed)
			}
			var (
				uw *UnknownWordError
				wc *WordCountError
				wt *WordTripleError
			)
			switch c.Error {
			case "checksum":
				if !errors.Is(err, ErrChecksum) {
					t.Errorf("err = %v, want ErrChecksum", err)
				}
			case "unknown_word":
				if !errors.As(err, &uw) || uw.Position != c.Position {
					t.Errorf("err = %v, want *UnknownWordError at %d", err, c.Position)
				} else if !strings.Contains(err.Error(), uw.Word) {
					t.Errorf("error %q does not name the word", err)
				}
			case "count":
				if !errors.As(err, &wc) {
					t.Errorf("err = %v, want *WordCountError", err)
				}
			case "triple":
				if !errors.As(err, &wt) || wt.Position != c.Position {
					t.Errorf("err = %v, want *WordTripleError at %d", err, c.Position)
				}
			default:
				t.Fatalf("unknown error kind %q in vector", c.Error)
			}
		})
	}
}

func TestMnemonicCounts(t *testing.T) {
	for _, n := range []int{0, 1, 3, 12, 14, 24, 26, 39} {
		var wc *WordCountError
		if _, err := DecodeMnemonic(slices.Repeat([]string{"abbey"}, n)); !errors.As(err, &wc) || wc.Got != n {
			t.Errorf("%d words: err = %v, want *WordCountError", n, err)
		}
	}
	for _, n := range []int{0, 1, 2, 4, 13, 25} {
		var wc *WordCountError
		if _, err := DecodeMnemonicNoChecksum(slices.Repeat([]string{"abbey"}, n)); !errors.As(err, &wc) {
			t.Errorf("no checksum, %d words: err = %v, want *WordCountError", n, err)
		}
	}
	if _, err := DecodeMnemonicNoChecksum(strings.Fields("abbey abbey zoom")); err == nil {
		t.Error("overflowing group accepted")
	}
	for _, w := range []string{"ab", "", "ämaze", "a"} {
		var uw *UnknownWordError
		words := append(slices.Repeat([]string{"abbey"}, 12), w)
		if _, err := DecodeMnemonic(words); !errors.As(err, &uw) || uw.Position != 13 {
			t.Errorf("word %q: err = %v, want *UnknownWordError at 13", w, err)
		}
	}
}

func TestEncodeMnemonicBadLength(t *testing.T) {
	for _, n := range []int{0, 1, 3, 5, 15, 17, 33} {
		var le *LengthError
		if _, err := EncodeMnemonic(make([]byte, n), true); !errors.As(err, &le) {
			t.Errorf("%d bytes: err = %v, want *LengthError", n, err)
		}
	}
}

func TestMnemonicRoundTrip(t *testing.T) {
	datas := [][]byte{
		bytes.Repeat([]byte{0xff}, 16),
		bytes.Repeat([]byte{0xff}, 32),
		bytes.Repeat([]byte{0x80}, 16),
	}
	for i := range 50 {
		h := sha512.Sum512([]byte{byte(i)})
		datas = append(datas, h[:16], h[:32])
	}
	for _, d := range datas {
		w, err := EncodeMnemonic(d, true)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeMnemonic(w)
		if err != nil || !bytes.Equal(back, d) {
			t.Errorf("%x: round trip %x, %v", d, back, err)
		}
		w12, _ := EncodeMnemonic(d, false)
		back, err = DecodeMnemonicNoChecksum(w12)
		if err != nil || !bytes.Equal(back, d) {
			t.Errorf("%x: no-checksum round trip %x, %v", d, back, err)
		}
	}
}

func TestRecoveryPhrase(t *testing.T) {
	v := vectors.Get(t, "mnemonic.seed16_13words")
	k := mustKeys(t, v.InHex(t, "seed"))
	var want []string
	v.Out(t, "words", &want)
	got, err := k.RecoveryPhrase()
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("RecoveryPhrase = %v, %v", got, err)
	}
	if _, err := new(Keys).RecoveryPhrase(); err == nil {
		t.Error("zero Keys gave a phrase")
	}
}

func FuzzDecodeMnemonic(f *testing.F) {
	f.Add("amaze buffet cake entrance symptoms tiger lamb maze nestle python dusted faxed faxed")
	f.Add("ama buf cak ent sym tig lam maz nes pyt dus fax fax")
	f.Add("abbey abbey zoom abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey")
	f.Add("threaten efficient wives skirting repent ashtray")
	f.Add("")
	f.Fuzz(func(t *testing.T, phrase string) {
		words := strings.Fields(phrase)
		if seed, err := DecodeMnemonic(words); err == nil {
			if len(seed) != 16 && len(seed) != 32 {
				t.Fatalf("seed of %d bytes", len(seed))
			}
			again, err := EncodeMnemonic(seed, true)
			if err != nil {
				t.Fatal(err)
			}
			// Same word indices (the input may use prefixes, typos, case).
			a, _ := lookupWords(words)
			b, _ := lookupWords(again)
			if !slices.Equal(a, b) {
				t.Fatalf("re-encoding gives %v, input indices %v", b, a)
			}
		}
		if data, err := DecodeMnemonicNoChecksum(words); err == nil {
			again, err := EncodeMnemonic(data, false)
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeMnemonicNoChecksum(again)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("round trip %x, %v", back, err)
			}
		}
	})
}

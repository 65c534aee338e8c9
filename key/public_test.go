package key

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// publicKind exercises one public key type through its constructors.
type publicKind struct {
	name      string
	parse     func(string) (string, error)
	fromBytes func([]byte) (string, error)
	unmarshal func([]byte) (string, error)
}

func kind[T interface {
	~[Size]byte
	String() string
	MarshalText() ([]byte, error)
}, P interface {
	*T
	UnmarshalText([]byte) error
}](name string, parse func(string) (T, error), fromBytes func([]byte) (T, error)) publicKind {
	return publicKind{
		name: name,
		parse: func(s string) (string, error) {
			k, err := parse(s)
			return k.String(), err
		},
		fromBytes: func(b []byte) (string, error) {
			k, err := fromBytes(b)
			return k.String(), err
		},
		unmarshal: func(b []byte) (string, error) {
			var k T
			err := P(&k).UnmarshalText(b)
			return k.String(), err
		},
	}
}

var publicKinds = []publicKind{
	kind[NodePublic]("NodePublic", ParseNodePublic, NodePublicFromBytes),
	kind[OnionPublic]("OnionPublic", ParseOnionPublic, OnionPublicFromBytes),
	kind[AccountPublic]("AccountPublic", ParseAccountPublic, AccountPublicFromBytes),
	kind[BoxPublic]("BoxPublic", ParseBoxPublic, BoxPublicFromBytes),
	kind[FileServerPublic]("FileServerPublic", ParseFileServerPublic, FileServerPublicFromBytes),
}

func TestPublicRoundTrip(t *testing.T) {
	raw := make([]byte, Size)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	lower := "00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9"
	for _, k := range publicKinds {
		got, err := k.fromBytes(raw)
		if err != nil || got != lower {
			t.Errorf("%sFromBytes = %q, %v; want %q", k.name, got, err, lower)
		}
		if got, err := k.parse(strings.ToUpper(lower)); err != nil || got != lower {
			t.Errorf("Parse%s(upper) = %q, %v; want %q", k.name, got, err, lower)
		}
		if got, err := k.unmarshal([]byte(lower)); err != nil || got != lower {
			t.Errorf("%s.UnmarshalText = %q, %v", k.name, got, err)
		}
	}
}

func TestPublicBadInput(t *testing.T) {
	good := strings.Repeat("ab", Size)
	for _, k := range publicKinds {
		for _, n := range []int{0, 1, Size - 1, Size + 1, 64} {
			var le *LengthError
			if _, err := k.fromBytes(make([]byte, n)); !errors.As(err, &le) || le.Got != n || le.Want != Size || le.Unit != "bytes" {
				t.Errorf("%sFromBytes(%d bytes): err = %v", k.name, n, err)
			}
		}
		for _, s := range []string{"", "ab", good[1:], good + "a", good + "ab", "05" + good} {
			var le *LengthError
			if _, err := k.parse(s); !errors.As(err, &le) || le.Got != len(s) || le.Unit != "hex characters" {
				t.Errorf("Parse%s(%d chars): err = %v", k.name, len(s), err)
			}
			if _, err := k.unmarshal([]byte(s)); !errors.As(err, &le) {
				t.Errorf("%s.UnmarshalText(%d chars): err = %v", k.name, len(s), err)
			}
		}
		for _, pos := range []int{0, 13, 63} {
			for _, c := range []byte{'g', ' ', 'x', 0xff} {
				b := []byte(good)
				b[pos] = c
				var ee *EncodingError
				_, err := k.parse(string(b))
				if !errors.As(err, &ee) || ee.Position != pos {
					t.Errorf("Parse%s(bad char at %d): err = %v", k.name, pos, err)
				}
				if err != nil && strings.Contains(err.Error(), string(b)) {
					t.Errorf("Parse%s error echoes its input: %v", k.name, err)
				}
			}
		}
	}
}

// JSON encodes the public types as hex strings; a struct field of one of
// these types therefore changes the JSON form compared with [32]byte,
// which is why wire structs keep their own string fields.
func TestPublicJSON(t *testing.T) {
	type doc struct {
		Node  NodePublic
		Onion OnionPublic
		Acct  AccountPublic
		Box   BoxPublic
	}
	in := doc{NodePublic{1}, OnionPublic{2}, AccountPublic{3}, BoxPublic{4}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Node":"01` + strings.Repeat("00", 31) + `","Onion":"02` + strings.Repeat("00", 31) +
		`","Acct":"03` + strings.Repeat("00", 31) + `","Box":"04` + strings.Repeat("00", 31) + `"}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back doc
	if err := json.Unmarshal(b, &back); err != nil || back != in {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if !(NodePublic{}).IsZero() || in.Node.IsZero() {
		t.Error("IsZero is wrong")
	}
	if b, _ := in.Box.AppendText([]byte("x=")); !bytes.HasPrefix(b, []byte("x=04")) {
		t.Errorf("AppendText = %q", b)
	}
}

func TestAccountID(t *testing.T) {
	x := BoxPublic{9, 8, 7}
	id := AccountID(x)
	if id.Prefix() != PrefixStandard || id.Key() != [Size]byte(x) {
		t.Fatalf("AccountID = %s", id)
	}
	if got, ok := id.Box(); !ok || got != x {
		t.Errorf("Box() = %s, %v", got, ok)
	}
	if _, ok := NewSessionID(PrefixGroup, x).Box(); ok {
		t.Error("Box() accepted a group ID")
	}
	if _, ok := id.Blinded(); ok {
		t.Error("Blinded() accepted a standard ID")
	}
}

func FuzzParseNodePublic(f *testing.F) { fuzzPublic(f, ParseNodePublic) }

func FuzzParseFileServerPublic(f *testing.F) { fuzzPublic(f, ParseFileServerPublic) }

func FuzzParseOnionPublic(f *testing.F) { fuzzPublic(f, ParseOnionPublic) }

func FuzzParseAccountPublic(f *testing.F) { fuzzPublic(f, ParseAccountPublic) }

func FuzzParseBoxPublic(f *testing.F) { fuzzPublic(f, ParseBoxPublic) }

func fuzzPublic[T interface {
	~[Size]byte
	String() string
}](f *testing.F, parse func(string) (T, error)) {
	f.Add(strings.Repeat("ab", Size))
	f.Add(strings.Repeat("AB", Size))
	f.Add("")
	f.Add("05" + strings.Repeat("00", Size))
	f.Add(strings.Repeat("g", 2*Size))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := parse(s)
		if err != nil {
			if k != (T{}) {
				t.Fatal("non-zero key returned with an error")
			}
			return
		}
		if k.String() != strings.ToLower(s) {
			t.Fatalf("String() = %q, input %q", k.String(), s)
		}
		back, err := parse(k.String())
		if err != nil || back != k {
			t.Fatalf("round trip: %v, %v", back, err)
		}
	})
}

package key

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseSessionID(t *testing.T) {
	key := strings.Repeat("ab", 32)
	cases := []struct {
		name string
		in   string
		want Prefix
		err  any // nil, *LengthError, *EncodingError, *PrefixError
		pos  int // EncodingError position
	}{
		{"standard", "05" + key, PrefixStandard, nil, 0},
		{"group", "03" + key, PrefixGroup, nil, 0},
		{"blind15", "15" + key, PrefixBlind15, nil, 0},
		{"blind25", "25" + key, PrefixBlind25, nil, 0},
		{"version", "07" + key, PrefixVersion, nil, 0},
		{"unblinded", "00" + key, PrefixUnblinded, nil, 0},
		{"upper case", "05" + strings.ToUpper(key), PrefixStandard, nil, 0},
		{"empty", "", 0, (*LengthError)(nil), 0},
		{"short", "05" + key[2:], 0, (*LengthError)(nil), 0},
		{"long", "05" + key + "ab", 0, (*LengthError)(nil), 0},
		{"raw 64 hex key", key, 0, (*LengthError)(nil), 0},
		{"bad hex", "05" + key[:10] + "zz" + key[12:], 0, (*EncodingError)(nil), 12},
		{"space", "05 " + key[1:], 0, (*EncodingError)(nil), 2},
		{"unknown prefix", "99" + key, 0, (*PrefixError)(nil), 0},
		{"prefix 01", "01" + key, 0, (*PrefixError)(nil), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := ParseSessionID(c.in)
			switch c.err.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
				if id.Prefix() != c.want || id.String() != strings.ToLower(c.in) {
					t.Errorf("got %s (prefix %s)", id, id.Prefix())
				}
				if k := id.Key(); !bytes.Equal(k[:], bytes.Repeat([]byte{0xab}, 32)) {
					t.Errorf("Key() = %x", k)
				}
				if b := id.Bytes(); len(b) != 33 || b[0] != byte(c.want) {
					t.Errorf("Bytes() = %x", b)
				}
			case *LengthError:
				var le *LengthError
				if !errors.As(err, &le) || le.Got != len(c.in) {
					t.Errorf("err = %v, want *LengthError with Got %d", err, len(c.in))
				}
			case *EncodingError:
				var ee *EncodingError
				if !errors.As(err, &ee) || ee.Position != c.pos {
					t.Errorf("err = %v, want *EncodingError at %d", err, c.pos)
				}
			case *PrefixError:
				var pe *PrefixError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), "unknown prefix") {
					t.Errorf("err = %v, want *PrefixError for an unknown prefix", err)
				}
			}
		})
	}
}

func TestParseStandardSessionID(t *testing.T) {
	key := strings.Repeat("01", 32)
	if _, err := ParseStandardSessionID("05" + key); err != nil {
		t.Errorf("05 id: %v", err)
	}
	for _, p := range []string{"15", "25", "03", "00", "07"} {
		_, err := ParseStandardSessionID(p + key)
		var pe *PrefixError
		if !errors.As(err, &pe) || pe.Got.String() != p || len(pe.Want) != 1 || pe.Want[0] != PrefixStandard {
			t.Errorf("%s id: err = %v, want *PrefixError wanting 05", p, err)
		}
	}
	var le *LengthError
	if _, err := ParseStandardSessionID("05"); !errors.As(err, &le) {
		t.Errorf("short id: err = %v", err)
	}
}

func TestSessionIDFromBytes(t *testing.T) {
	for _, n := range []int{0, 32, 34} {
		var le *LengthError
		if _, err := SessionIDFromBytes(make([]byte, n)); !errors.As(err, &le) {
			t.Errorf("%d bytes: err = %v, want *LengthError", n, err)
		}
	}
	raw := append([]byte{0x05}, bytes.Repeat([]byte{1}, 32)...)
	id, err := SessionIDFromBytes(raw)
	if err != nil || !bytes.Equal(id.Bytes(), raw) {
		t.Errorf("SessionIDFromBytes = %v, %v", id, err)
	}
	raw[0] = 0x42
	var pe *PrefixError
	if _, err := SessionIDFromBytes(raw); !errors.As(err, &pe) {
		t.Errorf("prefix 42: err = %v", err)
	}
}

func TestSessionIDText(t *testing.T) {
	id := NewSessionID(PrefixBlind25, [32]byte{1, 2, 3})
	b, err := json.Marshal(map[string]SessionID{"id": id})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]SessionID
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["id"] != id {
		t.Errorf("JSON round trip gave %s, want %s", back["id"], id)
	}
	if err := json.Unmarshal([]byte(`{"id":"05"}`), &back); err == nil {
		t.Error("UnmarshalText accepted a short id")
	}
	if !(SessionID{}).IsZero() || id.IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestPrefixNames(t *testing.T) {
	for _, p := range []Prefix{PrefixUnblinded, PrefixGroup, PrefixStandard, PrefixVersion, PrefixBlind15, PrefixBlind25} {
		if !p.Known() || p.Name() == "unknown" {
			t.Errorf("prefix %s not known", p)
		}
	}
	if Prefix(0x99).Known() || Prefix(0x99).String() != "99" {
		t.Error("0x99 should be an unknown prefix printed as 99")
	}
}

func FuzzParseSessionID(f *testing.F) {
	f.Add("05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72")
	f.Add("15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844")
	f.Add("25A69CC6884530BF8498D22892E563716C4742F2845A7EB608DE2AECBE7B6B5996")
	f.Add("05")
	f.Add("zz" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseSessionID(s)
		if err != nil {
			if id != (SessionID{}) {
				t.Fatal("non-zero id returned with an error")
			}
			return
		}
		if id.String() != strings.ToLower(s) {
			t.Fatalf("String() = %q, input %q", id.String(), s)
		}
		back, err := SessionIDFromBytes(id.Bytes())
		if err != nil || back != id {
			t.Fatalf("bytes round trip: %v, %v", back, err)
		}
		if std, err := ParseStandardSessionID(s); (err == nil) != (id.Prefix() == PrefixStandard) || (err == nil && std != id) {
			t.Fatalf("ParseStandardSessionID disagrees: %v", err)
		}
	})
}

func TestBlindedID(t *testing.T) {
	k := strings.Repeat("cd", 32)
	for _, p := range []string{"15", "25", "07"} {
		id, err := ParseBlindedID(p + k)
		if err != nil || id.String() != p+k || id.Prefix().String() != p {
			t.Errorf("ParseBlindedID(%s…) = %s, %v", p, id, err)
			continue
		}
		back, err := BlindedIDFromBytes(id.Bytes())
		if err != nil || back != id {
			t.Errorf("bytes round trip = %s, %v", back, err)
		}
		if got, ok := id.SessionID().Blinded(); !ok || got != id {
			t.Errorf("SessionID().Blinded() = %s, %v", got, ok)
		}
		var u BlindedID
		if err := u.UnmarshalText([]byte(strings.ToUpper(p + k))); err != nil || u != id {
			t.Errorf("UnmarshalText = %s, %v", u, err)
		}
		if b, _ := id.MarshalText(); string(b) != p+k {
			t.Errorf("MarshalText = %s", b)
		}
	}
	for _, p := range []string{"05", "03", "00", "99"} {
		var pe *PrefixError
		if _, err := ParseBlindedID(p + k); !errors.As(err, &pe) || pe.Got.String() != p || len(pe.Want) != 3 {
			t.Errorf("ParseBlindedID(%s…): err = %v, want *PrefixError", p, err)
		}
	}
	var le *LengthError
	if _, err := ParseBlindedID("15" + k[2:]); !errors.As(err, &le) {
		t.Errorf("short: err = %v", err)
	}
	if _, err := BlindedIDFromBytes(make([]byte, 32)); !errors.As(err, &le) {
		t.Errorf("32 bytes: err = %v", err)
	}
	var ee *EncodingError
	if _, err := ParseBlindedID("15" + k[:10] + "zz" + k[12:]); !errors.As(err, &ee) || ee.Position != 12 {
		t.Errorf("bad hex: err = %v", err)
	}
	if !(BlindedID{}).IsZero() {
		t.Error("IsZero is wrong")
	}
}

func FuzzParseBlindedID(f *testing.F) {
	f.Add("15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844")
	f.Add("05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72")
	f.Add("07" + strings.Repeat("0", 64))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseBlindedID(s)
		if err != nil {
			if !id.IsZero() {
				t.Fatal("non-zero id returned with an error")
			}
			return
		}
		if !id.Prefix().Blinded() || id.String() != strings.ToLower(s) {
			t.Fatalf("parsed %q as %s", s, id)
		}
		sid, err := ParseSessionID(s)
		if err != nil || sid != id.SessionID() {
			t.Fatalf("ParseSessionID disagrees: %v", err)
		}
	})
}

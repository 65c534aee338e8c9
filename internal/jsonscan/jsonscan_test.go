package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// checkAgainstStdlib compares Object and Array with encoding/json on b.
func checkAgainstStdlib(t *testing.T, b []byte) {
	t.Helper()
	valid := json.Valid(b)
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	isObject := valid && trimmed[0] == '{'
	isArray := valid && trimmed[0] == '['

	members, err := Object(b, nil)
	switch {
	case isObject && err != nil:
		t.Fatalf("%q: json.Valid accepts the object, Object says %v", b, err)
	case valid && !isObject && !errors.Is(err, ErrNotObject):
		t.Fatalf("%q: a valid non-object, Object says %v", b, err)
	case !valid && !errors.Is(err, ErrSyntax):
		t.Fatalf("%q: json.Valid rejects it, Object says %v", b, err)
	}
	if isObject {
		var want map[string]json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%q: json.Unmarshal: %v", b, err)
		}
		got := map[string]json.RawMessage{}
		for _, m := range members {
			if !m.Escaped && m.Name() != string(m.Key) {
				t.Fatalf("%q: plain key %q decodes to %q", b, m.Key, m.Name())
			}
			got[m.Name()] = m.Value
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, json.Unmarshal %d", b, len(got), len(want))
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || !bytes.Equal(g, v) {
				t.Fatalf("%q: member %q = %q (%v), json.Unmarshal %q", b, k, g, ok, v)
			}
			// json.Unmarshal takes null into a string as "leave it
			// alone"; Unquote takes only strings.
			var s string
			if v[0] == '"' && json.Unmarshal(v, &s) == nil {
				if u, ok := Unquote(v); !ok || u != s {
					t.Fatalf("%q: Unquote(%s) = %q %v, json.Unmarshal %q", b, v, u, ok, s)
				}
			} else if _, ok := Unquote(v); ok {
				t.Fatalf("%q: Unquote accepts the non-string %s", b, v)
			}
		}
	}

	elems, err := Array(b, nil)
	switch {
	case isArray && err != nil:
		t.Fatalf("%q: json.Valid accepts the array, Array says %v", b, err)
	case valid && !isArray && !errors.Is(err, ErrNotArray):
		t.Fatalf("%q: a valid non-array, Array says %v", b, err)
	case !valid && !errors.Is(err, ErrSyntax):
		t.Fatalf("%q: json.Valid rejects it, Array says %v", b, err)
	}
	if isArray {
		var want []json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%q: json.Unmarshal: %v", b, err)
		}
		if len(want) != len(elems) {
			t.Fatalf("%q: %d elements, json.Unmarshal %d", b, len(elems), len(want))
		}
		for i := range want {
			if !bytes.Equal(elems[i], want[i]) {
				t.Fatalf("%q: element %d = %q, json.Unmarshal %q", b, i, elems[i], want[i])
			}
		}
	}
}

var scanCases = []string{
	``, ` `, `{}`, ` { } `, `[]`, `[ ]`, `{"a":1}`, `{"a" : 1 , "b":[1, 2 ,{"c":null}] }`,
	`{"a":1,"a":2}`, `{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{a:1}`, `{"a":1}x`, `{"a":1}}`,
	`[1,]`, `[,1]`, `[1 2]`, `[1`, `{"a":[}`, `"str"`, `12`, `null`, `true`, `tru`, `nul`, `falsey`,
	`-`, `-0`, `01`, `1.`, `.5`, `1.5e`, `1e+`, `1E-7`, `-0.0e0`, `+1`, `0x10`, `1_000`,
	`{"a":"\u00e9\n\t\"\\\/"}`, `{"a":"\u00g0"}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`, `{"a":"` + "\x7f" + `"}`,
	`{"\u0070ubkey":"x"}`, `{"k\"":1}`, "{\"\xff\xfe\":1}", "{\"\xc3\xa9\":1}", "{\"a\":\"\xff\"}", `{"k":"\ud800"}`,
	`{"a":"unterminated}`, `{"a":"\`, `{"a":"\u12`, "{\"a\":1}\n", "\t[1]\r\n", `[[[[]]]]`, `{"a":{"b":{"c":{}}}}`,
	`[1,"2",{"3":[4]},true,false,null,-5.5e10]`, `{"a":-0.5e+3,"b":[1,{"c":null}],"d":"\u00e9\n","e":true,"f":false}`,
	`{"a":{"b"}}`, `{"a":{"b":1,}}`, `{`, `}`, "{\"a\":\t1\r\n}", `{"a":null}`,
}

func TestScan(t *testing.T) {
	for _, c := range scanCases {
		checkAgainstStdlib(t, []byte(c))
	}
}

// encoding/json allows 10000 nested arrays and objects, not 10001.
func TestScanDepth(t *testing.T) {
	for _, n := range []int{MaxDepth, MaxDepth + 1} {
		arr := strings.Repeat("[", n) + strings.Repeat("]", n)
		obj := strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1)
		inObj := `{"x":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`
		for _, b := range []string{arr, obj, inObj} {
			checkAgainstStdlib(t, []byte(b))
		}
	}
}

func TestObjectAppends(t *testing.T) {
	var buf [4]Member
	ms, err := Object([]byte(`{"a":1,"\u0062":"x","a":[2]}`), buf[:0])
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key, name, value string
		escaped          bool
	}{{"a", "a", "1", false}, {`\u0062`, "b", `"x"`, true}, {"a", "a", "[2]", false}}
	if len(ms) != len(want) {
		t.Fatalf("%d members", len(ms))
	}
	for i, w := range want {
		m := &ms[i]
		if string(m.Key) != w.key || m.Name() != w.name || string(m.Value) != w.value || m.Escaped != w.escaped {
			t.Errorf("member %d: %q %q %q %v, want %+v", i, m.Key, m.Name(), m.Value, m.Escaped, w)
		}
	}
	if &ms[0] != &buf[0] {
		t.Error("Object did not append to dst")
	}
}

// FuzzScan checks Object, Array and Unquote against encoding/json.
func FuzzScan(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgainstStdlib(t, b)
	})
}

// TestPlainRun puts every byte value at every place of a run of plain
// bytes: the word check must stop at the word that holds a byte str may
// not take as it is, and only there.
func TestPlainRun(t *testing.T) {
	for c := range 256 {
		for at := range 24 {
			b := bytes.Repeat([]byte{'A'}, 24)
			b[at] = byte(c)
			want := 24
			if !strPlain[c] {
				want = at / 8 * 8
			}
			if got := plainRun(b, 0); got != want {
				t.Fatalf("byte %#x at %d: plainRun = %d, want %d", c, at, got, want)
			}
		}
	}
	// Fewer than 8 bytes left: the byte loop's part.
	if got := plainRun([]byte(`"abcdefghij`), 1); got != 9 {
		t.Fatalf("plainRun with 10 bytes from 1 = %d, want 9", got)
	}
}

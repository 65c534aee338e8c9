package storagerpc

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// The scanner itself is checked against encoding/json in internal/jsonscan
// (FuzzScan); these tests check what splitObject and splitArray make of it.

func TestSplitObject(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	for _, tc := range []struct {
		in              string
		want            map[string]json.RawMessage
		isObject, valid bool
	}{
		{`{}`, map[string]json.RawMessage{}, true, true},
		{` { "a" : 1 , "b":[1, {"c":null}] } `, map[string]json.RawMessage{"a": raw(`1`), "b": raw(`[1, {"c":null}]`)}, true, true},
		{`{"a":1,"a":2}`, map[string]json.RawMessage{"a": raw(`2`)}, true, true}, // the last one wins
		{`{"\u0070ubkey":"x"}`, map[string]json.RawMessage{"pubkey": raw(`"x"`)}, true, true},
		{"{\"\xff\":1}", map[string]json.RawMessage{"\ufffd": raw(`1`)}, true, true},
		{`[1]`, nil, false, true},
		{`"x"`, nil, false, true},
		{`null`, nil, false, true},
		{`{"a":1`, nil, false, false},
		{`{"a":1}x`, nil, false, false},
		{``, nil, false, false},
	} {
		f, isObject, valid := splitObject([]byte(tc.in))
		var got map[string]json.RawMessage
		for i := range f {
			if f[i].Escaped {
				t.Errorf("splitObject(%q): key %q left for each lookup to decode", tc.in, f[i].Key)
			}
		}
		if f != nil {
			got = map[string]json.RawMessage{}
			for i := range f {
				got[f[i].Name()] = json.RawMessage(f[i].Value)
			}
			// get finds what the map holds: the last member of each name.
			for k, v := range got {
				if g, ok := f.get(k); !ok || !slices.Equal(g, v) {
					t.Errorf("splitObject(%q).get(%q) = %q %v, want %q", tc.in, k, g, ok, v)
				}
			}
		}
		if isObject != tc.isObject || valid != tc.valid || !maps.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("splitObject(%q) = %q %v %v, want %q %v %v", tc.in, got, isObject, valid, tc.want, tc.isObject, tc.valid)
		}
	}
}

func TestSplitArray(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{`[]`, []string{}, true},
		{` [1, "2" ,{"a":[]}] `, []string{`1`, `"2"`, `{"a":[]}`}, true},
		{`{}`, nil, false},
		{`[1,]`, nil, false},
		{`[1]]`, nil, false},
	} {
		elems, ok := splitArray([]byte(tc.in))
		got := make([]string, 0, len(elems))
		for _, e := range elems {
			got = append(got, string(e))
		}
		if ok != tc.ok || (ok && !slices.Equal(got, tc.want)) || (ok && elems == nil) {
			t.Errorf("splitArray(%q) = %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func BenchmarkDecodeRetrieve(b *testing.B) {
	u := newUser(b, 1)
	req := &RetrieveParams{Account: u.acct, Namespace: NamespaceDefault, Timestamp: testNow.UnixMilli()}
	req.Auth = u.auth(req.SigMessage())
	benchDecode(b, req)
}

// FuzzSplitObject compares splitObject with json.Unmarshal into a map:
// the same objects, and get finds each member's last value.
func FuzzSplitObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"a":2}`, `{"\u0070ubkey":"x","pubkey":"y"}`, "{\"\xff\":1}", `[1]`, `{"a":{"b":[1,2]},"c":"\\"\\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want map[string]json.RawMessage
		werr := json.Unmarshal(b, &want)
		got, isObject, valid := splitObject(b)
		if valid != json.Valid(b) {
			t.Fatalf("valid %v, json.Valid %v", valid, !valid)
		}
		if isObject != (werr == nil && want != nil) {
			t.Fatalf("isObject %v, json.Unmarshal: %v %v", isObject, want, werr)
		}
		if !isObject {
			return
		}
		for k, v := range want {
			g, ok := got.get(k)
			if !ok || !slices.Equal(g, v) {
				t.Fatalf("get(%q) = %q %v, want %q", k, g, ok, v)
			}
		}
		for i := range got {
			if _, ok := want[got[i].Name()]; !ok {
				t.Fatalf("member %q not in json.Unmarshal's map", got[i].Name())
			}
		}
	})
}

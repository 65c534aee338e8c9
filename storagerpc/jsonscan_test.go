package storagerpc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// checkAgainstStdlib compares splitObject and splitArray with
// encoding/json on b.
func checkAgainstStdlib(t *testing.T, b []byte) {
	t.Helper()
	f, isObject, valid := splitObject(b)
	if want := json.Valid(b); valid != want {
		t.Fatalf("%q: valid %v, json.Valid %v", b, valid, want)
	}
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	wantObject := valid && len(trimmed) > 0 && trimmed[0] == '{'
	if isObject != wantObject {
		t.Fatalf("%q: isObject %v, want %v", b, isObject, wantObject)
	}
	if isObject {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%q: json.Unmarshal: %v", b, err)
		}
		if len(m) != len(f) {
			t.Fatalf("%q: %d members, json.Unmarshal %d", b, len(f), len(m))
		}
		for k, v := range m {
			if got, ok := f[k]; !ok || !bytes.Equal(got, v) {
				t.Fatalf("%q: member %q = %q (%v), json.Unmarshal %q", b, k, got, ok, v)
			}
		}
	}
	elems, isArray := splitArray(b)
	wantArray := valid && len(trimmed) > 0 && trimmed[0] == '['
	if isArray != wantArray {
		t.Fatalf("%q: isArray %v, want %v", b, isArray, wantArray)
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

var jsonScanCases = []string{
	``, ` `, `{}`, ` { } `, `[]`, `[ ]`, `{"a":1}`, `{"a" : 1 , "b":[1, 2 ,{"c":null}] }`,
	`{"a":1,"a":2}`, `{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{a:1}`, `{"a":1}x`, `{"a":1}}`,
	`[1,]`, `[,1]`, `[1 2]`, `[1`, `{"a":[}`, `"str"`, `12`, `null`, `true`, `tru`, `nul`, `falsey`,
	`-`, `-0`, `01`, `1.`, `.5`, `1.5e`, `1e+`, `1E-7`, `-0.0e0`, `+1`, `0x10`, `1_000`,
	`{"a":"\u00e9\n\t\"\\\/"}`, `{"a":"\u00g0"}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`, `{"a":"` + "\x7f" + `"}`,
	`{"\u0070ubkey":"x"}`, `{"k\"":1}`, "{\"\xff\xfe\":1}", "{\"\xc3\xa9\":1}", "{\"a\":\"\xff\"}",
	`{"a":"unterminated}`, `{"a":"\`, `{"a":"\u12`, "{\"a\":1}\n", "\t[1]\r\n", `[[[[]]]]`, `{"a":{"b":{"c":{}}}}`,
	`[1,"2",{"3":[4]},true,false,null,-5.5e10]`,
}

func TestJSONScan(t *testing.T) {
	for _, c := range jsonScanCases {
		checkAgainstStdlib(t, []byte(c))
	}
}

func BenchmarkDecodeRetrieve(b *testing.B) {
	u := newUser(b, 1)
	req := &RetrieveParams{Account: u.acct, Namespace: NamespaceDefault, Timestamp: testNow.UnixMilli()}
	req.Auth = u.auth(req.SigMessage())
	benchDecode(b, req)
}

package onion

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// checkScanAgainstStdlib compares parseObject and the control object's
// lookup by key with encoding/json on b.
func checkScanAgainstStdlib(t *testing.T, b []byte) {
	t.Helper()
	fs, err := parseObject(b, nil)
	valid := json.Valid(b)
	isObj := valid && bytes.TrimLeft(b, " \t\r\n")[0] == '{'
	switch {
	case isObj && err != nil:
		t.Fatalf("%q: stdlib accepts the object, scanner says %v", b, err)
	case valid && !isObj && !isFrameError(err, FrameNotObject):
		t.Fatalf("%q: stdlib sees a non-object value, scanner says %v", b, err)
	case !valid && err == nil:
		t.Fatalf("%q: stdlib rejects, scanner accepts", b)
	case !valid && !isFrameError(err, FrameBadJSON):
		t.Fatalf("%q: stdlib rejects, scanner says %v", b, err)
	}
	if !isObj {
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	obj := controlObject(fs)
	for k, v := range m {
		got, ok := obj.get(k)
		if !ok || !bytes.Equal(got, v) {
			t.Fatalf("%q: key %q is %q, stdlib %q", b, k, got, v)
		}
	}
}

func isFrameError(err error, kind FrameErrorKind) bool {
	var fe *FrameError
	return errors.As(err, &fe) && fe.Kind == kind
}

func TestScanObject(t *testing.T) {
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":-0.5e+3,"b":[1,{"c":null}],"d":"\u00e9\n","e":true,"f":false}`,
		`{"a":1,"a":2}`, `{"\u0061":"x"}`, `{"k":"\ud800"}`, "{\"k\":\"\xff\"}",
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`,
		`{"a":"x\q"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":1}}`, `{"a":1} x`,
		`{"a":[1,]}`, `{"a":[}`, `{"a":{"b"}}`, `{"a":{"b":1,}}`, `{`, `}`, ``, ` `, `[]`, `"x"`, `1`, `null`,
		`{"a":"unterminated}`, `{"a":"\`, `{"a":[[[[[]]]]]}`, "{\"a\":\t1\r\n}",
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
		`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	} {
		checkScanAgainstStdlib(t, []byte(s))
	}
}

func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x"}`, `{"a":[1,{"b":null}],"c":-1.5e3}`, `{"\u0061":"\\"}`, `[1]`, `{"a":01}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkScanAgainstStdlib(t, b) })
}

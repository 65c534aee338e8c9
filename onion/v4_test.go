package onion

import (
	"bytes"
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"
)

func TestV4RequestPysogsExamples(t *testing.T) {
	// The two examples in pysogs' handle_v4_onionreq_plaintext docs.
	get := `l79:{"method":"GET","endpoint":"/room/some-room","headers":{"Some-Header":"12345"}}e`
	info, body, err := DecodeV4Request([]byte(get))
	if err != nil {
		t.Fatal(err)
	}
	if info.Method != "GET" || info.Endpoint != "/room/some-room" || info.Headers["Some-Header"] != "12345" || body != nil {
		t.Fatalf("GET decoded as %+v %q", info, body)
	}
	enc, err := EncodeV4Request(info, nil)
	if err != nil || string(enc) != get {
		t.Fatalf("GET encodes as %s (%v)", enc, err)
	}

	post := `l72:{"method":"POST","endpoint":"/some/thing","headers":{"Some-Header":"a"}}14:post body heree`
	info, body, err = DecodeV4Request([]byte(post))
	if err != nil {
		t.Fatal(err)
	}
	if info.Method != "POST" || string(body) != "post body here" {
		t.Fatalf("POST decoded as %+v %q", info, body)
	}
	enc, err = EncodeV4Request(info, body)
	if err != nil || string(enc) != post {
		t.Fatalf("POST encodes as %s (%v)", enc, err)
	}
}

func TestV4ResponsePysogsExample(t *testing.T) {
	want := `l58:{"code":200,"headers":{"content-type":"application/json"}}11:{"id": 123}e`
	got := EncodeV4Response(200, map[string]string{"Content-Type": "application/json", "Content-Length": "11"}, []byte(`{"id": 123}`))
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	r, err := DecodeV4Response(got)
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 200 || r.Headers["content-type"] != "application/json" || string(r.Body) != `{"id": 123}` {
		t.Fatalf("decoded %+v", r)
	}
}

func TestV4RequestEdgeCases(t *testing.T) {
	ok := []struct {
		name string
		in   string
		body []byte
	}{
		{"empty body present", bl(`{"method":"POST","endpoint":"/","headers":{}}`, ""), []byte{}},
		{"no headers key", bl(`{"method":"GET","endpoint":"/x"}`), nil},
		{"numeric header", bl(`{"method":"GET","endpoint":"/x","headers":{"X-N":12}}`), nil},
		{"utf-8 endpoint", bl("{\"method\":\"GET\",\"endpoint\":\"/r/\u00e9\",\"headers\":{}}"), nil},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			_, body, err := DecodeV4Request([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if (body == nil) != (tt.body == nil) || !bytes.Equal(body, tt.body) {
				t.Fatalf("body %q (nil=%v)", body, body == nil)
			}
		})
	}
	bad := []struct {
		name string
		in   string
		kind V4ErrorKind
	}{
		{"empty", ``, V4NotList},
		{"not a list", `d1:ae`, V4NotList},
		{"no end", `l2:{}`, V4NotList},
		{"empty list", `le`, V4PartCount},
		{"three parts", bl(`{"method":"GET","endpoint":"/x"}`, "a", "b"), V4PartCount},
		{"leading zero", "l0" + bl(`{"method":"GET","endpoint":"/x"}`)[1:], V4BadLength},
		{"no colon", strings.Replace(bl(`{"method":"GET","endpoint":"/x"}`), ":", "", 1), V4BadLength},
		{"length letters", `lx:e`, V4BadLength},
		{"negative", `l-1:e`, V4BadLength},
		{"too long", `l99:{}e`, V4Truncated},
		{"huge length", `l999999999999:{}e`, V4Truncated},
		{"overlong digits", `l9999999999999:{}e`, V4BadLength},
		{"info not object", `l2:[]e`, V4BadInfo},
		{"info not json", `l2:{xe`, V4BadInfo},
		{"no method", bl(`{"endpoint":"/x"}`), V4BadInfo},
		{"method number", bl(`{"method":1,"endpoint":"/x"}`), V4BadInfo},
		{"no endpoint", bl(`{"method":"GET"}`), V4BadInfo},
		{"relative endpoint", bl(`{"method":"GET","endpoint":"x"}`), V4BadEndpoint},
		{"bad header", bl(`{"method":"GET","endpoint":"/x","headers":{"A":[1]}}`), V4BadInfo},
		{"headers array", bl(`{"method":"GET","endpoint":"/x","headers":[]}`), V4BadInfo},
		{"bad after body", strings.TrimSuffix(bl(`{"method":"GET","endpoint":"/x"}`, "a"), "e") + "x", V4NotList},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeV4Request([]byte(tt.in))
			var ve *V4Error
			if !errors.As(err, &ve) || ve.Kind != tt.kind {
				t.Fatalf("err %v, want kind %d", err, tt.kind)
			}
		})
	}
}

func TestV4ResponseEdgeCases(t *testing.T) {
	r, err := DecodeV4Response([]byte(bl(`{"code":404,"headers":{}}`)))
	if err != nil || r.Code != 404 || len(r.Body) != 0 || r.Body == nil {
		t.Fatalf("no-body response: %+v %v", r, err)
	}
	r, err = DecodeV4Response([]byte(bl(`{"code":200,"headers":{"X-Up":"1","n":2}}`, "hi")))
	if err != nil || r.Headers["x-up"] != "1" || r.Headers["n"] != "2" || string(r.Body) != "hi" {
		t.Fatalf("headers: %+v %v", r, err)
	}
	for _, bad := range []string{bl(`{"code":99}`), bl(`{"code":"200"}`), bl(`{}`), bl(`{"code":1}`), bl(`{"code":200.5}`), bl(`{"code":200,"headers":[]}`), bl(`[]`)} {
		var ve *V4Error
		if _, err := DecodeV4Response([]byte(bad)); !errors.As(err, &ve) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestV4RoundTrip(t *testing.T) {
	infos := []V4RequestInfo{
		{Method: "GET", Endpoint: "/capabilities"},
		{Method: "POST", Endpoint: "/room/x/message?a=<b>&c", Headers: map[string]string{"X-SOGS-Pubkey": "15ab", "Content-Type": "application/json"}},
	}
	for _, in := range infos {
		for _, body := range [][]byte{nil, {}, []byte("l1:xe\x00\xff")} {
			enc, err := EncodeV4Request(in, body)
			if err != nil {
				t.Fatal(err)
			}
			out, gotBody, err := DecodeV4Request(enc)
			if err != nil {
				t.Fatal(err)
			}
			if out.Method != in.Method || out.Endpoint != in.Endpoint || !maps.Equal(out.Headers, nonNil(in.Headers)) ||
				!bytes.Equal(gotBody, body) || (gotBody == nil) != (body == nil) {
				t.Fatalf("round trip %+v %q -> %+v %q", in, body, out, gotBody)
			}
		}
	}
	if _, err := EncodeV4Request(V4RequestInfo{Method: "GET", Endpoint: "x"}, nil); err == nil {
		t.Error("relative endpoint encoded")
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// bl bencodes a list of strings (test inputs with correct lengths).
func bl(parts ...string) string {
	out := "l"
	for _, p := range parts {
		out += strconv.Itoa(len(p)) + ":" + p
	}
	return out + "e"
}

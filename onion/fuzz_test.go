package onion

import (
	"bytes"
	"testing"
)

func FuzzParseHop(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 'a', 'b', 'c', '{', '}'})
	f.Add([]byte{0, 0, 0, 0, '{', '"', 'h', 'e', 'a', 'd', 'e', 'r', 's', '"', ':', '"', '"', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseHop(b)
		if err != nil {
			return
		}
		// Round trip: re-encoding the parts gives the input back.
		enc, err := EncodeHop(fr.Blob, fr.Control)
		if err != nil {
			t.Fatalf("EncodeHop of a parsed frame: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("round trip changed the frame")
		}
		// The control parsers must not panic on any object.
		if c, err := ParseControl(fr.Control); err == nil {
			if _, err := ParseControl(c.Marshal()); err != nil {
				t.Fatalf("control %s does not re-parse: %v", c.Marshal(), err)
			}
		}
		if li, err := ParseLayerInfo(fr.Control); err == nil {
			back, err := ParseLayerInfo(li.Marshal())
			if err != nil || back != li {
				t.Fatalf("layer info round trip: %+v -> %+v (%v)", li, back, err)
			}
		}
	})
}

func FuzzDecodeV4Request(f *testing.F) {
	f.Add([]byte(`l79:{"method":"GET","endpoint":"/room/some-room","headers":{"Some-Header":"12345"}}e`))
	f.Add([]byte(`l72:{"method":"POST","endpoint":"/some/thing","headers":{"Some-Header":"a"}}14:post body heree`))
	f.Add([]byte(`l0:0:e`))
	f.Add([]byte(`le`))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, body, err := DecodeV4Request(b)
		if err != nil {
			return
		}
		enc, err := EncodeV4Request(info, body)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		info2, body2, err := DecodeV4Request(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded request: %v", err)
		}
		if info2.Method != info.Method || info2.Endpoint != info.Endpoint || len(info2.Headers) != len(info.Headers) ||
			!bytes.Equal(body2, body) || (body2 == nil) != (body == nil) {
			t.Fatalf("round trip changed the request")
		}
		for k, v := range info.Headers {
			if info2.Headers[k] != v {
				t.Fatalf("header %q changed", k)
			}
		}
	})
}

func FuzzDecodeV4Response(f *testing.F) {
	f.Add([]byte(`l58:{"code":200,"headers":{"content-type":"application/json"}}11:{"id": 123}e`))
	f.Add([]byte(`l12:{"code":404}e`))
	f.Add([]byte(`l1:xe`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeV4Response(b)
		if err != nil {
			return
		}
		enc := EncodeV4Response(r.Code, r.Headers, r.Body)
		r2, err := DecodeV4Response(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded response: %v", err)
		}
		if r2.Code != r.Code || !bytes.Equal(r2.Body, r.Body) {
			t.Fatalf("round trip changed the response")
		}
		for k, v := range r.Headers {
			if k != "content-length" && r2.Headers[k] != v {
				t.Fatalf("header %q changed", k)
			}
		}
	})
}

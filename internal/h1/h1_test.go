package h1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

var rules = Rules{
	Method: "POST",
	Routes: []Route{{"/storage_rpc/v1", 10 << 20}, {"/onion_req/v2", 10 << 20}},
	Refuse: []string{"x-loki-long-poll"},
}

const plain = "POST /storage_rpc/v1 HTTP/1.1\r\nHost: 127.0.0.1:22021\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 5\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\nhello"

func TestFast(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   string
		route int
		cl    int64
	}{
		{"plain", plain, 0, 5},
		{"second path", strings.Replace(plain, "/storage_rpc/v1", "/onion_req/v2", 1), 1, 5},
		{"header case and spaces", "POST /storage_rpc/v1 HTTP/1.1\r\nhOsT:x\r\ncontent-LENGTH:   12 \t\r\nConnection: Keep-Alive\r\n\r\n", 0, 12},
		{"empty body", "POST /storage_rpc/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 0, 0},
		{"leading zeros", "POST /storage_rpc/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 007\r\n\r\n", 0, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, res := rules.Parse([]byte(tc.req))
			if res != Fast {
				t.Fatalf("result %d, want Fast", res)
			}
			if h.Route != tc.route || h.ContentLength != tc.cl || h.Len != strings.Index(tc.req, "\r\n\r\n")+4 {
				t.Fatalf("head %+v", h)
			}
			agree(t, []byte(tc.req), h)
		})
	}
}

func TestMore(t *testing.T) {
	for i := range strings.Index(plain, "\r\n\r\n") + 3 {
		if _, res := rules.Parse([]byte(plain[:i])); res != More {
			t.Fatalf("prefix of %d bytes: result %d, want More", i, res)
		}
	}
}

// Every request here must go to net/http: each is either not the fast
// path's or one a server could read two ways.
func TestOther(t *testing.T) {
	for _, tc := range []struct{ name, req string }{
		{"GET", strings.Replace(plain, "POST", "GET", 1)},
		{"lower-case method", strings.Replace(plain, "POST", "post", 1)},
		{"other path", strings.Replace(plain, "/storage_rpc/v1", "/storage_rpc/v2", 1)},
		{"query", strings.Replace(plain, "/storage_rpc/v1", "/storage_rpc/v1?x=1", 1)},
		{"absolute form", strings.Replace(plain, "/storage_rpc/v1", "https://x/storage_rpc/v1", 1)},
		{"HTTP/1.0", strings.Replace(plain, "HTTP/1.1", "HTTP/1.0", 1)},
		{"two spaces", strings.Replace(plain, "POST ", "POST  ", 1)},
		{"chunked", strings.Replace(plain, "Content-Length: 5", "Transfer-Encoding: chunked", 1)},
		{"length and chunked", strings.Replace(plain, "Content-Length: 5\r\n", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 1)},
		{"length and identity", strings.Replace(plain, "Content-Length: 5\r\n", "Content-Length: 5\r\ntransfer-encoding: identity\r\n", 1)},
		{"two lengths", strings.Replace(plain, "Content-Length: 5\r\n", "Content-Length: 5\r\nContent-Length: 5\r\n", 1)},
		{"two lengths differing", strings.Replace(plain, "Content-Length: 5\r\n", "Content-Length: 5\r\nContent-Length: 6\r\n", 1)},
		{"list length", strings.Replace(plain, "Content-Length: 5", "Content-Length: 5, 5", 1)},
		{"signed length", strings.Replace(plain, "Content-Length: 5", "Content-Length: +5", 1)},
		{"hex length", strings.Replace(plain, "Content-Length: 5", "Content-Length: 0x5", 1)},
		{"empty length", strings.Replace(plain, "Content-Length: 5", "Content-Length: ", 1)},
		{"huge length", strings.Replace(plain, "Content-Length: 5", "Content-Length: 9999999999999999999", 1)},
		{"length over the limit", strings.Replace(plain, "Content-Length: 5", "Content-Length: 10485761", 1)},
		{"no length", strings.Replace(plain, "Content-Length: 5\r\n", "", 1)},
		{"space before colon", strings.Replace(plain, "Content-Length: 5", "Content-Length : 5", 1)},
		{"folded header", strings.Replace(plain, "Content-Length: 5\r\n", "Content-Length: 5\r\n 6\r\n", 1)},
		{"bare LF in a header", strings.Replace(plain, "Accept-Encoding: gzip\r\n", "Accept-Encoding: gzip\nX: y\r\n", 1)},
		{"bare LF ending the head", "POST /storage_rpc/v1 HTTP/1.1\nHost: x\nContent-Length: 5\n\nhello"},
		{"bare CR", strings.Replace(plain, "gzip", "gz\rip", 1)},
		{"NUL in a value", strings.Replace(plain, "gzip", "gz\x00ip", 1)},
		{"non-ASCII in a value", strings.Replace(plain, "gzip", "gzïp", 1)},
		{"no host", strings.Replace(plain, "Host: 127.0.0.1:22021\r\n", "", 1)},
		{"empty host", strings.Replace(plain, "Host: 127.0.0.1:22021", "Host:", 1)},
		{"space in host", strings.Replace(plain, "Host: 127.0.0.1:22021", "Host: a b", 1)},
		{"angle bracket in host", strings.Replace(plain, "Host: 127.0.0.1:22021", "Host: a<b", 1)},
		{"two hosts", strings.Replace(plain, "Host: 127.0.0.1:22021\r\n", "Host: a\r\nHost: b\r\n", 1)},
		{"connection close", strings.Replace(plain, "Accept-Encoding: gzip", "Connection: close", 1)},
		{"connection upgrade", strings.Replace(plain, "Accept-Encoding: gzip", "Connection: Upgrade\r\nUpgrade: websocket", 1)},
		{"expect", strings.Replace(plain, "Accept-Encoding: gzip", "Expect: 100-continue", 1)},
		{"refused header", strings.Replace(plain, "Accept-Encoding: gzip", "X-Loki-Long-Poll: true", 1)},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"empty name", strings.Replace(plain, "Accept-Encoding: gzip", ": gzip", 1)},
		{"no colon", strings.Replace(plain, "Accept-Encoding: gzip", "Accept-Encoding gzip", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if h, res := rules.Parse([]byte(tc.req)); res != Other {
				t.Fatalf("result %d (%+v), want Other", res, h)
			}
		})
	}
}

// agree checks a Fast head against net/http's own reading of b: the same
// method, path and length, no transfer coding, and the body where Len
// says it starts.
func agree(t *testing.T, b []byte, h Head) {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("net/http refuses a fast request: %v\n%q", err, b)
	}
	if req.Method != rules.Method || req.RequestURI != rules.Routes[h.Route].Path || req.ContentLength != h.ContentLength ||
		len(req.TransferEncoding) != 0 || req.Close || req.Host == "" {
		t.Fatalf("net/http reads %s %s length %d TE %v close %v host %q; fast path %+v",
			req.Method, req.RequestURI, req.ContentLength, req.TransferEncoding, req.Close, req.Host, h)
	}
	if rest := b[h.Len:]; int64(len(rest)) >= h.ContentLength {
		body, err := io.ReadAll(req.Body)
		if err != nil || !bytes.Equal(body, rest[:h.ContentLength]) {
			t.Fatalf("body: net/http %q (%v), fast path %q", body, err, rest[:h.ContentLength])
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(plain))
	f.Add([]byte("POST /onion_req/v2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte("POST /storage_rpc/v1 HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 3\r\n\r\n"))
	f.Add([]byte("POST /storage_rpc/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, res := rules.Parse(b)
		switch res {
		case Fast:
			if h.Len < 4 || h.Len > len(b) || string(b[h.Len-4:h.Len]) != "\r\n\r\n" {
				t.Fatalf("head length %d of %d bytes", h.Len, len(b))
			}
			agree(t, b, h)
		case More:
			if bytes.Contains(b, []byte("\r\n\r\n")) {
				t.Fatalf("More for a complete head: %q", b)
			}
		case Other:
		default:
			t.Fatalf("result %d", res)
		}
	})
}

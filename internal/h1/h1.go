// Package h1 reads the head of an HTTP/1.1 request for a server's fast
// path: the one shape of request it serves without net/http.
//
// The fast path takes a request only when every part of its head is the
// plain case: the request line METHOD SP exact-path SP HTTP/1.1, headers
// of token characters, a colon and visible characters, each ending in
// CRLF, a Host header, exactly one Content-Length of decimal digits, and
// none of Transfer-Encoding, Expect, Connection (other than keep-alive),
// Upgrade or a header the caller names. Anything else (another path or
// method, a chunked body, a folded header, a bare LF, two lengths, a head
// that does not fit) is Other: the caller then gives the connection,
// with every byte it has not consumed, to net/http, which parses the
// request again and answers or rejects it as it always would. So the
// fast path never decides an ambiguous request, and a request's end is
// known exactly (its Content-Length) before the next one is read, which
// is what keeps requests from being smuggled past it.
package h1

import "bytes"

// Result is what Parse found.
type Result int

const (
	// More means b holds no complete head yet.
	More Result = iota
	// Fast means b starts with a head the fast path serves.
	Fast
	// Other means the request is for net/http.
	Other
)

// Head is a fast request's head.
type Head struct {
	// Route is the index in Rules.Routes of the request's path.
	Route int
	// ContentLength is the body's length in bytes.
	ContentLength int64
	// Len is the head's length in bytes, the blank line included.
	Len int
}

// Rules say which requests are fast.
type Rules struct {
	// Method is the one method served, e.g. "POST".
	Method string
	// Routes are the paths served.
	Routes []Route
	// Refuse are more header names (lower case) that send a request to
	// net/http when present.
	Refuse []string
}

// Route is one path served.
type Route struct {
	// Path is the exact path (no query string).
	Path string
	// MaxBody is the largest Content-Length served on it; a larger one
	// is Other (net/http then reads or refuses it).
	MaxBody int64
}

const maxDigits = 18 // fits an int64 whatever the digits

// Parse reads the head at the start of b.
func (r *Rules) Parse(b []byte) (Head, Result) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		// A bare LF anywhere before the head is complete makes it
		// Other at once, rather than waiting for a CRLFCRLF that a
		// lenient client may never send.
		if i := bytes.IndexByte(b, '\n'); i >= 0 && (i == 0 || b[i-1] != '\r') {
			return Head{}, Other
		}
		return Head{}, More
	}
	h := Head{Route: -1, ContentLength: -1, Len: end + 4}
	head := b[:end+2] // every line with its CRLF

	// The request line.
	nl := bytes.Index(head, []byte("\r\n"))
	line := head[:nl]
	rest, ok := bytes.CutPrefix(line, []byte(r.Method))
	if !ok || len(rest) == 0 || rest[0] != ' ' {
		return Head{}, Other
	}
	path, proto, ok := bytes.Cut(rest[1:], []byte(" "))
	if !ok || string(proto) != "HTTP/1.1" {
		return Head{}, Other
	}
	for i, rt := range r.Routes {
		if string(path) == rt.Path {
			h.Route = i
			break
		}
	}
	if h.Route < 0 {
		return Head{}, Other
	}

	host := false
	for lines := head[nl+2:]; len(lines) > 0; {
		nl := bytes.Index(lines, []byte("\r\n"))
		line := lines[:nl]
		lines = lines[nl+2:]
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || !in(&tokenChar, name) || !visible(value) {
			return Head{}, Other
		}
		value = bytes.Trim(value, " \t")
		switch {
		case lower(name, "content-length"):
			if h.ContentLength >= 0 || len(value) == 0 || len(value) > maxDigits {
				return Head{}, Other
			}
			var n int64
			for _, c := range value {
				if c < '0' || c > '9' {
					return Head{}, Other
				}
				n = n*10 + int64(c-'0')
			}
			h.ContentLength = n
		case lower(name, "host"):
			if host || len(value) == 0 || !in(&hostChar, value) {
				return Head{}, Other
			}
			host = true
		case lower(name, "connection"):
			if !bytes.EqualFold(value, []byte("keep-alive")) {
				return Head{}, Other
			}
		case lower(name, "transfer-encoding"), lower(name, "expect"), lower(name, "upgrade"):
			return Head{}, Other
		default:
			for _, f := range r.Refuse {
				if lower(name, f) {
					return Head{}, Other
				}
			}
		}
	}
	if !host || h.ContentLength < 0 || h.ContentLength > r.Routes[h.Route].MaxBody {
		return Head{}, Other
	}
	return h, Fast
}

// lower reports whether name, in any case, is want (lower case).
func lower(name []byte, want string) bool {
	if len(name) != len(want) {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// in reports whether every byte of b is in the set.
func in(set *[128]bool, b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !set[c] {
			return false
		}
	}
	return true
}

// visible reports whether b holds only visible ASCII, spaces and tabs.
func visible(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// hostChar is the bytes net/http accepts in a Host header (a name, an
// address, a port, an IPv6 literal).
var hostChar = asciiSet("!$%&'()*+,-.:;=@[]_~")

// tokenChar is the bytes of an RFC 9110 token.
var tokenChar = asciiSet("!#$%&'*+-.^_`|~")

// asciiSet is the letters, the digits and extra.
func asciiSet(extra string) (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range extra {
		t[c] = true
	}
	return t
}

package onion

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The v4 onion codec (§4.3, pysogs handle_v4_onionreq_plaintext): a
// minimal bencoded list of one or two byte strings,
//
//	request:  l<len>:<request-info JSON>[<len>:<body>]e
//	response: l<len>:{"code":N,"headers":{...}}<len>:<body>e

// V4RequestInfo is the request metadata of a v4 request.
type V4RequestInfo struct {
	Method   string            // "GET", "POST", ...
	Endpoint string            // must start with '/', may carry a query
	Headers  map[string]string // header names as sent; may be nil
}

// V4Response is a decoded v4 response.
type V4Response struct {
	Code    int
	Headers map[string]string // lower-case names
	Body    []byte
}

// V4ErrorKind says what is wrong with a v4 message.
type V4ErrorKind uint8

// V4 error kinds.
const (
	V4NotList     V4ErrorKind = iota + 1 // does not start with 'l' / end with 'e'
	V4BadLength                          // a string length is missing, malformed or too large
	V4Truncated                          // a string runs past the end
	V4PartCount                          // not one or two strings
	V4BadInfo                            // the metadata is not the expected JSON object
	V4BadEndpoint                        // the endpoint does not start with '/'
)

// V4Error reports a malformed v4 request or response.
type V4Error struct {
	Kind   V4ErrorKind
	Detail string
}

func (e *V4Error) Error() string {
	msg := map[V4ErrorKind]string{
		V4NotList: "not a bencoded list", V4BadLength: "bad string length",
		V4Truncated: "string runs past the end", V4PartCount: "wrong number of parts",
		V4BadInfo: "bad metadata", V4BadEndpoint: "endpoint must start with /",
	}[e.Kind]
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return "onion: v4: " + msg
}

// EncodeV4Request encodes a v4 request. A nil body is omitted (GET and
// DELETE); a non-nil body, even empty, is written as the second string.
// Header names are kept as given; the JSON keys are written method,
// endpoint, headers (the order of pysogs' documentation and desktop).
func EncodeV4Request(info V4RequestInfo, body []byte) ([]byte, error) {
	if !strings.HasPrefix(info.Endpoint, "/") {
		return nil, &V4Error{Kind: V4BadEndpoint, Detail: fmt.Sprintf("%q", info.Endpoint)}
	}
	if info.Method == "" {
		return nil, &V4Error{Kind: V4BadInfo, Detail: "empty method"}
	}
	var meta bytes.Buffer
	meta.WriteString(`{"method":`)
	writeJSONString(&meta, info.Method)
	meta.WriteString(`,"endpoint":`)
	writeJSONString(&meta, info.Endpoint)
	meta.WriteString(`,"headers":`)
	writeHeaders(&meta, info.Headers)
	meta.WriteByte('}')
	parts := [][]byte{meta.Bytes()}
	if body != nil {
		parts = append(parts, body)
	}
	return bencodeList(parts), nil
}

// DecodeV4Request decodes a v4 request. body is nil when the request had
// no body part and non-nil (possibly empty) when it had one; it aliases b.
// Header values that are JSON numbers are kept as their decimal text
// (desktop sends some numeric headers).
func DecodeV4Request(b []byte) (V4RequestInfo, []byte, error) {
	parts, err := bdecodeList(b)
	if err != nil {
		return V4RequestInfo{}, nil, err
	}
	m, err := parseObject(parts[0], nil)
	if err != nil {
		return V4RequestInfo{}, nil, &V4Error{Kind: V4BadInfo, Detail: "not a JSON object"}
	}
	var info V4RequestInfo
	var ok bool
	if info.Method, ok, err = m.str("method"); err != nil || !ok || info.Method == "" {
		return V4RequestInfo{}, nil, &V4Error{Kind: V4BadInfo, Detail: "missing or invalid method"}
	}
	if info.Endpoint, ok, err = m.str("endpoint"); err != nil || !ok {
		return V4RequestInfo{}, nil, &V4Error{Kind: V4BadInfo, Detail: "missing or invalid endpoint"}
	}
	if !strings.HasPrefix(info.Endpoint, "/") {
		return V4RequestInfo{}, nil, &V4Error{Kind: V4BadEndpoint, Detail: fmt.Sprintf("%q", info.Endpoint)}
	}
	if info.Headers, err = m.headers(false); err != nil {
		return V4RequestInfo{}, nil, err
	}
	var body []byte
	if len(parts) == 2 {
		body = parts[1]
	}
	return info, body, nil
}

// EncodeV4Response encodes a v4 response. Header names are lower-cased
// and Content-Length is dropped (its value is the body part's length), as
// pysogs does; the body part is always present.
func EncodeV4Response(code int, headers map[string]string, body []byte) []byte {
	var meta bytes.Buffer
	meta.WriteString(`{"code":`)
	meta.WriteString(strconv.Itoa(code))
	meta.WriteString(`,"headers":`)
	lower := make(map[string]string, len(headers))
	for k, v := range headers {
		k = strings.ToLower(k)
		if k != "content-length" {
			lower[k] = v
		}
	}
	writeHeaders(&meta, lower)
	meta.WriteByte('}')
	if body == nil {
		body = []byte{}
	}
	return bencodeList([][]byte{meta.Bytes(), body})
}

// DecodeV4Response decodes a v4 response. A response without a body part
// decodes with an empty body. Body aliases b.
func DecodeV4Response(b []byte) (V4Response, error) {
	parts, err := bdecodeList(b)
	if err != nil {
		return V4Response{}, err
	}
	m, err := parseObject(parts[0], nil)
	if err != nil {
		return V4Response{}, &V4Error{Kind: V4BadInfo, Detail: "not a JSON object"}
	}
	code, ok, err := m.integer("code")
	if err != nil || !ok || code < 100 || code > 999 {
		return V4Response{}, &V4Error{Kind: V4BadInfo, Detail: "missing or invalid code"}
	}
	r := V4Response{Code: int(code), Body: []byte{}}
	if r.Headers, err = m.headers(true); err != nil {
		return V4Response{}, err
	}
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	if len(parts) == 2 {
		r.Body = parts[1]
	}
	return r, nil
}

// headers reads the optional "headers" object; string values are kept,
// number values become their JSON text, anything else is an error.
func (m controlObject) headers(lower bool) (map[string]string, error) {
	r, ok := m.get("headers")
	if !ok || string(r) == "null" {
		return nil, nil
	}
	h, err := parseObject(r, nil)
	if err != nil {
		return nil, &V4Error{Kind: V4BadInfo, Detail: "headers is not an object"}
	}
	out := make(map[string]string, len(h))
	for _, f := range h {
		k := f.Name()
		s, err := headerValue(f.Value)
		if err != nil {
			return nil, &V4Error{Kind: V4BadInfo, Detail: fmt.Sprintf("header %q: %v", k, err)}
		}
		if lower {
			k = strings.ToLower(k)
		}
		out[k] = s
	}
	return out, nil
}

func headerValue(v json.RawMessage) (string, error) {
	if len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	if len(v) == 0 || !(v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return "", fmt.Errorf("not a string or number")
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return "", fmt.Errorf("not a string or number")
	}
	return n.String(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // strings always encode
	b.Truncate(b.Len() - 1)
}

func writeHeaders(b *bytes.Buffer, h map[string]string) {
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(h)) {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, k)
		b.WriteByte(':')
		writeJSONString(b, h[k])
	}
	b.WriteByte('}')
}

func bencodeList(parts [][]byte) []byte {
	n := 2
	for _, p := range parts {
		n += len(p) + 21
	}
	out := make([]byte, 0, n)
	out = append(out, 'l')
	for _, p := range parts {
		out = strconv.AppendInt(out, int64(len(p)), 10)
		out = append(out, ':')
		out = append(out, p...)
	}
	return append(out, 'e')
}

// maxLenDigits bounds a string length prefix (lengths below 10^12).
const maxLenDigits = 12

// bdecodeList parses l<len>:<bytes>[<len>:<bytes>]e exactly: one or two
// strings, canonical lengths (no leading zeros), nothing after 'e'.
func bdecodeList(b []byte) ([][]byte, error) {
	if len(b) < 2 || b[0] != 'l' || b[len(b)-1] != 'e' {
		return nil, &V4Error{Kind: V4NotList}
	}
	rest := b[1 : len(b)-1]
	var parts [][]byte
	for len(rest) > 0 {
		if len(parts) == 2 {
			return nil, &V4Error{Kind: V4PartCount, Detail: "more than two strings"}
		}
		colon := bytes.IndexByte(rest, ':')
		if colon < 0 || colon > maxLenDigits || !isDigits(rest[:colon]) {
			return nil, &V4Error{Kind: V4BadLength}
		}
		digits := rest[:colon]
		if len(digits) > 1 && digits[0] == '0' {
			return nil, &V4Error{Kind: V4BadLength, Detail: fmt.Sprintf("leading zero in %q", digits)}
		}
		n, _ := strconv.ParseUint(string(digits), 10, 64) // at most 12 digits: no overflow
		rest = rest[colon+1:]
		if n > uint64(len(rest)) {
			return nil, &V4Error{Kind: V4Truncated, Detail: fmt.Sprintf("%d bytes declared, %d left", n, len(rest))}
		}
		parts = append(parts, rest[:n:n])
		rest = rest[n:]
	}
	if len(parts) == 0 {
		return nil, &V4Error{Kind: V4PartCount, Detail: "empty list"}
	}
	return parts, nil
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

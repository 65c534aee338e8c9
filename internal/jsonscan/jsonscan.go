// Package jsonscan is a one-pass JSON validator that also splits an object
// into its members or an array into its elements, for the request and
// control objects the node and the relay read on every request.
//
// It accepts exactly what encoding/json.Valid accepts (RFC 8259, at most
// MaxDepth nested arrays and objects; strings are not checked for valid
// UTF-8, as in encoding/json) and hands out members and elements as the
// bytes of each value without the whitespace around it, which is what
// json.Unmarshal into a json.RawMessage would give. It replaces the
// several passes of the encoding/json state machine a request would take
// (json.Valid, then Unmarshal of the body, then of a member). FuzzScan
// checks it against encoding/json.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// MaxDepth is encoding/json's nesting limit.
const MaxDepth = 10000

var (
	// ErrSyntax means the input is not one JSON value.
	ErrSyntax = errors.New("invalid JSON")
	// ErrNotObject means the input is valid JSON but not an object.
	ErrNotObject = errors.New("JSON value is not an object")
	// ErrNotArray means the input is valid JSON but not an array.
	ErrNotArray = errors.New("JSON value is not an array")
)

// Member is one member of a JSON object.
type Member struct {
	Key     []byte // raw key bytes between the quotes
	Escaped bool   // Key has escapes or invalid UTF-8: use Name to compare it
	Value   []byte // raw value bytes
}

// Name is the member's key as encoding/json decodes it (escapes resolved,
// invalid UTF-8 replaced).
func (m *Member) Name() string {
	if !m.Escaped {
		return string(m.Key)
	}
	q := make([]byte, 0, len(m.Key)+2)
	q = append(append(append(q, '"'), m.Key...), '"')
	var k string
	_ = json.Unmarshal(q, &k) // q is a checked string literal
	return k
}

// Object parses b as exactly one JSON value surrounded by optional
// whitespace. When it is an object, its members are appended to dst in
// order (duplicate keys included; encoding/json keeps the last). The
// error is ErrNotObject when b is valid JSON of another kind, ErrSyntax
// when b is not JSON.
func Object(b []byte, dst []Member) ([]Member, error) {
	s := scanner{b: b}
	if !s.startsWith('{') {
		return nil, s.other(ErrNotObject)
	}
	dst, ok := s.members(dst)
	if !s.end(ok) {
		return nil, ErrSyntax
	}
	return dst, nil
}

// Array is Object for arrays: it appends the elements of b to dst when b
// is a JSON array. The error is ErrNotArray when b is valid JSON of
// another kind, ErrSyntax when b is not JSON.
func Array(b []byte, dst []json.RawMessage) ([]json.RawMessage, error) {
	s := scanner{b: b}
	if !s.startsWith('[') {
		return nil, s.other(ErrNotArray)
	}
	if dst == nil {
		dst = []json.RawMessage{}
	}
	dst, ok := s.elements(dst)
	if !s.end(ok) {
		return nil, ErrSyntax
	}
	return dst, nil
}

// Unquote decodes a raw JSON string value (quotes included) that has
// passed Object or Array. Without escapes and with valid UTF-8 it is a
// plain copy; otherwise encoding/json decodes it (replacing invalid UTF-8
// as it does). ok is false when raw is not a string.
func Unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string // on the heap: only on this path
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

type scanner struct {
	b     []byte
	i     int
	depth int
}

// startsWith moves past leading whitespace and reports whether the value
// starts with c.
func (s *scanner) startsWith(c byte) bool {
	s.ws()
	return s.i < len(s.b) && s.b[s.i] == c
}

// end reports whether the value scanned (ok) is all there is but
// whitespace.
func (s *scanner) end(ok bool) bool {
	if !ok {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// other checks that the input is one JSON value of a kind the caller did
// not want, and returns notKind if so, ErrSyntax otherwise.
func (s *scanner) other(notKind error) error {
	if !s.end(s.value()) {
		return ErrSyntax
	}
	return notKind
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value checks one value at s.i (no leading whitespace) and moves past it.
func (s *scanner) value() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '-' || ('0' <= c && c <= '9'):
		return s.num()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	}
	return false
}

func (s *scanner) lit(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

// strPlain marks the bytes a string may hold as they are.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainRun returns the index of the first 8-byte word at or after i, in
// steps of 8, that holds a byte a string may not hold as it is (a quote,
// a backslash or a control character), or where fewer than 8 bytes are
// left; str's byte loop goes on from there. Strings in requests are mostly
// long runs of base64 and hex, which this checks a word at a time.
func plainRun(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		// The classic tests (bit twiddling hacks: "determine if a word has
		// a byte less than n", and "has a zero byte" applied to w xor the
		// repeated character) say exactly whether any byte of w is below
		// 0x20, a quote or a backslash.
		ctl := (w - 0x20*ones) &^ w
		q := w ^ '"'*ones
		quote := (q - ones) &^ q
		e := w ^ '\\'*ones
		bs := (e - ones) &^ e
		if (ctl|quote|bs)&highs != 0 {
			break
		}
	}
	return i
}

// str checks a string at s.i (its opening quote) and reports whether it
// has escapes.
func (s *scanner) str() (escaped, ok bool) {
	s.i++
	for s.i < len(s.b) {
		s.i = plainRun(s.b, s.i)
		for s.i < len(s.b) && strPlain[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			return false, false
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return escaped, true
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				return false, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if len(s.b)-s.i < 6 {
					return false, false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHexDigit(h) {
						return false, false
					}
				}
				s.i += 6
			default:
				return false, false
			}
		default: // c < 0x20
			return false, false
		}
	}
	return false, false
}

func isHexDigit(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// num checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) num() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits moves past [0-9]+; false if there is none.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// open moves past the opening byte of an object or array at s.i and the
// whitespace after it; empty reports that the closing byte follows, which
// it moves past too.
func (s *scanner) open(closing byte) (empty, ok bool) {
	s.depth++
	if s.depth > MaxDepth {
		return false, false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == closing {
		s.i++
		s.depth--
		return true, true
	}
	return false, true
}

// next moves past the ',' or the closing byte after a member or element
// and the whitespace around it; done reports the closing byte.
func (s *scanner) next(closing byte) (done, ok bool) {
	s.ws()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		s.ws()
		return false, true
	case closing:
		s.i++
		s.depth--
		return true, true
	}
	return false, false
}

// member checks `"key" : value` at s.i and returns it.
func (s *scanner) member() (Member, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return Member{}, false
	}
	k0 := s.i
	esc, ok := s.str()
	if !ok {
		return Member{}, false
	}
	key := s.b[k0+1 : s.i-1]
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return Member{}, false
	}
	s.i++
	s.ws()
	v0 := s.i
	if !s.value() {
		return Member{}, false
	}
	return Member{Key: key, Escaped: esc, Value: s.b[v0:s.i]}, true
}

// object checks an object at s.i (its '{').
func (s *scanner) object() bool {
	empty, ok := s.open('}')
	for ok && !empty {
		if _, ok = s.member(); ok {
			empty, ok = s.next('}')
		}
	}
	return ok
}

// members is object for the outermost object: it appends the members to
// dst. It is apart from object, which is recursive, so that escape
// analysis can keep a caller's dst on its stack.
func (s *scanner) members(dst []Member) ([]Member, bool) {
	empty, ok := s.open('}')
	for ok && !empty {
		var m Member
		if m, ok = s.member(); ok {
			m.Escaped = m.Escaped || !utf8.Valid(m.Key)
			dst = append(dst, m)
			empty, ok = s.next('}')
		}
	}
	return dst, ok
}

// array checks an array at s.i (its '[').
func (s *scanner) array() bool {
	empty, ok := s.open(']')
	for ok && !empty {
		if ok = s.value(); ok {
			empty, ok = s.next(']')
		}
	}
	return ok
}

// elements is members for the outermost array.
func (s *scanner) elements(dst []json.RawMessage) ([]json.RawMessage, bool) {
	empty, ok := s.open(']')
	for ok && !empty {
		v0 := s.i
		if ok = s.value(); ok {
			dst = append(dst, json.RawMessage(s.b[v0:s.i]))
			empty, ok = s.next(']')
		}
	}
	return dst, ok
}

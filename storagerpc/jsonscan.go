package storagerpc

import (
	"encoding/json"
	"unicode/utf8"
)

// A one-pass JSON validator that also splits an object into its members
// or an array into its elements, for request decoding. It accepts exactly
// what json.Valid accepts (RFC 8259, at most maxJSONDepth nested arrays and
// objects; strings are not checked for valid UTF-8, as in encoding/json)
// and yields what json.Unmarshal into a map[string]json.RawMessage or a
// []json.RawMessage would: each value's bytes without the whitespace
// around it, keys unquoted, the last of duplicate keys winning. It replaces
// the three to five passes of the json state machine a request used to
// take (json.Valid, then Unmarshal of the body, then of the params).
// FuzzJSONScan checks it against encoding/json.

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

type jsonScan struct {
	b     []byte
	i     int
	depth int
}

// splitObject validates b as one JSON value. valid is false when b is not
// JSON; isObject false when it is JSON but not an object. Otherwise f holds
// the members.
func splitObject(b []byte) (f fields, isObject, valid bool) {
	s := jsonScan{b: b}
	s.ws()
	if s.i < len(b) && b[s.i] == '{' {
		f = fields{}
		isObject = true
		if !s.object(f) {
			return nil, false, false
		}
	} else if !s.value() {
		return nil, false, false
	}
	s.ws()
	if s.i != len(b) {
		return nil, false, false
	}
	if !isObject {
		return nil, false, true
	}
	return f, true, true
}

// splitArray is splitObject for arrays: the elements of b when b is a JSON
// array, ok false otherwise.
func splitArray(b []byte) (elems []json.RawMessage, ok bool) {
	s := jsonScan{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '[' {
		return nil, false
	}
	elems = []json.RawMessage{}
	if !s.array(&elems) {
		return nil, false
	}
	s.ws()
	return elems, s.i == len(b)
}

func (s *jsonScan) ws() {
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
func (s *jsonScan) value() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		return s.object(nil)
	case c == '[':
		return s.array(nil)
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

func (s *jsonScan) lit(w string) bool {
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

// str checks a string at s.i (its opening quote).
func (s *jsonScan) str() bool {
	s.i++
	for s.i < len(s.b) {
		for s.i < len(s.b) && strPlain[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			return false
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if len(s.b)-s.i < 6 {
					return false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHexDigit(h) {
						return false
					}
				}
				s.i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			s.i++
		}
	}
	return false
}

func isHexDigit(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// num checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScan) num() bool {
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
func (s *jsonScan) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *jsonScan) enter() bool {
	s.depth++
	return s.depth <= maxJSONDepth
}

// object checks an object at s.i (its '{'), recording members in f when f
// is not nil.
func (s *jsonScan) object(f fields) bool {
	if !s.enter() {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		k0 := s.i
		if !s.str() {
			return false
		}
		k1 := s.i
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		v0 := s.i
		if !s.value() {
			return false
		}
		if f != nil {
			f[unquoteKey(s.b[k0:k1])] = json.RawMessage(s.b[v0:s.i])
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// array checks an array at s.i (its '['), appending elements to elems
// when it is not nil.
func (s *jsonScan) array(elems *[]json.RawMessage) bool {
	if !s.enter() {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		v0 := s.i
		if !s.value() {
			return false
		}
		if elems != nil {
			*elems = append(*elems, json.RawMessage(s.b[v0:s.i]))
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// unquoteKey decodes a checked JSON string as encoding/json does for map
// keys; plain keys (no escapes, valid UTF-8) skip the decoder.
func unquoteKey(q []byte) string {
	in := q[1 : len(q)-1]
	plain := utf8.Valid(in)
	for _, c := range in {
		if c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return string(in)
	}
	var k string
	_ = json.Unmarshal(q, &k) // q is a valid string literal
	return k
}

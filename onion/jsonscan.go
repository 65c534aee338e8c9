package onion

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// A small, allocation-light JSON object scanner for the control objects a
// relay reads on every layer. It accepts exactly what encoding/json.Valid
// accepts (FuzzScanObject checks this against encoding/json) and hands out
// members as raw byte slices; values are decoded on demand.

// field is one member of a JSON object.
type field struct {
	key     []byte // raw key bytes between the quotes
	escaped bool   // key has escapes or invalid UTF-8: decode it before comparing
	val     []byte // raw value bytes
}

// maxJSONDepth matches encoding/json's nesting limit.
const maxJSONDepth = 10000

var (
	errNotJSON   = errors.New("invalid JSON")
	errNotObject = errors.New("JSON value is not an object")
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanObject parses b as exactly one JSON object, surrounded by optional
// whitespace, and appends its members to dst in order. errNotObject means
// b is valid JSON of another kind.
func scanObject(b []byte, dst []field) ([]field, error) {
	i := skipSpace(b, 0)
	if i == len(b) {
		return nil, errNotJSON
	}
	if b[i] != '{' {
		end, err := scanValue(b, i, 0)
		if err != nil || skipSpace(b, end) != len(b) {
			return nil, errNotJSON
		}
		return nil, errNotObject
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipSpace(b, i+1) != len(b) {
			return nil, errNotJSON
		}
		return dst, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, errNotJSON
		}
		kend, esc, err := scanString(b, i)
		if err != nil {
			return nil, err
		}
		f := field{key: b[i+1 : kend-1]}
		f.escaped = esc || !utf8.Valid(f.key)
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return nil, errNotJSON
		}
		i = skipSpace(b, i+1)
		vend, err := scanValue(b, i, 1)
		if err != nil {
			return nil, err
		}
		f.val = b[i:vend]
		dst = append(dst, f)
		i = skipSpace(b, vend)
		if i >= len(b) {
			return nil, errNotJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			if skipSpace(b, i+1) != len(b) {
				return nil, errNotJSON
			}
			return dst, nil
		default:
			return nil, errNotJSON
		}
	}
}

// scanValue returns the end of the JSON value starting at b[i].
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errNotJSON
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{' || c == '[':
		return scanContainer(b, i, depth+1)
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return 0, errNotJSON
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errNotJSON
	}
	return i + len(lit), nil
}

// scanContainer scans a nested object or array.
func scanContainer(b []byte, i, depth int) (int, error) {
	if depth > maxJSONDepth {
		return 0, errNotJSON
	}
	open := b[i]
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return i + 1, nil
	}
	for {
		if open == '{' {
			if i >= len(b) || b[i] != '"' {
				return 0, errNotJSON
			}
			end, _, err := scanString(b, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, errNotJSON
			}
			i = skipSpace(b, i+1)
		}
		end, err := scanValue(b, i, depth)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, errNotJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closing:
			return i + 1, nil
		default:
			return 0, errNotJSON
		}
	}
}

// scanString returns the index after the closing quote of the string at
// b[i] and whether it contains escapes.
func scanString(b []byte, i int) (int, bool, error) {
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, esc, nil
		case c == '\\':
			esc = true
			if j+1 >= len(b) {
				return 0, false, errNotJSON
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+5 >= len(b) {
					return 0, false, errNotJSON
				}
				for _, h := range b[j+2 : j+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, false, errNotJSON
					}
				}
				j += 5
			default:
				return 0, false, errNotJSON
			}
		case c < 0x20:
			return 0, false, errNotJSON
		}
	}
	return 0, false, errNotJSON
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return 0, errNotJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return 0, errNotJSON
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return 0, errNotJSON
		}
	}
	return i, nil
}

// controlObject is a scanned control object.
type controlObject []field

// parseObject scans a JSON object into dst, mapping failures to
// *FrameError.
func parseObject(b []byte, dst []field) (controlObject, error) {
	fs, err := scanObject(b, dst)
	switch {
	case errors.Is(err, errNotObject):
		return nil, &FrameError{Kind: FrameNotObject}
	case err != nil:
		return nil, &FrameError{Kind: FrameBadJSON}
	}
	return fs, nil
}

// get returns the raw value of key k; with duplicate keys the last one
// wins, as with encoding/json.
func (m controlObject) get(k string) ([]byte, bool) {
	for i := len(m) - 1; i >= 0; i-- {
		f := &m[i]
		if !f.escaped && string(f.key) == k {
			return f.val, true
		}
		if f.escaped && unescapeKey(f.key) == k {
			return f.val, true
		}
	}
	return nil, false
}

func unescapeKey(raw []byte) string {
	s, _ := decodeJSONString(append(append([]byte{'"'}, raw...), '"'))
	return s
}

// decodeJSONString decodes a raw JSON string value (quotes included).
// Without escapes and with valid UTF-8 it is a plain copy; otherwise
// encoding/json decodes it (replacing invalid UTF-8 as it does).
func decodeJSONString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// rawString returns the bytes of a string value that has no escapes, for
// hex keys, without allocating.
func rawString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') >= 0 {
		return nil, false
	}
	return inner, true
}

func (m controlObject) has(k string) bool { _, ok := m.get(k); return ok }

func (m controlObject) str(k string) (string, bool, error) {
	r, ok := m.get(k)
	if !ok {
		return "", false, nil
	}
	s, ok := decodeJSONString(r)
	if !ok {
		return "", true, &ControlError{Key: k, Reason: "not a string"}
	}
	return s, true, nil
}

func (m controlObject) boolean(k string, def bool) (bool, error) {
	r, ok := m.get(k)
	if !ok {
		return def, nil
	}
	switch string(r) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &ControlError{Key: k, Reason: "not a boolean"}
}

// integer reads an integer-valued number (no fraction, no exponent).
func (m controlObject) integer(k string) (int64, bool, error) {
	r, ok := m.get(k)
	if !ok {
		return 0, false, nil
	}
	if len(r) == 0 || !(r[0] == '-' || r[0] >= '0' && r[0] <= '9') {
		return 0, true, &ControlError{Key: k, Reason: "not a number"}
	}
	v, err := strconv.ParseInt(string(r), 10, 64)
	if err != nil {
		return 0, true, &ControlError{Key: k, Reason: "not an integer"}
	}
	return v, true, nil
}

// hex32 reads a 64-hex-digit string value.
func (m controlObject) hex32(k string) ([32]byte, bool, error) {
	var out [32]byte
	r, ok := m.get(k)
	if !ok {
		return out, false, nil
	}
	s, ok := rawString(r)
	if !ok {
		if str, isStr := decodeJSONString(r); isStr {
			s = []byte(str)
		} else {
			return out, true, &ControlError{Key: k, Reason: "not a string"}
		}
	}
	if len(s) != 64 {
		return out, true, &ControlError{Key: k, Reason: "want 64 hex characters, got " + strconv.Itoa(len(s))}
	}
	if _, err := hex.Decode(out[:], s); err != nil {
		return out, true, &ControlError{Key: k, Reason: "not hex"}
	}
	return out, true, nil
}

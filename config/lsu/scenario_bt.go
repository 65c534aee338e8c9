package lsu

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// btJSON decodes a bencoded value into the readable form the reference
// oracle prints (bt_json, dump_json): dicts as objects, lists as arrays,
// integers as numbers, and strings as text when every byte is printable
// ASCII (0x20–0x7e), otherwise as "hex:" and their hex. Input that is not
// one complete bt value decodes to {"bt_parse_error": reason}.
func btJSON(b []byte) any {
	v, rest, err := btValue(b, 0)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing data after bt value")
	}
	if err != nil {
		return map[string]any{"bt_parse_error": err.Error()}
	}
	return v
}

// maxBTDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxBTDepth = 64

var errBT = errors.New("invalid bt encoding")

func btValue(b []byte, depth int) (any, []byte, error) {
	if len(b) == 0 || depth > maxBTDepth {
		return nil, nil, errBT
	}
	switch c := b[0]; {
	case c == 'i':
		end := 1
		for end < len(b) && b[end] != 'e' {
			end++
		}
		if end == len(b) {
			return nil, nil, errBT
		}
		n, err := strconv.ParseInt(string(b[1:end]), 10, 64)
		if err != nil {
			return nil, nil, errBT
		}
		return n, b[end+1:], nil
	case c >= '0' && c <= '9':
		s, rest, err := btString(b)
		if err != nil {
			return nil, nil, err
		}
		return readable(s), rest, nil
	case c == 'l':
		out := []any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			v, rest, err := btValue(b, depth+1)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, v)
			b = rest
		}
		if len(b) == 0 {
			return nil, nil, errBT
		}
		return out, b[1:], nil
	case c == 'd':
		out := map[string]any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			k, rest, err := btString(b)
			if err != nil {
				return nil, nil, err
			}
			v, rest, err := btValue(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			out[readable(k)] = v
			b = rest
		}
		if len(b) == 0 {
			return nil, nil, errBT
		}
		return out, b[1:], nil
	}
	return nil, nil, errBT
}

func btString(b []byte) ([]byte, []byte, error) {
	colon := 0
	for colon < len(b) && b[colon] != ':' {
		colon++
	}
	if colon == 0 || colon == len(b) {
		return nil, nil, errBT
	}
	n, err := strconv.ParseUint(string(b[:colon]), 10, 31)
	if err != nil || uint64(len(b)-colon-1) < n {
		return nil, nil, errBT
	}
	start := colon + 1
	return b[start : start+int(n)], b[start+int(n):], nil
}

func readable(s []byte) string {
	for _, c := range s {
		if c < 0x20 || c > 0x7e {
			return "hex:" + hex.EncodeToString(s)
		}
	}
	return string(s)
}

// jsonText replaces each invalid UTF-8 sequence in s with one U+FFFD, as
// the reference oracle's JSON writer (nlohmann::json, error_handler
// replace) does: a lead byte and the continuation bytes that may follow it
// count as one sequence, where encoding/json would replace every byte.
func jsonText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		b.WriteRune(utf8.RuneError)
		i += invalidPrefix(s[i:])
	}
	return b.String()
}

// invalidPrefix is the length of the invalid sequence at the start of s:
// its lead byte and the bytes that continue it validly (at least 1).
func invalidPrefix(s string) int {
	c := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xbf)
	switch {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c >= 0xe0 && c <= 0xef:
		need = 2
		if c == 0xe0 {
			lo = 0xa0
		} else if c == 0xed {
			hi = 0x9f
		}
	case c >= 0xf0 && c <= 0xf4:
		need = 3
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f
		}
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(s); n++ {
		if s[n] < lo || s[n] > hi {
			break
		}
		lo, hi = 0x80, 0xbf
	}
	return n
}

// jsonTexts applies jsonText to every string (and object key) in v.
func jsonTexts(v any) any {
	switch v := v.(type) {
	case string:
		return jsonText(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[jsonText(k)] = jsonTexts(x)
		}
		return out
	case Reply:
		return jsonTexts(map[string]any(v))
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonTexts(x)
		}
		return out
	}
	return v
}

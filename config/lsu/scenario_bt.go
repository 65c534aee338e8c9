package lsu

import (
	"encoding/hex"
	"errors"
	"strconv"
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

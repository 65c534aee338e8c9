package onion

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"

	"sotto.dev/internal/jsonscan"
)

// The control objects a relay reads on every layer are scanned once by
// internal/jsonscan, which hands out members as raw byte slices; values
// are decoded on demand.

// field is one member of a control object.
type field = jsonscan.Member

// controlObject is a scanned control object.
type controlObject []field

// parseObject scans a JSON object into dst, mapping failures to
// *FrameError.
func parseObject(b []byte, dst []field) (controlObject, error) {
	fs, err := jsonscan.Object(b, dst)
	switch {
	case errors.Is(err, jsonscan.ErrNotObject):
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
		if !f.Escaped && string(f.Key) == k {
			return f.Value, true
		}
		if f.Escaped && f.Name() == k {
			return f.Value, true
		}
	}
	return nil, false
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
	s, ok := jsonscan.Unquote(r)
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
		if str, isStr := jsonscan.Unquote(r); isStr {
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

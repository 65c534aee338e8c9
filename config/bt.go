package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// bt ("bencode" as written by oxenc, the encoder libsession uses) is the
// format of config messages and dumps: i<int>e, <len>:<bytes>, l…e and d…e
// with keys in byte order. See docs/config.md.
//
// The decoder is exact: it accepts only the canonical encoding (no leading
// zeros, no "-0", dict keys strictly ascending, nothing after the value),
// so that a value decodes only from the bytes EncodeBT writes for it.
// oxenc's own decoder is laxer about leading zeros (oxenc
// bt_serialize.h:1383-1399); no libsession producer writes them.

// ErrBT is wrapped by every error of the bt decoder.
var ErrBT = errors.New("config: invalid bt encoding")

// maxBTDepth bounds the nesting of lists and dicts the decoder follows.
const maxBTDepth = 64

// EncodeBT encodes v: int64 (or int), string, []byte (as a string),
// []any (a list), Set (a sorted list), Dict or map[string]any (a dict with
// sorted keys).
func EncodeBT(v any) ([]byte, error) {
	return appendBT(nil, v)
}

func appendBT(b []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case int64:
		b = appendBTInt(b, v)
	case int:
		b = appendBTInt(b, int64(v))
	case string:
		b = appendBTString(b, v)
	case []byte:
		b = appendBTBytes(b, v)
	case []any:
		b = append(b, 'l')
		for _, e := range v {
			if b, err = appendBT(b, e); err != nil {
				return nil, err
			}
		}
		b = append(b, 'e')
	case Set:
		b = appendBTSet(b, v)
	case Dict:
		return appendBTMap(b, v)
	case map[string]any:
		return appendBTMap(b, v)
	case diff:
		b = appendDiff(b, v)
	case rawBT:
		b = append(b, v...)
	default:
		return nil, fmt.Errorf("config: cannot bt-encode %T", v)
	}
	return b, nil
}

func appendBTMap[M ~map[string]any](b []byte, m M) ([]byte, error) {
	var err error
	b = append(b, 'd')
	for _, k := range sortedKeys(m) {
		b = appendBTString(b, k)
		if b, err = appendBT(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, 'e'), nil
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendBTInt(b []byte, v int64) []byte {
	b = append(b, 'i')
	b = strconv.AppendInt(b, v, 10)
	return append(b, 'e')
}

func appendBTString(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendBTBytes(b []byte, s []byte) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendBTScalar(b []byte, v any) []byte {
	switch v := v.(type) {
	case int64:
		return appendBTInt(b, v)
	case string:
		return appendBTString(b, v)
	}
	panic(fmt.Sprintf("config: %T in a set", v)) // Set.Add admits only int64 and string
}

func appendBTSet(b []byte, s Set) []byte {
	b = append(b, 'l')
	for _, v := range s.Sorted() {
		b = appendBTScalar(b, v)
	}
	return append(b, 'e')
}

// appendData writes config data: a dict whose values are int64, string,
// Set or Dict (config.cpp:249-269). Empty dicts and sets must have been
// pruned by the caller.
func appendData(b []byte, d Dict) []byte {
	b = append(b, 'd')
	for _, k := range sortedKeys(d) {
		b = appendBTString(b, k)
		switch v := d[k].(type) {
		case int64:
			b = appendBTInt(b, v)
		case string:
			b = appendBTString(b, v)
		case Set:
			b = appendBTSet(b, v)
		case Dict:
			b = appendData(b, v)
		default:
			panic(fmt.Sprintf("config: %T stored in a Dict at %q", v, k))
		}
	}
	return append(b, 'e')
}

// rawBT is an already encoded bt value, written as is.
type rawBT []byte

// DecodeBT decodes one bt value that spans all of b: int64, string, []any
// or map[string]any. Integers must fit in an int64.
func DecodeBT(b []byte) (any, error) {
	r := btReader{b: b}
	v, err := r.value(0)
	if err != nil {
		return nil, err
	}
	if r.i != len(b) {
		return nil, r.errf("%d bytes after the value", len(b)-r.i)
	}
	return v, nil
}

// btReader reads bt values from b, starting at i.
type btReader struct {
	b []byte
	i int
}

func (r *btReader) errf(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrBT, r.i, fmt.Sprintf(format, args...))
}

func (r *btReader) done() bool { return r.i >= len(r.b) }

// peek returns the next byte, or 0 at the end.
func (r *btReader) peek() byte {
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

func (r *btReader) isString() bool { c := r.peek(); return c >= '0' && c <= '9' }
func (r *btReader) isInt() bool    { return r.peek() == 'i' }
func (r *btReader) isList() bool   { return r.peek() == 'l' }
func (r *btReader) isDict() bool   { return r.peek() == 'd' }
func (r *btReader) isEnd() bool    { return r.peek() == 'e' }

// digits reads a canonical run of decimal digits as an unsigned number.
func (r *btReader) digits() (uint64, error) {
	start := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	s := r.b[start:r.i]
	if len(s) == 0 {
		return 0, r.errf("expected a digit")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, r.errf("leading zero")
	}
	v, err := strconv.ParseUint(string(s), 10, 64)
	if err != nil {
		return 0, r.errf("number out of range")
	}
	return v, nil
}

// intRaw reads an integer as its sign and magnitude (up to 2^64-1 for a
// positive one, 2^63 for a negative one), as oxenc does.
func (r *btReader) intRaw() (neg bool, mag uint64, err error) {
	if !r.isInt() {
		return false, 0, r.errf("expected an integer")
	}
	r.i++
	if r.peek() == '-' {
		neg = true
		r.i++
	}
	if mag, err = r.digits(); err != nil {
		return false, 0, err
	}
	if neg && mag == 0 {
		return false, 0, r.errf("negative zero")
	}
	if neg && mag > 1<<63 {
		return false, 0, r.errf("integer out of range")
	}
	if r.peek() != 'e' {
		return false, 0, r.errf("unterminated integer")
	}
	r.i++
	return neg, mag, nil
}

// int reads an integer that must fit in an int64.
func (r *btReader) int() (int64, error) {
	neg, mag, err := r.intRaw()
	if err != nil {
		return 0, err
	}
	if neg {
		return int64(-mag), nil // -2^63 wraps to itself
	}
	if mag > math.MaxInt64 {
		return 0, r.errf("integer out of range")
	}
	return int64(mag), nil
}

// str reads a string; the result aliases r.b.
func (r *btReader) str() ([]byte, error) {
	if !r.isString() {
		return nil, r.errf("expected a string")
	}
	n, err := r.digits()
	if err != nil {
		return nil, err
	}
	if r.peek() != ':' {
		return nil, r.errf("expected ':'")
	}
	r.i++
	if n > uint64(len(r.b)-r.i) {
		return nil, r.errf("string longer than the data")
	}
	s := r.b[r.i : r.i+int(n)]
	r.i += int(n)
	return s, nil
}

// open consumes the 'l' or 'd' that starts a container.
func (r *btReader) open(c byte) error {
	if r.peek() != c {
		return r.errf("expected '%c'", c)
	}
	r.i++
	return nil
}

// end reports whether the container ends here, consuming the 'e'. It fails
// at the end of the data.
func (r *btReader) end() (bool, error) {
	if r.done() {
		return false, r.errf("unexpected end of data")
	}
	if r.b[r.i] == 'e' {
		r.i++
		return true, nil
	}
	return false, nil
}

// key reads the next dict key and checks that it comes after prev (nil
// for the first key).
func (r *btReader) key(prev []byte) ([]byte, error) {
	k, err := r.str()
	if err != nil {
		return nil, err
	}
	if prev != nil && string(k) <= string(prev) {
		return nil, r.errf("dict keys out of order")
	}
	if r.done() || r.b[r.i] == 'e' {
		return nil, r.errf("dict key without a value")
	}
	return k, nil
}

// items reads the rest of a list whose 'l' has been consumed, calling f to
// read each element, and consumes the 'e'.
func (r *btReader) items(f func() error) error {
	for {
		end, err := r.end()
		if err != nil || end {
			return err
		}
		if err := f(); err != nil {
			return err
		}
	}
}

// entries reads the rest of a dict whose 'd' has been consumed: for each
// key, checked to be in strictly ascending order, it calls f to read the
// value. It consumes the 'e'.
func (r *btReader) entries(f func(k []byte) error) error {
	var prev []byte
	for {
		end, err := r.end()
		if err != nil || end {
			return err
		}
		if prev, err = r.key(prev); err != nil {
			return err
		}
		if err := f(prev); err != nil {
			return err
		}
	}
}

// skip checks and skips one value, returning its encoding. Integers may be
// up to 2^64-1, as oxenc allows for values it does not interpret.
func (r *btReader) skip(depth int) ([]byte, error) {
	start := r.i
	switch {
	case r.isString():
		if _, err := r.str(); err != nil {
			return nil, err
		}
	case r.isInt():
		if _, _, err := r.intRaw(); err != nil {
			return nil, err
		}
	case r.isList(), r.isDict():
		if depth >= maxBTDepth {
			return nil, r.errf("nested too deeply")
		}
		isDict := r.isDict()
		r.i++
		skipValue := func() error {
			_, err := r.skip(depth + 1)
			return err
		}
		var err error
		if isDict {
			err = r.entries(func([]byte) error { return skipValue() })
		} else {
			err = r.items(skipValue)
		}
		if err != nil {
			return nil, err
		}
	default:
		if r.done() {
			return nil, r.errf("unexpected end of data")
		}
		return nil, r.errf("invalid value type %q", r.b[r.i])
	}
	return r.b[start:r.i], nil
}

// value decodes one value generically.
func (r *btReader) value(depth int) (any, error) {
	switch {
	case r.isString():
		s, err := r.str()
		return string(s), err
	case r.isInt():
		return r.int()
	case r.isList():
		if depth >= maxBTDepth {
			return nil, r.errf("nested too deeply")
		}
		r.i++
		l := []any{}
		err := r.items(func() error {
			v, err := r.value(depth + 1)
			l = append(l, v)
			return err
		})
		if err != nil {
			return nil, err
		}
		return l, nil
	case r.isDict():
		if depth >= maxBTDepth {
			return nil, r.errf("nested too deeply")
		}
		r.i++
		d := map[string]any{}
		err := r.entries(func(k []byte) error {
			v, err := r.value(depth + 1)
			d[string(k)] = v
			return err
		})
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	if r.done() {
		return nil, r.errf("unexpected end of data")
	}
	return nil, r.errf("invalid value type %q", r.b[r.i])
}

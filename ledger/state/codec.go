package state

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The ledger's binary encoding: big-endian fixed-width integers, fixed-size
// byte arrays written as is, variable byte strings and lists prefixed with
// their length. Decoding is exact: a short input, a length over its limit,
// a bad enum value or trailing bytes are errors, never panics.

// DecodeError says why a transaction or state encoding was rejected.
type DecodeError struct {
	Field string // what was being read
	Msg   string
}

func (e *DecodeError) Error() string { return fmt.Sprintf("ledger decode: %s: %s", e.Field, e.Msg) }

// ErrTrailing is wrapped by a DecodeError for bytes after a complete value.
var ErrTrailing = errors.New("trailing bytes")

type writer struct{ b []byte }

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *writer) i64(v int64)  { w.u64(uint64(v)) }
func (w *writer) raw(p []byte) { w.b = append(w.b, p...) }
func (w *writer) boolean(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

// bytes16 writes a byte string with a 16-bit length.
func (w *writer) bytes16(p []byte) {
	w.u16(uint16(len(p)))
	w.raw(p)
}

func (w *writer) str8(s string) {
	w.u8(uint8(len(s)))
	w.b = append(w.b, s...)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(field, msg string) {
	if r.err == nil {
		r.err = &DecodeError{Field: field, Msg: msg}
	}
}

func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail(field, fmt.Sprintf("need %d bytes, have %d", n, len(r.b)))
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8(field string) uint8 {
	p := r.take(field, 1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *reader) u16(field string) uint16 {
	p := r.take(field, 2)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint16(p)
}

func (r *reader) u32(field string) uint32 {
	p := r.take(field, 4)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (r *reader) u64(field string) uint64 {
	p := r.take(field, 8)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint64(p)
}

func (r *reader) i64(field string) int64 { return int64(r.u64(field)) }

func (r *reader) boolean(field string) bool {
	switch v := r.u8(field); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail(field, fmt.Sprintf("bad boolean %d", v))
		return false
	}
}

func (r *reader) array(field string, dst []byte) {
	if p := r.take(field, len(dst)); p != nil {
		copy(dst, p)
	}
}

// bytes16 reads a 16-bit-length byte string of at most max bytes.
func (r *reader) bytes16(field string, max int) []byte {
	n := int(r.u16(field))
	if r.err == nil && n > max {
		r.fail(field, fmt.Sprintf("length %d over the limit %d", n, max))
		return nil
	}
	p := r.take(field, n)
	if p == nil {
		return nil
	}
	return append([]byte(nil), p...)
}

func (r *reader) str8(field string, max int) string {
	n := int(r.u8(field))
	if r.err == nil && n > max {
		r.fail(field, fmt.Sprintf("length %d over the limit %d", n, max))
		return ""
	}
	return string(r.take(field, n))
}

// count reads a 32-bit list length, bounded by max and by the bytes left
// (each element needs at least minSize bytes), so that a forged length
// cannot make the decoder allocate more than the input justifies.
func (r *reader) count(field string, max, minSize int) int {
	n := r.u32(field)
	if r.err != nil {
		return 0
	}
	if uint64(n) > uint64(max) {
		r.fail(field, fmt.Sprintf("%d entries over the limit %d", n, max))
		return 0
	}
	if minSize > 0 && uint64(n)*uint64(minSize) > uint64(len(r.b)) {
		r.fail(field, fmt.Sprintf("%d entries cannot fit in %d bytes", n, len(r.b)))
		return 0
	}
	return int(n)
}

// done checks that everything was consumed.
func (r *reader) done(field string) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = &DecodeError{Field: field, Msg: fmt.Sprintf("%v: %d", ErrTrailing, len(r.b))}
	}
	return r.err
}

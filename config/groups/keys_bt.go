package groups

import (
	"bytes"
	"errors"
)

// maxBTDepth bounds the nesting a skipped bt value may have.
const maxBTDepth = 64

// errBT is the cause of every bt decoding failure in this package.
var errBT = errors.New("invalid bt encoding")

// btReader reads bt-encoded values from b at i, as oxenc's consumers do:
// strings "<len>:<bytes>", integers "i<n>e", lists "l…e", dicts "d…e".
type btReader struct {
	b []byte
	i int
}

func (r *btReader) peek() byte {
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

func (r *btReader) isString() bool { c := r.peek(); return c >= '0' && c <= '9' }

// str reads a string.
func (r *btReader) str() ([]byte, error) {
	if !r.isString() {
		return nil, errBT
	}
	n := 0
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		if n > len(r.b) {
			return nil, errBT
		}
		n = n*10 + int(r.b[r.i]-'0')
		r.i++
	}
	if r.peek() != ':' {
		return nil, errBT
	}
	r.i++
	if n > len(r.b)-r.i {
		return nil, errBT
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s, nil
}

// int reads an integer that fits an int64.
func (r *btReader) int() (int64, error) {
	if r.peek() != 'i' {
		return 0, errBT
	}
	r.i++
	neg := r.peek() == '-'
	if neg {
		r.i++
	}
	start := r.i
	var mag uint64
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		if mag > (1<<63)/10 {
			return 0, errBT
		}
		mag = mag*10 + uint64(r.b[r.i]-'0')
		r.i++
	}
	if r.i == start || r.peek() != 'e' {
		return 0, errBT
	}
	r.i++
	switch {
	case neg && mag <= 1<<63:
		return -int64(mag-1) - 1, nil
	case !neg && mag < 1<<63:
		return int64(mag), nil
	}
	return 0, errBT
}

// skip reads one value of any type.
func (r *btReader) skip(depth int) error {
	if depth > maxBTDepth {
		return errBT
	}
	switch c := r.peek(); {
	case c >= '0' && c <= '9':
		_, err := r.str()
		return err
	case c == 'i':
		_, err := r.int()
		return err
	case c == 'l' || c == 'd':
		r.i++
		for r.peek() != 'e' {
			if r.i >= len(r.b) {
				return errBT
			}
			if c == 'd' {
				if _, err := r.str(); err != nil {
					return err
				}
			}
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
		r.i++
		return nil
	}
	return errBT
}

// open reads the 'l' or 'd' that starts a list or dict.
func (r *btReader) open(c byte) error {
	if r.peek() != c {
		return errBT
	}
	r.i++
	return nil
}

// next reports whether the list or dict being read has another element,
// and reads its closing 'e' if not.
func (r *btReader) next() (bool, error) {
	switch {
	case r.i >= len(r.b):
		return false, errBT
	case r.b[r.i] == 'e':
		r.i++
		return false, nil
	}
	return true, nil
}

// btDict reads a dict the way oxenc's bt_dict_consumer does: skipUntil
// passes over smaller keys and stops at the first key not smaller than
// the one sought, which stays pending for a later skipUntil.
type btDict struct {
	r        btReader
	key      []byte
	keyAt    int // offset of the pending key's encoding
	pending  bool
	finished bool
}

func newBTDict(b []byte) (*btDict, error) {
	d := &btDict{r: btReader{b: b}}
	if err := d.r.open('d'); err != nil {
		return nil, err
	}
	return d, nil
}

// skipUntil advances to key k and reports whether it is there.
func (d *btDict) skipUntil(k string) (bool, error) {
	for {
		if !d.pending {
			if d.finished {
				return false, nil
			}
			more, err := d.r.next()
			if err != nil {
				return false, err
			}
			if !more {
				d.finished = true
				return false, nil
			}
			d.keyAt = d.r.i
			if d.key, err = d.r.str(); err != nil {
				return false, err
			}
			d.pending = true
		}
		switch c := bytes.Compare(d.key, []byte(k)); {
		case c == 0:
			return true, nil
		case c > 0:
			return false, nil
		}
		if err := d.r.skip(0); err != nil {
			return false, err
		}
		d.pending = false
	}
}

// str, int and list read the value of the pending key.
func (d *btDict) str() ([]byte, error) {
	d.pending = false
	return d.r.str()
}

func (d *btDict) int() (int64, error) {
	d.pending = false
	return d.r.int()
}

// list opens the pending key's list; read its elements with d.r and
// d.r.next.
func (d *btDict) list() error {
	d.pending = false
	return d.r.open('l')
}

// done reports whether nothing but the closing 'e' is left.
func (d *btDict) done() (bool, error) {
	if d.pending {
		return false, nil
	}
	if d.finished {
		return true, nil
	}
	more, err := d.r.next()
	if err != nil {
		return false, err
	}
	d.finished = !more
	return !more, nil
}

package config

import (
	"cmp"
	"slices"
)

// Dict is the data of a config message (its "&" dict) or a nested dict in
// it. Values are int64, string (raw bytes), Set or Dict; nothing else may be
// stored. Empty dicts and sets are pruned when a message is serialized, so
// they read the same as absent ones.
type Dict map[string]any

// Set is a set of scalars (int64 or string), serialized as a sorted bt list
// with the integers before the strings.
type Set map[any]struct{}

// Int returns the integer at key k, or 0 when it is absent or not an int.
func (d Dict) Int(k string) int64 {
	v, _ := d[k].(int64)
	return v
}

// IntOK returns the integer at key k and whether there is one.
func (d Dict) IntOK(k string) (int64, bool) {
	v, ok := d[k].(int64)
	return v, ok
}

// String returns the string at key k, or "" when it is absent or not a string.
func (d Dict) String(k string) string {
	v, _ := d[k].(string)
	return v
}

// StringOK returns the string at key k and whether there is one.
func (d Dict) StringOK(k string) (string, bool) {
	v, ok := d[k].(string)
	return v, ok
}

// Dict returns the dict at key k, or nil when it is absent or not a dict.
func (d Dict) Dict(k string) Dict {
	v, _ := d[k].(Dict)
	return v
}

// Set returns the set at key k, or nil when it is absent or not a set.
func (d Dict) Set(k string) Set {
	v, _ := d[k].(Set)
	return v
}

// SubDict returns the dict at key k, creating it (replacing any non-dict
// value) when needed. A new empty dict changes nothing until something is
// put in it.
func (d Dict) SubDict(k string) Dict {
	if v, ok := d[k].(Dict); ok {
		return v
	}
	v := Dict{}
	d[k] = v
	return v
}

// SubSet returns the set at key k, creating it when needed.
func (d Dict) SubSet(k string) Set {
	if v, ok := d[k].(Set); ok {
		return v
	}
	v := Set{}
	d[k] = v
	return v
}

// SetInt stores v at k and reports whether that changed anything.
func (d Dict) SetInt(k string, v int64) bool {
	if old, ok := d[k].(int64); ok && old == v {
		return false
	}
	d[k] = v
	return true
}

// SetString stores v at k and reports whether that changed anything.
func (d Dict) SetString(k, v string) bool {
	if old, ok := d[k].(string); ok && old == v {
		return false
	}
	d[k] = v
	return true
}

// SetIntOrDelete stores v at k when v is not 0 and deletes k otherwise;
// it reports whether that changed anything.
func (d Dict) SetIntOrDelete(k string, v int64) bool {
	if v == 0 {
		return d.Delete(k)
	}
	return d.SetInt(k, v)
}

// SetStringOrDelete stores v at k when v is not empty and deletes k
// otherwise; it reports whether that changed anything.
func (d Dict) SetStringOrDelete(k, v string) bool {
	if v == "" {
		return d.Delete(k)
	}
	return d.SetString(k, v)
}

// Delete removes k and reports whether it was there (an empty dict or set
// counts as absent).
func (d Dict) Delete(k string) bool {
	v, ok := d[k]
	if !ok {
		return false
	}
	delete(d, k)
	return !isEmpty(v)
}

// Clone returns a deep copy of d.
func (d Dict) Clone() Dict {
	if d == nil {
		return nil
	}
	out := make(Dict, len(d))
	for k, v := range d {
		switch v := v.(type) {
		case Dict:
			out[k] = v.Clone()
		case Set:
			out[k] = v.Clone()
		default:
			out[k] = v
		}
	}
	return out
}

// Equal reports whether d and e hold the same data, treating empty dicts
// and sets as absent.
func (d Dict) Equal(e Dict) bool {
	for k, v := range d {
		w, ok := e[k]
		if !ok {
			if isEmpty(v) {
				continue
			}
			return false
		}
		if !valueEqual(v, w) {
			return false
		}
	}
	for k, w := range e {
		if _, ok := d[k]; !ok && !isEmpty(w) {
			return false
		}
	}
	return true
}

// Prune removes empty dicts and sets, recursively, the way libsession does
// before it serializes a message.
func (d Dict) Prune() {
	for k, v := range d {
		if sub, ok := v.(Dict); ok {
			sub.Prune()
		}
		if isEmpty(v) {
			delete(d, k)
		}
	}
}

// Add puts v (an int64 or a string) in s and reports whether it was new.
func (s Set) Add(v any) bool {
	switch v.(type) {
	case int64, string:
	default:
		return false
	}
	if _, ok := s[v]; ok {
		return false
	}
	s[v] = struct{}{}
	return true
}

// Remove takes v out of s and reports whether it was there.
func (s Set) Remove(v any) bool {
	if _, ok := s[v]; !ok {
		return false
	}
	delete(s, v)
	return true
}

// Has reports whether v is in s.
func (s Set) Has(v any) bool {
	_, ok := s[v]
	return ok
}

// Clone returns a copy of s.
func (s Set) Clone() Set {
	if s == nil {
		return nil
	}
	out := make(Set, len(s))
	for v := range s {
		out[v] = struct{}{}
	}
	return out
}

// Sorted returns the members of s in bt order: integers ascending, then
// strings in byte order.
func (s Set) Sorted() []any {
	out := make([]any, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	slices.SortFunc(out, compareScalar)
	return out
}

// Strings returns the string members of s in byte order.
func (s Set) Strings() []string {
	var out []string
	for v := range s {
		if str, ok := v.(string); ok {
			out = append(out, str)
		}
	}
	slices.Sort(out)
	return out
}

// Ints returns the integer members of s in ascending order.
func (s Set) Ints() []int64 {
	var out []int64
	for v := range s {
		if i, ok := v.(int64); ok {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

func compareScalar(a, b any) int {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	switch {
	case aInt && bInt:
		return cmp.Compare(ai, bi)
	case aInt:
		return -1
	case bInt:
		return 1
	}
	return cmp.Compare(a.(string), b.(string))
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case Dict:
		for _, w := range v {
			if !isEmpty(w) {
				return false
			}
		}
		return true
	case Set:
		return len(v) == 0
	}
	return false
}

func valueEqual(a, b any) bool {
	switch a := a.(type) {
	case Dict:
		b, ok := b.(Dict)
		return ok && a.Equal(b)
	case Set:
		b, ok := b.(Set)
		if !ok || len(a) != len(b) {
			return false
		}
		for v := range a {
			if !b.Has(v) {
				return false
			}
		}
		return true
	}
	return scalarEqual(a, b)
}

package config

import "slices"

// A diff records what changed between two versions of config data,
// without the values (libsession config.cpp:58-157): a scalar that was set
// or changed is "" and a removed one "-"; a changed dict is a nested diff;
// a changed set is a pair of lists [[added…], [removed…]]. A dict or set
// that appeared or disappeared is written as the diff of all its members
// against nothing. Merging takes the values from a message's own data
// (applyDiff).
type diff map[string]any

// setDiff is the diff of a set: the members added and removed, each in bt
// order.
type setDiff struct {
	added, removed []any
}

// The scalar diff markers.
const (
	diffSet     = ""
	diffRemoved = "-"
)

// diffDicts returns the diff from old to cur (both pruned), nil when they
// are equal. It walks both in key order as config.cpp:89-157 does: a value
// whose kind (scalar, set or dict) changed is a removal of the old value
// folded into the addition of the new one.
func diffDicts(old, cur Dict) diff {
	var df diff
	put := func(k string, v any) {
		if df == nil {
			df = diff{}
		}
		df[k] = v
	}
	for k, o := range old {
		n, ok := cur[k]
		if !ok {
			if v := diffAgainstNothing(o, diffRemoved); v != nil {
				put(k, v)
			}
			continue
		}
		if valueKind(o) != valueKind(n) {
			if v := diffAgainstNothing(n, diffSet); v != nil {
				put(k, v)
			}
			continue
		}
		switch o := o.(type) {
		case Dict:
			if sub := diffDicts(o, n.(Dict)); sub != nil {
				put(k, sub)
			}
		case Set:
			if sub, ok := diffSets(o, n.(Set)); ok {
				put(k, sub)
			}
		default:
			if !scalarEqual(o, n) {
				put(k, diffSet)
			}
		}
	}
	for k, n := range cur {
		if _, ok := old[k]; ok {
			continue
		}
		if v := diffAgainstNothing(n, diffSet); v != nil {
			put(k, v)
		}
	}
	return df
}

// diffAgainstNothing is the diff of a value that appeared (mark "") or
// disappeared (mark "-"): a scalar is the mark itself, a dict the diff of
// each of its members, a set all its members added or removed. It returns
// nil for an empty dict or set, which pruning makes equal to nothing.
func diffAgainstNothing(v any, mark string) any {
	switch v := v.(type) {
	case Dict:
		var sub diff
		if mark == diffSet {
			sub = diffDicts(nil, v)
		} else {
			sub = diffDicts(v, nil)
		}
		if sub == nil {
			return nil
		}
		return sub
	case Set:
		var sd setDiff
		var ok bool
		if mark == diffSet {
			sd, ok = diffSets(nil, v)
		} else {
			sd, ok = diffSets(v, nil)
		}
		if !ok {
			return nil
		}
		return sd
	}
	return mark
}

func diffSets(old, cur Set) (setDiff, bool) {
	var sd setDiff
	for v := range cur {
		if !old.Has(v) {
			sd.added = append(sd.added, v)
		}
	}
	for v := range old {
		if !cur.Has(v) {
			sd.removed = append(sd.removed, v)
		}
	}
	if len(sd.added) == 0 && len(sd.removed) == 0 {
		return setDiff{}, false
	}
	slices.SortFunc(sd.added, compareScalar)
	slices.SortFunc(sd.removed, compareScalar)
	return sd, true
}

// valueKind orders the kinds of config values as libsession's variant
// does (dict, set, scalar); an int and a string are both scalars.
func valueKind(v any) int {
	switch v.(type) {
	case Dict:
		return 0
	case Set:
		return 1
	}
	return 2
}

func scalarEqual(a, b any) bool {
	switch a := a.(type) {
	case int64:
		b, ok := b.(int64)
		return ok && a == b
	case string:
		b, ok := b.(string)
		return ok && a == b
	}
	return false
}

// applyDiff replays df onto data, taking the values from source, the data
// of the message that carries df (config.cpp:359-429). A key whose value
// is missing from source, or has another kind than the diff says, is
// removed: a later diff either removes it too or gives it its new kind.
// Emptied dicts and sets are left for the caller to prune.
func applyDiff(data Dict, df diff, source Dict) {
	for k, d := range df {
		src, ok := source[k]
		if ok {
			switch d.(type) {
			case string:
				ok = valueKind(src) == 2
			case diff:
				ok = valueKind(src) == 0
			case setDiff:
				ok = valueKind(src) == 1
			}
		}
		if !ok {
			delete(data, k)
			continue
		}
		switch d := d.(type) {
		case string:
			if d == diffRemoved {
				delete(data, k)
			} else {
				data[k] = src
			}
		case diff:
			sub, isDict := data[k].(Dict)
			if !isDict {
				sub = Dict{}
				data[k] = sub
			}
			applyDiff(sub, d, src.(Dict))
		case setDiff:
			sub, isSet := data[k].(Set)
			if !isSet {
				sub = Set{}
				data[k] = sub
			}
			for _, v := range d.added {
				sub.Add(v)
			}
			for _, v := range d.removed {
				sub.Remove(v)
			}
		}
	}
}

// appendDiff writes df as a bt dict.
func appendDiff(b []byte, df diff) []byte {
	b = append(b, 'd')
	for _, k := range sortedKeys(df) {
		b = appendBTString(b, k)
		switch v := df[k].(type) {
		case string:
			b = appendBTString(b, v)
		case diff:
			b = appendDiff(b, v)
		case setDiff:
			b = append(b, 'l', 'l')
			for _, e := range v.added {
				b = appendBTScalar(b, e)
			}
			b = append(b, 'e', 'l')
			for _, e := range v.removed {
				b = appendBTScalar(b, e)
			}
			b = append(b, 'e', 'e')
		}
	}
	return append(b, 'e')
}

// readDiff reads a diff dict (load_diff, config.cpp:206-246): keys in
// order; scalars marked "" or "-"; sets as two sorted lists of scalars;
// nested dicts. Stricter than libsession in two places no producer
// reaches: an integer value is rejected (libsession loops forever on one)
// and so is a non-scalar in a one-element set list (libsession accepts it
// here and throws out of the whole merge later).
func readDiff(r *btReader, depth int) (diff, error) {
	if depth >= maxBTDepth {
		return nil, r.errf("nested too deeply")
	}
	if err := r.open('d'); err != nil {
		return nil, err
	}
	df := diff{}
	err := r.entries(func(k []byte) error {
		switch {
		case r.isString():
			s, err := r.str()
			if err != nil {
				return err
			}
			if string(s) != diffSet && string(s) != diffRemoved {
				return r.errf("diff value %q", s)
			}
			df[string(k)] = string(s)
		case r.isList():
			sd, err := readSetDiff(r)
			if err != nil {
				return err
			}
			df[string(k)] = sd
		case r.isDict():
			sub, err := readDiff(r, depth+1)
			if err != nil {
				return err
			}
			df[string(k)] = sub
		default:
			return r.errf("invalid diff value")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return df, nil
}

func readSetDiff(r *btReader) (setDiff, error) {
	var sd setDiff
	if err := r.open('l'); err != nil {
		return sd, err
	}
	for i := range 2 {
		if !r.isList() {
			return sd, r.errf("set diff: expected 2 sub-lists")
		}
		l, err := readScalarList(r, true)
		if err != nil {
			return sd, err
		}
		if i == 0 {
			sd.added = l
		} else {
			sd.removed = l
		}
	}
	if end, err := r.end(); err != nil || !end {
		return sd, r.errf("set diff: expected 2 elements")
	}
	return sd, nil
}

// readScalarList reads a list of scalars in strict bt order (ints
// ascending, then strings ascending; config.cpp:186-203, 295-312). A data
// set may not be empty; a set diff list may.
func readScalarList(r *btReader, mayBeEmpty bool) ([]any, error) {
	if err := r.open('l'); err != nil {
		return nil, err
	}
	var out []any
	err := r.items(func() error {
		var v any
		var err error
		switch {
		case r.isInt():
			v, err = r.int()
		case r.isString():
			var s []byte
			s, err = r.str()
			v = string(s)
		default:
			return r.errf("set member is not a scalar")
		}
		if err != nil {
			return err
		}
		if len(out) > 0 && compareScalar(out[len(out)-1], v) >= 0 {
			return r.errf("set members unsorted or duplicated")
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 && !mayBeEmpty {
		return nil, r.errf("empty set")
	}
	return out, nil
}

// readData reads config data (parse_data, config.cpp:272-312): keys in
// order, values int64, string, non-empty sets of scalars and non-empty
// dicts (the top-level dict may be empty).
func readData(r *btReader, depth int) (Dict, error) {
	if depth >= maxBTDepth {
		return nil, r.errf("nested too deeply")
	}
	if err := r.open('d'); err != nil {
		return nil, err
	}
	d := Dict{}
	err := r.entries(func(k []byte) error {
		switch {
		case r.isString():
			s, err := r.str()
			if err != nil {
				return err
			}
			d[string(k)] = string(s)
		case r.isInt():
			v, err := r.int()
			if err != nil {
				return err
			}
			d[string(k)] = v
		case r.isDict():
			sub, err := readData(r, depth+1)
			if err != nil {
				return err
			}
			d[string(k)] = sub
		case r.isList():
			l, err := readScalarList(r, false)
			if err != nil {
				return err
			}
			s := make(Set, len(l))
			for _, v := range l {
				s[v] = struct{}{}
			}
			d[string(k)] = s
		default:
			return r.errf("invalid data value")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if depth > 0 && len(d) == 0 {
		return nil, r.errf("empty dict in data")
	}
	return d, nil
}

package storagerpc

import (
	"encoding/json"
	"errors"

	"sotto.dev/internal/jsonscan"
)

// splitObject validates b as one JSON value in one pass (internal/jsonscan)
// and yields the members json.Unmarshal into a map[string]json.RawMessage
// would: valid is false when b is not JSON; isObject false when it is JSON
// but not an object. Otherwise f holds the members in order, duplicates
// included; fields.get finds the last of a name, as the map would hold.
// A slice instead of the map: a request has a handful of members, and
// making the map (and a string of each key) cost more than the lookups.
// A key with escapes (or invalid UTF-8) is decoded here, once, so that
// each lookup compares bytes: a body of many such keys costs no more than
// it did with the map.
func splitObject(b []byte) (f fields, isObject, valid bool) {
	ms, err := jsonscan.Object(b, make([]jsonscan.Member, 0, 8))
	if err != nil {
		return nil, false, errors.Is(err, jsonscan.ErrNotObject)
	}
	for i := range ms {
		if ms[i].Escaped {
			ms[i].Key, ms[i].Escaped = []byte(ms[i].Name()), false
		}
	}
	return fields(ms), true, true
}

// splitArray is splitObject for arrays: the elements of b when b is a JSON
// array, ok false otherwise.
func splitArray(b []byte) (elems []json.RawMessage, ok bool) {
	elems, err := jsonscan.Array(b, nil)
	return elems, err == nil
}

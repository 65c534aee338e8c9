package storagerpc

import (
	"encoding/json"
	"errors"

	"sotto.dev/internal/jsonscan"
)

// splitObject validates b as one JSON value in one pass (internal/jsonscan)
// and yields what json.Unmarshal into a map[string]json.RawMessage would:
// valid is false when b is not JSON; isObject false when it is JSON but not
// an object. Otherwise f holds the members, keys decoded, the last of
// duplicate keys winning.
func splitObject(b []byte) (f fields, isObject, valid bool) {
	var buf [16]jsonscan.Member
	ms, err := jsonscan.Object(b, buf[:0])
	if err != nil {
		return nil, false, errors.Is(err, jsonscan.ErrNotObject)
	}
	f = make(fields, len(ms))
	for i := range ms {
		f[ms[i].Name()] = json.RawMessage(ms[i].Value)
	}
	return f, true, true
}

// splitArray is splitObject for arrays: the elements of b when b is a JSON
// array, ok false otherwise.
func splitArray(b []byte) (elems []json.RawMessage, ok bool) {
	elems, err := jsonscan.Array(b, nil)
	return elems, err == nil
}

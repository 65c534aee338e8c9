package storagerpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"sotto.dev/internal/jsonscan"
)

// fields is a decoded params object. Keys are matched exactly (Go's
// struct decoding would match "PUBKEY" to "pubkey"; Session's nlohmann
// lookups are exact, and "pubKey" is a separate alias). A JSON null counts
// as absent, as in Session's parse_field.
//
// Type rules follow Session's parse_field (client_rpc_endpoints.cpp):
// integers must be written without fraction or exponent; "unsigned"
// fields reject a leading minus; timestamps are unsigned integers of at
// least 10^9 ms. Type errors read "Invalid value given for 'NAME':
// expected DESCRIPTION".
//
// The members are internal/jsonscan's, in their order, each Key already
// decoded by splitObject.
type fields []jsonscan.Member

// get returns the value of the last member named name, as encoding/json
// would keep it in a map. splitObject has decoded every key.
func (f fields) get(name string) (json.RawMessage, bool) {
	for i := len(f) - 1; i >= 0; i-- {
		if string(f[i].Key) == name {
			return json.RawMessage(f[i].Value), true
		}
	}
	return nil, false
}

// decodeFields decodes a params object; anything else is an error.
// The values alias params.
func decodeFields(params json.RawMessage) (fields, error) {
	f, isObject, _ := splitObject(params)
	if !isObject {
		return nil, errNotObject
	}
	return f, nil
}

var errNotObject = fmt.Errorf("storagerpc: params is not a JSON object")

// Type descriptions of Session's parse errors.
const (
	descBool      = "boolean"
	descUnsigned  = "positive integer"
	descInteger   = "integer"
	descNSOrAll   = `integer or "all"`
	descNamespace = "16-bit integer"
	descTimestamp = "integer timestamp (in milliseconds)"
	descStrings   = "string array"
	descTimes     = "timestamp array"
	descString    = "string"
)

func typeError(name, desc string) *Error {
	return InvalidRequest(fmt.Sprintf("Invalid value given for '%s': expected %s", name, desc))
}

func missing(name string) *Error {
	return InvalidRequest(fmt.Sprintf("Required field '%s' missing", name))
}

// raw returns the value of name, or nil when absent or null.
func (f fields) raw(name string) json.RawMessage {
	v, ok := f.get(name)
	if !ok || string(v) == "null" {
		return nil
	}
	return v
}

// kind of a JSON value from its first byte (the value is valid JSON).
func isJSONString(v json.RawMessage) bool { return len(v) > 0 && v[0] == '"' }
func isJSONArray(v json.RawMessage) bool  { return len(v) > 0 && v[0] == '[' }
func isJSONObject(v json.RawMessage) bool { return len(v) > 0 && v[0] == '{' }

// jsonInt parses an integer literal; ok is false for fractions,
// exponents, non-numbers and values outside int64.
func jsonInt(v json.RawMessage) (int64, bool) {
	if len(v) == 0 || !(v[0] == '-' || ('0' <= v[0] && v[0] <= '9')) {
		return 0, false
	}
	if bytes.ContainsAny(v, ".eE") {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}

// jsonUint parses a non-negative integer literal that fits in int64
// (every unsigned field is used as a signed 64-bit quantity).
func jsonUint(v json.RawMessage) (int64, bool) {
	if len(v) == 0 || v[0] == '-' {
		return 0, false
	}
	return jsonInt(v)
}

// jsonString decodes a JSON string value.
func jsonString(v json.RawMessage) (string, bool) {
	if !isJSONString(v) {
		return "", false
	}
	if bytes.IndexByte(v, '\\') < 0 && len(v) >= 2 {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// str reads an optional string field.
func (f fields) str(name string) (s string, ok bool, err *Error) {
	v := f.raw(name)
	if v == nil {
		return "", false, nil
	}
	s, ok = jsonString(v)
	if !ok {
		return "", false, typeError(name, descString)
	}
	return s, true, nil
}

// boolean reads an optional boolean field.
func (f fields) boolean(name string) (b, ok bool, err *Error) {
	switch string(f.raw(name)) {
	case "":
		return false, false, nil
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, typeError(name, descBool)
}

// integer reads an optional signed integer field that must fit in int32
// (Session's `int` fields).
func (f fields) integer(name string) (n int64, ok bool, err *Error) {
	v := f.raw(name)
	if v == nil {
		return 0, false, nil
	}
	n, ok = jsonInt(v)
	if !ok || n < -1<<31 || n > 1<<31-1 {
		return 0, false, typeError(name, descInteger)
	}
	return n, true, nil
}

// timestamp reads an optional millisecond timestamp field.
func (f fields) timestamp(name string) (ms int64, ok bool, err *Error) {
	v := f.raw(name)
	if v == nil {
		return 0, false, nil
	}
	ms, ok = jsonUint(v)
	if !ok {
		return 0, false, typeError(name, descTimestamp)
	}
	if ms < minTimestampMillis {
		return 0, false, InvalidRequest(fmt.Sprintf("Invalid timestamp for '%s': timestamp must be in milliseconds", name))
	}
	return ms, true, nil
}

// stringified reads a field that may be an integer or, for backwards
// compatibility, a string holding a decimal integer (store's timestamp
// and ttl). unsigned selects Session's uint64 rules for ttl.
func (f fields) stringified(name string, unsigned bool) (n int64, ok bool, err *Error) {
	v := f.raw(name)
	if v == nil {
		return 0, false, nil
	}
	if isJSONString(v) {
		s, _ := jsonString(v)
		if n, ok := parseDecimal(s, unsigned); ok {
			return n, true, nil
		}
		return 0, false, InvalidRequest(fmt.Sprintf("Invalid value given for '%s': %s", name, v))
	}
	if unsigned {
		if n, ok = jsonUint(v); ok {
			return n, true, nil
		}
		if _, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			// Valid for Session's uint64 but beyond int64: saturate,
			// so that the request fails its range check, not parsing.
			return math.MaxInt64, true, nil
		}
		return 0, false, typeError(name, descUnsigned)
	}
	n, ok = jsonInt(v)
	if !ok {
		return 0, false, typeError(name, descInteger)
	}
	return n, true, nil
}

// parseDecimal is std::from_chars over the whole string: an optional '-'
// (signed only), then at least one digit, nothing else.
func parseDecimal(s string, unsigned bool) (int64, bool) {
	if s == "" || s[0] == '+' || (unsigned && s[0] == '-') {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil && unsigned {
		if _, err := strconv.ParseUint(s, 10, 64); err == nil {
			return math.MaxInt64, true // saturate, as above
		}
	}
	return n, err == nil
}

// namespace reads an optional 16-bit namespace field.
func (f fields) namespace(name string) (ns Namespace, ok bool, err *Error) {
	v := f.raw(name)
	if v == nil {
		return 0, false, nil
	}
	ns, err = parseNamespace(name, v, descNamespace)
	return ns, err == nil, err
}

// namespaceSel reads an optional namespace-or-"all" field.
func (f fields) namespaceSel(name string) (sel NamespaceSel, ok bool, err *Error) {
	v := f.raw(name)
	if v == nil {
		return NamespaceSel{}, false, nil
	}
	if isJSONString(v) {
		if s, _ := jsonString(v); s == sigNamespaceAll {
			return AllNamespaces, true, nil
		}
		return NamespaceSel{}, false, typeError(name, descNSOrAll)
	}
	ns, err := parseNamespace(name, v, descNSOrAll)
	if err != nil {
		return NamespaceSel{}, false, err
	}
	return OneNamespace(ns), true, nil
}

// parseNamespace checks that v is an integer in the int16 range.
func parseNamespace(name string, v json.RawMessage, desc string) (Namespace, *Error) {
	isIntLiteral := len(v) > 0 && (v[0] == '-' || ('0' <= v[0] && v[0] <= '9')) && !bytes.ContainsAny(v, ".eE")
	if !isIntLiteral {
		return 0, typeError(name, desc)
	}
	n, ok := jsonInt(v)
	if !ok || n < -1<<15 || n > 1<<15-1 {
		return 0, InvalidRequest(fmt.Sprintf("Invalid value given for '%s': value out of range", name))
	}
	return Namespace(n), nil
}

// strings reads an optional field that is an array of strings or a single
// string.
func (f fields) strings(name string) (out []string, ok bool, err *Error) {
	v := f.raw(name)
	if v == nil {
		return nil, false, nil
	}
	if s, isStr := jsonString(v); isStr {
		return []string{s}, true, nil
	}
	if !isJSONArray(v) {
		return nil, false, typeError(name, descStrings)
	}
	elems, isArray := splitArray(v)
	if !isArray {
		return nil, false, typeError(name, descStrings)
	}
	out = make([]string, len(elems))
	for i, e := range elems {
		s, isStr := jsonString(e)
		if !isStr {
			return nil, false, typeError(name, descStrings)
		}
		out[i] = s
	}
	return out, true, nil
}

// timestamps reads an optional field that is an array of unsigned
// integers or a single one (no minimum, as in Session).
func (f fields) timestamps(name string) (out []int64, ok bool, err *Error) {
	v := f.raw(name)
	if v == nil {
		return nil, false, nil
	}
	if n, isUint := jsonUint(v); isUint {
		return []int64{n}, true, nil
	}
	if !isJSONArray(v) {
		return nil, false, typeError(name, descTimes)
	}
	elems, isArray := splitArray(v)
	if !isArray {
		return nil, false, typeError(name, descTimes)
	}
	out = make([]int64, len(elems))
	for i, e := range elems {
		n, isUint := jsonUint(e)
		if !isUint {
			return nil, false, typeError(name, descTimes)
		}
		out[i] = n
	}
	return out, true, nil
}

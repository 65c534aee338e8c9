package storagerpc

import (
	"encoding/json"
	"fmt"
	"time"
)

// ---- ifelse ----
//
// The conditional meta-request of Session's storage server (oxenss
// client_rpc_endpoints.h, "ifelse"): a request runs one of two
// subrequests depending on the node's hard fork, storage server version
// and block height. The "if" object holds one or more conditions, all of
// which must hold: hf_at_least / hf_before ([major, minor]), v_at_least /
// v_before ([major, minor, patch]) and height_at_least / height_before
// (an integer). A version list shorter than its size is padded with
// zeros, a longer one is cut, and an empty one is as if absent. "then"
// and "else" are {"method", "params"} requests; at least one is needed.
// Either may be a batch, a sequence or another ifelse; a batch or sequence
// may not contain an ifelse.

// Condition is the "if" of an ifelse request; nil fields are not tested.
type Condition struct {
	HFAtLeast, HFBefore *[2]int
	VAtLeast, VBefore   *[3]int
	HeightAtLeast       *int64
	HeightBefore        *int64
}

// Holds reports whether every condition given holds on a node at hard fork
// hf, running storage version v, at block height.
func (c Condition) Holds(hf [2]int, v [3]int, height int64) bool {
	ok := true
	if c.HFAtLeast != nil {
		ok = ok && cmpInts(hf[:], c.HFAtLeast[:]) >= 0
	}
	if c.HFBefore != nil {
		ok = ok && cmpInts(hf[:], c.HFBefore[:]) < 0
	}
	if c.VAtLeast != nil {
		ok = ok && cmpInts(v[:], c.VAtLeast[:]) >= 0
	}
	if c.VBefore != nil {
		ok = ok && cmpInts(v[:], c.VBefore[:]) < 0
	}
	if c.HeightAtLeast != nil {
		ok = ok && height >= *c.HeightAtLeast
	}
	if c.HeightBefore != nil {
		ok = ok && height < *c.HeightBefore
	}
	return ok
}

// cmpInts compares two lists of the same length lexicographically.
func cmpInts(a, b []int) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// IfElseParams are the params of ifelse. Then or Else may be nil: no
// subrequest runs when that branch is taken.
type IfElseParams struct {
	If         Condition
	Then, Else Request
}

// Method implements Request.
func (*IfElseParams) Method() string { return MethodIfElse }

// Owner implements Request.
func (*IfElseParams) Owner() (Account, bool) { return Account{}, false }

// Check implements Request: the subrequest taken is checked when it runs.
func (*IfElseParams) Check(time.Time, CheckOptions) error { return nil }

func parseIfElse(f fields) (*IfElseParams, *Error) {
	ifv, _ := f.get("if")
	cond, isObject, _ := splitObject(ifv)
	if !isObject {
		return nil, InvalidRequest(`Invalid ifelse request: no valid "if" field`)
	}
	p := &IfElseParams{}
	var err *Error
	if p.If.HeightAtLeast, err = optInt(cond, "height_at_least"); err != nil {
		return nil, err
	}
	if p.If.HeightBefore, err = optInt(cond, "height_before"); err != nil {
		return nil, err
	}
	if p.If.HFAtLeast, err = optVersion[[2]int](cond, "hf_at_least"); err != nil {
		return nil, err
	}
	if p.If.HFBefore, err = optVersion[[2]int](cond, "hf_before"); err != nil {
		return nil, err
	}
	if p.If.VAtLeast, err = optVersion[[3]int](cond, "v_at_least"); err != nil {
		return nil, err
	}
	if p.If.VBefore, err = optVersion[[3]int](cond, "v_before"); err != nil {
		return nil, err
	}
	c := p.If
	if c.HeightAtLeast == nil && c.HeightBefore == nil && c.HFAtLeast == nil && c.HFBefore == nil && c.VAtLeast == nil && c.VBefore == nil {
		return nil, InvalidRequest(`Invalid ifelse request: must specify at least one "if" condition`)
	}
	if p.Then, err = parseBranch(f, "then"); err != nil {
		return nil, err
	}
	if p.Else, err = parseBranch(f, "else"); err != nil {
		return nil, err
	}
	if p.Then == nil && p.Else == nil {
		return nil, InvalidRequest(`Invalid ifelse request: at least one of "then"/"else" required`)
	}
	return p, nil
}

// optInt reads an optional integer condition.
func optInt(f fields, name string) (*int64, *Error) {
	v, ok := f.get(name)
	if !ok {
		return nil, nil
	}
	n, isInt := jsonInt(v)
	if !isInt {
		return nil, InvalidRequest(`Invalid ifelse request: "` + name + `" must be an integer`)
	}
	return &n, nil
}

// optVersion reads an optional version list into an array of its size:
// missing elements are zero, extra ones ignored, an empty list is absent.
func optVersion[A [2]int | [3]int](f fields, name string) (*A, *Error) {
	v, ok := f.get(name)
	if !ok {
		return nil, nil
	}
	bad := InvalidRequest(`Invalid ifelse request: "` + name + `" must be a list of integers`)
	items, isArray := splitArray(v)
	if !isArray {
		return nil, bad
	}
	if len(items) == 0 {
		return nil, nil
	}
	var out A
	for i, it := range items {
		n, isInt := jsonInt(it)
		if !isInt || n < -1<<31 || n >= 1<<31 {
			return nil, bad
		}
		if i < len(out) {
			out[i] = int(n)
		}
	}
	return &out, nil
}

// parseBranch reads "then" or "else": nil when absent.
func parseBranch(f fields, key string) (Request, *Error) {
	raw, ok := f.get(key)
	if !ok {
		return nil, nil
	}
	sub, isObject, _ := splitObject(raw)
	if !isObject {
		return nil, InvalidRequest("Invalid ifelse request: " + key + " must be an object")
	}
	mv, _ := sub.get("method")
	name, isString := jsonString(mv)
	params, hasParams := sub.get("params")
	if !isString || !hasParams {
		return nil, InvalidRequest("Invalid ifelse request: " + key + " must have method/params keys")
	}
	canon, known := methods[name]
	if !known {
		// Session's text names the branch, not the method.
		return nil, InvalidRequest(`Invalid ifelse request method "` + key + `"`)
	}
	subFields, err := decodeFields(params)
	if err != nil {
		return nil, InvalidRequest("Invalid ifelse request: " + key + " must have method/params keys")
	}
	return parseParams(canon, subFields)
}

// MarshalJSON implements Request.
func (p *IfElseParams) MarshalJSON() ([]byte, error) {
	type branch struct {
		Method string  `json:"method"`
		Params Request `json:"params"`
	}
	cond := map[string]any{}
	c := p.If
	if c.HFAtLeast != nil {
		cond["hf_at_least"] = c.HFAtLeast
	}
	if c.HFBefore != nil {
		cond["hf_before"] = c.HFBefore
	}
	if c.VAtLeast != nil {
		cond["v_at_least"] = c.VAtLeast
	}
	if c.VBefore != nil {
		cond["v_before"] = c.VBefore
	}
	if c.HeightAtLeast != nil {
		cond["height_at_least"] = *c.HeightAtLeast
	}
	if c.HeightBefore != nil {
		cond["height_before"] = *c.HeightBefore
	}
	m := map[string]any{"if": cond}
	if p.Then != nil {
		m["then"] = branch{p.Then.Method(), p.Then}
	}
	if p.Else != nil {
		m["else"] = branch{p.Else.Method(), p.Else}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("storagerpc: encode ifelse: %w", err)
	}
	return b, nil
}

// IfElseResponse answers ifelse (always 200 once parsed): the node's hard
// fork, version and height, the condition's value and, when the branch
// taken has a subrequest, its result.
type IfElseResponse struct {
	HF        [2]int       `json:"hf"`
	V         [3]int       `json:"v"`
	Height    int64        `json:"height"`
	Condition bool         `json:"condition"`
	Result    *BatchResult `json:"result,omitempty"`
}

package storagerpc

import (
	"encoding/json"
	"time"
)

// The methods that carry other requests: batch and sequence.

// BatchParams are the params of batch and sequence: 1 to MaxBatchRequests
// subrequests, none of them batch or sequence. A batch may run them in any
// order; a sequence runs them in order and stops after the first result
// outside 2xx. Each subrequest carries its own authentication.
type BatchParams struct {
	Sequence bool
	Requests []Request
}

// Method implements Request.
func (p *BatchParams) Method() string {
	if p.Sequence {
		return MethodSequence
	}
	return MethodBatch
}

// Owner implements Request.
func (*BatchParams) Owner() (Account, bool) { return Account{}, false }

// Check implements Request: subrequests are checked one by one as they
// run, so this checks nothing.
func (*BatchParams) Check(time.Time, CheckOptions) error { return nil }

// metaMethods cannot appear inside a batch.
func isMeta(method string) bool {
	return method == MethodBatch || method == MethodSequence || method == MethodIfElse
}

func parseBatch(f fields, sequence bool) (*BatchParams, *Error) {
	reqs, _ := f.get("requests")
	items, isArray := splitArray(reqs)
	if !isArray || len(items) == 0 {
		return nil, InvalidRequest(`Invalid batch request: no valid "requests" field`)
	}
	if len(items) > MaxBatchRequests {
		return nil, InvalidRequest("Invalid batch request: subrequest limit exceeded")
	}
	p := &BatchParams{Sequence: sequence, Requests: make([]Request, 0, len(items))}
	for _, it := range items {
		if !isJSONObject(it) {
			return nil, InvalidRequest("Invalid batch request: requests must be objects")
		}
		sub, err := decodeFields(it)
		if err != nil {
			return nil, InvalidRequest("Invalid batch request: requests must be objects")
		}
		mv, _ := sub.get("method")
		name, ok := jsonString(mv)
		params, _ := sub.get("params")
		if !ok || !isJSONObject(params) {
			return nil, InvalidRequest("Invalid batch request: subrequests must have method/params keys")
		}
		if isMeta(name) {
			return nil, InvalidRequest("Invalid batch subrequest: subrequests may not contain meta-requests")
		}
		if _, known := methods[name]; !known {
			return nil, InvalidRequest(`Invalid batch subrequest: invalid method "` + name + `"`)
		}
		subFields, err := decodeFields(params)
		if err != nil {
			return nil, InvalidRequest("Invalid batch request: subrequests must have method/params keys")
		}
		req, perr := parseParams(methods[name], subFields)
		if perr != nil {
			return nil, perr
		}
		p.Requests = append(p.Requests, req)
	}
	return p, nil
}

// MarshalJSON implements Request.
func (p *BatchParams) MarshalJSON() ([]byte, error) {
	type sub struct {
		Method string  `json:"method"`
		Params Request `json:"params"`
	}
	subs := make([]sub, len(p.Requests))
	for i, r := range p.Requests {
		subs[i] = sub{r.Method(), r}
	}
	return json.Marshal(map[string]any{"requests": subs})
}

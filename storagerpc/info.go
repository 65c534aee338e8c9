package storagerpc

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The methods that read no account data: get_swarm, info and oxend_request.

// GetSwarmParams are the params of get_swarm (alias get_snodes_for_pubkey).
type GetSwarmParams struct{ Account Account }

// Method implements Request.
func (*GetSwarmParams) Method() string { return MethodGetSwarm }

// Owner implements Request; a node answers get_swarm for any account, so
// it must not apply its 421 rule to it.
func (p *GetSwarmParams) Owner() (Account, bool) { return p.Account, true }

// Check implements Request; get_swarm needs no authentication.
func (*GetSwarmParams) Check(time.Time, CheckOptions) error { return nil }

func parseGetSwarm(f fields) (*GetSwarmParams, *Error) {
	r := &reader{f: f}
	alt, pk, hasAlt, hasPk := r.readPubkeyAlias()
	pk, hasPk = r.choosePubkey(alt, pk, hasAlt, hasPk)
	r.require("pubkey", hasPk)
	if r.err != nil {
		return nil, r.err
	}
	a, err := ParseAccount(pk)
	if err != nil {
		return nil, InvalidRequest(fmt.Sprintf("Pubkey must be %d hex digits/%d bytes long", AccountHexSize, AccountSize))
	}
	return &GetSwarmParams{Account: a}, nil
}

// MarshalJSON implements Request.
func (p *GetSwarmParams) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"pubkey": p.Account.String()})
}

// ---- info ----

// InfoParams are the (empty) params of info; any params are ignored.
type InfoParams struct{}

// Method implements Request.
func (*InfoParams) Method() string { return MethodInfo }

// Owner implements Request.
func (*InfoParams) Owner() (Account, bool) { return Account{}, false }

// Check implements Request; info needs no authentication.
func (*InfoParams) Check(time.Time, CheckOptions) error { return nil }

// MarshalJSON implements Request.
func (*InfoParams) MarshalJSON() ([]byte, error) { return []byte("{}"), nil }

// OxendRequestParams are the params of oxend_request.
type OxendRequestParams struct {
	// Endpoint is OxendGetServiceNodes, OxendONSResolve,
	// OxendNodeListProof, OxendFileServers or OxendCommunities.
	Endpoint string
	// Params is the JSON passed to the endpoint; nil when absent.
	Params json.RawMessage
}

// Method implements Request.
func (*OxendRequestParams) Method() string { return MethodOxendRequest }

// Owner implements Request.
func (*OxendRequestParams) Owner() (Account, bool) { return Account{}, false }

// Check implements Request; oxend_request needs no authentication.
func (*OxendRequestParams) Check(time.Time, CheckOptions) error { return nil }

func parseOxendRequest(f fields) (*OxendRequestParams, *Error) {
	r := &reader{f: f}
	ep, has := r.str("endpoint")
	r.require("endpoint", has)
	if r.err != nil {
		return nil, r.err
	}
	if ep != OxendGetServiceNodes && ep != OxendONSResolve && ep != OxendNodeListProof && ep != OxendFileServers && ep != OxendCommunities {
		return nil, InvalidRequest(fmt.Sprintf("Invalid oxend endpoint '%s'", ep))
	}
	p := &OxendRequestParams{Endpoint: ep}
	if v := f.raw("params"); v != nil {
		p.Params = slices.Clone(v)
	}
	return p, nil
}

// MarshalJSON implements Request.
func (p *OxendRequestParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{"endpoint": p.Endpoint}
	if p.Params != nil {
		m["params"] = p.Params
	}
	return json.Marshal(m)
}

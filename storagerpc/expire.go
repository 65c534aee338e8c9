package storagerpc

import (
	"encoding/json"
	"time"
)

// The expiry methods: expire and get_expiries.

// ExpireParams are the params of expire.
type ExpireParams struct {
	Account  Account
	Messages []string
	// Expiries holds one expiry for all messages, or one per message.
	Expiries []int64
	Mode     ExpireMode
	Auth     Auth
}

// Method implements Request.
func (*ExpireParams) Method() string { return MethodExpire }

// Owner implements Request.
func (p *ExpireParams) Owner() (Account, bool) { return p.Account, true }

// SigMessage is what the client signs.
func (p *ExpireParams) SigMessage() []byte {
	return ExpireSigMessage(p.Mode, p.Expiries, p.Messages)
}

// ExtendOnly reports whether expiries may only grow: in extend mode, or
// for a subaccount without delete permission (which Check refuses in
// shorten mode).
func (p *ExpireParams) ExtendOnly() bool {
	if p.Mode == ExpireExtend {
		return true
	}
	sub := p.Auth.Subaccount
	return sub != nil && !sub.Token.Has(SubaccountDelete)
}

// AppliedExpiries returns the expiries a node applies: each requested
// expiry capped at now + MaxTTLPrivate. The signed request keeps the
// requested values.
func (p *ExpireParams) AppliedExpiries(now time.Time) []int64 {
	limit := now.UnixMilli() + MaxTTLPrivate.Milliseconds()
	out := make([]int64, len(p.Expiries))
	for i, e := range p.Expiries {
		out[i] = min(e, limit)
	}
	return out
}

func parseExpire(f fields) (*ExpireParams, *Error) {
	r := &reader{f: f}
	var a rawAuth
	exps, hasExps := r.timestamps("expiry")
	extend := r.boolean("extend")
	msgs, hasMsgs := r.strings("messages")
	pk, hasPk := r.str("pubkey")
	r.readPkEd(&a)
	shorten := r.boolean("shorten")
	r.readSig(&a)
	r.readSub(&a)

	p := &ExpireParams{Messages: msgs, Expiries: exps}
	p.Account, p.Auth = r.loadSignedAccount(pk, hasPk, a)
	r.loadSubaccount(a, &p.Auth)
	r.require("expiry", hasExps)
	if r.err == nil && len(exps) == 0 {
		r.fail(InvalidRequest("'expiry' does not contain any expiration timestamps"))
	}
	if r.err == nil && shorten && extend {
		r.fail(InvalidRequest("cannot specify both 'shorten' and 'extend'"))
	}
	switch {
	case shorten:
		p.Mode = ExpireShorten
	case extend:
		p.Mode = ExpireExtend
	}
	r.nonEmptyMessages(msgs, hasMsgs)
	if r.err == nil && len(exps) > 1 && len(exps) != len(msgs) {
		r.fail(InvalidRequest("'expiry' must be a single expiry, or the same length as 'messages'"))
	}
	r.checkHashes(msgs)
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// Check implements Request: no expiry older than FutureTolerance (401, as
// Session), valid signature with write permission (401), and a subaccount
// without delete permission may not shorten (400).
func (p *ExpireParams) Check(now time.Time, opt CheckOptions) error {
	oldest := now.UnixMilli() - FutureTolerance.Milliseconds()
	for _, e := range p.Expiries {
		if e < oldest {
			return Unauthorized("expire: timestamp should be >= current time")
		}
	}
	if opt.verify(p.Account, p.Auth, p.SigMessage(), SubaccountWrite, false) != nil {
		return Unauthorized("expire: signature verification failed")
	}
	if sub := p.Auth.Subaccount; sub != nil && !sub.Token.Has(SubaccountDelete) && p.Mode == ExpireShorten {
		return BadRequest("expire: shorten parameter cannot be used with this subaccount token (missing delete access)")
	}
	return nil
}

// MarshalJSON implements Request.
func (p *ExpireParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{"pubkey": p.Account.String(), "messages": nonNil(p.Messages)}
	if len(p.Expiries) == 1 {
		m["expiry"] = p.Expiries[0]
	} else {
		m["expiry"] = nonNil(p.Expiries)
	}
	switch p.Mode {
	case ExpireShorten:
		m["shorten"] = true
	case ExpireExtend:
		m["extend"] = true
	}
	authJSON(m, p.Auth)
	return json.Marshal(m)
}

// ---- get_expiries ----

// GetExpiriesParams are the params of get_expiries.
type GetExpiriesParams struct {
	Account   Account
	Messages  []string
	Timestamp int64
	Auth      Auth
}

// Method implements Request.
func (*GetExpiriesParams) Method() string { return MethodGetExpiries }

// Owner implements Request.
func (p *GetExpiriesParams) Owner() (Account, bool) { return p.Account, true }

// SigMessage is what the client signs.
func (p *GetExpiriesParams) SigMessage() []byte {
	return GetExpiriesSigMessage(p.Timestamp, p.Messages)
}

func parseGetExpiries(f fields) (*GetExpiriesParams, *Error) {
	r := &reader{f: f}
	var a rawAuth
	msgs, hasMsgs := r.strings("messages")
	pk, hasPk := r.str("pubkey")
	r.readPkEd(&a)
	r.readSig(&a)
	r.readSub(&a)
	ts, hasTS := r.timestamp("timestamp")

	p := &GetExpiriesParams{Messages: msgs, Timestamp: ts}
	p.Account, p.Auth = r.loadSignedAccount(pk, hasPk, a)
	r.loadSubaccount(a, &p.Auth)
	r.require("timestamp", hasTS)
	r.nonEmptyMessages(msgs, hasMsgs)
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// Check implements Request: timestamp within SignatureTolerance (406),
// valid signature with read permission (401).
func (p *GetExpiriesParams) Check(now time.Time, opt CheckOptions) error {
	if err := CheckTimestamp(MethodGetExpiries, p.Timestamp, now, SignatureTolerance); err != nil {
		return err
	}
	if opt.verify(p.Account, p.Auth, p.SigMessage(), SubaccountRead, false) != nil {
		return Unauthorized("get_expiries signature verification failed")
	}
	return nil
}

// MarshalJSON implements Request.
func (p *GetExpiriesParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{"pubkey": p.Account.String(), "messages": nonNil(p.Messages), "timestamp": p.Timestamp}
	authJSON(m, p.Auth)
	return json.Marshal(m)
}

package storagerpc

import (
	"encoding/json"
	"fmt"
	"time"
)

// The subaccount methods: revoke_subaccount and unrevoke_subaccount.

// RevokeSubaccountParams are the params of revoke_subaccount. Only the
// account key may sign it (no subaccount).
type RevokeSubaccountParams struct {
	Account   Account
	Tokens    []SubaccountToken
	Timestamp int64
	Auth      Auth
}

// UnrevokeSubaccountParams are the params of unrevoke_subaccount.
type UnrevokeSubaccountParams struct {
	Account   Account
	Tokens    []SubaccountToken
	Timestamp int64
	Auth      Auth
}

// Method implements Request.
func (*RevokeSubaccountParams) Method() string { return MethodRevokeSubaccount }

// Method implements Request.
func (*UnrevokeSubaccountParams) Method() string { return MethodUnrevokeSubaccount }

// Owner implements Request.
func (p *RevokeSubaccountParams) Owner() (Account, bool) { return p.Account, true }

// Owner implements Request.
func (p *UnrevokeSubaccountParams) Owner() (Account, bool) { return p.Account, true }

// SigMessage is what the account signs.
func (p *RevokeSubaccountParams) SigMessage() []byte {
	return RevokeSubaccountSigMessage(p.Timestamp, p.Tokens)
}

// SigMessage is what the account signs.
func (p *UnrevokeSubaccountParams) SigMessage() []byte {
	return UnrevokeSubaccountSigMessage(p.Timestamp, p.Tokens)
}

// parseRevoke reads revoke_subaccount (field "revoke") or
// unrevoke_subaccount (field "unrevoke"); their field orders differ
// because "unrevoke" sorts last.
func parseRevoke(f fields, unrevoke bool) (Request, *Error) {
	r := &reader{f: f}
	var a rawAuth
	field, what := "revoke", "revoke"
	if unrevoke {
		field, what = "unrevoke", "unrevoke"
	}
	pk, hasPk := r.str("pubkey")
	r.readPkEd(&a)
	var toks []string
	var hasToks bool
	if !unrevoke {
		toks, hasToks = r.strings(field)
	}
	r.readSig(&a)
	ts, hasTS := r.timestamp("timestamp")
	if unrevoke {
		toks, hasToks = r.strings(field)
	}

	acct, auth := r.loadSignedAccount(pk, hasPk, a)
	if unrevoke {
		r.require("timestamp", hasTS)
	}
	r.require(field, hasToks)
	if r.err == nil && !unrevoke && len(toks) > MaxSubaccountTokens {
		r.fail(InvalidRequest(fmt.Sprintf("invalid revoke: cannot revoke more than %d subaccounts at once", MaxSubaccountTokens)))
	}
	var tokens []SubaccountToken
	for _, s := range toks {
		if r.err != nil {
			break
		}
		t, err := ParseSubaccountToken(s)
		if err != nil {
			r.fail(InvalidRequest(fmt.Sprintf("invalid %s: expected base64 or hex-encoded subaccount tag", what)))
			break
		}
		tokens = append(tokens, t)
	}
	if !unrevoke {
		r.require("timestamp", hasTS)
	}
	if r.err != nil {
		return nil, r.err
	}
	if unrevoke {
		return &UnrevokeSubaccountParams{Account: acct, Tokens: tokens, Timestamp: ts, Auth: auth}, nil
	}
	return &RevokeSubaccountParams{Account: acct, Tokens: tokens, Timestamp: ts, Auth: auth}, nil
}

// checkRevocation is the Check of both revocation methods: timestamp
// within SignatureTolerance (406), signature by the account itself (401).
func checkRevocation(method string, acct Account, auth Auth, msg []byte, ts int64, now time.Time, opt CheckOptions) error {
	if err := CheckTimestamp(method, ts, now, SignatureTolerance); err != nil {
		return err
	}
	auth.Subaccount = nil // never accepted here
	if opt.verify(acct, auth, msg, 0, true) != nil {
		return Unauthorized(method + " signature verification failed")
	}
	return nil
}

// Check implements Request.
func (p *RevokeSubaccountParams) Check(now time.Time, opt CheckOptions) error {
	return checkRevocation(MethodRevokeSubaccount, p.Account, p.Auth, p.SigMessage(), p.Timestamp, now, opt)
}

// Check implements Request.
func (p *UnrevokeSubaccountParams) Check(now time.Time, opt CheckOptions) error {
	return checkRevocation(MethodUnrevokeSubaccount, p.Account, p.Auth, p.SigMessage(), p.Timestamp, now, opt)
}

func revocationJSON(field string, acct Account, tokens []SubaccountToken, ts int64, auth Auth) ([]byte, error) {
	toks := make([]string, len(tokens))
	for i, t := range tokens {
		toks[i] = t.String()
	}
	m := map[string]any{"pubkey": acct.String(), field: toks, "timestamp": ts}
	auth.Subaccount = nil
	authJSON(m, auth)
	return json.Marshal(m)
}

// MarshalJSON implements Request.
func (p *RevokeSubaccountParams) MarshalJSON() ([]byte, error) {
	return revocationJSON("revoke", p.Account, p.Tokens, p.Timestamp, p.Auth)
}

// MarshalJSON implements Request.
func (p *UnrevokeSubaccountParams) MarshalJSON() ([]byte, error) {
	return revocationJSON("unrevoke", p.Account, p.Tokens, p.Timestamp, p.Auth)
}

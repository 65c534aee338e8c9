package storagerpc

import (
	"encoding/json"
	"time"
)

// The deleting methods: delete, delete_all, delete_before and expire_all.

// DeleteParams are the params of delete.
type DeleteParams struct {
	Account  Account
	Messages []string
	// Required asks for 404 unless some swarm member deleted something.
	Required bool
	Auth     Auth
}

// Method implements Request.
func (*DeleteParams) Method() string { return MethodDelete }

// Owner implements Request.
func (p *DeleteParams) Owner() (Account, bool) { return p.Account, true }

// SigMessage is what the client signs.
func (p *DeleteParams) SigMessage() []byte { return DeleteSigMessage(p.Messages) }

func parseDelete(f fields) (*DeleteParams, *Error) {
	r := &reader{f: f}
	var a rawAuth
	msgs, hasMsgs := r.strings("messages")
	pk, hasPk := r.str("pubkey")
	r.readPkEd(&a)
	required := r.boolean("required")
	r.readSig(&a)
	r.readSub(&a)

	p := &DeleteParams{Messages: msgs, Required: required}
	p.Account, p.Auth = r.loadSignedAccount(pk, hasPk, a)
	r.loadSubaccount(a, &p.Auth)
	r.nonEmptyMessages(msgs, hasMsgs)
	r.checkHashes(msgs)
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// Check implements Request: a valid signature with delete permission
// (401). Delete carries no timestamp.
func (p *DeleteParams) Check(_ time.Time, opt CheckOptions) error {
	if opt.verify(p.Account, p.Auth, p.SigMessage(), SubaccountDelete, false) != nil {
		return Unauthorized("delete_msgs signature verification failed")
	}
	return nil
}

// MarshalJSON implements Request.
func (p *DeleteParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{"pubkey": p.Account.String(), "messages": nonNil(p.Messages)}
	if p.Required {
		m["required"] = true
	}
	authJSON(m, p.Auth)
	return json.Marshal(m)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ---- delete_all, delete_before, expire_all ----

// DeleteAllParams are the params of delete_all.
type DeleteAllParams struct {
	Account   Account
	Namespace NamespaceSel
	Timestamp int64
	Auth      Auth
}

// Method implements Request.
func (*DeleteAllParams) Method() string { return MethodDeleteAll }

// Owner implements Request.
func (p *DeleteAllParams) Owner() (Account, bool) { return p.Account, true }

// SigMessage is what the client signs.
func (p *DeleteAllParams) SigMessage() []byte { return DeleteAllSigMessage(p.Namespace, p.Timestamp) }

// readNamespacedSigned reads the fields shared by delete_all,
// delete_before and expire_all: the time field (named tf, read at its
// alphabetical place: "before" and "expiry" sort before "namespace",
// "timestamp" after everything).
func readNamespacedSigned(f fields, tf string) (acct Account, sel NamespaceSel, t int64, auth Auth, err *Error) {
	r := &reader{f: f}
	var a rawAuth
	var hasT bool
	if tf != "timestamp" {
		t, hasT = r.timestamp(tf)
	}
	sel = r.namespaceSel("namespace")
	pk, hasPk := r.str("pubkey")
	r.readPkEd(&a)
	r.readSig(&a)
	r.readSub(&a)
	if tf == "timestamp" {
		t, hasT = r.timestamp(tf)
	}
	acct, auth = r.loadSignedAccount(pk, hasPk, a)
	r.loadSubaccount(a, &auth)
	r.require(tf, hasT)
	return acct, sel, t, auth, r.err
}

func parseDeleteAll(f fields) (*DeleteAllParams, *Error) {
	acct, sel, ts, auth, err := readNamespacedSigned(f, "timestamp")
	if err != nil {
		return nil, err
	}
	return &DeleteAllParams{Account: acct, Namespace: sel, Timestamp: ts, Auth: auth}, nil
}

// Check implements Request: timestamp within SignatureTolerance (70 s when
// forwarded; 406), valid signature with delete permission (401).
func (p *DeleteAllParams) Check(now time.Time, opt CheckOptions) error {
	tol := SignatureTolerance
	if opt.Forwarded {
		tol = SignatureToleranceForwarded
	}
	if err := CheckTimestamp(MethodDeleteAll, p.Timestamp, now, tol); err != nil {
		return err
	}
	if opt.verify(p.Account, p.Auth, p.SigMessage(), SubaccountDelete, false) != nil {
		return Unauthorized("delete_all signature verification failed")
	}
	return nil
}

// MarshalJSON implements Request.
func (p *DeleteAllParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{"pubkey": p.Account.String(), "namespace": p.Namespace, "timestamp": p.Timestamp}
	authJSON(m, p.Auth)
	return json.Marshal(m)
}

// DeleteBeforeParams are the params of delete_before.
type DeleteBeforeParams struct {
	Account   Account
	Namespace NamespaceSel
	// Before: messages with timestamp <= Before are deleted.
	Before int64
	Auth   Auth
}

// Method implements Request.
func (*DeleteBeforeParams) Method() string { return MethodDeleteBefore }

// Owner implements Request.
func (p *DeleteBeforeParams) Owner() (Account, bool) { return p.Account, true }

// SigMessage is what the client signs.
func (p *DeleteBeforeParams) SigMessage() []byte {
	return DeleteBeforeSigMessage(p.Namespace, p.Before)
}

func parseDeleteBefore(f fields) (*DeleteBeforeParams, *Error) {
	acct, sel, before, auth, err := readNamespacedSigned(f, "before")
	if err != nil {
		return nil, err
	}
	return &DeleteBeforeParams{Account: acct, Namespace: sel, Before: before, Auth: auth}, nil
}

// Check implements Request: before at most FutureTolerance ahead (401, as
// Session), valid signature with delete permission (401).
func (p *DeleteBeforeParams) Check(now time.Time, opt CheckOptions) error {
	if p.Before > now.UnixMilli()+FutureTolerance.Milliseconds() {
		return Unauthorized("delete_before timestamp too far in the future")
	}
	if opt.verify(p.Account, p.Auth, p.SigMessage(), SubaccountDelete, false) != nil {
		return Unauthorized("delete_before signature verification failed")
	}
	return nil
}

// MarshalJSON implements Request.
func (p *DeleteBeforeParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{"pubkey": p.Account.String(), "namespace": p.Namespace, "before": p.Before}
	authJSON(m, p.Auth)
	return json.Marshal(m)
}

// ExpireAllParams are the params of expire_all (which only shortens).
type ExpireAllParams struct {
	Account   Account
	Namespace NamespaceSel
	Expiry    int64
	Auth      Auth
}

// Method implements Request.
func (*ExpireAllParams) Method() string { return MethodExpireAll }

// Owner implements Request.
func (p *ExpireAllParams) Owner() (Account, bool) { return p.Account, true }

// SigMessage is what the client signs.
func (p *ExpireAllParams) SigMessage() []byte { return ExpireAllSigMessage(p.Namespace, p.Expiry) }

func parseExpireAll(f fields) (*ExpireAllParams, *Error) {
	acct, sel, exp, auth, err := readNamespacedSigned(f, "expiry")
	if err != nil {
		return nil, err
	}
	return &ExpireAllParams{Account: acct, Namespace: sel, Expiry: exp, Auth: auth}, nil
}

// Check implements Request: expiry not older than SignatureTolerance (70 s
// when forwarded; 406), valid signature with delete permission (401).
func (p *ExpireAllParams) Check(now time.Time, opt CheckOptions) error {
	tol := SignatureTolerance
	if opt.Forwarded {
		tol = SignatureToleranceForwarded
	}
	if p.Expiry < now.UnixMilli()-tol.Milliseconds() {
		return NotAcceptable("expire_all timestamp should be >= current time")
	}
	if opt.verify(p.Account, p.Auth, p.SigMessage(), SubaccountDelete, false) != nil {
		return Unauthorized("expire_all signature verification failed")
	}
	return nil
}

// MarshalJSON implements Request.
func (p *ExpireAllParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{"pubkey": p.Account.String(), "namespace": p.Namespace, "expiry": p.Expiry}
	authJSON(m, p.Auth)
	return json.Marshal(m)
}

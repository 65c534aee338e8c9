package storagerpc

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"sotto.dev/key"
)

// Request is the parsed params of one method. Every method's params type
// (*StoreParams, *RetrieveParams, ...) implements it.
type Request interface {
	// Method is the canonical method name (aliases resolved).
	Method() string
	// Owner is the account the request acts on; false for info,
	// oxend_request, batch, sequence and ifelse.
	Owner() (Account, bool)
	// Check applies Session's time, TTL and authentication rules for the
	// method at time now, in Session's order, returning an *Error with
	// Session's status and text. It does not check the swarm (a node
	// answers 421 before calling Check), nor anything that needs stored
	// data. For batch and sequence it checks nothing: each subrequest is
	// checked when it runs, and its failure becomes its own result.
	Check(now time.Time, opt CheckOptions) error
	// MarshalJSON encodes the params as a client sends them.
	MarshalJSON() ([]byte, error)
}

// CheckOptions are what Check needs from the node.
type CheckOptions struct {
	// Forwarded is set for a copy forwarded by another swarm member; some
	// methods then allow a wider clock window.
	Forwarded bool
	// Revoked reports whether a subaccount token of an account has been
	// revoked. Nil means no token is revoked.
	Revoked func(acct Account, token SubaccountToken) bool
	// Keys, if set, caches the X25519 images of the pubkey_ed25519 keys of
	// 05 accounts that authenticated (a node keeps one for its lifetime).
	Keys *KeyCache
	// Grants, if set, caches the subaccount grants that verified (a node
	// keeps one for its lifetime).
	Grants *GrantCache
	// Sigs, if set, checks the signatures of concurrent requests in
	// batches and keeps the decoded keys of those that verified (a node
	// keeps one for its lifetime).
	Sigs *SigBatcher
}

// verify is VerifyAuth with the options' conversion and revocation list.
func (o CheckOptions) verify(acct Account, auth Auth, msg []byte, need SubaccountFlags, skipRevoked bool) error {
	revoked := o.revokedFor(acct)
	if skipRevoked {
		revoked = nil
	}
	return verifyAuth(acct, auth, msg, need, revoked, authCaches{keys: o.Keys, grants: o.Grants, sigs: o.Sigs})
}

func (o CheckOptions) revokedFor(acct Account) func(SubaccountToken) bool {
	if o.Revoked == nil {
		return nil
	}
	return func(t SubaccountToken) bool { return o.Revoked(acct, t) }
}

// methods maps every accepted method name, including aliases, to its
// canonical name.
var methods = map[string]string{
	MethodStore:              MethodStore,
	MethodRetrieve:           MethodRetrieve,
	MethodDelete:             MethodDelete,
	MethodDeleteAll:          MethodDeleteAll,
	MethodDeleteBefore:       MethodDeleteBefore,
	MethodExpire:             MethodExpire,
	MethodExpireAll:          MethodExpireAll,
	MethodGetExpiries:        MethodGetExpiries,
	MethodGetSwarm:           MethodGetSwarm,
	MethodGetSnodesForPubkey: MethodGetSwarm,
	MethodInfo:               MethodInfo,
	MethodRevokeSubaccount:   MethodRevokeSubaccount,
	MethodUnrevokeSubaccount: MethodUnrevokeSubaccount,
	MethodBatch:              MethodBatch,
	MethodSequence:           MethodSequence,
	MethodIfElse:             MethodIfElse,
	MethodOxendRequest:       MethodOxendRequest,
}

// CanonicalMethod resolves a method name or alias; false if unknown.
func CanonicalMethod(name string) (string, bool) {
	m, ok := methods[name]
	return m, ok
}

// DecodeRequest splits a /storage_rpc/v1 body {"method": ..., "params":
// {...}} into the canonical method name and the raw params object, with
// Session's statuses and texts (request_handler.cpp process_client_req):
// 413 for a body over MaxRequestBody, 400 "invalid json", 400 "invalid
// json: no `method` field", 400 "invalid json: no `params` field", 400 "no
// method NAME" for an unknown method. Keys are matched exactly. params is
// a slice of body.
func DecodeRequest(body []byte) (method string, params json.RawMessage, err error) {
	if len(body) > MaxRequestBody {
		return "", nil, PayloadTooLarge()
	}
	top, isObject, valid := splitObject(body)
	if !valid {
		return "", nil, BadRequest("invalid json")
	}
	if !isObject {
		return "", nil, BadRequest("invalid json: no `method` field")
	}
	mv, _ := top.get("method")
	name, ok := jsonString(mv)
	if !ok {
		return "", nil, BadRequest("invalid json: no `method` field")
	}
	params, _ = top.get("params")
	if !isJSONObject(params) {
		return "", nil, BadRequest("invalid json: no `params` field")
	}
	canon, ok := methods[name]
	if !ok {
		return "", nil, BadRequest("no method " + name)
	}
	return canon, params, nil
}

// ParamsMember returns the raw JSON value of member name of a params
// object (matched exactly, the last one if repeated), for extensions the
// codec does not parse, such as Sotto's wait_ms; false when params is not
// an object or has no such member.
func ParamsMember(params json.RawMessage, name string) (json.RawMessage, bool) {
	f, isObject, _ := splitObject(params)
	v, ok := f.get(name)
	return v, isObject && ok
}

// ParseParams parses the params of method (a name or alias) into its
// typed Request. Failures are 400 *Error "invalid request: ..." with
// Session's texts.
func ParseParams(method string, params json.RawMessage) (Request, error) {
	canon, ok := methods[method]
	if !ok {
		return nil, BadRequest("no method " + method)
	}
	f, err := decodeFields(params)
	if err != nil {
		return nil, BadRequest("invalid json: no `params` field")
	}
	req, perr := parseParams(canon, f)
	if perr != nil {
		return nil, perr
	}
	return req, nil
}

// parseParams dispatches on a canonical method name.
func parseParams(canon string, f fields) (Request, *Error) {
	switch canon {
	case MethodStore:
		return nilOr(parseStore(f))
	case MethodRetrieve:
		return nilOr(parseRetrieve(f))
	case MethodDelete:
		return nilOr(parseDelete(f))
	case MethodDeleteAll:
		return nilOr(parseDeleteAll(f))
	case MethodDeleteBefore:
		return nilOr(parseDeleteBefore(f))
	case MethodExpire:
		return nilOr(parseExpire(f))
	case MethodExpireAll:
		return nilOr(parseExpireAll(f))
	case MethodGetExpiries:
		return nilOr(parseGetExpiries(f))
	case MethodGetSwarm:
		return nilOr(parseGetSwarm(f))
	case MethodInfo:
		return &InfoParams{}, nil
	case MethodRevokeSubaccount:
		return parseRevoke(f, false)
	case MethodUnrevokeSubaccount:
		return parseRevoke(f, true)
	case MethodBatch, MethodSequence:
		return nilOr(parseBatch(f, canon == MethodSequence))
	case MethodOxendRequest:
		return nilOr(parseOxendRequest(f))
	case MethodIfElse:
		return nilOr(parseIfElse(f))
	}
	return nil, BadRequest("no method " + canon)
}

// nilOr turns a typed parser result into a Request without wrapping a nil
// pointer in a non-nil interface.
func nilOr[T Request](req T, err *Error) (Request, *Error) {
	if err != nil {
		return nil, err
	}
	return req, nil
}

// EncodeRequest returns the /storage_rpc/v1 body for req.
func EncodeRequest(req Request) ([]byte, error) {
	p, err := req.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}{req.Method(), p})
}

// reader reads fields in Session's order and keeps the first error.
type reader struct {
	f   fields
	err *Error
}

func (r *reader) fail(e *Error) {
	if r.err == nil {
		r.err = e
	}
}

func (r *reader) str(name string) (string, bool) {
	if r.err != nil {
		return "", false
	}
	s, ok, err := r.f.str(name)
	r.err = err
	return s, ok
}

func (r *reader) boolean(name string) bool {
	if r.err != nil {
		return false
	}
	b, _, err := r.f.boolean(name)
	r.err = err
	return b
}

func (r *reader) integer(name string) int64 {
	if r.err != nil {
		return 0
	}
	n, _, err := r.f.integer(name)
	r.err = err
	return n
}

func (r *reader) timestamp(name string) (int64, bool) {
	if r.err != nil {
		return 0, false
	}
	n, ok, err := r.f.timestamp(name)
	r.err = err
	return n, ok
}

func (r *reader) stringified(name string, unsigned bool) (int64, bool) {
	if r.err != nil {
		return 0, false
	}
	n, ok, err := r.f.stringified(name, unsigned)
	r.err = err
	return n, ok
}

func (r *reader) namespace(name string) (Namespace, bool) {
	if r.err != nil {
		return 0, false
	}
	ns, ok, err := r.f.namespace(name)
	r.err = err
	return ns, ok
}

func (r *reader) namespaceSel(name string) NamespaceSel {
	if r.err != nil {
		return NamespaceSel{}
	}
	s, _, err := r.f.namespaceSel(name)
	r.err = err
	return s
}

func (r *reader) strings(name string) ([]string, bool) {
	if r.err != nil {
		return nil, false
	}
	s, ok, err := r.f.strings(name)
	r.err = err
	return s, ok
}

func (r *reader) timestamps(name string) ([]int64, bool) {
	if r.err != nil {
		return nil, false
	}
	s, ok, err := r.f.timestamps(name)
	r.err = err
	return s, ok
}

// rawAuth is the authentication fields as read, before validation.
type rawAuth struct {
	pkEd, sig, sub, subSig             string
	hasPkEd, hasSig, hasSub, hasSubSig bool
}

// readPubkeyAlias reads "pubKey" and "pubkey" (alphabetical order).
func (r *reader) readPubkeyAlias() (alt, pk string, hasAlt, hasPk bool) {
	alt, hasAlt = r.str("pubKey")
	pk, hasPk = r.str("pubkey")
	return
}

// choosePubkey applies require_exactly_one_of("pubkey", "pubKey").
func (r *reader) choosePubkey(alt, pk string, hasAlt, hasPk bool) (string, bool) {
	if r.err != nil {
		return "", false
	}
	switch {
	case hasPk && hasAlt:
		r.fail(InvalidRequest("Cannot specify both 'pubkey' and 'pubKey'"))
		return "", false
	case hasPk:
		return pk, true
	case hasAlt:
		return alt, true
	}
	return "", false
}

// loadAccount is Session's load_pk.
func (r *reader) loadAccount(pk string, has bool) Account {
	if r.err != nil {
		return Account{}
	}
	if !has {
		r.fail(missing("pubkey"))
		return Account{}
	}
	a, err := ParseAccount(pk)
	if err != nil {
		r.fail(InvalidRequest(fmt.Sprintf("Pubkey must be %d hex digits (%d bytes) long", AccountHexSize, AccountSize)))
	}
	return a
}

// parseSignature checks a base64 Ed25519 signature: 86 characters, or 88
// ending in "==".
func parseSignature(s string) (*Signature, bool) {
	if !(len(s) == 86 || (len(s) == 88 && s[86:] == "==")) || !isBase64(s) {
		return nil, false
	}
	var sig Signature
	if !decodeBase64Into(sig[:], s) {
		return nil, false
	}
	return &sig, true
}

// loadSignedAccount is Session's load_pk_signature: the account, a
// required signature, and pubkey_ed25519 (05 accounts only; 64 hex digits
// or 32 raw bytes).
func (r *reader) loadSignedAccount(pk string, hasPk bool, a rawAuth) (Account, Auth) {
	acct := r.loadAccount(pk, hasPk)
	if r.err != nil {
		return Account{}, Auth{}
	}
	if !a.hasSig {
		r.fail(missing("signature"))
		return Account{}, Auth{}
	}
	var auth Auth
	if a.hasPkEd {
		if acct.prefix != key.PrefixStandard {
			r.fail(InvalidRequest("pubkey_ed25519 is only permitted for 05[...] pubkeys"))
			return Account{}, Auth{}
		}
		var ed key.AccountPublic
		switch len(a.pkEd) {
		case 64:
			if !decodeHexInto(ed[:], a.pkEd) {
				r.fail(InvalidRequest("invalid pubkey_ed25519: value is not hex"))
				return Account{}, Auth{}
			}
		case 32:
			copy(ed[:], a.pkEd)
		default:
			r.fail(InvalidRequest("Invalid pubkey_ed25519: expected 64 hex char or 32 byte pubkey"))
			return Account{}, Auth{}
		}
		auth.PubkeyEd25519 = &ed
	}
	sig, ok := parseSignature(a.sig)
	if !ok {
		r.fail(InvalidRequest("invalid signature: expected base64 encoded Ed25519 signature"))
		return Account{}, Auth{}
	}
	auth.Signature = sig
	return acct, auth
}

// loadSubaccount is Session's load_subaccount: an empty or absent
// subaccount means none.
func (r *reader) loadSubaccount(a rawAuth, auth *Auth) {
	if r.err != nil || !a.hasSub || a.sub == "" {
		return
	}
	if !a.hasSubSig {
		r.fail(InvalidRequest("invalid subaccount: subaccount_sig is required when using subaccount"))
		return
	}
	tok, err := ParseSubaccountToken(a.sub)
	if err != nil {
		r.fail(InvalidRequest("invalid subaccount: expected base64 or hex-encoded subaccount token"))
		return
	}
	sig, ok := parseSignature(a.subSig)
	if !ok {
		r.fail(InvalidRequest("invalid subaccount signature: expected base64 encoded Ed25519 signature"))
		return
	}
	auth.Subaccount = &SignedSubaccount{Token: tok, Sig: *sig}
}

func (r *reader) readPkEd(a *rawAuth) { a.pkEd, a.hasPkEd = r.str("pubkey_ed25519") }
func (r *reader) readSig(a *rawAuth)  { a.sig, a.hasSig = r.str("signature") }
func (r *reader) readSub(a *rawAuth) {
	a.sub, a.hasSub = r.str("subaccount")
	a.subSig, a.hasSubSig = r.str("subaccount_sig")
}

func (r *reader) require(name string, has bool) {
	if r.err == nil && !has {
		r.fail(missing(name))
	}
}

// checkHashes validates message hashes (delete, expire).
func (r *reader) checkHashes(hashes []string) {
	if r.err != nil {
		return
	}
	for _, h := range hashes {
		if !ValidMessageHash(h) {
			r.fail(InvalidRequest("invalid message hash: " + h))
			return
		}
	}
}

func (r *reader) nonEmptyMessages(msgs []string, has bool) {
	r.require("messages", has)
	if r.err == nil && len(msgs) == 0 {
		r.fail(InvalidRequest("messages does not contain any message hashes"))
	}
}

// addMillis returns a+b saturating at the int64 bounds.
func addMillis(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	if b < 0 && a < math.MinInt64-b {
		return math.MinInt64
	}
	return a + b
}

// subMillis returns a-b saturating at the int64 bounds.
func subMillis(a, b int64) int64 {
	if b == math.MinInt64 {
		if a >= 0 {
			return math.MaxInt64
		}
		return a - b
	}
	return addMillis(a, -b)
}

// authJSON adds the authentication fields of a to m, as clients send them.
func authJSON(m map[string]any, a Auth) {
	if a.Signature != nil {
		m["signature"] = b64(a.Signature[:])
	}
	if a.PubkeyEd25519 != nil {
		m["pubkey_ed25519"] = fmt.Sprintf("%x", a.PubkeyEd25519[:])
	}
	if a.Subaccount != nil {
		m["subaccount"] = a.Subaccount.Token.String()
		m["subaccount_sig"] = b64(a.Subaccount.Sig[:])
	}
}

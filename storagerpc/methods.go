package storagerpc

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// The params of each method, its parser (field order and texts from
// Session's client_rpc_endpoints.cpp load(...)), and its Check (order and
// texts from request_handler.cpp process_client_req(...)).

// ---- store ----

// StoreParams are the params of store.
type StoreParams struct {
	Account   Account
	Namespace Namespace
	// Timestamp is the message time (ms); Expiry the expiry (ms), given
	// directly or as timestamp + ttl.
	Timestamp int64
	Expiry    int64
	Data      []byte
	// SigTimestamp is the signed time: `sig_timestamp`, or Timestamp when
	// absent. Meaningful only with a signature.
	SigTimestamp int64
	// Auth is set only when a signature was given; for public-inbox
	// namespaces the signature is not checked.
	Auth Auth
}

// Method implements Request.
func (*StoreParams) Method() string { return MethodStore }

// Owner implements Request.
func (p *StoreParams) Owner() (Account, bool) { return p.Account, true }

// TTL is Expiry - Timestamp, saturated to the range of time.Duration.
func (p *StoreParams) TTL() time.Duration {
	d := subMillis(p.Expiry, p.Timestamp)
	switch {
	case d > math.MaxInt64/int64(time.Millisecond):
		return math.MaxInt64
	case d < math.MinInt64/int64(time.Millisecond):
		return math.MinInt64
	}
	return time.Duration(d) * time.Millisecond
}

// Hash is the message hash of the stored data.
func (p *StoreParams) Hash() string { return MessageHash(p.Account, p.Namespace, p.Data) }

// SigMessage is what the client signs.
func (p *StoreParams) SigMessage() []byte { return StoreSigMessage(p.Namespace, p.SigTimestamp) }

// NeedFlags are the subaccount permissions a store needs: write, and
// delete too for a public outbox (a store replaces its message).
func (p *StoreParams) NeedFlags() SubaccountFlags {
	if p.Namespace.IsPublicOutbox() {
		return SubaccountWrite | SubaccountDelete
	}
	return SubaccountWrite
}

func parseStore(f fields) (*StoreParams, *Error) {
	r := &reader{f: f}
	var a rawAuth
	data, hasData := r.str("data")
	expiry, hasExpiry := r.timestamp("expiry")
	ns, _ := r.namespace("namespace")
	alt, pk, hasAlt, hasPk := r.readPubkeyAlias()
	r.readPkEd(&a)
	sigTS, hasSigTS := r.timestamp("sig_timestamp")
	r.readSig(&a)
	r.readSub(&a)
	ts, hasTS := r.stringified("timestamp", false)
	ttl, hasTTL := r.stringified("ttl", true)

	r.require("timestamp", hasTS)
	if r.err == nil {
		switch {
		case hasExpiry && hasTTL:
			r.fail(InvalidRequest("Cannot specify both 'expiry' and 'ttl'"))
		case !hasExpiry && !hasTTL:
			r.fail(InvalidRequest("Required field 'expiry' or 'ttl' missing"))
		}
	}
	p := &StoreParams{Namespace: ns, Timestamp: ts, Expiry: expiry}
	if hasTTL {
		p.Expiry = addMillis(ts, ttl)
	}
	pk, hasPk = r.choosePubkey(alt, pk, hasAlt, hasPk)
	if a.hasSig {
		p.Account, p.Auth = r.loadSignedAccount(pk, hasPk, a)
		r.loadSubaccount(a, &p.Auth)
		p.SigTimestamp = ts
		if hasSigTS {
			p.SigTimestamp = sigTS
		}
	} else {
		p.Account = r.loadAccount(pk, hasPk)
	}
	r.require("data", hasData)
	if r.err == nil {
		switch {
		case !isBase64(data):
			r.fail(InvalidRequest("Invalid 'data' value: not base64 encoded"))
		case len(data) > MaxMessageSizeBase64:
			r.fail(InvalidRequest(fmt.Sprintf("Message body exceeds maximum allowed length of %d bytes", MaxMessageSize)))
		default:
			p.Data, _ = decodeBase64(data)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// Check implements Request: TTL within [MinTTL, ns.MaxTTL()] (403),
// timestamp at most StoreTolerance ahead and expiry at most StoreTolerance
// ago (406), and for namespaces that are not public inboxes a signature
// (401), a signature time within SignatureTolerance (406), and a valid
// signature (401).
func (p *StoreParams) Check(now time.Time, opt CheckOptions) error {
	if ttl := subMillis(p.Expiry, p.Timestamp); ttl < MinTTL.Milliseconds() || ttl > p.Namespace.MaxTTL().Milliseconds() {
		return Forbidden("Provided expiry/TTL is not valid.")
	}
	n, tol := now.UnixMilli(), StoreTolerance.Milliseconds()
	if p.Timestamp > n+tol || p.Expiry < n-tol {
		return NotAcceptable("Timestamp error: check your clock")
	}
	if p.Namespace.IsPublicInbox() {
		return nil
	}
	if p.Auth.Signature == nil {
		return Unauthorized(fmt.Sprintf("store: signature required to store to namespace %d", p.Namespace))
	}
	if err := CheckTimestamp("store signature", p.SigTimestamp, now, SignatureTolerance); err != nil {
		return err
	}
	if opt.verify(p.Account, p.Auth, p.SigMessage(), p.NeedFlags(), false) != nil {
		return Unauthorized("store signature verification failed")
	}
	return nil
}

// MarshalJSON implements Request.
func (p *StoreParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"pubkey":    p.Account.String(),
		"timestamp": p.Timestamp,
		"data":      b64(p.Data),
	}
	// "expiry" must look like a millisecond time; otherwise the expiry
	// came from a ttl and goes back as one.
	if p.Expiry >= minTimestampMillis {
		m["expiry"] = p.Expiry
	} else {
		m["ttl"] = subMillis(p.Expiry, p.Timestamp)
	}
	if p.Namespace != NamespaceDefault {
		m["namespace"] = p.Namespace
	}
	if p.Auth.Signature != nil && p.SigTimestamp != p.Timestamp {
		m["sig_timestamp"] = p.SigTimestamp
	}
	authJSON(m, p.Auth)
	return json.Marshal(m)
}

// ---- retrieve ----

// RetrieveParams are the params of retrieve.
type RetrieveParams struct {
	Account   Account
	Namespace Namespace
	// LastHash is the hash of the last message already seen; "" to start
	// from the beginning.
	LastHash string
	// MaxCount and MaxSize are the requested limits, 0 when not given;
	// see Limits.
	MaxCount int
	MaxSize  int
	// Timestamp is the signed time (ms), with Auth, when authenticated.
	Timestamp int64
	// Auth is set when the request is authenticated: whenever it carries
	// a signature, a timestamp or pubkey_ed25519, or names a namespace
	// that needs authentication.
	Auth Auth
}

// Method implements Request.
func (*RetrieveParams) Method() string { return MethodRetrieve }

// Owner implements Request.
func (p *RetrieveParams) Owner() (Account, bool) { return p.Account, true }

// Authenticated reports whether the request carries authentication.
func (p *RetrieveParams) Authenticated() bool { return p.Auth.Signature != nil }

// SigMessage is what the client signs.
func (p *RetrieveParams) SigMessage() []byte { return RetrieveSigMessage(p.Namespace, p.Timestamp) }

// RetrieveMessageOverhead is the per-message allowance of the retrieve
// size estimate (Session's DEFAULT_MSG_OVERHEAD).
const RetrieveMessageOverhead = 100

// RetrieveSize is how much one message counts against the size limit:
// the overhead, the hash and the base64-expanded data (Session's
// Database::retrieve). At least one message is always returned, even when
// it alone exceeds the limit.
func RetrieveSize(hash string, dataLen int) int {
	return RetrieveMessageOverhead + len(hash) + dataLen*4/3
}

// Limits returns the effective limits (Session's process_client_req for
// retrieve and Database::retrieve): 0 counts as not given; with neither
// given the size limit is DefaultRetrieveMaxSize; a negative size -k
// means RetrieveMaxSize/k; sizes are capped at RetrieveMaxSize; a negative
// count means 1. maxCount 0 means no count limit.
func (p *RetrieveParams) Limits() (maxCount, maxSize int) {
	maxCount, maxSize = p.MaxCount, p.MaxSize
	if maxCount == 0 && maxSize == 0 {
		maxSize = DefaultRetrieveMaxSize
	}
	switch {
	case maxSize < 0:
		maxSize = RetrieveMaxSize / -maxSize
	case maxSize == 0 || maxSize > RetrieveMaxSize:
		maxSize = RetrieveMaxSize
	}
	if maxCount < 0 {
		maxCount = 1
	}
	return maxCount, maxSize
}

func parseRetrieve(f fields) (*RetrieveParams, *Error) {
	r := &reader{f: f}
	var a rawAuth
	lastHashAlt, hasLastHashAlt := r.str("lastHash")
	lastHash, hasLastHash := r.str("last_hash")
	maxCount := r.integer("max_count")
	maxSize := r.integer("max_size")
	ns, hasNS := r.namespace("namespace")
	alt, pk, hasAlt, hasPk := r.readPubkeyAlias()
	r.readPkEd(&a)
	r.readSig(&a)
	r.readSub(&a)
	ts, hasTS := r.timestamp("timestamp")

	p := &RetrieveParams{Namespace: ns, MaxCount: int(maxCount), MaxSize: int(maxSize)}
	pk, hasPk = r.choosePubkey(alt, pk, hasAlt, hasPk)
	if a.hasPkEd || a.hasSig || hasTS || (hasNS && !ns.IsNoAuthRetrieve()) {
		p.Account, p.Auth = r.loadSignedAccount(pk, hasPk, a)
		r.loadSubaccount(a, &p.Auth)
		// Session dereferences the timestamp without checking it.
		r.require("timestamp", hasTS)
		p.Timestamp = ts
	} else {
		p.Account = r.loadAccount(pk, hasPk)
	}
	if r.err == nil && hasLastHash && hasLastHashAlt {
		r.fail(InvalidRequest("Cannot specify both 'last_hash' and 'lastHash'"))
	}
	if hasLastHashAlt {
		lastHash = lastHashAlt
	}
	if r.err == nil {
		switch {
		case lastHash == "":
		case len(lastHash) != MessageHashLen:
			r.fail(InvalidRequest("Invalid last_hash: expected base64 (43 chars)"))
		case !isBase64(lastHash):
			r.fail(InvalidRequest("Invalid last_hash: not base64"))
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	p.LastHash = lastHash
	return p, nil
}

// Check implements Request: authentication is required unless the
// namespace allows anonymous retrieval (401); the timestamp must be within
// SignatureTolerance (406) and the signature valid (401); revoked
// subaccounts may still read unrevocable namespaces.
func (p *RetrieveParams) Check(now time.Time, opt CheckOptions) error {
	if !p.Authenticated() {
		if p.Namespace.IsNoAuthRetrieve() {
			return nil
		}
		return Unauthorized("retrieve: request signature required")
	}
	if err := CheckTimestamp(MethodRetrieve, p.Timestamp, now, SignatureTolerance); err != nil {
		return err
	}
	if opt.verify(p.Account, p.Auth, p.SigMessage(), SubaccountRead, p.Namespace.IsUnrevocable()) != nil {
		return Unauthorized("retrieve signature verification failed")
	}
	return nil
}

// MarshalJSON implements Request.
func (p *RetrieveParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{"pubkey": p.Account.String()}
	if p.Namespace != NamespaceDefault || p.Authenticated() {
		m["namespace"] = p.Namespace
	}
	if p.LastHash != "" {
		m["last_hash"] = p.LastHash
	}
	if p.MaxCount != 0 {
		m["max_count"] = p.MaxCount
	}
	if p.MaxSize != 0 {
		m["max_size"] = p.MaxSize
	}
	if p.Authenticated() {
		m["timestamp"] = p.Timestamp
	}
	authJSON(m, p.Auth)
	return json.Marshal(m)
}

// ---- delete ----

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

// ---- expire ----

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

// ---- get_swarm ----

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

// ---- revoke_subaccount, unrevoke_subaccount ----

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

// ---- oxend_request ----

// OxendRequestParams are the params of oxend_request.
type OxendRequestParams struct {
	// Endpoint is OxendGetServiceNodes or OxendONSResolve.
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
	if ep != OxendGetServiceNodes && ep != OxendONSResolve {
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

// ---- batch, sequence ----

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
	reqs := f["requests"]
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
		name, ok := jsonString(sub["method"])
		params := sub["params"]
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

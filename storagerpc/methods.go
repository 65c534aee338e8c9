package storagerpc

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// The params of each method, its parser (field order and texts from
// Session's client_rpc_endpoints.cpp load(...)), and its Check (order and
// texts from request_handler.cpp process_client_req(...)). This file has
// store and retrieve; the other methods are in delete.go, expire.go,
// revoke.go, info.go and batch.go.

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
		// Decoded at once: the decoder is the base64 check. Invalid
		// base64 is the error of a message both invalid and too long.
		d, err := decodeBase64(data)
		switch {
		case err != nil:
			r.fail(InvalidRequest("Invalid 'data' value: not base64 encoded"))
		case len(data) > MaxMessageSizeBase64:
			r.fail(InvalidRequest(fmt.Sprintf("Message body exceeds maximum allowed length of %d bytes", MaxMessageSize)))
		default:
			p.Data = d
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

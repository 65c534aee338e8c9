package storagerpc

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"sotto.dev/key"
)

// Responses of the storage RPC with the JSON keys Session's nodes send
// (session-protocol.md §3.4; request_handler.cpp). Byte values are padded
// base64.

// MarshalText encodes the signature in padded base64.
func (s Signature) MarshalText() ([]byte, error) { return []byte(b64(s[:])), nil }

// UnmarshalText decodes base64 (padded or not) of exactly 64 bytes.
func (s *Signature) UnmarshalText(b []byte) error {
	if !decodeBase64Into(s[:], string(b)) {
		return fmt.Errorf("storagerpc: signature is not base64 of %d bytes", SignatureSize)
	}
	return nil
}

// NodeTime is the "t" (node time, ms) and "hf" ([major, minor] hard fork)
// that most responses carry.
type NodeTime struct {
	T  int64  `json:"t"`
	HF [2]int `json:"hf"`
}

// InfoResponse answers info. Clients use Timestamp as network time.
type InfoResponse struct {
	Version   [3]int `json:"version"`
	Timestamp int64  `json:"timestamp"`
	NodeTime
}

// RetrievedMessage is one message of a retrieve response. The expiry key
// is "expiration" (Session's code; its documentation says "expiry").
type RetrievedMessage struct {
	Hash       string `json:"hash"`
	Timestamp  int64  `json:"timestamp"`
	Expiration int64  `json:"expiration"`
	Data       []byte `json:"data"`
}

// RetrieveResponse answers retrieve. More is set when limits cut the
// result; the last hash is the next request's last_hash.
type RetrieveResponse struct {
	Messages []RetrievedMessage `json:"messages"`
	More     bool               `json:"more"`
	NodeTime
}

// SnodeInfo is one node of a get_swarm response (or of a 421 body).
type SnodeInfo struct {
	// Address is base32z(PubkeyLegacy) + ".snode" (deprecated).
	Address       string `json:"address"`
	PubkeyLegacy  string `json:"pubkey_legacy"`
	PubkeyX25519  string `json:"pubkey_x25519"`
	PubkeyEd25519 string `json:"pubkey_ed25519"`
	// Port is the HTTPS port as a string (deprecated).
	Port      string `json:"port"`
	PortHTTPS int    `json:"port_https"`
	PortOMQ   int    `json:"port_omq"`
	PortQUIC  int    `json:"port_quic"`
	IP        string `json:"ip"`
}

// NewSnodeInfo describes a node. On Sotto the legacy key is the node's
// Ed25519 key (as on Session since the Ed25519 switch); omqPort fills
// both port_omq and port_quic, as Session's nodes share one port.
func NewSnodeInfo(ed key.NodePublic, x key.OnionPublic, ip string, httpsPort, omqPort uint16) SnodeInfo {
	return SnodeInfo{
		Address:       SnodeAddress(ed),
		PubkeyLegacy:  fmt.Sprintf("%x", ed[:]),
		PubkeyX25519:  fmt.Sprintf("%x", x[:]),
		PubkeyEd25519: fmt.Sprintf("%x", ed[:]),
		Port:          strconv.Itoa(int(httpsPort)),
		PortHTTPS:     int(httpsPort),
		PortOMQ:       int(omqPort),
		PortQUIC:      int(omqPort),
		IP:            ip,
	}
}

// SnodeAddress is the ".snode" name of a node key: z-base-32 of the 32
// bytes (52 characters) + ".snode".
func SnodeAddress(key [32]byte) string { return base32z.EncodeToString(key[:]) + snodeAddressSuffix }

// GetSwarmResponse answers get_swarm and is the body of a 421.
type GetSwarmResponse struct {
	Snodes []SnodeInfo `json:"snodes"`
	// Swarm is the swarm id in lowercase hex without leading zeros;
	// "ffffffffffffffff" (unassigned) with no nodes when unknown.
	Swarm string `json:"swarm"`
	NodeTime
}

// UnassignedSwarmID is the swarm id get_swarm reports when the account
// has no swarm (the same value as swarm.UnassignedID).
const UnassignedSwarmID uint64 = 1<<64 - 1

// SwarmIDHex formats a swarm id as get_swarm does.
func SwarmIDHex(id uint64) string { return strconv.FormatUint(id, 16) }

// SwarmID parses the Swarm field.
func (r *GetSwarmResponse) SwarmID() (uint64, error) {
	id, err := strconv.ParseUint(r.Swarm, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("storagerpc: swarm id %q is not hex", r.Swarm)
	}
	return id, nil
}

// GetExpiriesResponse answers get_expiries (no "t"/"hf", as Session):
// hash → expiry (ms) of the listed messages that exist.
type GetExpiriesResponse struct {
	Expiries map[string]int64 `json:"expiries"`
}

// OxendResponse answers oxend_request.
type OxendResponse struct {
	Result json.RawMessage `json:"result"`
	NodeTime
}

// BatchResult is one subrequest's outcome in a batch or sequence.
type BatchResult struct {
	Code int             `json:"code"`
	Body json.RawMessage `json:"body"`
}

// NewBatchResult builds a subresult from a status and a body: a JSON
// value, or a string for plain-text (error) bodies.
func NewBatchResult(code int, body any) (BatchResult, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return BatchResult{}, fmt.Errorf("storagerpc: encode batch result: %w", err)
	}
	return BatchResult{Code: code, Body: b}, nil
}

// ErrorBatchResult is the subresult for a failed subrequest: the status
// and text StatusOf gives for err.
func ErrorBatchResult(err error) BatchResult {
	code, msg := StatusOf(err)
	b, _ := json.Marshal(msg) // a string always encodes
	return BatchResult{Code: code, Body: b}
}

// BatchResponse answers batch and sequence (always 200 once parsed).
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// ---- recursive methods ----

// NodeFailure is a swarm member's entry when it failed (Session's
// `recursive` failure keys).
type NodeFailure struct {
	Failed          bool   `json:"failed"`
	Timeout         bool   `json:"timeout,omitempty"`
	Code            int    `json:"code,omitempty"`
	Reason          string `json:"reason,omitempty"`
	BadPeerResponse bool   `json:"bad_peer_response,omitempty"`
	QueryFailure    bool   `json:"query_failure,omitempty"`
}

// NodeResult is one swarm member's entry: its result, or a failure.
type NodeResult[T any] struct {
	OK      *T
	Failure *NodeFailure
}

// Failed reports whether the member failed.
func (r NodeResult[T]) Failed() bool { return r.Failure != nil || r.OK == nil }

// MarshalJSON implements json.Marshaler.
func (r NodeResult[T]) MarshalJSON() ([]byte, error) {
	if r.Failure != nil || r.OK == nil {
		f := NodeFailure{Failed: true}
		if r.Failure != nil {
			f = *r.Failure
			f.Failed = true
		}
		return json.Marshal(f)
	}
	return json.Marshal(r.OK)
}

// UnmarshalJSON implements json.Unmarshaler: an object with "failed"
// true is a failure, anything else the result.
func (r *NodeResult[T]) UnmarshalJSON(b []byte) error {
	var probe struct {
		Failed bool `json:"failed"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return err
	}
	*r = NodeResult[T]{}
	if probe.Failed {
		r.Failure = new(NodeFailure)
		return json.Unmarshal(b, r.Failure)
	}
	r.OK = new(T)
	return json.Unmarshal(b, r.OK)
}

// SwarmResponse is the answer of a recursive method at the node the
// client reached: every member's result keyed by its Ed25519 key in hex.
type SwarmResponse[T any] struct {
	Swarm map[string]NodeResult[T] `json:"swarm"`
	// Hash repeats the message hash at the top level (store only).
	Hash string `json:"hash,omitempty"`
	NodeTime
}

// MarshalJSON implements json.Marshaler. It writes what json.Marshal
// of the fields would (members in key order), by hand for the store
// answer's results, the most frequent swarm answer, and through
// json.Marshal for the others.
func (r SwarmResponse[T]) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(r.Swarm))
	for k := range r.Swarm {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// About 330 bytes a store result under its key, and the top-level
	// hash and node time after them: one allocation for the common answer.
	b := make([]byte, 0, 96+len(r.Hash)+len(keys)*(72+256))
	if r.Swarm == nil {
		b = append(b, `{"swarm":null`...)
	} else {
		b = append(b, `{"swarm":{`...)
	}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = r.Swarm[k].appendJSON(b); err != nil {
			return nil, err
		}
	}
	if r.Swarm != nil {
		b = append(b, '}')
	}
	if r.Hash != "" {
		b = append(b, `,"hash":`...)
		b = appendJSONString(b, r.Hash)
	}
	return appendNodeTime(b, r.NodeTime), nil
}

// appendJSON appends r's MarshalJSON.
func (r NodeResult[T]) appendJSON(b []byte) ([]byte, error) {
	if sr, ok := any(r.OK).(*StoreResult); ok && r.Failure == nil && sr != nil {
		return sr.appendJSON(b), nil
	}
	v, err := r.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return append(b, v...), nil
}

// appendJSON appends r as json.Marshal writes it.
func (r *StoreResult) appendJSON(b []byte) []byte {
	b = append(b, `{"hash":`...)
	b = appendJSONString(b, r.Hash)
	b = append(b, `,"signature":"`...)
	b = base64.StdEncoding.AppendEncode(b, r.Signature[:])
	b = append(b, `","expiry":`...)
	b = strconv.AppendInt(b, r.Expiry, 10)
	if r.Already {
		b = append(b, `,"already":true`...)
	}
	if r.T != 0 {
		b = append(b, `,"t":`...)
		b = strconv.AppendInt(b, r.T, 10)
	}
	return append(b, '}')
}

// Status is 200 unless every member failed (or there are none): 500.
func (r *SwarmResponse[T]) Status() int {
	for _, n := range r.Swarm {
		if !n.Failed() {
			return StatusOK
		}
	}
	return StatusInternalServerError
}

// StoreResult is a member's store result. The node signs Hash (the base64
// string itself): see StoreResultSigMessage.
type StoreResult struct {
	Hash      string    `json:"hash"`
	Signature Signature `json:"signature"`
	Expiry    int64     `json:"expiry"`
	Already   bool      `json:"already,omitempty"`
	// T is set only in the entry node's own entry (deprecated, as Session).
	T int64 `json:"t,omitempty"`
}

// DeleteResult is a member's delete result; Deleted is sorted.
type DeleteResult struct {
	Deleted   []string  `json:"deleted"`
	Signature Signature `json:"signature"`
}

// DeleteStatus is the status of a delete answer: like Status, but with
// required set, 404 when no member deleted anything.
func DeleteStatus(r *SwarmResponse[DeleteResult], required bool) int {
	st := r.Status()
	if st != StatusOK || !required {
		return st
	}
	for _, n := range r.Swarm {
		if n.OK != nil && len(n.OK.Deleted) > 0 {
			return st
		}
	}
	return StatusNotFound
}

// NamespaceHashes is the "deleted"/"updated" value of delete_all,
// delete_before and expire_all: a sorted list for one namespace, or for
// "all" an object of namespace → sorted list.
type NamespaceHashes struct {
	Hashes      []string
	ByNamespace map[Namespace][]string // non-nil for the "all" form
}

// NewNamespaceHashes returns the "all" form of m with each list sorted.
func NewNamespaceHashes(m map[Namespace][]string) NamespaceHashes {
	out := make(map[Namespace][]string, len(m))
	for ns, hs := range m {
		hs = slices.Clone(hs)
		slices.Sort(hs)
		out[ns] = hs
	}
	return NamespaceHashes{ByNamespace: out}
}

// Sorted returns every hash in byte order: what the node signs.
func (h NamespaceHashes) Sorted() []string {
	if h.ByNamespace == nil {
		out := slices.Clone(h.Hashes)
		slices.Sort(out)
		return out
	}
	var out []string
	for _, hs := range h.ByNamespace {
		out = append(out, hs...)
	}
	slices.Sort(out)
	return out
}

// MarshalJSON implements json.Marshaler.
func (h NamespaceHashes) MarshalJSON() ([]byte, error) {
	if h.ByNamespace != nil {
		m := make(map[string][]string, len(h.ByNamespace))
		for ns, hs := range h.ByNamespace {
			m[ns.String()] = nonNil(hs)
		}
		return json.Marshal(m)
	}
	return json.Marshal(nonNil(h.Hashes))
}

// UnmarshalJSON implements json.Unmarshaler.
func (h *NamespaceHashes) UnmarshalJSON(b []byte) error {
	*h = NamespaceHashes{}
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) > 0 && b[0] == '{' {
		var m map[string][]string
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		h.ByNamespace = make(map[Namespace][]string, len(m))
		for k, hs := range m {
			n, err := strconv.ParseInt(k, 10, 16)
			if err != nil {
				return fmt.Errorf("storagerpc: namespace key %q: %w", k, err)
			}
			h.ByNamespace[Namespace(n)] = hs
		}
		return nil
	}
	return json.Unmarshal(b, &h.Hashes)
}

// DeleteAllResult is a member's delete_all or delete_before result.
type DeleteAllResult struct {
	Deleted   NamespaceHashes `json:"deleted"`
	Signature Signature       `json:"signature"`
}

// ExpireAllResult is a member's expire_all result.
type ExpireAllResult struct {
	Updated   NamespaceHashes `json:"updated"`
	Signature Signature       `json:"signature"`
}

// Expiries is the "expiry" of an expire result: a single value when the
// request gave one expiry, else the list of applied expiries matching
// "updated".
type Expiries struct {
	Values []int64
	Multi  bool
}

// MarshalJSON implements json.Marshaler.
func (e Expiries) MarshalJSON() ([]byte, error) {
	if !e.Multi && len(e.Values) == 1 {
		return json.Marshal(e.Values[0])
	}
	return json.Marshal(nonNil(e.Values))
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *Expiries) UnmarshalJSON(b []byte) error {
	*e = Expiries{}
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) > 0 && b[0] == '[' {
		e.Multi = true
		return json.Unmarshal(b, &e.Values)
	}
	var v int64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	e.Values = []int64{v}
	return nil
}

// ExpireResult is a member's expire result. Unchanged is present (maybe
// empty) only when the request was shorten or extend.
type ExpireResult struct {
	Expiry    Expiries         `json:"expiry"`
	Updated   []string         `json:"updated"`
	Unchanged map[string]int64 `json:"unchanged,omitzero"`
	Signature Signature        `json:"signature"`
}

// SubaccountResult is a member's revoke_subaccount result (signature
// only) or unrevoke_subaccount result (also Count: revocations removed).
type SubaccountResult struct {
	Count     *int      `json:"count,omitempty"`
	Signature Signature `json:"signature"`
}

// ---- what nodes sign ----

// What each swarm member signs in its result (Session's
// client_rpc_endpoints.h and request_handler.cpp create_signature calls).
// pubkey_hex is the account in 66 lowercase hex digits, integers are
// decimal, lists are concatenated without separators.

// StoreResultSigMessage is the message hash string itself.
func StoreResultSigMessage(hash string) []byte { return []byte(hash) }

// DeleteResultSigMessage is pubkey_hex || requested[0] || ... ||
// deleted[0] || ... (deleted sorted).
func DeleteResultSigMessage(acct Account, requested, deleted []string) []byte {
	return sigMessage(acct.String(), concat(requested), concat(deleted))
}

// DeleteAllResultSigMessage is pubkey_hex || timestamp || deleted... with
// every deleted hash in byte order (across namespaces for "all").
func DeleteAllResultSigMessage(acct Account, timestamp int64, deleted []string) []byte {
	return sigMessage(acct.String(), itoa(timestamp), concat(deleted))
}

// DeleteBeforeResultSigMessage is pubkey_hex || before || deleted...
func DeleteBeforeResultSigMessage(acct Account, before int64, deleted []string) []byte {
	return sigMessage(acct.String(), itoa(before), concat(deleted))
}

// ExpireAllResultSigMessage is pubkey_hex || expiry || updated...
func ExpireAllResultSigMessage(acct Account, expiry int64, updated []string) []byte {
	return sigMessage(acct.String(), itoa(expiry), concat(updated))
}

// ExpireResultSigMessage is pubkey_hex || expiries || requested... ||
// updated... || (hash || expiry for each unchanged message, by hash).
// expiries is the single applied expiry, or for per-message requests the
// applied expiries of the updated messages, concatenated.
func ExpireResultSigMessage(acct Account, expiries []int64, requested, updated []string, unchanged map[string]int64) []byte {
	keys := make([]string, 0, len(unchanged))
	for k := range unchanged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var tail []byte
	for _, k := range keys {
		tail = append(tail, k...)
		tail = strconv.AppendInt(tail, unchanged[k], 10)
	}
	return sigMessage(acct.String(), joinInts(expiries), concat(requested), concat(updated), string(tail))
}

// RevokeResultSigMessage is pubkey_hex || timestamp || token... (raw
// tokens as requested); the same for unrevoke_subaccount.
func RevokeResultSigMessage(acct Account, timestamp int64, tokens []SubaccountToken) []byte {
	return sigMessage(acct.String(), itoa(timestamp), joinTokens(tokens))
}

// SignResult signs a result message with the node's key.
func SignResult(node ed25519.PrivateKey, msg []byte) Signature {
	return Signature(ed25519.Sign(node, msg))
}

// VerifyResult checks a node's result signature.
func VerifyResult(node key.NodePublic, msg []byte, sig Signature) bool {
	return verifyEd25519(node, msg, &sig, nil) == nil
}

// Session always sends lists, never null: these encoders turn nil slices
// into [].

// MarshalJSON implements json.Marshaler. It writes what json.Marshal
// would, by hand: retrieves are the most frequent answer of a node.
func (r RetrieveResponse) MarshalJSON() ([]byte, error) {
	n := 64
	for _, m := range r.Messages {
		n += 80 + len(m.Hash) + base64.StdEncoding.EncodedLen(len(m.Data))
	}
	b := make([]byte, 0, n)
	b = append(b, `{"messages":[`...)
	for i, m := range r.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"hash":`...)
		b = appendJSONString(b, m.Hash)
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, m.Timestamp, 10)
		b = append(b, `,"expiration":`...)
		b = strconv.AppendInt(b, m.Expiration, 10)
		if m.Data == nil {
			b = append(b, `,"data":null}`...)
			continue
		}
		b = append(b, `,"data":"`...)
		b = base64.StdEncoding.AppendEncode(b, m.Data)
		b = append(b, `"}`...)
	}
	b = append(b, `],"more":`...)
	b = strconv.AppendBool(b, r.More)
	return appendNodeTime(b, r.NodeTime), nil
}

// appendNodeTime appends `,"t":…,"hf":[…,…]}`, the end of an object whose
// last field is an embedded NodeTime.
func appendNodeTime(b []byte, t NodeTime) []byte {
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, t.T, 10)
	b = append(b, `,"hf":[`...)
	b = strconv.AppendInt(b, int64(t.HF[0]), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(t.HF[1]), 10)
	return append(b, "]}"...)
}

// appendJSONString appends s as encoding/json writes it: printable ASCII
// other than the characters it escapes is copied, anything else goes
// through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// MarshalJSON implements json.Marshaler.
func (r GetSwarmResponse) MarshalJSON() ([]byte, error) {
	type plain GetSwarmResponse
	r.Snodes = nonNil(r.Snodes)
	return json.Marshal(plain(r))
}

// MarshalJSON implements json.Marshaler.
func (r BatchResponse) MarshalJSON() ([]byte, error) {
	type plain BatchResponse
	r.Results = nonNil(r.Results)
	return json.Marshal(plain(r))
}

// MarshalJSON implements json.Marshaler.
func (r DeleteResult) MarshalJSON() ([]byte, error) {
	type plain DeleteResult
	r.Deleted = nonNil(r.Deleted)
	return json.Marshal(plain(r))
}

// MarshalJSON implements json.Marshaler.
func (r ExpireResult) MarshalJSON() ([]byte, error) {
	type plain ExpireResult
	r.Updated = nonNil(r.Updated)
	return json.Marshal(plain(r))
}

// MarshalJSON implements json.Marshaler.
func (r GetExpiriesResponse) MarshalJSON() ([]byte, error) {
	type plain GetExpiriesResponse
	if r.Expiries == nil {
		r.Expiries = map[string]int64{}
	}
	return json.Marshal(plain(r))
}

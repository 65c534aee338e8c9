package storagerpc

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"sotto.dev/key"
)

func TestResponseJSON(t *testing.T) {
	var sig Signature
	sig[0] = 1
	sigB64 := b64(sig[:])
	one := 1
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"info", InfoResponse{Version: [3]int{2, 8, 0}, Timestamp: 5, NodeTime: NodeTime{T: 5, HF: [2]int{19, 3}}},
			`{"version":[2,8,0],"timestamp":5,"t":5,"hf":[19,3]}`},
		{"retrieve", RetrieveResponse{Messages: []RetrievedMessage{{Hash: "h", Timestamp: 1, Expiration: 2, Data: []byte("hi")}}, More: true, NodeTime: NodeTime{T: 3}},
			`{"messages":[{"hash":"h","timestamp":1,"expiration":2,"data":"aGk="}],"more":true,"t":3,"hf":[0,0]}`},
		{"store swarm", SwarmResponse[StoreResult]{
			Swarm: map[string]NodeResult[StoreResult]{
				"aa": {OK: &StoreResult{Hash: "h", Signature: sig, Expiry: 9, Already: true}},
				"bb": {Failure: &NodeFailure{Timeout: true}},
			},
			Hash: "h", NodeTime: NodeTime{T: 1, HF: [2]int{19, 3}}},
			`{"swarm":{"aa":{"hash":"h","signature":"` + sigB64 + `","expiry":9,"already":true},"bb":{"failed":true,"timeout":true}},"hash":"h","t":1,"hf":[19,3]}`},
		{"delete", DeleteResult{Signature: sig}, `{"deleted":[],"signature":"` + sigB64 + `"}`},
		{"delete_all one ns", DeleteAllResult{Deleted: NamespaceHashes{Hashes: []string{"a"}}, Signature: sig},
			`{"deleted":["a"],"signature":"` + sigB64 + `"}`},
		{"delete_all all", DeleteAllResult{Deleted: NewNamespaceHashes(map[Namespace][]string{-10: {"b", "a"}, 0: {"c"}}), Signature: sig},
			`{"deleted":{"-10":["a","b"],"0":["c"]},"signature":"` + sigB64 + `"}`},
		{"expire single", ExpireResult{Expiry: Expiries{Values: []int64{7}}, Updated: []string{"a"}, Signature: sig},
			`{"expiry":7,"updated":["a"],"signature":"` + sigB64 + `"}`},
		{"expire multi extend", ExpireResult{Expiry: Expiries{Values: []int64{7, 8}, Multi: true}, Updated: []string{"a", "b"}, Unchanged: map[string]int64{}, Signature: sig},
			`{"expiry":[7,8],"updated":["a","b"],"unchanged":{},"signature":"` + sigB64 + `"}`},
		{"revoke", SubaccountResult{Signature: sig}, `{"signature":"` + sigB64 + `"}`},
		{"unrevoke", SubaccountResult{Count: &one, Signature: sig}, `{"count":1,"signature":"` + sigB64 + `"}`},
		{"get_expiries", GetExpiriesResponse{Expiries: map[string]int64{"h": 4}}, `{"expiries":{"h":4}}`},
		{"oxend", OxendResponse{Result: json.RawMessage(`{"x":1}`)}, `{"result":{"x":1},"t":0,"hf":[0,0]}`},
		{"batch", BatchResponse{Results: []BatchResult{ErrorBatchResult(Unauthorized("no")), {Code: 200, Body: json.RawMessage(`{}`)}}},
			`{"results":[{"code":401,"body":"no"},{"code":200,"body":{}}]}`},
		{"retrieve empty", RetrieveResponse{}, `{"messages":[],"more":false,"t":0,"hf":[0,0]}`},
		{"expire empty", ExpireResult{Expiry: Expiries{Multi: true}}, `{"expiry":[],"updated":[],"signature":"` + b64(make([]byte, 64)) + `"}`},
		{"get_expiries empty", GetExpiriesResponse{}, `{"expiries":{}}`},
		{"get_swarm", GetSwarmResponse{Swarm: SwarmIDHex(UnassignedSwarmID)},
			`{"snodes":[],"swarm":"ffffffffffffffff","t":0,"hf":[0,0]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustJSON(t, tc.v); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			// Decoding gives the same value back.
			p := reflect.New(reflect.TypeOf(tc.v))
			if err := json.Unmarshal([]byte(tc.want), p.Interface()); err != nil {
				t.Fatal(err)
			}
			if got := mustJSON(t, p.Elem().Interface()); got != tc.want {
				t.Errorf("re-encoded %s", got)
			}
		})
	}
}

func TestSwarmStatus(t *testing.T) {
	ok := NodeResult[DeleteResult]{OK: &DeleteResult{}}
	deleted := NodeResult[DeleteResult]{OK: &DeleteResult{Deleted: []string{"h"}}}
	failed := NodeResult[DeleteResult]{Failure: &NodeFailure{Code: 500}}
	for _, tc := range []struct {
		nodes    []NodeResult[DeleteResult]
		required bool
		want     int
	}{
		{nil, false, 500},
		{[]NodeResult[DeleteResult]{failed, failed}, false, 500},
		{[]NodeResult[DeleteResult]{failed, ok}, false, 200},
		{[]NodeResult[DeleteResult]{failed, ok}, true, 404},
		{[]NodeResult[DeleteResult]{ok, deleted}, true, 200},
	} {
		r := &SwarmResponse[DeleteResult]{Swarm: map[string]NodeResult[DeleteResult]{}}
		for i, n := range tc.nodes {
			r.Swarm[string(rune('a'+i))] = n
		}
		if got := DeleteStatus(r, tc.required); got != tc.want {
			t.Errorf("%d nodes required=%v: %d, want %d", len(tc.nodes), tc.required, got, tc.want)
		}
	}
}

func TestSnodeAddress(t *testing.T) {
	var file struct {
		Cases []struct{ Key, Address string }
	}
	loadTestdata(t, "snode_address.json", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		k, err := hex.DecodeString(c.Key)
		if err != nil || len(k) != 32 {
			t.Fatal(c.Key)
		}
		if got := SnodeAddress([32]byte(k)); got != c.Address {
			t.Errorf("SnodeAddress(%s) = %s, want %s", c.Key, got, c.Address)
		}
	}
	info := NewSnodeInfo(key.NodePublic{1}, key.OnionPublic{2}, "10.0.0.1", 22021, 22020)
	if info.Port != "22021" || info.PortHTTPS != 22021 || info.PortQUIC != 22020 || info.PubkeyLegacy != info.PubkeyEd25519 {
		t.Errorf("%+v", info)
	}
	r := GetSwarmResponse{Swarm: SwarmIDHex(0x1234abcd)}
	if id, err := r.SwarmID(); err != nil || id != 0x1234abcd || r.Swarm != "1234abcd" {
		t.Errorf("SwarmID = %x, %v", id, err)
	}
}

// Node result signatures: what a node signs must verify against what a
// client rebuilds from the request and the result.
func TestResultSignatures(t *testing.T) {
	node := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := key.NodePublic(node.Public().(ed25519.PublicKey))
	acct, _ := ParseAccount(tPK)
	tok := NewSubaccountToken(key.PrefixGroup, SubaccountRead, key.AccountPublic{3})
	for _, tc := range []struct {
		msg  []byte
		want string
	}{
		{StoreResultSigMessage(tHash), tHash},
		{DeleteResultSigMessage(acct, []string{"b", "a"}, []string{"a"}), tPK + "baa"},
		{DeleteAllResultSigMessage(acct, 17, []string{"x", "y"}), tPK + "17xy"},
		{DeleteBeforeResultSigMessage(acct, 18, nil), tPK + "18"},
		{ExpireAllResultSigMessage(acct, 19, []string{"u"}), tPK + "19u"},
		{ExpireResultSigMessage(acct, []int64{20}, []string{"r1", "r2"}, []string{"r1"}, map[string]int64{"r2": 5, "a": 6}), tPK + "20r1r2r1a6r25"},
		{ExpireResultSigMessage(acct, []int64{20, 21}, []string{"r1", "r2"}, []string{"r1", "r2"}, nil), tPK + "2021r1r2r1r2"},
		{RevokeResultSigMessage(acct, 22, []SubaccountToken{tok}), tPK + "22" + string(tok[:])},
	} {
		if string(tc.msg) != tc.want {
			t.Errorf("message %q, want %q", tc.msg, tc.want)
		}
		sig := SignResult(node, tc.msg)
		if !VerifyResult(pub, tc.msg, sig) {
			t.Errorf("VerifyResult(%q) failed", tc.msg)
		}
		if VerifyResult(pub, append(tc.msg, 'x'), sig) {
			t.Errorf("VerifyResult accepted a changed message")
		}
	}
	h := NewNamespaceHashes(map[Namespace][]string{1: {"c", "a"}, 2: {"b"}})
	if got := h.Sorted(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Sorted = %v", got)
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		msg    string
	}{
		{nil, 200, ""},
		{BadRequest("x"), 400, "x"},
		{InvalidRequest("y"), 400, "invalid request: y"},
		{PayloadTooLarge(), 413, "Request body too large"},
		{Misdirected(&GetSwarmResponse{}), 421, "Misdirected Request"},
		{InsufficientStorage(), 507, "Insufficient storage: node is full"},
		{errString("secret internals"), 500, "request failed"},
	} {
		st, msg := StatusOf(tc.err)
		if st != tc.status || msg != tc.msg {
			t.Errorf("StatusOf(%v) = %d %q", tc.err, st, msg)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// retrieveJSONReference is the encoding the hand-written encoder must
// reproduce.
func retrieveJSONReference(r RetrieveResponse) []byte {
	type plain RetrieveResponse
	r.Messages = nonNil(r.Messages)
	b, _ := json.Marshal(plain(r))
	return b
}

func checkRetrieveJSON(t *testing.T, r RetrieveResponse) {
	t.Helper()
	got, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := retrieveJSONReference(r); !bytes.Equal(got, want) {
		t.Fatalf("MarshalJSON:\n got %s\nwant %s", got, want)
	}
}

func TestRetrieveResponseJSON(t *testing.T) {
	nt := NodeTime{T: 1_700_000_000_123, HF: [2]int{21, -1}}
	for _, r := range []RetrieveResponse{
		{},
		{NodeTime: nt, More: true},
		{Messages: []RetrievedMessage{}, NodeTime: nt},
		{Messages: []RetrievedMessage{
			{Hash: "Ab0+/xyz", Timestamp: 1, Expiration: -2, Data: []byte{0, 1, 2, 0xff}},
			{Hash: "", Data: nil},
			{Hash: "a\"b\\c<d>e&f\n\x01\u2028é\xff", Timestamp: math.MaxInt64, Expiration: math.MinInt64, Data: []byte{}},
			{Hash: "x", Data: bytes.Repeat([]byte("data"), 100)},
		}, More: true, NodeTime: nt},
	} {
		checkRetrieveJSON(t, r)
	}
}

func FuzzRetrieveResponseJSON(f *testing.F) {
	f.Add("hash", []byte("data"), int64(1), int64(2), false)
	f.Add("<\"\\\xff>", []byte(nil), int64(-1), int64(math.MaxInt64), true)
	f.Fuzz(func(t *testing.T, hash string, data []byte, ts, exp int64, more bool) {
		m := RetrievedMessage{Hash: hash, Timestamp: ts, Expiration: exp, Data: data}
		checkRetrieveJSON(t, RetrieveResponse{Messages: []RetrievedMessage{m, m}, More: more, NodeTime: NodeTime{T: ts, HF: [2]int{int(exp), 0}}})
		// the store answer's hand-written encoder, with the same strings
		sr := StoreResult{Hash: hash, Expiry: exp, Already: more, T: ts}
		copy(sr.Signature[:], data)
		checkSwarmJSON(t, SwarmResponse[StoreResult]{Swarm: map[string]NodeResult[StoreResult]{hash: {OK: &sr}, "b": {}}, Hash: hash, NodeTime: NodeTime{T: exp}})
	})
}

// swarmReference is SwarmResponse without its MarshalJSON: what
// json.Marshal writes for its fields.
type swarmReference[T any] struct {
	Swarm map[string]NodeResult[T] `json:"swarm"`
	Hash  string                   `json:"hash,omitempty"`
	NodeTime
}

func checkSwarmJSON[T any](t *testing.T, r SwarmResponse[T]) {
	t.Helper()
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(swarmReference[T](r))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("MarshalJSON:\n got %s\nwant %s", got, want)
	}
}

func TestSwarmResponseJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hashes := []string{"", "Ab0+/xyz", "a\"b\\c<d>e&f\n\x01\u2028é\xff", strings.Repeat("h", 43)}
	nt := NodeTime{T: 1_700_000_000_123, HF: [2]int{21, -1}}
	checkSwarmJSON(t, SwarmResponse[StoreResult]{NodeTime: nt})
	checkSwarmJSON(t, SwarmResponse[StoreResult]{Swarm: map[string]NodeResult[StoreResult]{}, Hash: "x", NodeTime: nt})
	for range 500 {
		r := SwarmResponse[StoreResult]{Swarm: map[string]NodeResult[StoreResult]{}, NodeTime: NodeTime{T: rng.Int64(), HF: [2]int{rng.IntN(30), rng.IntN(3) - 1}}}
		if rng.IntN(2) == 0 {
			r.Hash = hashes[rng.IntN(len(hashes))]
		}
		d := make([]DeleteResult, 0)
		for range rng.IntN(7) {
			var pk [32]byte
			for i := range pk {
				pk[i] = byte(rng.Uint32())
			}
			var e NodeResult[StoreResult]
			switch rng.IntN(4) {
			case 0:
				e.Failure = &NodeFailure{Timeout: rng.IntN(2) == 0, Code: rng.IntN(600), Reason: hashes[rng.IntN(len(hashes))]}
			case 1: // neither: a failure too
			default:
				sr := &StoreResult{Hash: hashes[rng.IntN(len(hashes))], Expiry: rng.Int64() - rng.Int64(), Already: rng.IntN(2) == 0}
				if rng.IntN(2) == 0 {
					sr.T = rng.Int64()
				}
				for i := range sr.Signature {
					sr.Signature[i] = byte(rng.Uint32())
				}
				e.OK = sr
			}
			r.Swarm[hex.EncodeToString(pk[:])] = e
			d = append(d, DeleteResult{Deleted: hashes[:rng.IntN(len(hashes))]})
		}
		checkSwarmJSON(t, r)
		// the generic path, for a result without a hand-written encoder
		dr := SwarmResponse[DeleteResult]{Swarm: map[string]NodeResult[DeleteResult]{}, NodeTime: r.NodeTime}
		for i := range d {
			dr.Swarm[hashes[i%len(hashes)]+strconv.Itoa(i)] = NodeResult[DeleteResult]{OK: &d[i]}
		}
		checkSwarmJSON(t, dr)
	}
}

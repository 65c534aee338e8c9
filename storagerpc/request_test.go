package storagerpc

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const (
	tPK    = "05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48"
	tGroup = "03c50cb3ae956947a8de19135b5be2685ff348afc63fc34a837aca12bc5c1f5625"
	tEd    = "4cb76fdc6d32278e3f83dbf608360ecc6b65727934b85d2fb86862ff98c46ab7"
	tHash  = "4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHs"
	tTok   = "AwMAAIWvMR2nJXCFnK5+hNahNecWqMC39/TVVLjaR3imNug5"
	tTS    = "1700000000000"
)

var tSig = strings.Repeat("A", 86)

// p builds a params object from key/value pairs; values are raw JSON.
func p(kv ...string) string {
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, fmt.Sprintf("%q:%s", kv[i], kv[i+1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func q(s string) string { return fmt.Sprintf("%q", s) }

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		method     string // canonical, when ok
		status     int
		msg        string
	}{
		{"ok", `{"method":"info","params":{}}`, "info", 200, ""},
		{"alias", `{"method":"get_snodes_for_pubkey","params":{"pubkey":"x"}}`, "get_swarm", 200, ""},
		{"whitespace", " \n{\"params\":{},\"method\":\"store\"}\n", "store", 200, ""},
		{"not json", `{"method":`, "", 400, "invalid json"},
		{"trailing data", `{"method":"info","params":{}} x`, "", 400, "invalid json"},
		{"array", `[1]`, "", 400, "invalid json: no `method` field"},
		{"no method", `{"params":{}}`, "", 400, "invalid json: no `method` field"},
		{"method not string", `{"method":1,"params":{}}`, "", 400, "invalid json: no `method` field"},
		{"method case", `{"METHOD":"info","params":{}}`, "", 400, "invalid json: no `method` field"},
		{"no params", `{"method":"info"}`, "", 400, "invalid json: no `params` field"},
		{"params array", `{"method":"info","params":[]}`, "", 400, "invalid json: no `params` field"},
		{"params null", `{"method":"info","params":null}`, "", 400, "invalid json: no `params` field"},
		{"unknown method", `{"method":"steal","params":{}}`, "", 400, "no method steal"},
		{"ifelse", `{"method":"ifelse","params":{}}`, "ifelse", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, params, err := DecodeRequest([]byte(tc.body))
			st, msg := StatusOf(err)
			if st != tc.status || msg != tc.msg {
				t.Fatalf("status %d %q, want %d %q", st, msg, tc.status, tc.msg)
			}
			if err == nil && (m != tc.method || !isJSONObject(params)) {
				t.Fatalf("method %q params %s", m, params)
			}
		})
	}
	big := make([]byte, MaxRequestBody+1)
	if _, _, err := DecodeRequest(big); func() int { s, _ := StatusOf(err); return s }() != StatusPayloadTooLarge {
		t.Fatalf("oversize body: %v", err)
	}
}

// badCase is malformed params for a method and the message Session returns
// after "invalid request: ".
type badCase struct {
	method, params, msg string
}

// runParseBad checks that each case is rejected with 400 and its message.
func runParseBad(t *testing.T, cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.method+"/"+tc.msg, func(t *testing.T) {
			req, err := ParseParams(tc.method, json.RawMessage(tc.params))
			st, msg := StatusOf(err)
			if st != StatusBadRequest || msg != "invalid request: "+tc.msg {
				t.Fatalf("ParseParams(%s, %s) = %v, %d %q; want 400 %q", tc.method, tc.params, req, st, msg, tc.msg)
			}
			if req != nil {
				t.Fatalf("non-nil request with error")
			}
		})
	}
}

// TestParseBadStore lists malformed store params and Session's answer
// (all 400 "invalid request: ...").
func TestParseBadStore(t *testing.T) {
	pk := q(tPK)
	runParseBad(t, []badCase{
		// store
		{"store", p("pubkey", pk, "ttl", "100000", "data", `""`), "Required field 'timestamp' missing"},
		{"store", p("pubkey", pk, "timestamp", tTS, "data", `""`), "Required field 'expiry' or 'ttl' missing"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "expiry", tTS, "data", `""`), "Cannot specify both 'expiry' and 'ttl'"},
		{"store", p("timestamp", tTS, "ttl", "1", "data", `""`), "Required field 'pubkey' missing"},
		{"store", p("pubkey", pk, "pubKey", pk, "timestamp", tTS, "ttl", "1", "data", `""`), "Cannot specify both 'pubkey' and 'pubKey'"},
		{"store", p("pubkey", q(tPK[:64]), "timestamp", tTS, "ttl", "1", "data", `""`), "Pubkey must be 66 hex digits (33 bytes) long"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1"), "Required field 'data' missing"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "data", `"a"`), "Invalid 'data' value: not base64 encoded"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "data", q(strings.Repeat("A", MaxMessageSizeBase64+4))), "Message body exceeds maximum allowed length of 76800 bytes"},
		{"store", p("pubkey", pk, "timestamp", "1.5", "ttl", "1", "data", `""`), "Invalid value given for 'timestamp': expected integer"},
		{"store", p("pubkey", pk, "timestamp", `"12x"`, "ttl", "1", "data", `""`), `Invalid value given for 'timestamp': "12x"`},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "-1", "data", `""`), "Invalid value given for 'ttl': expected positive integer"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", `"-1"`, "data", `""`), `Invalid value given for 'ttl': "-1"`},
		{"store", p("pubkey", pk, "timestamp", tTS, "expiry", "5", "data", `""`), "Invalid timestamp for 'expiry': timestamp must be in milliseconds"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "data", `""`, "namespace", "40000"), "Invalid value given for 'namespace': value out of range"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "data", `""`, "namespace", `"all"`), "Invalid value given for 'namespace': expected 16-bit integer"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "data", "5"), "Invalid value given for 'data': expected string"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "data", `""`, "signature", `"abc"`), "invalid signature: expected base64 encoded Ed25519 signature"},
		{"store", p("pubkey", q(tGroup), "timestamp", tTS, "ttl", "1", "data", `""`, "signature", q(tSig), "pubkey_ed25519", q(tEd)), "pubkey_ed25519 is only permitted for 05[...] pubkeys"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "data", `""`, "signature", q(tSig), "pubkey_ed25519", q(tEd[:62]+"zz")), "invalid pubkey_ed25519: value is not hex"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "data", `""`, "signature", q(tSig), "pubkey_ed25519", q(tEd[:10])), "Invalid pubkey_ed25519: expected 64 hex char or 32 byte pubkey"},
		{"store", p("pubkey", q(tGroup), "timestamp", tTS, "ttl", "1", "data", `""`, "signature", q(tSig), "subaccount", q(tTok)), "invalid subaccount: subaccount_sig is required when using subaccount"},
		{"store", p("pubkey", q(tGroup), "timestamp", tTS, "ttl", "1", "data", `""`, "signature", q(tSig), "subaccount", q(tTok[:40]), "subaccount_sig", q(tSig)), "invalid subaccount: expected base64 or hex-encoded subaccount token"},
		{"store", p("pubkey", q(tGroup), "timestamp", tTS, "ttl", "1", "data", `""`, "signature", q(tSig), "subaccount", q(tTok), "subaccount_sig", `"x"`), "invalid subaccount signature: expected base64 encoded Ed25519 signature"},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "1", "data", `""`, "sig_timestamp", `"1"`), "Invalid value given for 'sig_timestamp': expected integer timestamp (in milliseconds)"},
	})
}

// TestParseBadRetrieveDelete lists malformed params of the retrieve, delete
// and expire families and Session's answer.
func TestParseBadRetrieveDelete(t *testing.T) {
	pk := q(tPK)
	runParseBad(t, []badCase{
		// retrieve
		{"retrieve", p(), "Required field 'pubkey' missing"},
		{"retrieve", p("pubkey", pk, "namespace", "2"), "Required field 'signature' missing"},
		{"retrieve", p("pubkey", pk, "signature", q(tSig)), "Required field 'timestamp' missing"},
		{"retrieve", p("pubkey", pk, "last_hash", q(tHash), "lastHash", q(tHash)), "Cannot specify both 'last_hash' and 'lastHash'"},
		{"retrieve", p("pubkey", pk, "last_hash", `"abc"`), "Invalid last_hash: expected base64 (43 chars)"},
		{"retrieve", p("pubkey", pk, "last_hash", q(tHash[:42]+"_")), "Invalid last_hash: not base64"},
		{"retrieve", p("pubkey", pk, "max_count", `"5"`), "Invalid value given for 'max_count': expected integer"},
		{"retrieve", p("pubkey", pk, "max_size", "1e3"), "Invalid value given for 'max_size': expected integer"},
		{"retrieve", p("pubkey", pk, "timestamp", "-5", "signature", q(tSig)), "Invalid value given for 'timestamp': expected integer timestamp (in milliseconds)"},
		// delete
		{"delete", p("pubkey", pk, "messages", q(tHash)), "Required field 'signature' missing"},
		{"delete", p("pubkey", pk, "signature", q(tSig)), "Required field 'messages' missing"},
		{"delete", p("pubkey", pk, "signature", q(tSig), "messages", "[]"), "messages does not contain any message hashes"},
		{"delete", p("pubkey", pk, "signature", q(tSig), "messages", `["nope"]`), "invalid message hash: nope"},
		{"delete", p("pubkey", pk, "signature", q(tSig), "messages", `[1]`), "Invalid value given for 'messages': expected string array"},
		{"delete", p("pubkey", pk, "signature", q(tSig), "messages", q(tHash), "required", "1"), "Invalid value given for 'required': expected boolean"},
		{"delete", p("pubKey", pk, "signature", q(tSig), "messages", q(tHash)), "Required field 'pubkey' missing"},
		// delete_all / delete_before / expire_all
		{"delete_all", p("pubkey", pk, "signature", q(tSig)), "Required field 'timestamp' missing"},
		{"delete_all", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS, "namespace", `"some"`), `Invalid value given for 'namespace': expected integer or "all"`},
		{"delete_all", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS, "namespace", "-40000"), "Invalid value given for 'namespace': value out of range"},
		{"delete_all", p("pubkey", pk, "signature", q(tSig), "timestamp", "999999999"), "Invalid timestamp for 'timestamp': timestamp must be in milliseconds"},
		{"delete_before", p("pubkey", pk, "signature", q(tSig)), "Required field 'before' missing"},
		{"delete_before", p("pubkey", pk, "signature", q(tSig), "before", "true"), "Invalid value given for 'before': expected integer timestamp (in milliseconds)"},
		{"expire_all", p("pubkey", pk, "signature", q(tSig)), "Required field 'expiry' missing"},
		// expire
		{"expire", p("pubkey", pk, "signature", q(tSig), "messages", q(tHash)), "Required field 'expiry' missing"},
		{"expire", p("pubkey", pk, "signature", q(tSig), "messages", q(tHash), "expiry", "[]"), "'expiry' does not contain any expiration timestamps"},
		{"expire", p("pubkey", pk, "signature", q(tSig), "messages", q(tHash), "expiry", tTS, "shorten", "true", "extend", "true"), "cannot specify both 'shorten' and 'extend'"},
		{"expire", p("pubkey", pk, "signature", q(tSig), "expiry", tTS), "Required field 'messages' missing"},
		{"expire", p("pubkey", pk, "signature", q(tSig), "messages", q(tHash), "expiry", "[1,2]"), "'expiry' must be a single expiry, or the same length as 'messages'"},
		{"expire", p("pubkey", pk, "signature", q(tSig), "messages", q(tHash), "expiry", "[-1]"), "Invalid value given for 'expiry': expected timestamp array"},
		{"expire", p("pubkey", pk, "signature", q(tSig), "messages", `["x"]`, "expiry", tTS), "invalid message hash: x"},
		// get_expiries
		{"get_expiries", p("pubkey", pk, "signature", q(tSig), "messages", q(tHash)), "Required field 'timestamp' missing"},
		{"get_expiries", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS), "Required field 'messages' missing"},
		{"get_expiries", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS, "messages", "[]"), "messages does not contain any message hashes"},
	})
}

// TestParseBadOther lists malformed params of get_swarm, the subaccount
// methods, oxend_request and the meta-requests, and Session's answer.
func TestParseBadOther(t *testing.T) {
	pk := q(tPK)
	runParseBad(t, []badCase{
		// get_swarm
		{"get_swarm", p(), "Required field 'pubkey' missing"},
		{"get_snodes_for_pubkey", p("pubKey", q("05")), "Pubkey must be 66 hex digits/33 bytes long"},
		{"get_swarm", p("pubkey", pk, "pubKey", pk), "Cannot specify both 'pubkey' and 'pubKey'"},
		// revoke / unrevoke
		{"revoke_subaccount", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS), "Required field 'revoke' missing"},
		{"revoke_subaccount", p("pubkey", pk, "signature", q(tSig), "revoke", q(tTok)), "Required field 'timestamp' missing"},
		{"revoke_subaccount", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS, "revoke", `["xyz"]`), "invalid revoke: expected base64 or hex-encoded subaccount tag"},
		{"revoke_subaccount", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS, "revoke", "["+strings.TrimSuffix(strings.Repeat(q(tTok)+",", 51), ",")+"]"), "invalid revoke: cannot revoke more than 50 subaccounts at once"},
		{"unrevoke_subaccount", p("pubkey", pk, "signature", q(tSig), "unrevoke", q(tTok)), "Required field 'timestamp' missing"},
		{"unrevoke_subaccount", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS), "Required field 'unrevoke' missing"},
		{"unrevoke_subaccount", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS, "unrevoke", "[1]"), "Invalid value given for 'unrevoke': expected string array"},
		// oxend_request
		{"oxend_request", p(), "Required field 'endpoint' missing"},
		{"oxend_request", p("endpoint", `"get_info"`), "Invalid oxend endpoint 'get_info'"},
		// batch / sequence
		{"batch", p(), `Invalid batch request: no valid "requests" field`},
		{"batch", p("requests", "[]"), `Invalid batch request: no valid "requests" field`},
		{"sequence", p("requests", "["+strings.TrimSuffix(strings.Repeat(`{"method":"info","params":{}},`, 21), ",")+"]"), "Invalid batch request: subrequest limit exceeded"},
		{"batch", p("requests", `[1]`), "Invalid batch request: requests must be objects"},
		{"batch", p("requests", `[{"method":"info"}]`), "Invalid batch request: subrequests must have method/params keys"},
		{"batch", p("requests", `[{"method":"nope","params":{}}]`), `Invalid batch subrequest: invalid method "nope"`},
		{"batch", p("requests", `[{"method":"sequence","params":{}}]`), "Invalid batch subrequest: subrequests may not contain meta-requests"},
		{"batch", p("requests", `[{"method":"info","params":{}},{"method":"get_swarm","params":{}}]`), "Required field 'pubkey' missing"},
		{"batch", p("requests", `[{"method":"ifelse","params":{}}]`), "Invalid batch subrequest: subrequests may not contain meta-requests"},
		// ifelse
		{"ifelse", p(), `Invalid ifelse request: no valid "if" field`},
		{"ifelse", p("if", "[]"), `Invalid ifelse request: no valid "if" field`},
		{"ifelse", p("if", "{}", "then", `{"method":"info","params":{}}`), `Invalid ifelse request: must specify at least one "if" condition`},
		{"ifelse", p("if", `{"hf_at_least":[]}`, "then", `{"method":"info","params":{}}`), `Invalid ifelse request: must specify at least one "if" condition`},
		{"ifelse", p("if", `{"hf_at_least":19}`, "then", `{"method":"info","params":{}}`), `Invalid ifelse request: "hf_at_least" must be a list of integers`},
		{"ifelse", p("if", `{"v_before":[2,"x"]}`, "then", `{"method":"info","params":{}}`), `Invalid ifelse request: "v_before" must be a list of integers`},
		{"ifelse", p("if", `{"height_at_least":"5"}`, "then", `{"method":"info","params":{}}`), `Invalid ifelse request: "height_at_least" must be an integer`},
		{"ifelse", p("if", `{"height_before":5}`), `Invalid ifelse request: at least one of "then"/"else" required`},
		{"ifelse", p("if", `{"height_before":5}`, "then", `[]`), "Invalid ifelse request: then must be an object"},
		{"ifelse", p("if", `{"height_before":5}`, "else", `{"method":"info"}`), "Invalid ifelse request: else must have method/params keys"},
		{"ifelse", p("if", `{"height_before":5}`, "then", `{"method":"nope","params":{}}`), `Invalid ifelse request method "then"`},
		{"ifelse", p("if", `{"height_before":5}`, "then", `{"method":"get_swarm","params":{}}`), "Required field 'pubkey' missing"},
	})
}

// goodCase is valid params for a method and a check of the parsed request.
type goodCase struct {
	method, params string
	check          func(t *testing.T, r Request)
}

// runParseGood parses each case, runs its check and round trips the request
// through the client encoding.
func runParseGood(t *testing.T, cases []goodCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.method, func(t *testing.T) {
			r, err := ParseParams(tc.method, json.RawMessage(tc.params))
			if err != nil {
				t.Fatalf("ParseParams(%s): %v", tc.params, err)
			}
			tc.check(t, r)
			// Round trip through the client encoding.
			body, err := EncodeRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			m, params, err := DecodeRequest(body)
			if err != nil {
				t.Fatalf("DecodeRequest(%s): %v", body, err)
			}
			r2, err := ParseParams(m, params)
			if err != nil {
				t.Fatalf("reparse %s: %v", body, err)
			}
			if !reflect.DeepEqual(r, r2) {
				t.Errorf("round trip:\n%#v\n%#v", r, r2)
			}
		})
	}
}

func TestParseGoodStore(t *testing.T) {
	pk := q(tPK)
	acct, _ := ParseAccount(tPK)
	grp, _ := ParseAccount(tGroup)
	tok, _ := ParseSubaccountToken(tTok)
	var sig Signature
	ed := [32]byte{}
	decodeHexInto(ed[:], tEd)
	runParseGood(t, []goodCase{
		{"store", p("pubKey", pk, "timestamp", `"1700000000000"`, "ttl", `"86400000"`, "data", `"aGVsbG8="`), func(t *testing.T, r Request) {
			s := r.(*StoreParams)
			if s.Account != acct || s.Timestamp != 1700000000000 || s.Expiry != 1700086400000 || string(s.Data) != "hello" || s.Auth.Signature != nil {
				t.Errorf("%+v", s)
			}
		}},
		{"store", p("pubkey", pk, "timestamp", tTS, "expiry", "1700000100000", "data", `"aGVsbG8"`, "namespace", "3",
			"signature", q(tSig+"=="), "pubkey_ed25519", q(tEd), "sig_timestamp", "1700000001000"), func(t *testing.T, r Request) {
			s := r.(*StoreParams)
			if s.Namespace != 3 || s.Expiry != 1700000100000 || string(s.Data) != "hello" || s.SigTimestamp != 1700000001000 ||
				*s.Auth.Signature != sig || *s.Auth.PubkeyEd25519 != ed {
				t.Errorf("%+v", s)
			}
		}},
		{"store", p("pubkey", q(tGroup), "timestamp", tTS, "ttl", "100000", "data", `""`, "namespace", "11",
			"signature", q(tSig), "subaccount", q(tTok), "subaccount_sig", q(tSig)), func(t *testing.T, r Request) {
			s := r.(*StoreParams)
			if s.Account != grp || s.SigTimestamp != 1700000000000 || s.Auth.Subaccount == nil || s.Auth.Subaccount.Token != tok {
				t.Errorf("%+v", s)
			}
		}},
		{"store", p("pubkey", pk, "timestamp", tTS, "ttl", "100000", "data", `""`, "pubkey_ed25519", `"junk"`, "subaccount", `"junk"`), func(t *testing.T, r Request) {
			// Without a signature Session ignores the other auth fields.
			if s := r.(*StoreParams); s.Auth != (Auth{}) {
				t.Errorf("%+v", s)
			}
		}},
	})
}

func TestParseGoodRetrieve(t *testing.T) {
	pk := q(tPK)
	acct, _ := ParseAccount(tPK)
	runParseGood(t, []goodCase{
		{"retrieve", p("pubkey", pk, "lastHash", q(tHash), "max_count", "10"), func(t *testing.T, r Request) {
			s := r.(*RetrieveParams)
			if s.Authenticated() || s.LastHash != tHash || s.MaxCount != 10 {
				t.Errorf("%+v", s)
			}
		}},
		{"retrieve", "{ \"pubkey\" :\n " + pk + " ,\t\"namespace\" : -10 , \"max_size\" :  -2 }", func(t *testing.T, r Request) {
			if s := r.(*RetrieveParams); s.Account != acct || s.Namespace != -10 || s.MaxSize != -2 {
				t.Errorf("%+v", s)
			}
		}},
		{"retrieve", p("pubkey", pk, "last_hash", `""`, "namespace", "-10"), func(t *testing.T, r Request) {
			if s := r.(*RetrieveParams); s.Authenticated() || s.LastHash != "" || s.Namespace != -10 {
				t.Errorf("%+v", s)
			}
		}},
		{"retrieve", p("pubkey", pk, "namespace", "2", "timestamp", tTS, "signature", q(tSig), "pubkey_ed25519", q(tEd), "last_hash", "null"), func(t *testing.T, r Request) {
			if s := r.(*RetrieveParams); !s.Authenticated() || s.Timestamp != 1700000000000 || s.Namespace != 2 {
				t.Errorf("%+v", s)
			}
		}},
	})
}

func TestParseGoodDeleteExpire(t *testing.T) {
	pk := q(tPK)
	runParseGood(t, []goodCase{
		{"delete", p("pubkey", pk, "signature", q(tSig), "messages", q(tHash), "required", "true"), func(t *testing.T, r Request) {
			if s := r.(*DeleteParams); len(s.Messages) != 1 || !s.Required {
				t.Errorf("%+v", s)
			}
		}},
		{"delete_all", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS, "namespace", `"all"`), func(t *testing.T, r Request) {
			if s := r.(*DeleteAllParams); !s.Namespace.All {
				t.Errorf("%+v", s)
			}
		}},
		{"delete_before", p("pubkey", pk, "signature", q(tSig), "before", tTS, "namespace", "-10"), func(t *testing.T, r Request) {
			if s := r.(*DeleteBeforeParams); s.Namespace != OneNamespace(-10) || s.Before != 1700000000000 {
				t.Errorf("%+v", s)
			}
		}},
		{"expire_all", p("pubkey", pk, "signature", q(tSig), "expiry", tTS), func(t *testing.T, r Request) {
			if s := r.(*ExpireAllParams); s.Namespace != (NamespaceSel{}) || s.Expiry != 1700000000000 {
				t.Errorf("%+v", s)
			}
		}},
		{"expire", p("pubkey", pk, "signature", q(tSig), "messages", q(tHash), "expiry", "1", "extend", "true", "shorten", "false"), func(t *testing.T, r Request) {
			// The expiry array has no minimum, unlike single timestamps.
			if s := r.(*ExpireParams); s.Mode != ExpireExtend || !reflect.DeepEqual(s.Expiries, []int64{1}) {
				t.Errorf("%+v", s)
			}
		}},
		{"get_expiries", p("pubkey", pk, "signature", q(tSig), "timestamp", tTS, "messages", `["all"]`), func(t *testing.T, r Request) {
			if s := r.(*GetExpiriesParams); !reflect.DeepEqual(s.Messages, []string{"all"}) {
				t.Errorf("%+v", s)
			}
		}},
	})
}

func TestParseGoodOther(t *testing.T) {
	pk := q(tPK)
	acct, _ := ParseAccount(tPK)
	tok, _ := ParseSubaccountToken(tTok)
	runParseGood(t, []goodCase{
		{"get_snodes_for_pubkey", p("pubKey", pk), func(t *testing.T, r Request) {
			if r.Method() != MethodGetSwarm || r.(*GetSwarmParams).Account != acct {
				t.Errorf("%+v", r)
			}
		}},
		{"info", p("anything", "1"), func(t *testing.T, r Request) {
			if _, ok := r.Owner(); ok || r.Method() != MethodInfo {
				t.Errorf("%+v", r)
			}
		}},
		{"revoke_subaccount", p("pubkey", q(tGroup), "signature", q(tSig), "timestamp", tTS, "revoke", q(tTok)), func(t *testing.T, r Request) {
			if s := r.(*RevokeSubaccountParams); len(s.Tokens) != 1 || s.Tokens[0] != tok {
				t.Errorf("%+v", s)
			}
		}},
		{"unrevoke_subaccount", p("pubkey", q(tGroup), "signature", q(tSig), "timestamp", tTS, "unrevoke", "[]"), func(t *testing.T, r Request) {
			if s := r.(*UnrevokeSubaccountParams); len(s.Tokens) != 0 || r.Method() != MethodUnrevokeSubaccount {
				t.Errorf("%+v", s)
			}
		}},
		{"oxend_request", p("endpoint", `"get_service_nodes"`, "params", `{"active_only":true}`), func(t *testing.T, r Request) {
			if s := r.(*OxendRequestParams); s.Endpoint != OxendGetServiceNodes || string(s.Params) != `{"active_only":true}` {
				t.Errorf("%+v", s)
			}
		}},
		{"sequence", p("requests", `[{"method":"info","params":{}},{"method":"get_snodes_for_pubkey","params":{"pubkey":`+pk+`}}]`), func(t *testing.T, r Request) {
			s := r.(*BatchParams)
			if !s.Sequence || len(s.Requests) != 2 || s.Requests[1].Method() != MethodGetSwarm || s.Method() != MethodSequence {
				t.Errorf("%+v", s)
			}
		}},
	})
}

func TestRetrieveLimits(t *testing.T) {
	for _, tc := range []struct {
		count, size         int
		wantCount, wantSize int
	}{
		{0, 0, 0, RetrieveMaxSize / 5},
		{10, 0, 10, RetrieveMaxSize},
		{0, -1, 0, RetrieveMaxSize},
		{0, -2, 0, RetrieveMaxSize / 2},
		{0, 1000, 0, 1000},
		{0, RetrieveMaxSize * 2, 0, RetrieveMaxSize},
		{-3, 0, 1, RetrieveMaxSize},
		{5, -10, 5, RetrieveMaxSize / 10},
		{0, -2147483648, 0, 0},
	} {
		r := &RetrieveParams{MaxCount: tc.count, MaxSize: tc.size}
		c, s := r.Limits()
		if c != tc.wantCount || s != tc.wantSize {
			t.Errorf("Limits(%d, %d) = %d, %d; want %d, %d", tc.count, tc.size, c, s, tc.wantCount, tc.wantSize)
		}
	}
	if RetrieveSize(tHash, 300) != 100+43+400 {
		t.Error("RetrieveSize")
	}
}

func TestParamsMember(t *testing.T) {
	for _, tc := range []struct {
		params, name, want string
		ok                 bool
	}{
		{`{"wait_ms":20000,"pubkey":"x"}`, "wait_ms", "20000", true},
		{`{"wait_ms" : null}`, "wait_ms", "null", true},
		{`{"wait_ms":1,"wait_ms":2}`, "wait_ms", "2", true},
		{`{"WAIT_MS":1}`, "wait_ms", "", false},
		{`{}`, "wait_ms", "", false},
		{`[1]`, "wait_ms", "", false},
		{`{"wait_ms":1`, "wait_ms", "", false},
	} {
		got, ok := ParamsMember(json.RawMessage(tc.params), tc.name)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("ParamsMember(%s, %q) = %s, %v; want %s, %v", tc.params, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIfElse(t *testing.T) {
	body := p("if", `{"hf_at_least":[19,1],"v_before":[3],"height_at_least":100}`,
		"then", `{"method":"batch","params":{"requests":[{"method":"info","params":{}}]}}`,
		"else", `{"method":"ifelse","params":{"if":{"height_before":5},"then":{"method":"info","params":{}}}}`)
	r, err := ParseParams(MethodIfElse, json.RawMessage(body))
	if err != nil {
		t.Fatal(err)
	}
	ie := r.(*IfElseParams)
	c := ie.If
	if *c.HFAtLeast != [2]int{19, 1} || *c.VBefore != [3]int{3, 0, 0} || *c.HeightAtLeast != 100 || c.HFBefore != nil || c.VAtLeast != nil || c.HeightBefore != nil {
		t.Fatalf("condition %+v", c)
	}
	if b, ok := ie.Then.(*BatchParams); !ok || len(b.Requests) != 1 || b.Requests[0].Method() != MethodInfo {
		t.Fatalf("then %#v", ie.Then)
	}
	if nested, ok := ie.Else.(*IfElseParams); !ok || nested.Else != nil || nested.Then.Method() != MethodInfo {
		t.Fatalf("else %#v", ie.Else)
	}
	// All conditions must hold.
	for _, tc := range []struct {
		hf     [2]int
		v      [3]int
		height int64
		want   bool
	}{
		{[2]int{19, 1}, [3]int{2, 11, 0}, 100, true},
		{[2]int{21, 0}, [3]int{2, 99, 99}, 1 << 40, true},
		{[2]int{19, 0}, [3]int{2, 11, 0}, 100, false},
		{[2]int{19, 1}, [3]int{3, 0, 0}, 100, false},
		{[2]int{19, 1}, [3]int{2, 11, 0}, 99, false},
	} {
		if got := c.Holds(tc.hf, tc.v, tc.height); got != tc.want {
			t.Errorf("Holds(%v, %v, %d) = %v, want %v", tc.hf, tc.v, tc.height, got, tc.want)
		}
	}
	// Version lists are padded and cut as Session does.
	r, err = ParseParams(MethodIfElse, json.RawMessage(p("if", `{"hf_before":[21,0,7,8],"v_at_least":[2]}`, "then", `{"method":"info","params":{}}`)))
	if err != nil {
		t.Fatal(err)
	}
	c = r.(*IfElseParams).If
	if *c.HFBefore != [2]int{21, 0} || *c.VAtLeast != [3]int{2, 0, 0} {
		t.Fatalf("padded condition %+v", c)
	}
	// What MarshalJSON writes parses back to the same request.
	enc, err := ie.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseParams(MethodIfElse, enc)
	if err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	if !reflect.DeepEqual(again, Request(ie)) {
		t.Fatalf("round trip:\n%#v\n%#v", again, ie)
	}
}

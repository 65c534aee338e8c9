package storagerpc

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// fuzzRoundTrip parses params of method and, when they parse, checks that
// the client encoding is a fixed point (encode, parse, encode gives the
// same bytes) and that Check does not panic.
func fuzzRoundTrip(t *testing.T, method string, params []byte) Request {
	req, err := ParseParams(method, params)
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("error is %T, not *Error", err)
		}
		if req != nil {
			t.Fatal("request with error")
		}
		return nil
	}
	b1, err := EncodeRequest(req)
	if err != nil {
		t.Fatalf("EncodeRequest: %v", err)
	}
	m, p, err := DecodeRequest(b1)
	if err != nil {
		t.Fatalf("DecodeRequest(%s): %v", b1, err)
	}
	req2, err := ParseParams(m, p)
	if err != nil {
		t.Fatalf("reparse of %s: %v", b1, err)
	}
	b2, err := EncodeRequest(req2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("encoding not stable:\n%s\n%s", b1, b2)
	}
	for _, now := range []time.Time{testNow, time.UnixMilli(0), time.UnixMilli(math.MaxInt64 / 4)} {
		_ = req.Check(now, CheckOptions{Revoked: func(Account, SubaccountToken) bool { return false }})
		_ = req.Check(now, CheckOptions{Forwarded: true})
	}
	return req
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"method":"info","params":{}}`,
		`{"method":"store","params":{"pubkey":"` + tPK + `","timestamp":1700000000000,"ttl":86400000,"data":"aGk="}}`,
		`{"method":"retrieve","params":{"pubKey":"` + tPK + `","lastHash":"` + tHash + `","namespace":-10}}`,
		`{"method":"delete_all","params":{"pubkey":"` + tPK + `","namespace":"all","timestamp":1700000000000,"signature":"` + tSig + `"}}`,
		`{"method":"batch","params":{"requests":[{"method":"info","params":{}},{"method":"get_swarm","params":{"pubkey":"` + tPK + `"}}]}}`,
		`{"method":"expire","params":{"pubkey":"` + tPK + `","messages":["` + tHash + `"],"expiry":[1,2],"shorten":true,"signature":"` + tSig + `"}}`,
		`{"method":"oxend_request","params":{"endpoint":"ons_resolve","params":{"type":0,"name_hash":"x"}}}`,
		`{"method":"ifelse","params":{"if":{"hf_at_least":[19,1],"height_before":7},"then":{"method":"info","params":{}},` +
			`"else":{"method":"ifelse","params":{"if":{"v_before":[2]},"else":{"method":"get_swarm","params":{"pubkey":"` + tPK + `"}}}}}}`,
		`{"method":`, `[]`, `{"method":"x","params":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, params, err := DecodeRequest(body)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error is %T", err)
			}
			return
		}
		if c, ok := CanonicalMethod(m); !ok || c != m {
			t.Fatalf("method %q is not canonical", m)
		}
		if !json.Valid(params) || !isJSONObject(params) {
			t.Fatalf("params %s", params)
		}
		fuzzRoundTrip(t, m, params)
	})
}

func FuzzParseStore(f *testing.F) {
	f.Add([]byte(`{"pubkey":"` + tPK + `","timestamp":1700000000000,"ttl":86400000,"data":"aGk="}`))
	f.Add([]byte(`{"pubKey":"` + tPK + `","timestamp":"1700000000000","ttl":"86400000","data":"aGk","namespace":-21}`))
	f.Add([]byte(`{"pubkey":"` + tGroup + `","timestamp":1700000000000,"expiry":1700000100000,"data":"","namespace":11,` +
		`"signature":"` + tSig + `","subaccount":"` + tTok + `","subaccount_sig":"` + tSig + `==","sig_timestamp":1700000000001}`))
	f.Add([]byte(`{"pubkey":"` + tPK + `","timestamp":-9223372036854775808,"ttl":18446744073709551615,"data":"aGk=","pubkey_ed25519":"` + tEd + `","signature":"` + tSig + `"}`))
	f.Fuzz(func(t *testing.T, params []byte) {
		req := fuzzRoundTrip(t, MethodStore, params)
		if req == nil {
			return
		}
		s := req.(*StoreParams)
		if len(s.Data) > MaxMessageSize {
			t.Fatalf("data of %d bytes accepted", len(s.Data))
		}
		if !ValidMessageHash(s.Hash()) {
			t.Fatal("bad hash")
		}
	})
}

func FuzzParseRetrieve(f *testing.F) {
	f.Add([]byte(`{"pubkey":"` + tPK + `"}`))
	f.Add([]byte(`{"pubkey":"` + tPK + `","namespace":2,"timestamp":1700000000000,"signature":"` + tSig + `","pubkey_ed25519":"` + tEd + `","max_size":-5,"max_count":3}`))
	f.Add([]byte(`{"pubKey":"` + tPK + `","lastHash":"` + tHash + `","namespace":-21}`))
	f.Fuzz(func(t *testing.T, params []byte) {
		req := fuzzRoundTrip(t, MethodRetrieve, params)
		if req == nil {
			return
		}
		c, s := req.(*RetrieveParams).Limits()
		if c < 0 || s < 0 || s > RetrieveMaxSize {
			t.Fatalf("Limits = %d, %d", c, s)
		}
	})
}

func FuzzParseExpire(f *testing.F) {
	f.Add([]byte(`{"pubkey":"` + tPK + `","messages":["` + tHash + `"],"expiry":1700000000000,"extend":true,"signature":"` + tSig + `"}`))
	f.Add([]byte(`{"pubkey":"` + tGroup + `","messages":["` + tHash + `","` + tHash + `"],"expiry":[1,2],"signature":"` + tSig + `","subaccount":"` + tTok + `","subaccount_sig":"` + tSig + `"}`))
	f.Fuzz(func(t *testing.T, params []byte) {
		fuzzRoundTrip(t, MethodExpire, params)
	})
}

func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(`{"requests":[{"method":"info","params":{}},{"method":"delete","params":{"pubkey":"` + tPK + `","messages":"` + tHash + `","signature":"` + tSig + `"}}]}`))
	f.Add([]byte(`{"requests":[{"method":"revoke_subaccount","params":{"pubkey":"` + tGroup + `","revoke":["` + tTok + `"],"timestamp":1700000000000,"signature":"` + tSig + `"}}]}`))
	f.Fuzz(func(t *testing.T, params []byte) {
		fuzzRoundTrip(t, MethodSequence, params)
	})
}

func FuzzBase64(f *testing.F) {
	for _, s := range []string{"", "YQ", "YQ==", "YR", "Y", "a=b=", "////"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := decodeBase64(s)
		if (err == nil) != isBase64(s) {
			t.Fatalf("decodeBase64 and isBase64 disagree on %q", s)
		}
		if err == nil {
			// Re-encoding reproduces s up to padding and unused bits.
			enc := lenient.EncodeToString(b)
			t2, _ := trimB64Padding(s)
			if len(enc) != len(t2) || (len(enc) > 0 && enc[:len(enc)-1] != t2[:len(t2)-1]) {
				t.Fatalf("%q decodes to %x, re-encodes to %q", s, b, enc)
			}
		}
	})
}

func BenchmarkParseStore(b *testing.B) {
	u := newUser(b, 1)
	req := &StoreParams{Account: u.acct, Namespace: NamespaceUserProfile, Timestamp: testNow.UnixMilli(),
		Expiry: testNow.Add(time.Hour).UnixMilli(), Data: make([]byte, 1024), SigTimestamp: testNow.UnixMilli()}
	req.Auth = u.auth(req.SigMessage())
	benchDecode(b, req)
}

// benchDecode measures decoding and parsing req's request body.
func benchDecode(b *testing.B, req Request) {
	body, err := EncodeRequest(req)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		m, params, err := DecodeRequest(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseParams(m, params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAndCheckStore(b *testing.B) {
	u := newUser(b, 1)
	req := &StoreParams{Account: u.acct, Namespace: NamespaceUserProfile, Timestamp: testNow.UnixMilli(),
		Expiry: testNow.Add(time.Hour).UnixMilli(), Data: make([]byte, 1024), SigTimestamp: testNow.UnixMilli()}
	req.Auth = u.auth(req.SigMessage())
	body, _ := EncodeRequest(req)
	b.ReportAllocs()
	for b.Loop() {
		m, params, _ := DecodeRequest(body)
		r, err := ParseParams(m, params)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Check(testNow, CheckOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseStoreSmall(b *testing.B) {
	u := newUser(b, 1)
	req := &StoreParams{Account: u.acct, Namespace: NamespaceDefault, Timestamp: testNow.UnixMilli(),
		Expiry: testNow.Add(time.Hour).UnixMilli(), Data: make([]byte, 100)}
	benchDecode(b, req)
}

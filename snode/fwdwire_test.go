package snode

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// fwdSamples are stores of every auth shape: public inbox (none), signed,
// signed with pubkey_ed25519, with a subaccount, a ttl expiry, empty data.
func fwdSamples(t testing.TB) []fwdStore {
	u := newUser(t)
	ts := int64(1_760_000_000_000)
	signed := u.store(2, []byte("signed"), time.Hour)
	signed.Timestamp, signed.SigTimestamp = ts, ts-5
	sig := storagerpc.Signature(bytes.Repeat([]byte{7}, 64))
	sub := &storagerpc.SignedSubaccount{Token: storagerpc.NewSubaccountToken(key.PrefixGroup, storagerpc.SubaccountWrite, key.AccountPublic(bytes.Repeat([]byte{3}, 32))), Sig: sig}
	group := storagerpc.NewAccount(key.PrefixGroup, [32]byte(bytes.Repeat([]byte{9}, 32)))
	return []fwdStore{
		{Op: ts, Params: &storagerpc.StoreParams{Account: u.acct, Namespace: 0, Timestamp: ts, Expiry: ts + 3600_000, Data: []byte("hello")}},
		{Op: ts + 1, Params: signed},
		{Op: ts + 2, Params: &storagerpc.StoreParams{Account: group, Namespace: -11, Timestamp: ts, Expiry: ts + 60_000, Data: []byte{},
			SigTimestamp: ts, Auth: storagerpc.Auth{Signature: &sig, Subaccount: sub}}},
		{Op: -1, Params: &storagerpc.StoreParams{Account: u.acct, Namespace: 32767, Timestamp: 5, Expiry: 86_400_005, Data: bytes.Repeat([]byte{1}, storagerpc.MaxMessageSize)}},
		{Op: ts, Params: &storagerpc.StoreParams{Account: u.acct, Namespace: -32768, Timestamp: ts, Expiry: ts, Data: []byte("x"),
			SigTimestamp: ts, Auth: storagerpc.Auth{Signature: &sig}}},
	}
}

func TestFwdStoresRoundTrip(t *testing.T) {
	items := fwdSamples(t)
	for i := range items {
		b := appendFwdStores(nil, items[i:i+1])
		got, err := parseFwdStores(b)
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, items[i:i+1]) {
			t.Errorf("item %d: got %+v, want %+v", i, got[0].Params, items[i].Params)
		}
		// The proof a peer keeps is made from the decoded params: it
		// must be the entry node's byte for byte.
		if a, b := makeProof(got[0].Params), makeProof(items[i].Params); !bytes.Equal(a, b) {
			t.Errorf("item %d: proof %s, want %s", i, a, b)
		}
	}
	b := appendFwdStores(nil, items)
	got, err := parseFwdStores(b)
	if err != nil || !reflect.DeepEqual(got, items) {
		t.Fatalf("batch round trip: %v", err)
	}
	// Every truncation is an error, never a panic.
	for n := range len(b) {
		if _, err := parseFwdStores(b[:n]); !errors.Is(err, errFwdBody) {
			t.Fatalf("truncated at %d of %d: %v", n, len(b), err)
		}
	}
}

func TestParseFwdStoresRejects(t *testing.T) {
	one := appendFwdStores(nil, fwdSamples(t)[:1])
	withCount := func(n uint16) []byte {
		b := bytes.Clone(one)
		b[1], b[2] = byte(n>>8), byte(n)
		return b
	}
	// flags are at 1+2 + 8+33+2+8+8 = 62
	withFlags := func(f byte) []byte {
		b := bytes.Clone(one)
		b[62] = f
		return b
	}
	big := appendFwdStores(nil, []fwdStore{{Op: 1, Params: &storagerpc.StoreParams{Data: make([]byte, storagerpc.MaxMessageSize+1)}}})
	many := appendFwdStores(nil, make([]fwdStore, 0))
	many[1], many[2] = (fwdMaxItems+1)>>8, (fwdMaxItems+1)&0xff
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"empty", nil, "short version"},
		{"version", append([]byte{2}, one[1:]...), "version 2"},
		{"no items", []byte{fwdVersion, 0, 0}, "0 items"},
		{"too many items", append(many, make([]byte, 300*fwdItemFixed)...), "257 items"},
		{"count above items", withCount(2), "short items"},
		{"trailing", append(bytes.Clone(one), 0), "trailing bytes"},
		{"unknown flag", withFlags(1 << 5), "auth flags"},
		{"subaccount without signature", withFlags(fwdFlagSub), "auth flags"},
		{"pubkey_ed25519 without signature", withFlags(fwdFlagPkEd), "auth flags"},
		{"data too long", big, "data of 76801 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFwdStores(tc.body)
			if !errors.Is(err, errFwdBody) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func fwdAnswerSamples() []fwdAnswer {
	sig := storagerpc.Signature(bytes.Repeat([]byte{5}, 64))
	return []fwdAnswer{
		{OK: &fwdStored{Expiry: 1_760_000_000_000, Signature: sig}},
		{OK: &fwdStored{Expiry: -1, Already: true, Signature: sig}},
		{Failure: &storagerpc.NodeFailure{Failed: true, Code: 401, Reason: "store signature verification failed"}},
		{Failure: &storagerpc.NodeFailure{Failed: true, QueryFailure: true}},
		{Failure: &storagerpc.NodeFailure{Failed: true, Timeout: true, BadPeerResponse: true, Code: 65535, Reason: strings.Repeat("r", maxPeerRespErr)}},
	}
}

func TestFwdAnswersRoundTrip(t *testing.T) {
	as := fwdAnswerSamples()
	b := appendFwdAnswers(nil, as)
	got, err := parseFwdAnswers(b, len(as))
	if err != nil || !reflect.DeepEqual(got, as) {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, as)
	}
	for n := range len(b) {
		if _, err := parseFwdAnswers(b[:n], len(as)); !errors.Is(err, errFwdBody) {
			t.Fatalf("truncated at %d of %d: %v", n, len(b), err)
		}
	}
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"count", b, "5 answers for 4 stores"},
		{"kind", []byte{fwdVersion, 0, 1, 9, 0, 0, 0, 0, 0}, "answer kind 9"},
		{"already", append([]byte{fwdVersion, 0, 1, fwdKindStored, 0, 0, 0, 0, 0, 0, 0, 0, 2}, make([]byte, 64)...), "already 2"},
		{"failure flags", []byte{fwdVersion, 0, 1, fwdKindFailed, 1 << 4, 0, 0, 0, 0}, "bad failure"},
		{"reason too long", append([]byte{fwdVersion, 0, 1, fwdKindFailed, 0, 0, 0, 1, 1}, make([]byte, 257)...), "bad failure"},
		{"trailing", append(bytes.Clone(b), 0), "trailing bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := len(as)
			if tc.name == "count" {
				want = 4
			} else if tc.name != "trailing" {
				want = 1
			}
			_, err := parseFwdAnswers(tc.body, want)
			if !errors.Is(err, errFwdBody) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParseFwdStores(f *testing.F) {
	items := fwdSamples(f)
	f.Add(appendFwdStores(nil, items[:3]))
	f.Add(appendFwdStores(nil, items[4:]))
	f.Add([]byte{fwdVersion, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseFwdStores(b)
		if err != nil {
			if !errors.Is(err, errFwdBody) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if again := appendFwdStores(nil, got); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, b)
		}
	})
}

func FuzzParseFwdAnswers(f *testing.F) {
	as := fwdAnswerSamples()
	f.Add(appendFwdAnswers(nil, as), len(as))
	f.Add(appendFwdAnswers(nil, as[2:3]), 1)
	f.Fuzz(func(t *testing.T, b []byte, want int) {
		got, err := parseFwdAnswers(b, want)
		if err != nil {
			if !errors.Is(err, errFwdBody) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if again := appendFwdAnswers(nil, got); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, b)
		}
	})
}

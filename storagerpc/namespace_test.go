package storagerpc

import (
	"testing"

	"sotto.dev/key"
)

func TestNamespaceRules(t *testing.T) {
	for _, tc := range []struct {
		ns                                         Namespace
		inbox, outbox, unrevocable, noAuthRetrieve bool
		sig                                        string
	}{
		{0, true, false, false, false, ""},
		{2, false, false, false, false, "2"},
		{10, true, false, false, false, "10"},
		{11, false, false, false, false, "11"},
		{-10, true, false, false, true, "-10"},
		{-1, false, true, false, true, "-1"},
		{-21, false, true, false, true, "-21"},
		{-41, false, true, false, true, "-41"},
		{-20, true, false, false, false, "-20"},
		{-11, false, false, true, false, "-11"},
		{-211, false, false, true, false, "-211"},
		{-111, false, false, true, false, "-111"},
		{-1011, false, false, true, false, "-1011"},
		{-1021, false, true, false, true, "-1021"},
		{-121, false, true, false, true, "-121"}, // 121 % 20 == 1, 121 % 100 == 21
		{-30, true, false, false, false, "-30"},
		{-32768, false, false, false, false, "-32768"},
		{32767, false, false, false, false, "32767"},
		{-32760, true, false, false, false, "-32760"},
	} {
		if got := tc.ns.IsPublicInbox(); got != tc.inbox {
			t.Errorf("%d.IsPublicInbox() = %v", tc.ns, got)
		}
		if got := tc.ns.IsPublicOutbox(); got != tc.outbox {
			t.Errorf("%d.IsPublicOutbox() = %v", tc.ns, got)
		}
		if got := tc.ns.IsUnrevocable(); got != tc.unrevocable {
			t.Errorf("%d.IsUnrevocable() = %v", tc.ns, got)
		}
		if got := tc.ns.IsNoAuthRetrieve(); got != tc.noAuthRetrieve {
			t.Errorf("%d.IsNoAuthRetrieve() = %v", tc.ns, got)
		}
		if got := tc.ns.SigString(); got != tc.sig {
			t.Errorf("%d.SigString() = %q, want %q", tc.ns, got, tc.sig)
		}
		if got := tc.ns.StoreNeedsAuth(); got == tc.inbox {
			t.Errorf("%d.StoreNeedsAuth() = %v", tc.ns, got)
		}
		want := MaxTTLPrivate
		if tc.inbox {
			want = MaxTTLPublic
		}
		if got := tc.ns.MaxTTL(); got != want {
			t.Errorf("%d.MaxTTL() = %v", tc.ns, got)
		}
	}
}

func TestNamespaceSel(t *testing.T) {
	for _, tc := range []struct {
		sel       NamespaceSel
		sig, json string
	}{
		{NamespaceSel{}, "", "0"},
		{OneNamespace(5), "5", "5"},
		{OneNamespace(-10), "-10", "-10"},
		{AllNamespaces, "all", `"all"`},
	} {
		if got := tc.sel.SigString(); got != tc.sig {
			t.Errorf("%v.SigString() = %q, want %q", tc.sel, got, tc.sig)
		}
		if got := mustJSON(t, tc.sel); got != tc.json {
			t.Errorf("json(%v) = %s, want %s", tc.sel, got, tc.json)
		}
	}
}

func TestParseAccount(t *testing.T) {
	const id = "05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48"
	a, err := ParseAccount(id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Prefix() != key.PrefixStandard || a.String() != id || len(a.Bytes()) != AccountSize {
		t.Fatalf("ParseAccount(%s) = %v", id, a)
	}
	up, err := ParseAccount("05FFBA630924AA1224BB930DDE21C0D11BF004608F2812217F8AC812D6C7E3AD48")
	if err != nil || up != a {
		t.Fatalf("uppercase: %v, %v", up, err)
	}
	// Any prefix byte is an account, as on Session's nodes.
	if b, err := ParseAccount("ab" + id[2:]); err != nil || b.Prefix() != 0xab {
		t.Fatalf("prefix ab: %v, %v", b, err)
	}
	for _, bad := range []string{"", id[:64], id + "00", "zz" + id[2:], "05" + id[4:] + "g0"} {
		if _, err := ParseAccount(bad); err == nil {
			t.Errorf("ParseAccount(%q) succeeded", bad)
		}
	}
	var got Account
	if err := got.UnmarshalText([]byte(id)); err != nil || got != a {
		t.Fatalf("UnmarshalText: %v %v", got, err)
	}
	if AccountFromSessionID(a.SessionID()) != a {
		t.Fatal("SessionID round trip")
	}
}

package config

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMergeReport: a merge says, per message, whether it was accepted,
// opened with no key, waits for the other parts of its message, or can
// never be valid; a message no key opened is accepted once its key is
// there.
func TestMergeReport(t *testing.T) {
	sk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, 32))
	pk := sk.Public().(ed25519.PublicKey)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	kind := Kind{Name: "groups_info", Namespace: 13, Domain: "groups::Info"}
	oldKey, newKey := [32]byte{1}, [32]byte{2}
	// push returns a message that names the object name, of seqno 2 for
	// "new" and 1 for the others.
	push := func(signer ed25519.PrivateKey, key [32]byte, name string) []byte {
		t.Helper()
		c, err := New(Options{Kind: kind, Keys: [][32]byte{key}, Signer: signer})
		if err != nil {
			t.Fatal(err)
		}
		rounds := 1
		if name == "new" {
			rounds = 2
		}
		var p Push
		for i := range rounds {
			c.Mutate(func(d Dict) bool {
				d.SetString("n", name)
				return d.SetInt("i", int64(i)+1)
			})
			if p, err = c.Push(); err != nil {
				t.Fatal(err)
			}
			c.ConfirmPushed(p.Seqno, name)
		}
		return p.Messages[0]
	}
	notConfig, err := Seal([]byte("not a config message"), kind, oldKey, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Incompressible junk over the single-message limit goes out as parts.
	junk := make([]byte, 2*MaxMessageSize)
	_, _ = rand.NewChaCha8([32]byte{3}).Read(junk)
	parts, err := Seal(junk, kind, oldKey, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts.Messages) < 2 {
		t.Fatalf("%d messages, want parts", len(parts.Messages))
	}

	member, err := New(Options{Kind: kind, Verifier: pk})
	if err != nil {
		t.Fatal(err)
	}
	in := []Incoming{{Hash: "new", Data: push(sk, newKey, "new")}, {Hash: "short", Data: []byte("short")}}
	_, out, err := member.MergeReport(in)
	if !errors.Is(err, ErrNoKeys) || !slices.Equal(out, []MergeOutcome{MergeNoKey, MergeNoKey}) {
		t.Fatalf("without keys: %v, %v", out, err)
	}

	member.SetKeys([][32]byte{oldKey}, false)
	in = []Incoming{
		{Hash: "new", Data: push(sk, newKey, "new")},
		{Hash: "short", Data: []byte("short")},
		{Hash: "unsigned", Data: push(other, oldKey, "forged")},
		{Hash: "junk", Data: notConfig.Messages[0]},
		{Hash: "part0", Data: parts.Messages[0]},
		{Hash: "old", Data: push(sk, oldKey, "old")},
	}
	acc, out, err := member.MergeReport(in)
	want := []MergeOutcome{MergeNoKey, MergeRejected, MergeRejected, MergeRejected, MergePart, MergeAccepted}
	if err != nil || !slices.Equal(out, want) || !slices.Equal(acc, []string{"old"}) {
		t.Fatalf("outcomes %v, accepted %q, %v; want %v, [old]", out, acc, err, want)
	}
	if got := member.Data().String("n"); got != "old" {
		t.Errorf("name %q, want old", got)
	}

	// The other parts complete a message that is not a config.
	var rest []Incoming
	for i, m := range parts.Messages[1:] {
		rest = append(rest, Incoming{Hash: "part" + string(rune('1'+i)), Data: m})
	}
	_, out, err = member.MergeReport(rest)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o != MergeRejected {
			t.Errorf("part %d: %v, want rejected", i+1, o)
		}
	}

	// The new key arrives: the message that waited for it is accepted.
	member.SetKeys([][32]byte{newKey, oldKey}, false)
	acc, out, err = member.MergeReport(in[:1])
	if err != nil || !slices.Equal(out, []MergeOutcome{MergeAccepted}) || !slices.Equal(acc, []string{"new"}) {
		t.Fatalf("with the new key: %v, %q, %v", out, acc, err)
	}
	if got := member.Data().String("n"); got != "new" {
		t.Errorf("name %q, want new", got)
	}
	if MergeNoKey.String() != "no key" || MergeOutcome(9).String() != "MergeOutcome(9)" {
		t.Errorf("names %q %q", MergeNoKey, MergeOutcome(9))
	}
}

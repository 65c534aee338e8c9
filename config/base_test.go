package config

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

var testSeed = [32]byte{0: 0xe7, 1: 0x72, 31: 0x01}

func newTestConfig(t testing.TB, kind string, dump []byte) *Config {
	t.Helper()
	c, err := New(Options{
		Kind:    testKinds[kind],
		Keys:    [][32]byte{testSeed},
		Account: ed25519.NewKeyFromSeed(testSeed[:]),
		Dump:    dump,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fillContacts puts n contacts with random ids and names in d, so that
// the data does not compress.
func fillContacts(d Dict, n int, seed uint64) bool {
	rng := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
	c := d.SubDict("c")
	for range n {
		id := make([]byte, 33)
		id[0] = 0x05
		for i := 1; i < 33; i++ {
			id[i] = byte(rng.Uint32())
		}
		name := make([]byte, 20)
		for i := range name {
			name[i] = 'a' + byte(rng.IntN(26))
		}
		c.SubDict(string(id)).SetString("n", string(name))
		c.SubDict(string(id)).SetInt("a", 1)
	}
	return true
}

func TestNewOptions(t *testing.T) {
	sk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, 32)).Public().(ed25519.PublicKey)
	bad := []Options{
		{Kind: Kind{Domain: ""}},
		{Kind: Kind{Domain: "a domain that is longer than 24"}},
		{Kind: testKinds["contacts"], Signer: sk[:10]},
		{Kind: testKinds["contacts"], Verifier: other[:10]},
		{Kind: testKinds["contacts"], Signer: sk, Verifier: other},
		{Kind: testKinds["contacts"], Dump: []byte("d1:!i0ee")},
		{Kind: testKinds["contacts"], Dump: []byte("d1:!i7e1:$23:d1:#i0e1:&de1:<le1:=dee1:(0:1:)lee")},
		{Kind: testKinds["contacts"], Dump: []byte("d1:!i0e1:$4:junk1:(0:1:)lee")},
		{Kind: testKinds["contacts"], Dump: []byte("d1:!i0e1:$23:d1:#i0e1:&de1:<le1:=dee1:(0:e")},
	}
	for i, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("options %d accepted", i)
		}
	}
	c, err := New(Options{Kind: testKinds["contacts"]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(); !errors.Is(err, ErrNoKeys) {
		t.Errorf("push without keys: %v", err)
	}
	if _, err := c.Merge(nil); !errors.Is(err, ErrNoKeys) {
		t.Errorf("merge without keys: %v", err)
	}
}

func TestStateMachine(t *testing.T) {
	c := newTestConfig(t, "user_profile", nil)
	if c.Seqno() != 0 || c.State() != StateClean || c.NeedsPush() || c.NeedsDump() {
		t.Fatalf("new object: seqno %d, state %d", c.Seqno(), c.State())
	}
	c.Mutate(func(d Dict) bool { return d.SetStringOrDelete("n", "") }) // no change
	if c.State() != StateClean || c.Seqno() != 0 {
		t.Fatal("a change that changed nothing made the object dirty")
	}
	for _, name := range []string{"a", "b", "c"} {
		c.Mutate(func(d Dict) bool { return d.SetString("n", name) })
	}
	if c.State() != StateDirty || c.Seqno() != 1 || !c.NeedsPush() || !c.NeedsDump() {
		t.Fatalf("after changes: seqno %d, state %d", c.Seqno(), c.State())
	}
	c.Dump()
	if c.NeedsDump() {
		t.Error("NeedsDump after Dump")
	}
	p, err := c.Push()
	if err != nil {
		t.Fatal(err)
	}
	if p.Seqno != 1 || c.State() != StateWaiting || !c.NeedsDump() {
		t.Fatalf("after push: seqno %d, state %d", p.Seqno, c.State())
	}
	c.ConfirmPushed(0, "stale")
	if c.State() != StateWaiting {
		t.Error("a confirmation of another seqno was taken")
	}
	// A change while waiting starts the next seqno; the confirmation of the
	// old one is then ignored.
	c.Mutate(func(d Dict) bool { return d.SetString("n", "d") })
	if c.Seqno() != 2 || c.State() != StateDirty {
		t.Fatalf("change while waiting: seqno %d, state %d", c.Seqno(), c.State())
	}
	c.ConfirmPushed(1, "h1")
	if c.State() != StateDirty || len(c.CurrentHashes()) != 0 {
		t.Error("the old seqno's confirmation was taken")
	}
	p, err = c.Push()
	if err != nil {
		t.Fatal(err)
	}
	c.ConfirmPushed(p.Seqno, "h2")
	if c.State() != StateClean || !slices.Equal(c.CurrentHashes(), []string{"h2"}) {
		t.Fatalf("after confirm: state %d, hashes %q", c.State(), c.CurrentHashes())
	}
	c.Mutate(func(d Dict) bool { return d.SetString("n", "e") })
	p, err = c.Push()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Obsolete, []string{"h2"}) {
		t.Errorf("obsolete %q, want h2", p.Obsolete)
	}
	// A clean object pushes its message again.
	c.ConfirmPushed(p.Seqno, "h3")
	again, err := c.Push()
	if err != nil || again.Seqno != 3 || c.State() != StateClean || len(again.Obsolete) != 0 {
		t.Errorf("push of a clean object: %+v, %v, state %d", again, err, c.State())
	}
}

// A member of a group, who can verify but not sign, cannot change it.
func TestReadOnly(t *testing.T) {
	pk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32)).Public().(ed25519.PublicKey)
	c, err := New(Options{Kind: Kind{Name: "groups_info", Namespace: 13, Domain: "groups::Info"}, Keys: [][32]byte{{1}}, Verifier: pk})
	if err != nil {
		t.Fatal(err)
	}
	c.Mutate(func(d Dict) bool { return d.SetString("n", "x") })
	if c.State() != StateClean || c.Data().String("n") != "" {
		t.Error("a read-only object changed")
	}
}

// Signed group configs end to end: an admin pushes, a member merges
// conflicting admins' pushes by adopting the best one, an admin merges
// them into a new signed message.
func TestSignedConfigs(t *testing.T) {
	sk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, 32))
	pk := sk.Public().(ed25519.PublicKey)
	kind := Kind{Name: "groups_info", Namespace: 13, Domain: "groups::Info"}
	key := [][32]byte{{9}}
	admin := func() *Config {
		c, err := New(Options{Kind: kind, Keys: key, Signer: sk})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a1, a2 := admin(), admin()
	member, err := New(Options{Kind: kind, Keys: key, Verifier: pk})
	if err != nil {
		t.Fatal(err)
	}
	a1.Mutate(func(d Dict) bool { return d.SetString("n", "one") })
	p1, err := a1.Push()
	if err != nil {
		t.Fatal(err)
	}
	a2.Mutate(func(d Dict) bool { return d.SetString("o", "two") })
	p2, err := a2.Push()
	if err != nil {
		t.Fatal(err)
	}
	in := []Incoming{{Hash: "h1", Data: p1.Messages[0]}, {Hash: "h2", Data: p2.Messages[0]}}

	acc, err := member.Merge(in)
	if err != nil || len(acc) != 2 {
		t.Fatalf("member merge: %q, %v", acc, err)
	}
	if member.NeedsPush() || member.Seqno() != 1 {
		t.Errorf("member: needs push %v, seqno %d", member.NeedsPush(), member.Seqno())
	}
	if n, o := member.Data().String("n"), member.Data().String("o"); (n == "") == (o == "") {
		t.Errorf("member merged instead of adopting one: n=%q o=%q", n, o)
	}

	a3 := admin()
	if _, err := a3.Merge(in); err != nil {
		t.Fatal(err)
	}
	if !a3.NeedsPush() || a3.Seqno() != 2 || a3.Data().String("n") != "one" || a3.Data().String("o") != "two" {
		t.Fatalf("admin merge: seqno %d, data %v", a3.Seqno(), a3.Data())
	}
	pm, err := a3.Push()
	if err != nil {
		t.Fatal(err)
	}
	acc, err = member.Merge([]Incoming{{Hash: "hm", Data: pm.Messages[0]}})
	if err != nil || !slices.Equal(acc, []string{"hm"}) || member.Seqno() != 2 {
		t.Fatalf("member takes the admin's merge: %q, %v, seqno %d", acc, err, member.Seqno())
	}
	if !slices.Equal(member.CurrentHashes(), []string{"hm"}) {
		t.Errorf("member current hashes %q", member.CurrentHashes())
	}
	// The member's dump keeps the signature it verified.
	if !bytes.Contains(member.Dump(), []byte("1:~64:")) {
		t.Error("the member's dump lost the signature")
	}
}

// A config too large for one message goes out as parts, and another
// device puts it back together, whatever order and batches the parts
// arrive in.
func TestMultipart(t *testing.T) {
	a := newTestConfig(t, "contacts", nil)
	a.Mutate(func(d Dict) bool { return fillContacts(d, 1500, 1) })
	p, err := a.Push()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) < 2 {
		t.Fatalf("pushed %d messages, want parts", len(p.Messages))
	}
	var hashes []string
	var in []Incoming
	for i, m := range p.Messages {
		if len(m) > MaxMessageSize {
			t.Errorf("part %d is %d bytes", i, len(m))
		}
		h := fmt.Sprintf("part%d", i)
		hashes = append(hashes, h)
		in = append(in, Incoming{Hash: h, Data: m})
	}
	a.ConfirmPushed(p.Seqno, hashes...)
	if !slices.Equal(a.CurrentHashes(), hashes) {
		t.Fatalf("current hashes %q", a.CurrentHashes())
	}
	re := newTestConfig(t, "contacts", a.Dump())
	if !slices.Equal(re.CurrentHashes(), hashes) {
		t.Errorf("reloaded current hashes %q", re.CurrentHashes())
	}

	b := newTestConfig(t, "contacts", nil)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	acc, err := b.Merge(in[:1])
	if err != nil || len(acc) != 0 || b.Seqno() != 0 {
		t.Fatalf("first part alone: %q, %v, seqno %d", acc, err, b.Seqno())
	}
	acc, err = b.Merge(in[1:])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(acc, hashes) {
		t.Errorf("accepted %q, want every part in order %q", acc, hashes)
	}
	if b.Seqno() != 1 || b.NeedsPush() || !b.Data().Equal(a.Data()) {
		t.Fatalf("b: seqno %d, needs push %v, equal %v", b.Seqno(), b.NeedsPush(), b.Data().Equal(a.Data()))
	}
	if !slices.Equal(b.CurrentHashes(), hashes) {
		t.Errorf("b current hashes %q", b.CurrentHashes())
	}
	// b changes one contact: its push makes all the parts obsolete.
	b.Mutate(func(d Dict) bool { return d.SetInt("x", 1) })
	pb, err := b.Push()
	if err != nil {
		t.Fatal(err)
	}
	obs := slices.Clone(pb.Obsolete)
	want := slices.Clone(hashes)
	slices.Sort(want)
	if !slices.Equal(obs, want) {
		t.Errorf("obsolete %q, want %q", obs, want)
	}
}

// A dirty object of 10,000 contacts: a change does not copy the object.
func TestMutateDoesNotCopy(t *testing.T) {
	c := newTestConfig(t, "contacts", nil)
	c.Mutate(func(d Dict) bool { return fillContacts(d, 10000, 2) })
	c.pushed()
	var id string
	for k := range c.Data().Dict("c") {
		id = k
		break
	}
	n := int64(0)
	c.Mutate(func(d Dict) bool { n++; return d.Dict("c").Dict(id).SetInt("+", n) })
	allocs := testing.AllocsPerRun(100, func() {
		c.Mutate(func(d Dict) bool { n++; return d.Dict("c").Dict(id).SetInt("+", n) })
	})
	if allocs > 2 {
		t.Errorf("%v allocations per change of a dirty object", allocs)
	}
	if c.Seqno() != 2 {
		t.Errorf("seqno %d", c.Seqno())
	}
	// No-op changes of a clean object reuse one copy.
	c.pushed()
	c.ConfirmPushed(2, "h")
	c.Mutate(func(Dict) bool { return false })
	allocs = testing.AllocsPerRun(10, func() { c.Mutate(func(Dict) bool { return false }) })
	if allocs > 2 {
		t.Errorf("%v allocations per no-op change of a clean object", allocs)
	}
}

func BenchmarkMutateDirty10k(b *testing.B) {
	c := newTestConfig(b, "contacts", nil)
	c.Mutate(func(d Dict) bool { return fillContacts(d, 10000, 3) })
	var id string
	for k := range c.Data().Dict("c") {
		id = k
		break
	}
	n := int64(0)
	for b.Loop() {
		n++
		c.Mutate(func(d Dict) bool { return d.Dict("c").Dict(id).SetInt("+", n) })
	}
}

func BenchmarkSerialize10k(b *testing.B) {
	c := newTestConfig(b, "contacts", nil)
	c.Mutate(func(d Dict) bool { return fillContacts(d, 10000, 3) })
	for b.Loop() {
		c.Serialized()
	}
}

// TestGeneration: a merge that changes the object moves Generation and
// leaves the Dict an earlier Data returned as it was; a merge that brings
// nothing new moves nothing.
func TestGeneration(t *testing.T) {
	a := newTestConfig(t, "user_profile", nil)
	b := newTestConfig(t, "user_profile", nil)
	a.Mutate(func(d Dict) bool { return d.SetString("n", "from a") })
	p, err := a.Push()
	if err != nil {
		t.Fatal(err)
	}
	a.ConfirmPushed(p.Seqno, "ha")
	msgs := []Incoming{{Hash: "ha", Data: p.Messages[0]}}

	gen, before := b.Generation(), b.Data()
	if _, err := b.Merge(msgs); err != nil {
		t.Fatal(err)
	}
	if b.Generation() == gen || b.Data().String("n") != "from a" {
		t.Fatalf("merge: generation %d → %d, name %q", gen, b.Generation(), b.Data().String("n"))
	}
	if before.String("n") != "" {
		t.Errorf("the data before the merge was edited: name %q", before.String("n"))
	}
	gen = b.Generation()
	if _, err := b.Merge(msgs); err != nil {
		t.Fatal(err)
	}
	if b.Generation() != gen {
		t.Error("merging the same message again moved Generation")
	}
}

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sotto.dev/identity"
	"sotto.dev/internal/linkem"
	"sotto.dev/internal/testnet"
	"sotto.dev/snode"
	"sotto.dev/storagerpc"
)

// The swarm split of issue 17 ("Partitions"): a swarm of five is cut 2 | 3
// on its links (internal/linkem) for a minute while a client on each side,
// reaching only its side, stores and changes messages; then the links
// heal and anti-entropy (snode/antientropy.go) must bring every member to
// the same rows. docs/snode.md, "A swarm split in two", describes what is
// checked and what the test found.

const (
	// splitFor is how long the swarm stays split: real time, since the
	// nodes' anti-entropy, tombstones and operation times run on the
	// clock and the stores keep times to the minute (snode/tombstones.go).
	splitFor = time.Minute
	// splitAEInterval is the nodes' anti-entropy period.
	splitAEInterval = time.Second
	// splitSeed fixes the links' jitter.
	splitSeed = 17
	// nsSigned is the signed namespace the clients use besides the public
	// inbox.
	nsSigned = storagerpc.NamespaceContacts
)

// splitAccount is an account a test client writes to directly (storage RPC,
// no onion path: the client is on the emulated links itself).
type splitAccount struct {
	keys *identity.Keys
	acct storagerpc.Account
}

func newSplitAccount(t *testing.T) *splitAccount {
	t.Helper()
	k, seed, err := identity.NewKeys()
	clear(seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Wipe)
	return &splitAccount{keys: k, acct: storagerpc.AccountFromSessionID(k.SessionID())}
}

func (a *splitAccount) auth(msg []byte) storagerpc.Auth {
	sig := storagerpc.Signature(a.keys.Sign(msg))
	pk := a.keys.Ed25519Public()
	return storagerpc.Auth{Signature: &sig, PubkeyEd25519: &pk}
}

func (a *splitAccount) store(t *testing.T, ns storagerpc.Namespace) *storagerpc.StoreParams {
	data := make([]byte, 120)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UnixMilli()
	p := &storagerpc.StoreParams{Account: a.acct, Namespace: ns, Timestamp: ts, Expiry: ts + time.Hour.Milliseconds(), Data: data, SigTimestamp: ts}
	if ns.StoreNeedsAuth() {
		p.Auth = a.auth(storagerpc.StoreSigMessage(ns, ts))
	}
	return p
}

// splitSide is one side of the split: its nodes and a client on its own
// address that reaches them over the emulated links as endpoint name.
type splitSide struct {
	name  string
	nodes []int
	hc    *http.Client
}

// splitMsg is an acknowledged store: its account, namespace and expiry.
type splitMsg struct {
	acct   int
	ns     storagerpc.Namespace
	expiry int64
}

// splitBook is what the clients were told: the stores acknowledged by the
// node they reached, the messages any member reported deleted, the new
// expiries members reported, and the stores whose outcome the client did
// not learn (they may or may not exist, but the same on every member).
type splitBook struct {
	mu      sync.Mutex
	acked   map[string]splitMsg
	maybe   map[string]splitMsg
	gone    map[string]bool
	expiry  map[string]int64
	byPhase map[string][]string // acknowledged hashes by side and phase
}

func newSplitBook() *splitBook {
	return &splitBook{acked: map[string]splitMsg{}, maybe: map[string]splitMsg{}, gone: map[string]bool{},
		expiry: map[string]int64{}, byPhase: map[string][]string{}}
}

func (b *splitBook) ack(phase, hash string, m splitMsg) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acked[hash] = m
	b.byPhase[phase] = append(b.byPhase[phase], hash)
}

func (b *splitBook) unsure(hash string, m splitMsg) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.maybe[hash] = m
}

func (b *splitBook) deleted(hs []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, h := range hs {
		b.gone[h] = true
	}
}

func (b *splitBook) expired(hs []string, exp int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, h := range hs {
		b.expiry[h] = exp
	}
}

// changed returns how many messages were reported deleted and how many
// expiries changed.
func (b *splitBook) changed() (deleted, expiries int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.gone), len(b.expiry)
}

func (b *splitBook) phase(p string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.byPhase[p])
}

// want returns, per account and namespace, the messages every member must
// hold with their expiries, and those it may hold (unknown outcome).
func (b *splitBook) want(acct int, ns storagerpc.Namespace) (must map[string]int64, may map[string]bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	must, may = map[string]int64{}, map[string]bool{}
	for h, m := range b.acked {
		if m.acct != acct || m.ns != ns || b.gone[h] {
			continue
		}
		e := m.expiry
		if x, ok := b.expiry[h]; ok {
			e = x
		}
		must[h] = e
	}
	for h, m := range b.maybe {
		if m.acct == acct && m.ns == ns && !b.gone[h] {
			may[h] = true
		}
	}
	return must, may
}

// call sends a storage RPC request to the side's k-th node over the links.
func (s *splitSide) call(ctx context.Context, nw *testnet.Network, k int, req storagerpc.Request) (int, []byte, error) {
	body, err := storagerpc.EncodeRequest(req)
	if err != nil {
		return 0, nil, err
	}
	return testnet.Post(ctx, s.hc, nw.Node(s.nodes[k%len(s.nodes)]).URL+"/storage_rpc/v1", body)
}

// recursive sends a recursive request through the side's k-th node and
// decodes the swarm's answer; it fails the test unless the node answered
// 200 with its own entry a success.
func recursiveCall[T any](t *testing.T, nw *testnet.Network, s *splitSide, k int, req storagerpc.Request) *storagerpc.SwarmResponse[T] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, body, err := s.call(ctx, nw, k, req)
	if err != nil || st != http.StatusOK {
		t.Fatalf("%s via node %d: %d %v %.300s", req.Method(), s.nodes[k%len(s.nodes)], st, err, body)
	}
	var r storagerpc.SwarmResponse[T]
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s answer: %v", req.Method(), err)
	}
	if e := r.Swarm[nw.Node(s.nodes[k%len(s.nodes)]).Ed25519.String()]; e.Failed() {
		t.Fatalf("%s: the entry node failed: %.300s", req.Method(), body)
	}
	return &r
}

// storeOne stores one message through the side's k-th node and books it.
func (s *splitSide) storeOne(t *testing.T, nw *testnet.Network, book *splitBook, phase string, k, acct int, a *splitAccount, ns storagerpc.Namespace) error {
	p := a.store(t, ns)
	hash := p.Hash()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, body, err := s.call(ctx, nw, k, p)
	m := splitMsg{acct: acct, ns: ns, expiry: p.Expiry}
	if err != nil {
		book.unsure(hash, m)
		return nil // the client does not know; the message may exist
	}
	var r storagerpc.SwarmResponse[storagerpc.StoreResult]
	if st != http.StatusOK || json.Unmarshal(body, &r) != nil {
		book.unsure(hash, m)
		return fmt.Errorf("store via node %d: %d %.200s", s.nodes[k%len(s.nodes)], st, body)
	}
	if e := r.Swarm[nw.Node(s.nodes[k%len(s.nodes)]).Ed25519.String()]; e.Failed() {
		book.unsure(hash, m)
		return fmt.Errorf("store: the entry node failed: %.200s", body)
	}
	book.ack(phase, hash, m)
	return nil
}

// holdings is what one node holds of an account in one namespace:
// hash → expiry.
func holdings(t *testing.T, nw *testnet.Network, i int, a *splitAccount, ns storagerpc.Namespace) (map[string]int64, error) {
	t.Helper()
	out := map[string]int64{}
	last := ""
	for range 1000 {
		ts := time.Now().UnixMilli()
		body, err := storagerpc.EncodeRequest(&storagerpc.RetrieveParams{
			Account: a.acct, Namespace: ns, LastHash: last, Timestamp: ts,
			Auth: a.auth(storagerpc.RetrieveSigMessage(ns, ts)),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, resp, err := testnet.Post(ctx, nw.HTTPClient(), nw.Node(i).URL+"/storage_rpc/v1", body)
		cancel()
		if err != nil || st != http.StatusOK {
			return nil, fmt.Errorf("node %d retrieve: %d %v %.200s", i, st, err, resp)
		}
		var rr storagerpc.RetrieveResponse
		if err := json.Unmarshal(resp, &rr); err != nil {
			return nil, fmt.Errorf("node %d retrieve: %v", i, err)
		}
		for _, m := range rr.Messages {
			out[m.Hash] = m.Expiration
		}
		if !rr.More || len(rr.Messages) == 0 {
			return out, nil
		}
		last = rr.Messages[len(rr.Messages)-1].Hash
	}
	return nil, fmt.Errorf("node %d: paging does not end", i)
}

// converged checks every node against the book and against each other.
func converged(t *testing.T, nw *testnet.Network, book *splitBook, accts []*splitAccount) error {
	t.Helper()
	for ai, a := range accts {
		for _, ns := range []storagerpc.Namespace{storagerpc.NamespaceDefault, nsSigned} {
			must, may := book.want(ai, ns)
			var first map[string]int64
			for i := range nw.Len() {
				have, err := holdings(t, nw, i, a, ns)
				if err != nil {
					return err
				}
				for h, e := range must {
					got, ok := have[h]
					switch {
					case !ok:
						return fmt.Errorf("node %d lacks acknowledged message %.12s (account %d, namespace %d)", i, h, ai, ns)
					case got != e:
						return fmt.Errorf("node %d has message %.12s expiring at %d, want %d", i, h, got, e)
					}
				}
				for h := range have {
					if _, ok := must[h]; !ok && !may[h] {
						book.mu.Lock()
						gone := book.gone[h]
						book.mu.Unlock()
						if gone {
							return fmt.Errorf("node %d holds deleted message %.12s (account %d, namespace %d)", i, h, ai, ns)
						}
						return fmt.Errorf("node %d holds message %.12s that no client stored", i, h)
					}
				}
				if first == nil {
					first = have
				} else if !mapsEqual(first, have) {
					return fmt.Errorf("node %d holds %d messages of account %d in namespace %d, node 0 %d", i, len(have), ai, ns, len(first))
				}
			}
		}
	}
	return nil
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// rounds is the number of anti-entropy rounds node i started.
func rounds(t *testing.T, nw *testnet.Network, i int) float64 {
	t.Helper()
	mfs, err := nw.Metrics(i)
	if err != nil {
		t.Fatal(err)
	}
	return testnet.Counter(mfs, "snode_antientropy_rounds_total", nil)
}

func tombsDropped(t *testing.T, nw *testnet.Network, i int) float64 {
	t.Helper()
	mfs, err := nw.Metrics(i)
	if err != nil {
		t.Fatal(err)
	}
	return testnet.Counter(mfs, "snode_tombstones_dropped_total", nil)
}

// TestSwarmSplitHeals splits a swarm of five 2 | 3 for a minute. A client
// on each side stores to its side's nodes (the public inbox and a signed
// namespace); the small side deletes messages (by hash, and delete_all)
// that the large side still holds, and the large side shortens expiries
// (expire, expire_all) of messages the small side holds; after the minute
// of the delete, the large side also extends two messages the small side
// deleted. After the heal, within a bounded number of anti-entropy rounds,
// every member holds every acknowledged message with the expiry its owner
// last set, and no member holds a deleted one (not the extended ones
// either: an expire changes only a message that exists); once every
// member holds the tombstones they are dropped, and the deleted messages
// still do not come back.
func TestSwarmSplitHeals(t *testing.T) {
	t.Parallel()
	link := linkem.New(splitSeed, linkem.Profile{Delay: 5 * time.Millisecond, Jitter: time.Millisecond})
	nw := startNetwork(t, testnet.Options{Nodes: 5, Addresses: testnet.LoopbackAddresses, Link: link, Tune: func(_ int, c *snode.Config) {
		c.Intervals.AntiEntropy = snode.Duration(splitAEInterval)
	}})
	// The split is made on the links, between named endpoints; it needs
	// no addresses, so the test runs in loopback mode (a node and each
	// client at an address of its own, unprivileged).
	t.Logf("address mode: %s", nw.Addresses())
	if got := len(nw.Swarms()); got != 1 {
		t.Fatalf("%d swarms, want 1", got)
	}
	sides := [2]*splitSide{{name: "client-a", nodes: []int{0, 1}}, {name: "client-b", nodes: []int{2, 3, 4}}}
	for k, s := range sides {
		dial, _ := clientDial(t, nw, k)
		s.hc = &http.Client{Transport: &http.Transport{
			DialContext:       link.Dialer(s.name, dial),
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // self-signed node certificates, as Session clients accept
			ForceAttemptHTTP2: true,
		}}
		t.Cleanup(s.hc.CloseIdleConnections)
	}
	accts := make([]*splitAccount, 4)
	for i := range accts {
		accts[i] = newSplitAccount(t)
	}
	book := newSplitBook()
	namespaces := []storagerpc.Namespace{storagerpc.NamespaceDefault, nsSigned}

	// Before the split: 6 messages per account and namespace, on every
	// member.
	for ai, a := range accts {
		for _, ns := range namespaces {
			for k := range 6 {
				s := sides[k%2]
				if err := s.storeOne(t, nw, book, fmt.Sprintf("pre/%d/%d", ai, ns), k, ai, a, ns); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	waitFor(t, time.Minute, "before the split", func() error { return converged(t, nw, book, accts) })
	pre := func(ai int, ns storagerpc.Namespace) []string {
		hs := book.phase(fmt.Sprintf("pre/%d/%d", ai, ns))
		slices.Sort(hs)
		return hs
	}

	var groups [2][]string
	for k, s := range sides {
		groups[k] = append(groups[k], s.name)
		for _, i := range s.nodes {
			groups[k] = append(groups[k], testnet.NodeEndpoint(i))
		}
	}
	link.Partition(groups[0], groups[1])
	splitAt := time.Now()
	t.Logf("split %v | %v for %v", groups[0], groups[1], splitFor)

	// Both sides take stores for the minute, over every account and both
	// namespaces.
	deadline := splitAt.Add(splitFor)
	var conflictDone atomic.Bool
	var wg sync.WaitGroup
	for k, s := range sides {
		for w := range 3 {
			wg.Go(func() {
				for j := 0; time.Now().Before(deadline) || !conflictDone.Load(); j++ {
					ai := (w + j) % len(accts)
					if err := s.storeOne(t, nw, book, fmt.Sprintf("split/%d", k), w+j, ai, accts[ai], namespaces[j%2]); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	// The small side deletes messages the large side still holds: by hash
	// (account 0, both namespaces) and every message of account 1 in the
	// signed namespace.
	a, b := sides[0], sides[1]
	del := append(pre(0, storagerpc.NamespaceDefault)[:3], pre(0, nsSigned)[:2]...)
	dr := recursiveCall[storagerpc.DeleteResult](t, nw, a, 0, &storagerpc.DeleteParams{Account: accts[0].acct, Messages: del, Auth: accts[0].auth(storagerpc.DeleteSigMessage(del))})
	// Stores keep times to the minute (snode/tombstones.go): a change the
	// large side makes after the minute of the delete is, by its time,
	// newer than the delete.
	afterDelete := (time.Now().UnixMilli()/time.Minute.Milliseconds() + 1) * time.Minute.Milliseconds()
	deletedOK := 0
	for _, e := range dr.Swarm {
		if e.OK != nil {
			book.deleted(e.OK.Deleted)
			deletedOK = max(deletedOK, len(e.OK.Deleted))
		}
	}
	if deletedOK != len(del) {
		t.Fatalf("delete by hash on the small side deleted %d of %d", deletedOK, len(del))
	}
	ts := time.Now().UnixMilli()
	sel := storagerpc.OneNamespace(nsSigned)
	dar := recursiveCall[storagerpc.DeleteAllResult](t, nw, a, 1, &storagerpc.DeleteAllParams{Account: accts[1].acct, Namespace: sel, Timestamp: ts, Auth: accts[1].auth(storagerpc.DeleteAllSigMessage(sel, ts))})
	for _, e := range dar.Swarm {
		if e.OK != nil {
			book.deleted(e.OK.Deleted.Sorted())
		}
	}
	// The large side shortens expiries the small side still holds.
	exp := time.Now().Add(10 * time.Minute).UnixMilli()
	short := pre(2, storagerpc.NamespaceDefault)[:3]
	er := recursiveCall[storagerpc.ExpireResult](t, nw, b, 0, &storagerpc.ExpireParams{Account: accts[2].acct, Messages: short, Expiries: []int64{exp},
		Mode: storagerpc.ExpireShorten, Auth: accts[2].auth(storagerpc.ExpireSigMessage(storagerpc.ExpireShorten, []int64{exp}, short))})
	for _, e := range er.Swarm {
		if e.OK != nil {
			book.expired(e.OK.Updated, e.OK.Expiry.Values[0])
		}
	}
	expAll := time.Now().Add(20 * time.Minute).UnixMilli()
	sel0 := storagerpc.OneNamespace(storagerpc.NamespaceDefault)
	ear := recursiveCall[storagerpc.ExpireAllResult](t, nw, b, 1, &storagerpc.ExpireAllParams{Account: accts[3].acct, Namespace: sel0, Expiry: expAll,
		Auth: accts[3].auth(storagerpc.ExpireAllSigMessage(sel0, expAll))})
	for _, e := range ear.Swarm {
		if e.OK != nil {
			book.expired(e.OK.Updated.Sorted(), expAll)
		}
	}
	// After the minute of the delete the large side, which still holds
	// them, extends two of the messages the small side deleted: an
	// expire does not bring back a deleted message (Session's expire
	// changes only messages that exist), so the delete must win.
	for j := 0; time.Now().UnixMilli() < afterDelete; j++ {
		if err := b.storeOne(t, nw, book, "split/1", j, j%len(accts), accts[j%len(accts)], namespaces[j%2]); err != nil {
			t.Fatal(err)
		}
	}
	revive := []string{del[0], del[3]}
	longer := time.Now().Add(2 * time.Hour).UnixMilli()
	xr := recursiveCall[storagerpc.ExpireResult](t, nw, b, 2, &storagerpc.ExpireParams{Account: accts[0].acct, Messages: revive, Expiries: []int64{longer},
		Mode: storagerpc.ExpireExtend, Auth: accts[0].auth(storagerpc.ExpireSigMessage(storagerpc.ExpireExtend, []int64{longer}, revive))})
	if e := xr.Swarm[nw.Node(b.nodes[2]).Ed25519.String()]; len(e.OK.Updated) != len(revive) {
		t.Fatalf("extend on the large side updated %d of %d deleted messages it still holds", len(e.OK.Updated), len(revive))
	}
	conflictDone.Store(true)
	wg.Wait()
	if t.Failed() {
		return
	}
	// The split held: no message stored on one side reached the other.
	for k, s := range sides {
		other := sides[1-k]
		acked := map[string]bool{}
		for _, h := range book.phase(fmt.Sprintf("split/%d", k)) {
			acked[h] = true
		}
		for _, i := range other.nodes {
			for _, acc := range accts {
				for _, ns := range namespaces {
					have, err := holdings(t, nw, i, acc, ns)
					if err != nil {
						t.Fatal(err)
					}
					for h := range have {
						if acked[h] {
							t.Fatalf("node %d (%s's side) holds %.12s, stored on %s's side during the split", i, other.name, h, s.name)
						}
					}
				}
			}
		}
	}
	deleted, expiries := book.changed()
	t.Logf("during the split (%v): %d stores acknowledged on %s's side, %d on %s's; %d messages deleted, %d expiries changed",
		time.Since(splitAt).Round(time.Second), len(book.phase("split/0")), a.name, len(book.phase("split/1")), b.name, deleted, expiries)

	// Heal, and wait for every member to hold the same rows.
	before := make([]float64, nw.Len())
	for i := range before {
		before[i] = rounds(t, nw, i)
	}
	link.Heal()
	healed := time.Now()
	waitFor(t, time.Minute, "after the heal", func() error { return converged(t, nw, book, accts) })
	most := 0.0
	for i := range before {
		most = max(most, rounds(t, nw, i)-before[i])
	}
	// A node reconciles with each of its 4 peers, in turn, once every 4
	// rounds; the round under way at the heal, and rows still settling
	// (changed in the last second, antientropy.go aeSettle), may take
	// one turn more.
	const roundBound = 2 * 4
	t.Logf("converged %v after the heal, within %v anti-entropy rounds per node", time.Since(healed).Round(time.Millisecond), most)
	if most > roundBound {
		t.Errorf("convergence took %v anti-entropy rounds on one node, want at most %d", most, roundBound)
	}

	// Every member then holds every tombstone, so each drops them
	// (tombstones.go), and the deleted messages stay deleted.
	waitFor(t, time.Minute, "tombstones dropped", func() error {
		for i := range nw.Len() {
			if got := tombsDropped(t, nw, i); got < float64(deleted) {
				return fmt.Errorf("node %d dropped %v tombstones of %d", i, got, deleted)
			}
		}
		return nil
	})
	for i := range before {
		before[i] = rounds(t, nw, i)
	}
	waitFor(t, time.Minute, "rounds after the drop", func() error {
		for i := range before {
			if got := rounds(t, nw, i) - before[i]; got < 4 {
				return fmt.Errorf("node %d ran %v rounds since the drop", i, got)
			}
		}
		return nil
	})
	if err := converged(t, nw, book, accts); err != nil {
		t.Fatalf("after the tombstones were dropped: %v", err)
	}
}

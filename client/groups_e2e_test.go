package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/config/groups"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// groupWait bounds every wait of the group tests.
const groupWait = 2 * time.Minute

// hasBody reports whether d's history of conv holds a message with body.
func hasBody(d *device, conv key.SessionID, body string) bool {
	return slices.ContainsFunc(d.history(conv), func(m *store.Message) bool { return m.Body == body })
}

// invited waits until d holds an invitation to gid among its requests.
func invited(d *device, gid key.SessionID) {
	d.t.Helper()
	d.waitFor("the invitation to "+gid.String()[:8], groupWait, func() bool {
		reqs, err := d.c.Store().Requests(context.Background())
		if err != nil {
			d.t.Fatal(err)
		}
		return slices.ContainsFunc(reqs, func(s *store.Summary) bool { return s.Peer == gid })
	})
}

func groupState(d *device, gid key.SessionID) store.GroupState {
	d.t.Helper()
	g, err := d.c.Group(context.Background(), gid)
	if err != nil {
		return -1
	}
	return g.State
}

// TestGroupSmall: an admin creates a group of two members, who accept and
// chat (a file, a quote, a reaction, an unsend, the disappearing timer);
// a member is removed and can read and write nothing afterwards.
func TestGroupSmall(t *testing.T) {
	nw := devnetTuned(t, 10, nil)
	fileServer(t, nw)
	ctx := context.Background()
	admin := newAccount(t, "admin").open(t, nw, "", devOpts{})
	var ms []*device
	var ids []key.SessionID
	for i := range 2 {
		a := newAccount(t, fmt.Sprintf("m%d", i))
		ms = append(ms, a.open(t, nw, "", devOpts{}))
		ids = append(ids, a.id())
	}
	gid, err := admin.c.CreateGroup(ctx, "Team", ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		invited(m, gid)
		if err := m.c.Accept(ctx, gid); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.c.Send(ctx, gid, "hello group", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		m.waitFor("the admin's message", groupWait, func() bool { return hasBody(m, gid, "hello group") })
	}
	if _, err := ms[0].c.Send(ctx, gid, "hi from m0", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	admin.waitFor("m0's message at the admin", groupWait, func() bool { return hasBody(admin, gid, "hi from m0") })
	ms[1].waitFor("m0's message at m1", groupWait, func() bool { return hasBody(ms[1], gid, "hi from m0") })

	// A file, downloaded by the members by themselves.
	file := writeFile(t, t.TempDir(), "notes.txt", []byte("group notes"))
	if _, err := admin.c.Send(ctx, gid, "the notes", SendOptions{Files: []OutgoingFile{{Path: file}}}); err != nil {
		t.Fatal(err)
	}
	ms[0].waitFor("the file downloaded", groupWait, func() bool {
		for _, m := range ms[0].history(gid) {
			if m.Body == "the notes" {
				atts, err := ms[0].c.AttachmentsOf(ctx, m.ID)
				return err == nil && len(atts) == 1 && atts[0].State == store.AttachmentDone
			}
		}
		return false
	})
	// A quote and a reaction.
	find := func(d *device, body string) *store.Message {
		for _, m := range d.history(gid) {
			if m.Body == body {
				return m
			}
		}
		t.Fatalf("no %q", body)
		return nil
	}
	q := find(ms[1], "hello group").Ref()
	if _, err := ms[1].c.Send(ctx, gid, "a reply", SendOptions{Quote: &q}); err != nil {
		t.Fatal(err)
	}
	admin.waitFor("the reply", groupWait, func() bool { return hasBody(admin, gid, "a reply") })
	if r := find(admin, "a reply"); r.Quote == nil || *r.Quote != q {
		t.Errorf("the reply quotes %+v, want %+v", r.Quote, q)
	}
	if _, err := ms[1].c.React(ctx, gid, find(ms[1], "hi from m0").ID, "👍", false); err != nil {
		t.Fatal(err)
	}
	ms[0].waitFor("the reaction", groupWait, func() bool {
		m := find(ms[0], "hi from m0")
		return len(m.Reactions) == 1 && m.Reactions[0].Emoji == "👍" && m.Reactions[0].Reactor == ids[1]
	})
	// An unsend.
	if _, err := ms[0].c.Send(ctx, gid, "oops", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	admin.waitFor("oops", groupWait, func() bool { return hasBody(admin, gid, "oops") })
	if _, err := ms[0].c.Unsend(ctx, gid, find(ms[0], "oops").ID); err != nil {
		t.Fatal(err)
	}
	admin.waitFor("oops unsent", groupWait, func() bool { return !hasBody(admin, gid, "oops") })
	// The disappearing timer is the admin's, in the group's info.
	if err := ms[0].c.SetDisappearing(ctx, gid, store.ExpiryAfterSend, time.Hour); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("a member sets the timer: %v", err)
	}
	if err := admin.c.SetDisappearing(ctx, gid, store.ExpiryAfterSend, time.Hour); err != nil {
		t.Fatal(err)
	}
	ms[1].waitFor("the timer", groupWait, func() bool {
		conv, err := ms[1].c.Store().Conversation(ctx, gid)
		return err == nil && conv.ExpiryMode == store.ExpiryAfterSend && conv.ExpiryTimer == 3600
	})
	if _, err := ms[1].c.Send(ctx, gid, "short-lived", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	admin.waitFor("short-lived", groupWait, func() bool { return hasBody(admin, gid, "short-lived") })
	if m := find(admin, "short-lived"); m.ExpiryMode != store.ExpiryAfterSend || m.ExpiresAt != m.SentAt+3600_000 {
		t.Errorf("the message disappears %v at %d, want after send at %d", m.ExpiryMode, m.ExpiresAt, m.SentAt+3600_000)
	}

	if err := admin.c.Remove(ctx, gid, ids[1:]); err != nil {
		t.Fatal(err)
	}
	ms[1].waitFor("m1 sees its removal", groupWait, func() bool { return groupState(ms[1], gid) == store.GroupRemoved })
	if _, err := admin.c.Send(ctx, gid, "after removal", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	ms[0].waitFor("m0 still reads", groupWait, func() bool { return hasBody(ms[0], gid, "after removal") })
	if hasBody(ms[1], gid, "after removal") {
		t.Error("the removed member got a message sent after its removal")
	}
	checkRemoved(t, nw, admin, ms[1], gid, "after removal")
}

// checkRemoved checks that removed, a member removed from gid, cannot
// decrypt the message with body sent afterwards (read from the swarm's
// nodes with the admin's key) nor store anything in the group's swarm.
func checkRemoved(t *testing.T, nw *testnet.Network, admin, removed *device, gid key.SessionID, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), groupWait)
	defer cancel()
	og, err := admin.c.group(gid)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := og.adminKey()
	if err != nil {
		t.Fatal(err)
	}
	stored := groupMessages(t, nw, gid, secret, storagerpc.NamespaceGroupMessages)
	row, err := removed.c.Store().Group(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	pub := gid.Key()
	g, err := groups.Open(groups.Options{User: removed.c.keys.Ed25519Private(), Public: pub[:], KeysDump: row.KeysDump})
	if err != nil {
		t.Fatal(err)
	}
	// Every key message in the swarm, the rekey without it included, is
	// given to the removed member's keys: none opens the new key.
	before, _ := g.Keys.Generation()
	for _, m := range groupMessages(t, nw, gid, secret, storagerpc.NamespaceGroupKeys) {
		_, _ = g.LoadKeyMessage(m.Hash, m.Data, m.Timestamp)
	}
	if after, _ := g.Keys.Generation(); after != before {
		t.Errorf("the removed member's key generation went from %d to %d", before, after)
	}
	found := false
	for _, m := range stored {
		_, _, content, err := decodeGroup(&openGroup{row: row, g: g}, m.Data)
		if err == nil && content.GetDataMessage().GetBody() == body {
			t.Errorf("the removed member decrypts %q", body)
		}
		og.mu.Lock()
		_, _, content, err = decodeGroup(og, m.Data)
		og.mu.Unlock()
		found = found || err == nil && content.GetDataMessage().GetBody() == body
	}
	if !found {
		t.Errorf("%q is not in the group's swarm", body)
	}
	sw := groupSwarm{c: removed.c, id: gid, sign: memberSigner(removed.c.keys.Ed25519Private(), row.AuthData)}
	now := removed.c.nowMillis()
	var rpcErr *RPCError
	if _, err := sw.store(ctx, storagerpc.NamespaceGroupMessages, []byte("intruder"), now, now+60_000); !errors.As(err, &rpcErr) || rpcErr.Status != 401 {
		t.Errorf("a removed member's store: %v, want 401", err)
	}
	// Namespace −11 stays readable with the revoked subaccount, and holds
	// the kick notice that names the member (how Session clients learn it).
	p, err := sw.retrieve(ctx, []storagerpc.Namespace{storagerpc.NamespaceRevokedRetrievable}, nil, 0)
	if err != nil {
		t.Fatalf("a removed member's retrieve of the kick notices: %v", err)
	}
	kicked := false
	for _, m := range p.resps[0].Messages {
		if gen, err := groups.OpenKickNotice(removed.c.keys, pub[:], m.Data); err == nil && gen > before {
			kicked = true
		}
	}
	if !kicked {
		t.Errorf("no kick notice for the removed member among %d messages of namespace -11", len(p.resps[0].Messages))
	}
}

// TestGroupLifecycle is the in-process test on real nodes: an
// admin creates a group of ten, the members accept and chat through 3-hop
// paths, a member is promoted and then removes another, who can decrypt
// nothing sent afterwards nor write to the group's swarm; a member
// restoring on a second device sees the group and its history; the group
// is disbanded.
func TestGroupLifecycle(t *testing.T) {
	nw := devnetTuned(t, 10, nil)
	ctx := context.Background()
	adminAcct := newAccount(t, "admin")
	admin := adminAcct.open(t, nw, "", devOpts{})
	const n = 9 // members besides the admin: a group of ten
	accts := make([]*account, n)
	ms := make([]*device, n)
	ids := make([]key.SessionID, n)
	for i := range n {
		accts[i] = newAccount(t, fmt.Sprintf("m%d", i))
		ms[i] = accts[i].open(t, nw, "", devOpts{})
		ids[i] = accts[i].id()
	}
	if admin.c.cfg.PathLength != 3 {
		t.Fatalf("path length %d, want 3 hops", admin.c.cfg.PathLength)
	}
	gid, err := admin.c.CreateGroup(ctx, "Ten", ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		invited(m, gid)
		if err := m.c.Accept(ctx, gid); err != nil {
			t.Fatal(err)
		}
	}
	all := append([]*device{admin}, ms...)
	everyoneHas := func(ds []*device, body string) {
		t.Helper()
		for _, d := range ds {
			d.waitFor(fmt.Sprintf("%q everywhere", body), groupWait, func() bool { return hasBody(d, gid, body) })
		}
	}
	// Everyone writes once; everyone reads everything.
	for i, d := range all {
		if _, err := d.c.Send(ctx, gid, fmt.Sprintf("hello %d", i), SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range all {
		everyoneHas(all, fmt.Sprintf("hello %d", i))
	}
	gi, err := admin.c.Group(ctx, gid)
	if err != nil || len(gi.Members) != n+1 || gi.Name != "Ten" {
		t.Fatalf("admin's view: %+v, %v", gi, err)
	}
	// Every member sees every member, the invitations accepted.
	ms[n-1].waitFor("the members as the admin wrote them", groupWait, func() bool {
		list, err := ms[n-1].c.Members(ctx, gid)
		if err != nil || len(list) != n+1 {
			return false
		}
		for _, m := range list {
			if m.Invite != groups.InviteAccepted || m.Admin != (m.ID == adminAcct.id()) {
				return false
			}
		}
		return true
	})

	// m0 is promoted, then removes m1.
	if err := admin.c.Promote(ctx, gid, ids[0]); err != nil {
		t.Fatal(err)
	}
	ms[0].waitFor("m0 is an admin", groupWait, func() bool {
		g, err := ms[0].c.Group(ctx, gid)
		return err == nil && g.Admin
	})
	if err := ms[0].c.Remove(ctx, gid, ids[1:2]); err != nil {
		t.Fatal(err)
	}
	ms[1].waitFor("m1 sees its removal", groupWait, func() bool { return groupState(ms[1], gid) == store.GroupRemoved })
	if _, err := ms[2].c.Send(ctx, gid, "after the removal", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	rest := append([]*device{admin, ms[0]}, ms[2:]...)
	everyoneHas(rest, "after the removal")
	if hasBody(ms[1], gid, "after the removal") {
		t.Error("the removed member got a message sent after its removal")
	}
	checkRemoved(t, nw, admin, ms[1], gid, "after the removal")

	// m3 restores its account on a second device: the group and its
	// history come back (user groups, then the group's swarm).
	m3b := accts[3].open(t, nw, "", devOpts{})
	m3b.waitFor("the second device has the group's history", groupWait, func() bool {
		return groupState(m3b, gid) == store.GroupJoined && hasBody(m3b, gid, "hello 0") && hasBody(m3b, gid, "after the removal")
	})
	if _, err := m3b.c.Send(ctx, gid, "from m3's second device", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	everyoneHas(append(rest, m3b), "from m3's second device")

	// m3 leaves on its first device: the second leaves too (user groups),
	// and the admin removes m3 from the members.
	if err := ms[3].c.Leave(ctx, gid); err != nil {
		t.Fatal(err)
	}
	m3b.waitFor("the second device left too", groupWait, func() bool { return groupState(m3b, gid) == store.GroupLeft })
	admin.waitFor("the admin removed m3", groupWait, func() bool {
		g, err := admin.c.Group(ctx, gid)
		return err == nil && !slices.ContainsFunc(g.Members, func(m groups.Member) bool { return m.ID == ids[3] })
	})

	// Both admins act on m3's leaving: each removes it and rekeys, and the
	// disband comes once both have removed it. Their key messages and
	// configs reach the members' nodes in any order; a member whose poll
	// brings a config before the key that opens it keeps it until the key
	// comes (docs/groups.md "Keys that come late").
	adminGen := func(d *device) int64 {
		g, err := d.c.Group(ctx, gid)
		if err != nil || slices.ContainsFunc(g.Members, func(m groups.Member) bool { return m.ID == ids[3] }) {
			return -1
		}
		return g.KeyGen
	}
	ms[0].waitFor("both admins removed m3", groupWait, func() bool {
		g := adminGen(ms[0])
		return g >= 0 && g == adminGen(admin)
	})
	if err := admin.c.Disband(ctx, gid); err != nil {
		t.Fatal(err)
	}
	// Everyone still in the group sees it disbanded: the other admin and
	// every member (when the other admin's info and the disband have the
	// same seqno, that admin pushes their merge before it leaves).
	for _, d := range rest[1:] {
		if d == ms[3] {
			continue
		}
		if !d.until(groupWait, func() bool { return groupState(d, gid) == store.GroupDestroyed }) {
			g, err := d.c.Group(ctx, gid)
			if err != nil {
				t.Fatalf("%s: the group is not disbanded: %v", d.c.SessionID(), err)
			}
			og, err := d.c.group(gid)
			waiting := 0
			if err == nil {
				og.mu.Lock()
				waiting = len(og.laterConfigs[0]) + len(og.laterConfigs[1])
				og.mu.Unlock()
			}
			t.Fatalf("%s: the group is not disbanded: state %v, admin %v, key generation %d (have %v), %d configs wait for a key",
				d.c.SessionID(), g.State, g.Admin, g.KeyGen, g.HaveKeys, waiting)
		}
	}
}

// groupMessages retrieves, directly from every node of gid's swarm and
// signed with the group key, the messages of namespace ns.
func groupMessages(t *testing.T, nw *testnet.Network, gid key.SessionID, secret ed25519.PrivateKey, ns storagerpc.Namespace) []storagerpc.RetrievedMessage {
	t.Helper()
	_, idx := nw.SwarmOf(gid.Key())
	seen := map[string]bool{}
	var out []storagerpc.RetrievedMessage
	for _, i := range idx {
		ts := time.Now().UnixMilli()
		sig := storagerpc.Signature(ed25519.Sign(secret, storagerpc.RetrieveSigMessage(ns, ts)))
		body, err := storagerpc.EncodeRequest(&storagerpc.RetrieveParams{
			Account: storagerpc.AccountFromSessionID(gid), Namespace: ns, Timestamp: ts,
			Auth: storagerpc.Auth{Signature: &sig},
		})
		if err != nil {
			t.Fatal(err)
		}
		status, resp, err := testnet.Post(context.Background(), nw.HTTPClient(), nw.Node(i).URL+"/storage_rpc/v1", body)
		if err != nil || status != 200 {
			t.Fatalf("retrieve from node %d: %d %v %s", i, status, err, resp)
		}
		var r storagerpc.RetrieveResponse
		if err := json.Unmarshal(resp, &r); err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			if !seen[m.Hash] {
				seen[m.Hash] = true
				out = append(out, m)
			}
		}
	}
	return out
}

package client

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"sotto.dev/config/groups"
	"sotto.dev/identity"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// TestGroupThousand is the large group: an admin creates a group
// of 1,000 (itself and 999 members, two of them running clients), sends
// one message that every member can read, removes a member and rekeys;
// the key message reaches the swarm and opens for the 998 who stayed and
// not for the one removed. Every member's reading is checked with its own
// keys against what the swarm's nodes hold. The sizes and times are
// logged (docs/PERFORMANCE.md); nothing is asserted about time.
func TestGroupThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1,000-member group")
	}
	nw := devnetTuned(t, 10, nil)
	ctx := context.Background()
	admin := newAccount(t, "admin").open(t, nw, "", devOpts{})
	const n = 999
	users := make([]*identity.Keys, n)
	ids := make([]key.SessionID, n)
	running := map[int]*device{}
	for i := range n {
		if i == 0 || i == n-1 {
			a := newAccount(t, fmt.Sprintf("m%d", i))
			running[i] = a.open(t, nw, "", devOpts{})
			users[i], ids[i] = a.kf.Keys, a.id()
			continue
		}
		k, seed, err := identity.NewKeys()
		if err != nil {
			t.Fatal(err)
		}
		clear(seed)
		users[i], ids[i] = k, k.SessionID()
	}

	start := time.Now()
	gid, err := admin.c.CreateGroup(ctx, "Thousand", ids)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("created a group of %d in %v (rekey, info, members and %d invitations queued)", n+1, time.Since(start), n)
	og, err := admin.c.group(gid)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := og.adminKey()
	if err != nil {
		t.Fatal(err)
	}
	keyMsgs := groupMessages(t, nw, gid, secret, storagerpc.NamespaceGroupKeys)
	if len(keyMsgs) != 1 {
		t.Fatalf("%d key messages in the swarm, want 1", len(keyMsgs))
	}
	t.Logf("key message for %d members: %d bytes", n+1, len(keyMsgs[0].Data))

	for _, d := range running {
		invited(d, gid)
		if err := d.c.Accept(ctx, gid); err != nil {
			t.Fatal(err)
		}
	}
	sent := time.Now()
	if _, err := admin.c.Send(ctx, gid, "hello thousand", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, d := range running {
		d.waitFor("the message", groupWait, func() bool { return hasBody(d, gid, "hello thousand") })
	}
	t.Logf("message shown by the running members' clients %v after the send", time.Since(sent))
	everyoneReads(t, nw, gid, secret, users, ids, "hello thousand", nil)

	// Remove one member: rekey of the 999 others.
	gone := n / 2
	start = time.Now()
	if err := admin.c.Remove(ctx, gid, ids[gone:gone+1]); err != nil {
		t.Fatal(err)
	}
	t.Logf("removed a member in %v (rekey of %d, info and members re-encrypted, subaccount revoked)", time.Since(start), n)
	keyMsgs = groupMessages(t, nw, gid, secret, storagerpc.NamespaceGroupKeys)
	var newest int
	for _, m := range keyMsgs {
		newest = max(newest, len(m.Data))
	}
	t.Logf("key message for %d members: %d bytes", n, newest)
	if _, err := admin.c.Send(ctx, gid, "after the removal", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, d := range running {
		d.waitFor("the message after the removal", groupWait, func() bool { return hasBody(d, gid, "after the removal") })
	}
	everyoneReads(t, nw, gid, secret, users, ids, "after the removal", map[int]bool{gone: true})
}

// everyoneReads checks, for every member i, that its own keys, given
// the key messages of the group's swarm, decrypt the group message with
// body, except for the members in not, who must not.
func everyoneReads(t *testing.T, nw *testnet.Network, gid key.SessionID, secret ed25519.PrivateKey, users []*identity.Keys, ids []key.SessionID, body string, not map[int]bool) {
	t.Helper()
	keyMsgs := groupMessages(t, nw, gid, secret, storagerpc.NamespaceGroupKeys)
	msgs := groupMessages(t, nw, gid, secret, storagerpc.NamespaceGroupMessages)
	pub := gid.Key()
	start := time.Now()
	for i, u := range users {
		k, err := groups.NewKeys(groups.KeysOptions{User: u.Ed25519Private(), GroupPublic: pub[:]})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyMsgs {
			_, _ = k.Load(m.Hash, m.Data, m.Timestamp)
		}
		og := &openGroup{g: &groups.Group{Keys: k}}
		reads := false
		for _, m := range msgs {
			if _, _, c, err := decodeGroup(og, m.Data); err == nil && c.GetDataMessage().GetBody() == body {
				reads = true
				break
			}
		}
		if reads == not[i] {
			t.Errorf("member %d (%s) reads %q: %v", i, ids[i].String()[:10], body, reads)
		}
	}
	t.Logf("%d members checked %q with their own keys in %v", len(users), body, time.Since(start))
}

package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// TestGroupSwarmAdmin stores, retrieves, deletes and revokes on a group's
// swarm with the group key, through the client's onion paths.
func TestGroupSwarmAdmin(t *testing.T) {
	nw, alice, _ := pair(t)
	d := alice.open(t, nw, "", devOpts{noServe: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pub, secret, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	gid := key.NewSessionID(key.PrefixGroup, [32]byte(pub))
	admin := groupSwarm{c: d.c, id: gid, sign: adminSigner(secret)}
	now := d.c.nowMillis()
	h11, err := admin.store(ctx, storagerpc.NamespaceGroupMessages, []byte("message"), now, now+60_000)
	if err != nil {
		t.Fatal(err)
	}
	h12, err := admin.store(ctx, storagerpc.NamespaceGroupKeys, []byte("keys"), now, now+60_000)
	if err != nil {
		t.Fatal(err)
	}
	spaces := []storagerpc.Namespace{storagerpc.NamespaceGroupKeys, storagerpc.NamespaceGroupMessages}
	p, err := admin.retrieve(ctx, spaces, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.resps) != 2 || p.resps[0] == nil || p.resps[1] == nil ||
		len(p.resps[0].Messages) != 1 || p.resps[0].Messages[0].Hash != h12 ||
		len(p.resps[1].Messages) != 1 || p.resps[1].Messages[0].Hash != h11 {
		t.Fatalf("retrieve: %+v", p.resps)
	}

	// Someone else's key opens nothing.
	_, other, _ := ed25519.GenerateKey(nil)
	intruder := groupSwarm{c: d.c, id: gid, sign: adminSigner(other)}
	var rpcErr *RPCError
	if _, err := intruder.retrieve(ctx, spaces, nil, 0); !errors.As(err, &rpcErr) || rpcErr.Status != 401 {
		t.Errorf("retrieve with a foreign key: %v", err)
	}
	if _, err := intruder.store(ctx, storagerpc.NamespaceGroupMessages, []byte("x"), now, now+60_000); !errors.As(err, &rpcErr) || rpcErr.Status != 401 {
		t.Errorf("store with a foreign key: %v", err)
	}

	if err := admin.remove(ctx, []string{h11}); err != nil {
		t.Fatal(err)
	}
	tok := storagerpc.NewSubaccountToken(key.PrefixGroup, storagerpc.SubaccountRead|storagerpc.SubaccountWrite, key.AccountPublic(pub))
	if err := admin.revoke(ctx, []storagerpc.SubaccountToken{tok}); err != nil {
		t.Fatal(err)
	}
	if err := admin.deleteAll(ctx, storagerpc.AllNamespaces); err != nil {
		t.Fatal(err)
	}
	p, err = admin.retrieve(ctx, spaces, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.resps[0].Messages)+len(p.resps[1].Messages) != 0 {
		t.Errorf("after delete_all: %+v", p.resps)
	}
}

package client

import (
	"context"
	"testing"
	"time"

	"sotto.dev/client/store"
)

func TestSendReceiveSmoke(t *testing.T) {
	nw := devnet(t, 10)
	swarms := nw.Swarms()
	if len(swarms) < 2 {
		t.Fatalf("want 2 swarms, got %d", len(swarms))
	}
	var ids []uint64
	for id := range swarms {
		ids = append(ids, id)
	}
	alice := accountInSwarm(t, nw, "alice", ids[0])
	bob := accountInSwarm(t, nw, "bob", ids[1])
	a := alice.open(t, nw, "", devOpts{})
	b := bob.open(t, nw, "", devOpts{})
	ctx := context.Background()
	m, err := a.c.Send(ctx, bob.id(), "hello bob", SendOptions{})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if m.State != store.StateSent {
		t.Errorf("state after send = %v", m.State)
	}
	b.waitFor("bob gets the message", 20*time.Second, func() bool {
		return len(b.history(alice.id())) == 1
	})
	got := b.history(alice.id())[0]
	if got.Body != "hello bob" || got.Author != alice.id() || got.SentAt != m.SentAt {
		t.Errorf("bob got %+v", got)
	}
}

package app

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/identity"
	"sotto.dev/key"
)

// benchApp is an offline app whose account has convs conversations, the
// first of them long messages long, and a session cookie.
func benchApp(b *testing.B, convs, long int) (*Server, *http.Cookie, key.SessionID) {
	b.Helper()
	home := b.TempDir()
	path := filepath.Join(home, "identity.json")
	k, seed, err := identity.NewKeys()
	if err != nil {
		b.Fatal(err)
	}
	clear(seed)
	kf, err := identity.NewKeyFile(k)
	if err != nil {
		b.Fatal(err)
	}
	if err := kf.Save(path, nil, testKDF); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{IdentityFile: path, Client: client.Config{Home: home}, KDF: testKDF})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	var longPeer key.SessionID
	start := time.Now().UnixMilli() - 30*24*3600*1000
	err = s.Client().Store().Update(ctx, func(tx *store.Tx) error {
		for i := range convs {
			pk, seed, err := identity.NewKeys()
			if err != nil {
				return err
			}
			clear(seed)
			peer := pk.SessionID()
			n := 1
			if i == 0 {
				n, longPeer = long, peer
			}
			if err := tx.EnsureConversation(ctx, peer, start+int64(i)); err != nil {
				return err
			}
			if err := tx.SetApproved(ctx, peer, true, start); err != nil {
				return err
			}
			for j := range n {
				m := &store.Message{Conversation: peer, Author: peer, SentAt: start + int64(j)*1000, ReceivedAt: start + int64(j)*1000,
					Body: fmt.Sprintf("message %d", j), State: store.StateReceived}
				if _, _, err := tx.InsertMessage(ctx, m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	u := s.URL()
	req, _ := http.NewRequest("GET", u, nil)
	res, err := noRedirect.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	return s, res.Cookies()[0], longPeer
}

func benchGet(b *testing.B, s *Server, c *http.Cookie, path string) {
	b.Helper()
	for b.Loop() {
		req, _ := http.NewRequest("GET", s.Origin()+path, nil)
		req.AddCookie(c)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
		res.Body.Close()
	}
}

// BenchmarkConversationList is GET /api/conversations with 50 and 500
// conversations: what the page's first render waits for.
func BenchmarkConversationList(b *testing.B) {
	for _, n := range []int{50, 500} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, c, _ := benchApp(b, n, 1)
			benchGet(b, s, c, "/api/conversations")
		})
	}
}

// BenchmarkMessagesPage is one page of 50 messages of a 10,000-message
// conversation: the last (what opening it shows) and one 9,000 messages
// back (paging costs the same at any depth).
func BenchmarkMessagesPage(b *testing.B) {
	s, c, peer := benchApp(b, 1, 10_000)
	b.Run("last", func(b *testing.B) { benchGet(b, s, c, "/api/conversations/"+peer.String()+"/messages") })
	msgs, err := s.Client().Store().History(context.Background(), peer, 9_000)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("deep", func(b *testing.B) {
		benchGet(b, s, c, fmt.Sprintf("/api/conversations/%s/messages?before=%d", peer, msgs[0].ID))
	})
}

package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"sotto.dev/client"
	"sotto.dev/identity"
	"sotto.dev/internal/linkem"
)

// e2e measures delivery to an online recipient: Alice's client sends a
// message to Bob's running client (long-polling its swarm); the latency
// runs from the call to Send until Bob's client reports the message. Both
// clients go through 3-hop onion paths, as a user's would.
func (b *bench) e2e(ctx context.Context) (Result, error) {
	if b.network == "" {
		return Result{}, errors.New("needs a network file (--network) or a devnet")
	}
	home, err := os.MkdirTemp("", "sotto-bench-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(home)

	alice, err := openBenchClient(home+"/alice", b.network, b.dialer("alice"))
	if err != nil {
		return Result{}, err
	}
	defer alice.Close()
	bob, err := openBenchClient(home+"/bob", b.network, b.dialer("bob"))
	if err != nil {
		return Result{}, err
	}
	defer bob.Close()

	var (
		mu      sync.Mutex
		waiting = map[string]chan struct{}{}
	)
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range []*client.Client{alice, bob} {
		wg.Go(func() { _ = c.Serve(sctx) })
	}
	wg.Go(func() {
		for {
			select {
			case <-sctx.Done():
				return
			case ev := <-bob.Events():
				if ev.Message == nil {
					continue
				}
				mu.Lock()
				if ch, ok := waiting[ev.Message.Body]; ok {
					close(ch)
					delete(waiting, ev.Message.Body)
				}
				mu.Unlock()
			}
		}
	})
	defer func() {
		stop()
		wg.Wait()
	}()

	// Warm up: the first message builds paths and looks up swarms.
	send := func(ctx context.Context, body string) error {
		ch := make(chan struct{})
		mu.Lock()
		waiting[body] = ch
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(waiting, body)
			mu.Unlock()
		}()
		if _, err := alice.Send(ctx, bob.SessionID(), body, client.SendOptions{}); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		select {
		case <-ch:
			return nil
		case <-wctx.Done():
			return fmt.Errorf("not delivered: %w", wctx.Err())
		}
	}
	if err := send(ctx, "warm-up"); err != nil {
		return Result{}, fmt.Errorf("warm-up message: %w", err)
	}
	var seq sync.Mutex
	next := 0
	r := runLoad(ctx, b.spec("e2e"), func(ctx context.Context, _ int) error {
		seq.Lock()
		next++
		body := "bench message " + strconv.Itoa(next)
		seq.Unlock()
		return send(ctx, body)
	})
	r.Note = "Send on Alice's client until Bob's online client reports the message, both through 3-hop onion paths"
	return r, nil
}

// dialer is the dial function of the e2e client that is endpoint name of
// the emulated links, or nil without them.
func (b *bench) dialer(name string) linkem.DialFunc {
	if b.cfg.Link == nil {
		return nil
	}
	return b.cfg.Link.Dialer(name, nil)
}

func openBenchClient(home, network string, dial linkem.DialFunc) (*client.Client, error) {
	k, seed, err := identity.NewKeys()
	clear(seed)
	if err != nil {
		return nil, err
	}
	kf, err := identity.NewKeyFile(k)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	return client.Open(client.Config{
		Home:        home,
		NetworkFile: network,
		Logger:      slog.New(slog.DiscardHandler),
		Dial:        dial,
	}, kf)
}

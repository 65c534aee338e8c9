package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"sotto.dev/client"
	"sotto.dev/client/cli"
	"sotto.dev/client/store"
	"sotto.dev/key"
)

// tally counts what was sent and delivered, so that the demo can wait
// for the last message before it exits, and serialises the output lines.
type tally struct {
	mu        sync.Mutex
	sent      int // Alice → Bob
	bobGot    int
	aliceGot  int // Bob's answers (or answers that failed)
	changed   chan struct{}
	sentAt    map[string]time.Time
	failures  int
	lastError error

	outMu sync.Mutex
	out   io.Writer
}

func (t *tally) printf(format string, args ...any) {
	t.outMu.Lock()
	defer t.outMu.Unlock()
	fmt.Fprintf(t.out, format+"\n", args...)
}

func (t *tally) update(f func()) {
	t.mu.Lock()
	f()
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
}

func (t *tally) done() (bool, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bobGot >= t.sent && t.aliceGot >= t.sent, t.changed
}

// waitDelivered waits until Bob got every message and Alice every answer,
// then prints the count; logs names the node logs for a hint.
func (t *tally) waitDelivered(ctx context.Context, timeout time.Duration, logs string) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ok, ch := t.done()
		if ok {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return &cli.Error{Msg: "interrupted"}
		case <-deadline.C:
			t.mu.Lock()
			sent, bobGot, aliceGot := t.sent, t.bobGot, t.aliceGot
			t.mu.Unlock()
			return &cli.Error{Msg: fmt.Sprintf("not everything arrived within %v: Bob got %d of %d, Alice got %d answers", timeout, bobGot, sent, aliceGot),
				Hint: "the node logs are in " + logs}
		}
	}
	t.mu.Lock()
	sent, failures := t.sent, t.failures
	t.mu.Unlock()
	t.printf("delivered: %s to Bob, %s to Alice", plural(sent, "message"), plural(sent, "answer"))
	if failures > 0 {
		return &cli.Error{Msg: fmt.Sprintf("%d of Bob's answers could not be sent", failures), Err: t.lastError}
	}
	return nil
}

// sendInput sends every line of in from Alice to Bob until end of input
// or "/quit".
func sendInput(ctx context.Context, in io.Reader, alice *peer, bob key.SessionID, t *tally, timeout time.Duration) error {
	lines, readErr := cli.ReadLines(ctx, in)
	for {
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			return &cli.Error{Msg: "interrupted"}
		case line, ok = <-lines:
		}
		if !ok {
			if err := <-readErr; err != nil {
				return &cli.Error{Msg: "cannot read standard input", Err: err}
			}
			return nil
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case line == "/quit":
			return nil
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		t.update(func() { t.sent++; t.sentAt[line] = time.Now() })
		t.printf("alice → bob: %s", line)
		_, err := alice.c.Send(sctx, bob, line, client.SendOptions{})
		cancel()
		var ns *client.NotSentError
		switch {
		case errors.As(err, &ns):
			t.printf("alice: %q is queued, the network did not take it yet (retrying): %v", line, ns.Err)
		case err != nil:
			t.update(func() { t.sent-- })
			return sendError(err)
		}
	}
}

// sendError explains a message Alice could not send.
func sendError(err error) error {
	if errors.Is(err, client.ErrTooLong) {
		return &cli.Error{Msg: err.Error(), Hint: fmt.Sprintf("split it into messages of at most %d bytes", client.MaxBodyLen)}
	}
	return &cli.Error{Msg: "cannot send", Err: err}
}

// answer prints what Bob receives from Alice and answers it.
func answer(ctx context.Context, bob *peer, alice key.SessionID, t *tally) {
	for {
		var ev client.Event
		select {
		case <-ctx.Done():
			return
		case ev = <-bob.c.Events():
		}
		if ev.Kind != client.EventMessage || ev.Message == nil || ev.Message.Direction != store.Incoming || ev.Conversation != alice {
			continue
		}
		body := ev.Message.Body
		t.mu.Lock()
		at, ok := t.sentAt[body]
		t.mu.Unlock()
		if ok {
			t.printf("bob got: %s (%d ms after Send)", body, time.Since(at).Milliseconds())
		} else {
			t.printf("bob got: %s", body)
		}
		reply := "echo: " + body
		t.printf("bob → alice: %s", reply)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := bob.c.Send(sctx, alice, reply, client.SendOptions{})
		cancel()
		var ns *client.NotSentError
		switch {
		case err == nil, errors.As(err, &ns):
			// Sent, or queued in Bob's outbox, which keeps retrying.
		default:
			t.printf("bob: the answer could not be sent: %v", err)
			t.update(func() { t.failures++; t.lastError = err; t.aliceGot++ })
		}
		t.update(func() { t.bobGot++ })
	}
}

// printAnswers prints Bob's answers as Alice receives them.
func printAnswers(ctx context.Context, alice *peer, bob key.SessionID, t *tally) {
	for {
		var ev client.Event
		select {
		case <-ctx.Done():
			return
		case ev = <-alice.c.Events():
		}
		if ev.Kind != client.EventMessage || ev.Message == nil || ev.Message.Direction != store.Incoming || ev.Conversation != bob {
			continue
		}
		t.printf("alice got: %s", ev.Message.Body)
		t.update(func() { t.aliceGot++ })
	}
}

// plural is "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/identity"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
)

// demoOpts are the flags of `sotto demo`.
type demoOpts struct {
	dir     string
	nodes   int
	script  bool
	timeout time.Duration
}

// demoNodes is the demo network's size: that of `sottod devnet`, two
// swarms.
const demoNodes = 15

// demoCmd returns `sotto demo`: a local network and a chat between two new
// accounts, Alice and Bob, in one command.
func (a *app) demoCmd() *cobra.Command {
	var o demoOpts
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local network, create Alice and Bob, and chat between them",
		Long: `Start a whole Sotto network on 127.0.0.1 in this process (the ledger and
the nodes of 'sottod devnet'), create two accounts, Alice and Bob, and open a chat:
every line typed is sent from Alice to Bob through 3-hop onion paths, and
Bob's client answers each message it receives.

End with end-of-file (Ctrl-D) or a line "/quit"; the demo then waits
until everything sent was delivered. Without a terminal on standard input
(or with --script) no prompt is shown, so a script can pipe lines in.

Without --dir everything lives in a temporary directory that is removed
at the end. With --dir the network (DIR/network) and the accounts
(DIR/alice, DIR/bob) are kept, and a second run continues them; the
accounts can also be used directly, e.g.
  sotto --home DIR/alice --network DIR/network/network.json inbox`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDemo(o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.dir, "dir", "", "keep the network and the accounts in DIR (default: a temporary directory)")
	fl.IntVar(&o.nodes, "nodes", demoNodes, "service nodes of a new demo network")
	fl.BoolVar(&o.script, "script", false, "no prompt: read lines from standard input, send them, exit once delivered")
	fl.DurationVar(&o.timeout, "timeout", 60*time.Second, "give up on a delivery after this long")
	return cmd
}

// demoPeer is one of the two demo accounts.
type demoPeer struct {
	name string
	c    *client.Client
	kf   *identity.KeyFile
}

func (p *demoPeer) close() {
	p.c.Close()
	p.kf.Wipe()
}

// openDemoPeer loads (or creates) the account in home and opens its client
// on the demo network.
func openDemoPeer(name, home, networkFile string) (*demoPeer, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(home, identityFile)
	kf, err := identity.LoadKeyFile(path, nil)
	if errors.Is(err, fs.ErrNotExist) {
		k, seed, kerr := identity.NewKeys()
		clear(seed)
		if kerr != nil {
			return nil, kerr
		}
		err = identity.SaveKeyFile(path, k, nil)
		k.Wipe()
		if err == nil {
			kf, err = identity.LoadKeyFile(path, nil)
		}
	}
	if err != nil {
		return nil, &Error{Msg: "cannot set up " + name + "'s identity", Err: err}
	}
	c, err := client.Open(client.Config{Home: home, NetworkFile: networkFile}, kf)
	if err != nil {
		kf.Wipe()
		return nil, &Error{Msg: "cannot open " + name + "'s client", Err: err}
	}
	return &demoPeer{name: name, c: c, kf: kf}, nil
}

// demoTally counts what was sent and delivered, so that the demo can wait
// for the last message before it exits.
type demoTally struct {
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

func (t *demoTally) printf(format string, args ...any) {
	t.outMu.Lock()
	defer t.outMu.Unlock()
	fmt.Fprintf(t.out, format+"\n", args...)
}

func (t *demoTally) update(f func()) {
	t.mu.Lock()
	f()
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
}

func (t *demoTally) done() (bool, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bobGot >= t.sent && t.aliceGot >= t.sent, t.changed
}

func (a *app) runDemo(o demoOpts) error {
	if o.nodes < 4 {
		return userErr("onion paths need 3 relays and a destination: use --nodes 4 or more", "--nodes %d is too small", o.nodes)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir := o.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sotto-demo-")
		if err != nil {
			return &Error{Msg: "cannot make a temporary directory", Err: err}
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	out := a.env.Stdout
	nodes := o.nodes
	if _, err := os.Stat(filepath.Join(dir, "network", testnet.LayoutFile)); err == nil {
		nodes = 0 // keep the size of the existing network
	}
	net, err := testnet.Start(ctx, testnet.Options{
		Nodes:    nodes,
		Dir:      filepath.Join(dir, "network"),
		LogFiles: true,
		Logger:   a.logger(),
		CometBFT: true,
	})
	if err != nil {
		var le *testnet.LayoutError
		if errors.As(err, &le) {
			return &Error{Msg: "cannot reuse the demo network", Err: err, Hint: "use another --dir, or none for a temporary network"}
		}
		return &Error{Msg: "cannot start the demo network", Err: err}
	}
	defer net.Close()
	swarms := "swarms"
	if len(net.Swarms()) == 1 {
		swarms = "swarm"
	}
	fmt.Fprintf(out, "network: %d nodes in %d %s, %s\n", net.Len(), len(net.Swarms()), swarms, net.NetworkFile())

	alice, err := openDemoPeer("Alice", filepath.Join(dir, "alice"), net.NetworkFile())
	if err != nil {
		return err
	}
	defer alice.close()
	bob, err := openDemoPeer("Bob", filepath.Join(dir, "bob"), net.NetworkFile())
	if err != nil {
		return err
	}
	defer bob.close()
	for _, p := range []*demoPeer{alice, bob} {
		if err := p.c.SetProfileName(ctx, p.name); err != nil {
			return &Error{Msg: "cannot set " + p.name + "'s display name", Err: err}
		}
	}
	fmt.Fprintf(out, "alice: %s\n", alice.c.SessionID())
	fmt.Fprintf(out, "bob:   %s\n", bob.c.SessionID())

	tally := &demoTally{changed: make(chan struct{}), sentAt: map[string]time.Time{}, out: out}
	sctx, stopClients := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, p := range []*demoPeer{alice, bob} {
		wg.Go(func() { _ = p.c.Serve(sctx) })
	}
	wg.Go(func() { demoBob(sctx, bob, alice.c.SessionID(), tally) })
	wg.Go(func() { demoAlice(sctx, alice, bob.c.SessionID(), tally) })
	defer func() {
		stopClients()
		wg.Wait()
	}()

	interactive := !o.script && isTerminal(a.env.Stdin)
	if interactive {
		fmt.Fprintln(out, "hint: type a line to send it from Alice to Bob; Bob answers every message. Ctrl-D or /quit ends.")
	}
	if err := demoInput(ctx, a.env.Stdin, alice, bob.c.SessionID(), tally, o.timeout); err != nil {
		return err
	}

	// Wait for everything in flight to arrive.
	deadline := time.NewTimer(o.timeout)
	defer deadline.Stop()
	for {
		ok, ch := tally.done()
		if ok {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return userErr("", "interrupted")
		case <-deadline.C:
			tally.mu.Lock()
			sent, bobGot, aliceGot := tally.sent, tally.bobGot, tally.aliceGot
			tally.mu.Unlock()
			return &Error{Msg: fmt.Sprintf("not everything arrived within %v: Bob got %d of %d, Alice got %d answers", o.timeout, bobGot, sent, aliceGot),
				Hint: "the node logs are in " + filepath.Join(net.Dir(), "node-*", "node.log")}
		}
	}
	tally.mu.Lock()
	sent, failures := tally.sent, tally.failures
	tally.mu.Unlock()
	tally.printf("delivered: %s to Bob, %s to Alice", plural(sent, "message"), plural(sent, "answer"))
	if failures > 0 {
		return &Error{Msg: fmt.Sprintf("%d of Bob's answers could not be sent", failures), Err: tally.lastError}
	}
	return nil
}

// demoInput sends every line of in from Alice to Bob until end of input
// or "/quit".
func demoInput(ctx context.Context, in io.Reader, alice *demoPeer, bob key.SessionID, t *demoTally, timeout time.Duration) error {
	if in == nil {
		in = strings.NewReader("")
	}
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), client.MaxBodyLen+1)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
		close(lines)
	}()
	for {
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			return userErr("", "interrupted")
		case line, ok = <-lines:
		}
		if !ok {
			if err := <-readErr; err != nil {
				return &Error{Msg: "cannot read standard input", Err: err}
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

// demoBob prints what Bob receives and answers it.
func demoBob(ctx context.Context, bob *demoPeer, alice key.SessionID, t *demoTally) {
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
		answer := "echo: " + body
		t.printf("bob → alice: %s", answer)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := bob.c.Send(sctx, alice, answer, client.SendOptions{})
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

// demoAlice prints Bob's answers as Alice receives them.
func demoAlice(ctx context.Context, alice *demoPeer, bob key.SessionID, t *demoTally) {
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

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// plural is "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

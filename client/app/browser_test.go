package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/identity"
	"sotto.dev/internal/testnet"
	"sotto.dev/swarm"
)

func TestMain(m *testing.M) {
	testnet.ChildMain()
	os.Exit(m.Run())
}

// browserTimeout bounds each browser test: a page that never shows what
// is awaited fails the test instead of hanging it.
const browserTimeout = 2 * time.Minute

// chromiumPath finds Debian's chromium (or another Chrome).
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startBrowser starts one headless chromium for a test and its subtests.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no chromium binary in PATH: install Debian's chromium (apt-get install --no-install-recommends chromium) to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Headless, chromedp.DisableGPU, chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { bcancel(); acancel() })
	return bctx
}

// newTab opens a tab, closed when the test ends.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	ctx, cancel2 := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(func() { cancel2(); cancel() })
	return ctx
}

// run runs browser actions and fails the test on error.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS waits until the JavaScript expression is true in the page.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(0))); err != nil {
		pageErr, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('error').textContent`))
		t.Fatalf("waiting for %s: %v (page error: %q)", what, err, pageErr)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// screenshot saves the page, in light and dark, under $SOTTO_SCREENSHOTS
// (docs/app in the repository) when it is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SOTTO_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		// Relative to the repository root, two levels above this package.
		dir = filepath.Join("..", "..", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"light", "dark"} {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		if err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+scheme+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}
}

// engine is a second client, driven from Go: the other side of a
// conversation.
type engine struct {
	c      *client.Client
	events chan client.Event
}

func testClientConfig(nw *testnet.Network, home string) client.Config {
	cfg := client.Config{
		Home: home, NetworkFile: nw.NetworkFile(), RequestTimeout: 10 * time.Second,
		PollInterval: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	}
	if os.Getenv("SOTTO_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("home", filepath.Base(home))
	}
	return cfg
}

func newKeyFile(t *testing.T) *identity.KeyFile {
	t.Helper()
	k, seed, err := identity.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	clear(seed)
	kf, err := identity.NewKeyFile(k)
	if err != nil {
		t.Fatal(err)
	}
	return kf
}

func startEngine(t *testing.T, nw *testnet.Network, name string) *engine {
	t.Helper()
	c, err := client.Open(testClientConfig(nw, t.TempDir()), newKeyFile(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{c: c, events: make(chan client.Event, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		for {
			select {
			case ev := <-c.Events():
				select {
				case e.events <- ev:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		if err := c.Serve(ctx); err != nil {
			t.Errorf("%s: Serve: %v", name, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done; <-done; c.Close() })
	if err := c.SetProfileName(ctx, name); err != nil {
		t.Fatal(err)
	}
	return e
}

// waitMessage waits for the engine to receive a message with body.
func (e *engine) waitMessage(t *testing.T, body string) *store.Message {
	t.Helper()
	deadline := time.NewTimer(browserTimeout)
	defer deadline.Stop()
	for {
		select {
		case ev := <-e.events:
			if ev.Kind == client.EventMessage && ev.Message != nil && ev.Message.Body == body {
				return ev.Message
			}
		case <-deadline.C:
			t.Fatalf("the engine never received %q", body)
			return nil
		}
	}
}

// appWithAccount starts an app on nw for a new account (identity file
// written, no passphrase) and returns it.
func appWithAccount(t *testing.T, nw *testnet.Network, name string) *Server {
	t.Helper()
	home := t.TempDir()
	path := filepath.Join(home, "identity.json")
	kf := newKeyFile(t)
	if err := kf.Save(path, nil, testKDF); err != nil {
		t.Fatal(err)
	}
	s := startApp(t, Config{IdentityFile: path, Client: testClientConfig(nw, home), KDF: testKDF})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client().SetProfileName(ctx, name); err != nil {
		t.Fatal(err)
	}
	return s
}

// appShown waits for the app's main screen.
func appShown(t *testing.T, ctx context.Context) {
	t.Helper()
	waitJS(t, ctx, "the main screen", `!document.getElementById('app').hidden && document.getElementById('status').textContent === 'Live'`)
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network and a browser")
	}
	browser := startBrowser(t)
	nw := testnet.StartT(t, testnet.Options{Nodes: 6, Swarm: swarm.AssignParams{MinSize: 3, IdealSize: 5}})

	t.Run("OnboardNew", func(t *testing.T) {
		home := t.TempDir()
		s := startApp(t, Config{IdentityFile: filepath.Join(home, "identity.json"), Client: testClientConfig(nw, home), KDF: testKDF})
		ctx := newTab(t, browser)
		run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
		waitJS(t, ctx, "the welcome screen", `!document.getElementById('onboard').hidden`)
		screenshot(t, ctx, "welcome")
		run(t, ctx, "create", chromedp.Click(chromedp.ID("create-start")))
		waitJS(t, ctx, "the phrase", `document.querySelectorAll('#phrase li').length === 13`)
		words := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#phrase li')].map((e) => e.textContent)`)
		shownID := evalJS[string](t, ctx, `document.getElementById('new-id').textContent`)
		screenshot(t, ctx, "recovery-phrase")
		run(t, ctx, "written down", chromedp.Click(chromedp.ID("phrase-done")))
		waitJS(t, ctx, "the check", `!document.getElementById('onboard-confirm').hidden`)
		if n := evalJS[int](t, ctx, `document.querySelectorAll('#phrase li').length`); n != 0 {
			t.Errorf("the phrase is still in the page (%d words) while it is asked for", n)
		}
		var idx [2]int
		for i := range idx {
			label := evalJS[string](t, ctx, fmt.Sprintf(`document.getElementById('check-%d-label').textContent`, i))
			if _, err := fmt.Sscanf(label, "Word %d", &idx[i]); err != nil {
				t.Fatalf("label %q: %v", label, err)
			}
		}
		// A wrong word first: refused, nothing saved.
		run(t, ctx, "type a wrong word",
			chromedp.SendKeys(chromedp.ID("check-0"), words[idx[1]-1]+"x"),
			chromedp.SendKeys(chromedp.ID("check-1"), words[idx[1]-1]),
			chromedp.SendKeys(chromedp.ID("create-name"), "Alice"),
			chromedp.Click(chromedp.CSS(`#onboard-confirm button[type=submit]`)))
		waitJS(t, ctx, "the error", `!document.getElementById('error').hidden`)
		if s.Client() != nil {
			t.Fatal("an account was opened with a wrong word")
		}
		evalJS[string](t, ctx, `document.getElementById('check-0').value = ''`)
		run(t, ctx, "type the words",
			chromedp.SendKeys(chromedp.ID("check-0"), words[idx[0]-1]),
			chromedp.Click(chromedp.CSS(`#onboard-confirm button[type=submit]`)))
		appShown(t, ctx)
		c := s.Client()
		if c == nil || c.SessionID().String() != shownID {
			t.Fatalf("the account opened is not the one shown (%s)", shownID)
		}
		if name, _ := c.ProfileName(context.Background()); name != "Alice" {
			t.Errorf("display name %q, want Alice", name)
		}
		kf, err := identity.LoadKeyFile(s.cfg.IdentityFile, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := kf.Keys.RecoveryPhrase(); !slices.Equal(got, words) {
			t.Error("the identity file does not hold the phrase shown")
		}
	})

	t.Run("OnboardRestore", func(t *testing.T) {
		kf := newKeyFile(t)
		phrase, err := kf.Keys.RecoveryPhrase()
		if err != nil {
			t.Fatal(err)
		}
		home := t.TempDir()
		s := startApp(t, Config{IdentityFile: filepath.Join(home, "identity.json"), Client: testClientConfig(nw, home), KDF: testKDF})
		ctx := newTab(t, browser)
		run(t, ctx, "restore",
			chromedp.Navigate(s.URL()),
			chromedp.Click(chromedp.ID("restore-start")),
			chromedp.SendKeys(chromedp.ID("restore-phrase"), strings.Join(phrase, " ")),
			chromedp.SendKeys(chromedp.ID("restore-name"), "Restored"),
			chromedp.Click(chromedp.CSS(`#onboard-restore button[type=submit]`)))
		appShown(t, ctx)
		want := kf.Keys.SessionID().String()
		if got := evalJS[string](t, ctx, `document.getElementById('my-id').textContent`); got != want {
			t.Errorf("page shows Session ID %s, want %s", got, want)
		}
		if c := s.Client(); c == nil || c.SessionID().String() != want {
			t.Error("the app did not open the restored account")
		}
	})

	t.Run("Conversation", func(t *testing.T) {
		s := appWithAccount(t, nw, "Alice")
		bob := startEngine(t, nw, "Bob")
		ctx := newTab(t, browser)
		run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
		appShown(t, ctx)
		bobID := bob.c.SessionID().String()
		run(t, ctx, "start a conversation",
			chromedp.SendKeys(chromedp.ID("new-chat-id"), bobID),
			chromedp.Click(chromedp.CSS(`#new-chat button[type=submit]`)))
		waitJS(t, ctx, "the chat", `!document.getElementById('chat').hidden && document.getElementById('chat-id').textContent === '`+bobID+`'`)
		const typed = "hello from the browser"
		run(t, ctx, "type a message", chromedp.SendKeys(chromedp.ID("compose"), typed), chromedp.Click(chromedp.ID("send")))
		got := bob.waitMessage(t, typed)
		if got.Author != s.Client().SessionID() {
			t.Errorf("author %s, want the app's account", got.Author)
		}
		waitJS(t, ctx, "the message sent", `[...document.querySelectorAll('#message-list li.out .state')].some((e) => ['sent', 'delivered', 'read'].includes(e.dataset.state))`)

		// Bob answers: the page shows it without a reload.
		marker := evalJS[float64](t, ctx, `(window.sottoMarker = Math.random())`)
		const reply = "hello from the engine"
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := bob.c.Send(sctx, s.Client().SessionID(), reply, client.SendOptions{})
		cancel()
		if err != nil {
			t.Fatalf("engine send: %v", err)
		}
		waitJS(t, ctx, "the reply in the page", `[...document.querySelectorAll('#message-list li.in .body')].some((e) => e.textContent === '`+reply+`')`)
		if m := evalJS[float64](t, ctx, `window.sottoMarker`); m != marker {
			t.Error("the page was reloaded")
		}
		waitJS(t, ctx, "the delay measured", `window.sottoPerf.delays.length > 0`)
		delay := evalJS[float64](t, ctx, `window.sottoPerf.delays[0]`)
		t.Logf("engine has the message → page shows it: %.0f ms", delay)

		// A reply with a quote and a reaction, from the page.
		run(t, ctx, "reply",
			chromedp.Click(chromedp.CSS(`#message-list li.in button.reply`)),
			chromedp.SendKeys(chromedp.ID("compose"), "a reply"),
			chromedp.Click(chromedp.ID("send")))
		quoted := bob.waitMessage(t, "a reply")
		if quoted.Quote == nil || quoted.Quote.Author != bob.c.SessionID() {
			t.Errorf("the reply carries quote %+v, want Bob's message", quoted.Quote)
		}
		waitJS(t, ctx, "the quote shown", `[...document.querySelectorAll('#message-list li.out blockquote')].some((e) => e.textContent === '`+reply+`')`)
		screenshot(t, ctx, "conversation")
	})

	t.Run("Requests", func(t *testing.T) {
		s := appWithAccount(t, nw, "Alice")
		carol := startEngine(t, nw, "Carol")
		dave := startEngine(t, nw, "Dave")
		ctx := newTab(t, browser)
		run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
		appShown(t, ctx)
		for _, e := range []*engine{carol, dave} {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := e.c.Send(sctx, s.Client().SessionID(), "hi, may I write to you?", client.SendOptions{})
			cancel()
			if err != nil {
				t.Fatalf("engine send: %v", err)
			}
		}
		carolID, daveID := carol.c.SessionID().String(), dave.c.SessionID().String()
		waitJS(t, ctx, "two requests", `document.querySelectorAll('#requests li').length === 2 && !document.getElementById('requests-section').hidden`)
		waitJS(t, ctx, "the unread count in the title", `document.title === '(2) Sotto'`)
		screenshot(t, ctx, "requests")
		run(t, ctx, "accept Carol", chromedp.Click(chromedp.CSS(`#requests li[data-peer="`+carolID+`"] button.accept`)))
		waitJS(t, ctx, "Carol in the conversations", `document.querySelector('#inbox li[data-peer="`+carolID+`"]') !== null && document.querySelector('#requests li[data-peer="`+carolID+`"]') === null`)
		run(t, ctx, "decline Dave", chromedp.Click(chromedp.CSS(`#requests li[data-peer="`+daveID+`"] button.decline`)))
		waitJS(t, ctx, "no requests left", `document.getElementById('requests-section').hidden && document.querySelector('[data-peer="`+daveID+`"]') === null`)
		reqs, err := s.Client().Store().Requests(context.Background())
		if err != nil || len(reqs) != 0 {
			t.Errorf("requests after accept and decline: %d (%v)", len(reqs), err)
		}
		inbox, err := s.Client().Store().Inbox(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(inbox) != 1 || inbox[0].Peer != carol.c.SessionID() {
			t.Errorf("inbox %+v, want only Carol", inbox)
		}
	})
}

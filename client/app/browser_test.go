package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/fileserver"
	"sotto.dev/identity"
	"sotto.dev/internal/testnet"
	"sotto.dev/swarm"
)

func TestMain(m *testing.M) {
	testnet.ChildMain()
	code := m.Run()
	shared.close()
	os.Exit(code)
}

// shared is the one browser and the one network that the browser tests
// of a package run share, started by the first test that needs them.
var shared sharedEnv

type sharedEnv struct {
	once    sync.Once
	browser context.Context
	nw      *testnet.Network
	skip    string
	err     error
	stops   []func()
}

func (sh *sharedEnv) close() {
	for i := len(sh.stops) - 1; i >= 0; i-- {
		sh.stops[i]()
	}
}

// browserEnv returns the shared browser and network, starting them once.
func browserEnv(t *testing.T) (context.Context, *testnet.Network) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a network and a browser")
	}
	shared.once.Do(startShared)
	if shared.skip != "" {
		t.Skip(shared.skip)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.browser, shared.nw
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

// startShared starts the headless chromium and the network.
func startShared() {
	path := chromiumPath()
	if path == "" {
		shared.skip = "no chromium binary in PATH: install Debian's chromium (apt-get install --no-install-recommends chromium) to run the browser tests"
		return
	}
	dir, err := os.MkdirTemp("", "sotto-app-test-")
	if err != nil {
		shared.err = err
		return
	}
	shared.stops = append(shared.stops, func() { os.RemoveAll(dir) })
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
		// A fake microphone, granted without a prompt: voice messages.
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	shared.stops = append(shared.stops, func() { bcancel(); acancel() })
	if err := chromedp.Do(bctx); err != nil {
		shared.err = fmt.Errorf("start chromium: %w", err)
		return
	}
	shared.browser = bctx
	ctx, cancel := context.WithTimeout(context.Background(), 2*testnet.DefaultReadyTimeout)
	defer cancel()
	nw, err := testnet.Start(ctx, testnet.Options{Dir: filepath.Join(dir, "net"), Nodes: 6, Swarm: swarm.AssignParams{MinSize: 3, IdealSize: 5}})
	if err != nil {
		shared.err = fmt.Errorf("testnet: %w", err)
		return
	}
	shared.nw = nw
	shared.stops = append(shared.stops, func() { nw.Close() })

	// A file server for attachments, in the network file before any
	// client opens it.
	fsDir := filepath.Join(dir, "files")
	keys, _, err := fileserver.LoadOrCreateKeys(filepath.Join(fsDir, fileserver.KeyFileName))
	if err != nil {
		shared.err = err
		return
	}
	fcfg := fileserver.DefaultConfig()
	fcfg.Dir, fcfg.Listen = fsDir, "127.0.0.1:0"
	fsrv, err := fileserver.New(fcfg, fileserver.Deps{Keys: keys})
	if err != nil {
		shared.err = err
		return
	}
	fctx, fcancel := context.WithCancel(context.Background())
	fdone := make(chan error, 1)
	go func() { fdone <- fsrv.Serve(fctx) }()
	shared.stops = append(shared.stops, func() { fcancel(); <-fdone })
	err = nw.SetFileServers([]testnet.FileServerEntry{{
		URL: "http://" + fsrv.Addr().String(), PubkeyX25519: keys.X25519Public().String(), PubkeyEd25519: keys.Ed25519Public().String(),
	}})
	if err != nil {
		shared.err = err
	}
}

// pngFile writes a w×h PNG into dir and returns its path.
func pngFile(t *testing.T, dir string, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(4 * y), 160, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, fmt.Sprintf("picture-%dx%d.png", w, h))
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
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

// click clicks the first element that matches selector, found and
// clicked in one script run: the page redraws its lists on every event,
// and a node found by one DevTools call can be gone by the next (a
// chromedp.Click on a list item then fails with "Could not find node").
// It waits until such an element exists.
func click(selector string) chromedp.Action[chromedp.Void] {
	js := `(() => { const e = document.querySelector(` + strconv.Quote(selector) + `); if (!e) return false; e.click(); return true; })()`
	poll := chromedp.Poll[bool](js, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(0))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := poll(ctx, t)
		return chromedp.Void{}, err
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
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
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
	browser, nw := browserEnv(t)

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
		// More messages, one at a time, for the delay figure.
		for i := range 9 {
			body := fmt.Sprintf("message %d from the engine", i)
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := bob.c.Send(sctx, s.Client().SessionID(), body, client.SendOptions{})
			cancel()
			if err != nil {
				t.Fatalf("engine send: %v", err)
			}
			waitJS(t, ctx, "message "+body, `[...document.querySelectorAll('#message-list li.in .body')].some((e) => e.textContent === '`+body+`')`)
		}
		waitJS(t, ctx, "the delays measured", `window.sottoPerf.delays.length >= 10`)
		delays := evalJS[[]float64](t, ctx, `window.sottoPerf.delays`)
		slices.Sort(delays)
		t.Logf("PERF engine has a message → page shows it (%d messages): median %.0f ms, max %.0f ms", len(delays), delays[len(delays)/2], delays[len(delays)-1])

		// A reply with a quote and a reaction, from the page.
		run(t, ctx, "reply",
			click(`#message-list li.in button.reply`),
			chromedp.SendKeys(chromedp.ID("compose"), "a reply"),
			chromedp.Click(chromedp.ID("send")))
		quoted := bob.waitMessage(t, "a reply")
		if quoted.Quote == nil || quoted.Quote.Author != bob.c.SessionID() {
			t.Errorf("the reply carries quote %+v, want Bob's message", quoted.Quote)
		}
		waitJS(t, ctx, "the quote shown", `[...document.querySelectorAll('#message-list li.out blockquote')].some((e) => e.textContent === '`+reply+`')`)

		// A reaction on Bob's message, then Bob's reaction on ours.
		run(t, ctx, "react", click(`#message-list li.in button.react`))
		waitJS(t, ctx, "our reaction", `[...document.querySelectorAll('#message-list li.in .reactions button')].some((b) => b.getAttribute('aria-pressed') === 'true')`)
		deadline := time.NewTimer(browserTimeout)
		defer deadline.Stop()
		for got := false; !got; {
			select {
			case ev := <-bob.events:
				got = ev.Kind == client.EventReaction && ev.Message != nil && ev.Message.Body == reply && len(ev.Message.Reactions) == 1
			case <-deadline.C:
				t.Fatal("Bob never saw the reaction")
			}
		}
		rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = bob.c.React(rctx, s.Client().SessionID(), quoted.ID, "❤", false)
		rcancel()
		if err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "Bob's reaction", `[...document.querySelectorAll('#message-list li.out .reactions button')].some((b) => b.textContent.startsWith('❤'))`)
		screenshot(t, ctx, "conversation")

		// Unsend, with its confirmation: gone here and at Bob's.
		run(t, ctx, "unsend",
			click(`#message-list li.out:last-child button.unsend`),
			click(`#message-list li.out:last-child button.unsend`))
		waitJS(t, ctx, "unsent", `document.querySelector('#message-list li.out:last-child').classList.contains('unsent')`)
		for got := false; !got; {
			select {
			case ev := <-bob.events:
				got = ev.Kind == client.EventUnsent && ev.Message != nil && ev.Message.ID == quoted.ID
			case <-deadline.C:
				t.Fatal("Bob never saw the unsend")
			}
		}
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
		run(t, ctx, "accept Carol", click(`#requests li[data-peer="`+carolID+`"] button.accept`))
		waitJS(t, ctx, "Carol in the conversations", `document.querySelector('#inbox li[data-peer="`+carolID+`"]') !== null && document.querySelector('#requests li[data-peer="`+carolID+`"]') === null`)
		run(t, ctx, "decline Dave", click(`#requests li[data-peer="`+daveID+`"] button.decline`))
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
	t.Run("Image", func(t *testing.T) {
		s := appWithAccount(t, nw, "Alice")
		bob := startEngine(t, nw, "Bob")
		ctx := newTab(t, browser)
		bobID := bob.c.SessionID().String()
		// Pictures download by themselves only between accepted contacts:
		// Bob writes first, Alice accepts in the page.
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := bob.c.Send(sctx, s.Client().SessionID(), "may I send you pictures?", client.SendOptions{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
		appShown(t, ctx)
		waitJS(t, ctx, "Bob's request", `document.querySelector('#requests li[data-peer="`+bobID+`"]') !== null`)
		run(t, ctx, "open it", click(`#requests li[data-peer="`+bobID+`"] button.conv`))
		waitJS(t, ctx, "the request bar", `!document.getElementById('request-bar').hidden`)
		run(t, ctx, "accept in the chat", chromedp.Click(chromedp.ID("accept")))
		waitJS(t, ctx, "Bob accepted", `document.getElementById('request-bar').hidden && document.querySelector('#inbox li[data-peer="`+bobID+`"]') !== null`)
		dir := t.TempDir()
		run(t, ctx, "attach a picture", chromedp.SetUploadFiles(chromedp.ID("attach"), []string{pngFile(t, dir, 64, 48)}))
		waitJS(t, ctx, "our picture shown", `[...document.querySelectorAll('#message-list li.out img')].some((i) => i.complete && i.naturalWidth === 64)`)
		deadline := time.NewTimer(browserTimeout)
		defer deadline.Stop()
		for got := false; !got; {
			select {
			case ev := <-bob.events:
				if ev.Kind == client.EventAttachment && ev.Attachment != nil && ev.Attachment.State == store.AttachmentDone {
					var buf bytes.Buffer
					if err := bob.c.WriteAttachment(context.Background(), ev.Attachment.ID, &buf); err != nil {
						t.Fatal(err)
					}
					img, err := png.Decode(&buf)
					if err != nil || img.Bounds().Dx() != 64 {
						t.Fatalf("Bob got a picture that is not the one sent: %v", err)
					}
					got = true
				}
			case <-deadline.C:
				msgs, _ := bob.c.Store().History(context.Background(), s.Client().SessionID(), 0)
				for _, m := range msgs {
					atts, _ := bob.c.AttachmentsOf(context.Background(), m.ID)
					for _, a := range atts {
						t.Logf("Bob has message %d, attachment %d: %s %q", m.ID, a.ID, a.State, a.Error)
					}
				}
				t.Fatalf("Bob never downloaded the picture (%d messages from Alice)", len(msgs))
			}
		}
		sctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		_, err = bob.c.Send(sctx, s.Client().SessionID(), "a picture for you",
			client.SendOptions{Files: []client.OutgoingFile{{Path: pngFile(t, dir, 40, 30)}}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "Bob's picture shown", `[...document.querySelectorAll('#message-list li.in img')].some((i) => i.complete && i.naturalWidth === 40)`)
		screenshot(t, ctx, "pictures")

		// A voice message recorded in the page (the fake microphone).
		run(t, ctx, "record", chromedp.Click(chromedp.ID("record")))
		waitJS(t, ctx, "some sound recorded", `Number(document.getElementById('record').dataset.chunks || 0) >= 2`)
		run(t, ctx, "stop and send", chromedp.Click(chromedp.ID("record")))
		waitJS(t, ctx, "our voice message", `document.querySelector('#message-list li.out audio') !== null`)
		for got := false; !got; {
			select {
			case ev := <-bob.events:
				if ev.Kind == client.EventAttachment && ev.Attachment != nil && ev.Attachment.State == store.AttachmentDone && ev.Attachment.FileName == "voice-message.webm" {
					if ev.Attachment.Flags&voiceFlag == 0 {
						t.Error("the recording is not flagged as a voice message")
					}
					var buf bytes.Buffer
					if err := bob.c.WriteAttachment(context.Background(), ev.Attachment.ID, &buf); err != nil || buf.Len() == 0 {
						t.Fatalf("Bob's copy of the voice message: %d bytes, %v", buf.Len(), err)
					}
					got = true
				}
			case <-deadline.C:
				t.Fatal("Bob never downloaded the voice message")
			}
		}
	})

	t.Run("Group", func(t *testing.T) { testGroup(t, browser, nw) })
	t.Run("Community", func(t *testing.T) { testCommunity(t, browser, nw) })
	t.Run("SettingsSecurity", func(t *testing.T) { testSettingsSecurity(t, browser, nw) })
	t.Run("Keyboard", func(t *testing.T) { testKeyboard(t, browser, nw) })
	t.Run("Search", func(t *testing.T) { testSearch(t, browser, nw) })

	t.Run("NoteToSelf", func(t *testing.T) {
		s := appWithAccount(t, nw, "Alice")
		ctx := newTab(t, browser)
		run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
		appShown(t, ctx)
		run(t, ctx, "write a note",
			chromedp.Click(chromedp.ID("note-to-self")),
			chromedp.SendKeys(chromedp.ID("compose"), "buy milk"),
			chromedp.Click(chromedp.ID("send")))
		waitJS(t, ctx, "the note", `document.getElementById('chat-title').textContent === 'Note to Self' && [...document.querySelectorAll('#message-list li.out .body')].some((e) => e.textContent === 'buy milk')`)
		waitJS(t, ctx, "Note to Self in the list", `[...document.querySelectorAll('#inbox .conv .name')].some((e) => e.textContent === 'Note to Self')`)
		msgs, err := s.Client().Store().History(context.Background(), s.Client().SessionID(), 0)
		if err != nil || len(msgs) != 1 || msgs[0].Body != "buy milk" {
			t.Errorf("Note to Self holds %d messages (%v)", len(msgs), err)
		}
	})

	t.Run("Settings", func(t *testing.T) {
		s := appWithAccount(t, nw, "Alice")
		eve := startEngine(t, nw, "Eve")
		ctx := newTab(t, browser)
		run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
		appShown(t, ctx)
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := eve.c.Send(sctx, s.Client().SessionID(), "spam", client.SendOptions{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		id := eve.c.SessionID().String()
		waitJS(t, ctx, "the request", `document.querySelector('#requests li[data-peer="`+id+`"]') !== null`)
		run(t, ctx, "block Eve", click(`#requests li[data-peer="`+id+`"] button.block`))
		waitJS(t, ctx, "Eve gone", `document.querySelector('[data-peer="`+id+`"]') === null`)
		run(t, ctx, "open the settings", chromedp.Click(chromedp.CSS(`#settings summary`)))
		waitJS(t, ctx, "the onion path", `document.querySelectorAll('#net-path li').length === 3 && document.getElementById('net-status').textContent.startsWith('Connected')`)
		waitJS(t, ctx, "Eve blocked", `[...document.querySelectorAll('#blocked li')].some((e) => e.textContent.includes('Eve'))`)
		screenshot(t, ctx, "settings")
		run(t, ctx, "unblock Eve", click(`#blocked li button`))
		waitJS(t, ctx, "no one blocked", `document.querySelectorAll('#blocked li').length === 0 && !document.getElementById('blocked-empty').hidden`)
		ct, err := s.Client().Store().Contact(context.Background(), eve.c.SessionID())
		if err != nil || ct.Blocked {
			t.Errorf("Eve after unblock: %+v, %v", ct, err)
		}
	})
}

// TestBrowserAttacks runs what a hostile web page or message can try
// against a running app, in the browser.
func TestBrowserAttacks(t *testing.T) {
	browser, nw := browserEnv(t)
	s := appWithAccount(t, nw, "Alice")
	mallory := startEngine(t, nw, "Mallory")
	ctx := newTab(t, browser)
	run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
	appShown(t, ctx)

	// A message that is HTML is shown as text, and runs nothing.
	const evil = `<img src="/x" onerror="window.pwned=1"><b>bold</b>`
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_, err := mallory.c.Send(sctx, s.Client().SessionID(), evil, client.SendOptions{})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	id := mallory.c.SessionID().String()
	waitJS(t, ctx, "the request", `document.querySelector('#requests li[data-peer="`+id+`"]') !== null`)
	run(t, ctx, "open it", click(`#requests li[data-peer="`+id+`"] button.conv`))
	waitJS(t, ctx, "the message", `document.querySelectorAll('#message-list li').length === 1`)
	if got := evalJS[string](t, ctx, `document.querySelector('#message-list li .body').textContent`); got != evil {
		t.Errorf("message shown as %q, want the text %q", got, evil)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('#message-list img, #message-list b, #requests b').length`); n != 0 {
		t.Errorf("the message's HTML became %d elements", n)
	}
	// Markup injected some other way runs no inline code: the CSP.
	run(t, ctx, "inject", chromedp.Evaluate[chromedp.Void](`(() => {
		const img = document.createElement('img');
		img.addEventListener('error', () => { window.injectedDone = true; });
		document.body.insertAdjacentHTML('beforeend', '<img id="inj" src="/nope" onerror="window.pwned = 1">');
		document.getElementById('inj').addEventListener('error', () => { window.injectedDone = true; });
	})()`))
	waitJS(t, ctx, "the injected image to fail", `window.injectedDone === true`)
	if pwned := evalJS[bool](t, ctx, `window.pwned !== undefined`); pwned {
		t.Error("an inline event handler ran")
	}

	// Another site in the same browser (another port of 127.0.0.1: same
	// site, other origin) cannot read the app nor change anything.
	evilSite := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>evil</title><p>evil</p>")
	}))
	defer evilSite.Close()
	run(t, ctx, "visit the other site", chromedp.Navigate(evilSite.URL))
	read := evalJS[string](t, ctx, `fetch('`+s.Origin()+`/api/conversations', {credentials: 'include'})
		.then((r) => r.text()).catch((e) => 'blocked: ' + e.name)`)
	if !strings.HasPrefix(read, "blocked") {
		t.Errorf("the other site read the app: %q", read)
	}
	for _, ct := range []string{"text/plain", "application/json"} {
		evalJS[string](t, ctx, `fetch('`+s.Origin()+`/api/profile', {method: 'POST', mode: 'no-cors', credentials: 'include',
			headers: {'Content-Type': '`+ct+`'}, body: JSON.stringify({name: 'pwned'})}).then(() => 'sent').catch((e) => e.name)`)
	}
	if name, _ := s.Client().ProfileName(context.Background()); name != "Alice" {
		t.Errorf("another site changed the display name to %q", name)
	}
}

// TestBrowserPerformance measures the figures of docs/PERFORMANCE.md:
// the first render of the conversation list and of a conversation of
// 10,000 messages, and paging back. It reports them; it asserts only that
// paging works.
func TestBrowserPerformance(t *testing.T) {
	browser, nw := browserEnv(t)
	s := appWithAccount(t, nw, "Alice")
	c := s.Client()
	ctx := context.Background()
	const convs, long = 50, 10_000
	var longPeer string
	start := time.Now().UnixMilli() - 30*24*3600*1000
	err := c.Store().Update(ctx, func(tx *store.Tx) error {
		for i := range convs {
			peer := newKeyFile(t).Keys.SessionID()
			n := 1
			if i == 0 {
				n, longPeer = long, peer.String()
			}
			if err := tx.EnsureConversation(ctx, peer, start+int64(i)); err != nil {
				return err
			}
			if err := tx.SetApproved(ctx, peer, true, start); err != nil {
				return err
			}
			if err := tx.SetDisplayName(ctx, peer, fmt.Sprintf("Contact %d", i), start); err != nil {
				return err
			}
			for j := range n {
				m := &store.Message{Conversation: peer, Author: peer, Direction: store.Incoming, SentAt: start + int64(j)*1000,
					ReceivedAt: start + int64(j)*1000, Body: fmt.Sprintf("message %d of a long conversation", j),
					State: store.StateReceived, ReadAt: start}
				if _, _, err := tx.InsertMessage(ctx, m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tab := newTab(t, browser)
	run(t, tab, "open the app", chromedp.Navigate(s.URL()))
	appShown(t, tab)
	waitJS(t, tab, "the list", `document.querySelectorAll('#inbox li').length === `+fmt.Sprint(convs))
	listFetch := evalJS[float64](t, tab, `window.sottoPerf.list[0]`)
	listNav := evalJS[float64](t, tab, `performance.getEntriesByName('sotto-list-rendered')[0].startTime`)
	nav := evalJS[map[string]float64](t, tab, `(() => { const n = performance.getEntriesByType('navigation')[0]; return {redirect: n.redirectEnd, response: n.responseEnd, dom: n.domContentLoadedEventEnd}; })()`)
	t.Logf("PERF page load: redirect done %.0f ms, page received %.0f ms, DOMContentLoaded %.0f ms", nav["redirect"], nav["response"], nav["dom"])
	run(t, tab, "open the long conversation", click(`#inbox li[data-peer="`+longPeer+`"] button.conv`))
	waitJS(t, tab, "its last page", `window.sottoPerf.chat.length === 1`)
	chat := evalJS[float64](t, tab, `window.sottoPerf.chat[0]`)
	if n := evalJS[int](t, tab, `document.querySelectorAll('#message-list li').length`); n != pageSize {
		t.Errorf("opened with %d messages, want one page (%d)", n, pageSize)
	}
	// Scrolling to the top loads the page before, and keeps the place.
	t0 := time.Now()
	run(t, tab, "scroll up", chromedp.Evaluate[chromedp.Void](`document.getElementById('messages').scrollTop = 0`))
	waitJS(t, tab, "the page before", `document.querySelectorAll('#message-list li').length === `+fmt.Sprint(2*pageSize))
	page := time.Since(t0)
	if first := evalJS[string](t, tab, `document.querySelector('#message-list li .body').textContent`); first != fmt.Sprintf("message %d of a long conversation", long-2*pageSize) {
		t.Errorf("after paging back, the first message is %q", first)
	}
	screenshot(t, tab, "long-conversation")
	t.Logf("PERF conversation list (%d conversations): first render %.0f ms after navigation start, %.0f ms fetch and render", convs, listNav, listFetch)
	t.Logf("PERF conversation of %d messages: last page shown %.0f ms after the click; one page back on scroll: %v", long, chat, page.Round(time.Millisecond))
}

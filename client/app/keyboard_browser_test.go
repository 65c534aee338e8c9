package app

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"sotto.dev/client"
	"sotto.dev/internal/testnet"
)

// testKeyboard drives the shortcuts: Ctrl+K finds a conversation and
// Enter opens it, Alt+↓/↑ move between conversations, Esc closes the
// settings and then the conversation; every control has a label or a
// name, and the search comes first in the sidebar's tab order.
func testKeyboard(t *testing.T, browser context.Context, nw *testnet.Network) {
	s := appWithAccount(t, nw, "Alice")
	c := s.Client()
	ctx0, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range []string{"Yara", "Zed"} {
		peer := newKeyFile(t).Keys.SessionID()
		if _, err := c.Send(ctx0, peer, "hi "+name, client.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.SetNickname(ctx0, peer, name); err != nil {
			t.Fatal(err)
		}
	}
	ctx := newTab(t, browser)
	run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
	appShown(t, ctx)
	waitJS(t, ctx, "two conversations", `document.querySelectorAll('#inbox li').length === 2`)

	active := func() string { return evalJS[string](t, ctx, `document.activeElement.id`) }
	title := `document.getElementById('chat-title').textContent`
	run(t, ctx, "Ctrl+K", chromedp.KeyEvent("k", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	if got := active(); got != "conv-search" {
		t.Fatalf("Ctrl+K focused %q, want the conversation search", got)
	}
	run(t, ctx, "type a name", chromedp.KeyEvent("zed"))
	waitJS(t, ctx, "only Zed listed", `[...document.querySelectorAll('#inbox li')].filter((li) => !li.hidden).map((li) => li.querySelector('.name').textContent).join() === 'Zed'`)
	run(t, ctx, "Enter", chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, "Zed open", title+` === 'Zed' && document.getElementById('conv-search').value === '' && document.querySelectorAll('#inbox li:not([hidden])').length === 2`)

	order := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#inbox .conv .name')].map((e) => e.textContent)`)
	run(t, ctx, "Alt+Up to the top", chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierAlt)))
	waitJS(t, ctx, "the first conversation", title+` === '`+order[0]+`'`)
	run(t, ctx, "Alt+Down to the second", chromedp.KeyEvent(kb.ArrowDown, chromedp.KeyModifiers(chromedp.ModifierAlt)))
	waitJS(t, ctx, "the second conversation", title+` === '`+order[1]+`'`)
	run(t, ctx, "Alt+Up back", chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierAlt)))
	waitJS(t, ctx, "the first conversation again", title+` === '`+order[0]+`'`)

	// Esc: the settings first, then the conversation.
	run(t, ctx, "open the settings", chromedp.Click(chromedp.CSS(`#settings summary`)))
	waitJS(t, ctx, "the settings open", `document.getElementById('settings').open`)
	run(t, ctx, "Esc", chromedp.KeyEvent(kb.Escape))
	waitJS(t, ctx, "the settings closed", `!document.getElementById('settings').open && document.activeElement === document.querySelector('#settings summary') && !document.getElementById('chat').hidden`)
	run(t, ctx, "Esc", chromedp.KeyEvent(kb.Escape))
	waitJS(t, ctx, "the conversation closed", `document.getElementById('chat').hidden && location.hash === '' && document.activeElement.classList.contains('conv')`)

	// Labels and names.
	unlabelled := evalJS[[]string](t, ctx, `[...document.querySelectorAll('input, select, textarea')].filter((i) => i.type !== 'hidden' && (!i.labels || i.labels.length === 0) && !i.getAttribute('aria-label')).map((i) => i.id || i.outerHTML)`)
	if len(unlabelled) != 0 {
		t.Errorf("controls without a label: %v", unlabelled)
	}
	unnamed := evalJS[[]string](t, ctx, `[...document.querySelectorAll('button, summary, a[href]')].filter((b) => (b.getAttribute('aria-label') || b.textContent).trim() === '').map((b) => b.id || b.outerHTML)`)
	if len(unnamed) != 0 {
		t.Errorf("buttons without a name: %v", unnamed)
	}
	run(t, ctx, "Tab from the search", chromedp.Focus(chromedp.ID("conv-search")), chromedp.KeyEvent(kb.Tab))
	if got := active(); got != "note-to-self" {
		t.Errorf("Tab from the search goes to %q, want Note to Self", got)
	}
}

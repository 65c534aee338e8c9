package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
)

// waitUntil waits, event by event, until cond holds at the engine.
func (e *engine) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(browserTimeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-e.events:
		case <-deadline.C:
			t.Fatalf("the engine never got %s", what)
		}
	}
}

// testGroup: a group created in the page with the second engine as its
// member (picked from the contacts); a message typed in the page reaches
// the engine, its reply appears live with its author; the engine is made
// an admin from the members view; the page's user leaves.
func testGroup(t *testing.T, browser context.Context, nw *testnet.Network) {
	s := appWithAccount(t, nw, "Alice")
	bob := startEngine(t, nw, "Bob")
	ctx := newTab(t, browser)
	bobID := bob.c.SessionID()
	// Alice writes to Bob first: Bob is a contact she may pick.
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_, err := s.Client().Send(sctx, bobID, "hi Bob", client.SendOptions{})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
	appShown(t, ctx)
	run(t, ctx, "open the new group form", chromedp.Click(chromedp.CSS(`#new-group summary`)))
	waitJS(t, ctx, "Bob among the contacts", `[...document.querySelectorAll('#group-contacts input')].some((b) => b.value === '`+bobID.String()+`')`)
	if got := evalJS[string](t, ctx, `document.activeElement.id`); got != "group-name" {
		t.Errorf("focus on %q after opening the form, want the group name", got)
	}
	if n := evalJS[int](t, ctx, `[...document.querySelectorAll('#new-group-form input, #new-group-form textarea')].filter((i) => !i.labels || i.labels.length === 0).length`); n != 0 {
		t.Errorf("%d controls of the new-group form have no label", n)
	}
	run(t, ctx, "create the group",
		chromedp.SendKeys(chromedp.ID("group-name"), "Climbing"),
		click(`#group-contacts input[value="`+bobID.String()+`"]`),
		chromedp.Click(chromedp.CSS(`#new-group-form button[type=submit]`)))
	waitJS(t, ctx, "the group's chat", `!document.getElementById('chat').hidden && document.getElementById('chat-id').textContent.startsWith('03') && document.getElementById('chat-title').textContent === 'Climbing'`)
	gid, err := key.ParseSessionID(evalJS[string](t, ctx, `document.getElementById('chat-id').textContent`))
	if err != nil {
		t.Fatal(err)
	}

	// Bob accepts the invitation.
	bob.waitUntil(t, "the invitation", func() bool {
		reqs, err := bob.c.Store().Requests(context.Background())
		return err == nil && slices.ContainsFunc(reqs, func(s *store.Summary) bool { return s.Peer == gid })
	})
	actx, acancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = bob.c.Accept(actx, gid)
	acancel()
	if err != nil {
		t.Fatal(err)
	}

	const typed = "hello climbers"
	run(t, ctx, "write to the group", chromedp.SendKeys(chromedp.ID("compose"), typed), chromedp.Click(chromedp.ID("send")))
	got := bob.waitMessage(t, typed)
	if got.Conversation != gid || got.Author != s.Client().SessionID() {
		t.Errorf("Bob got %q in %s from %s, want the group and Alice", typed, got.Conversation, got.Author)
	}
	marker := evalJS[float64](t, ctx, `(window.sottoMarker = Math.random())`)
	const reply = "hello from Bob in the group"
	sctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	_, err = bob.c.Send(sctx, gid, reply, client.SendOptions{})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "Bob's reply in the page", `[...document.querySelectorAll('#message-list li.in .body')].some((e) => e.textContent === '`+reply+`')`)
	waitJS(t, ctx, "the reply's author named", `[...document.querySelectorAll('#message-list li.in')].some((li) => li.querySelector('.body').textContent === '`+reply+`' && li.querySelector('.author').textContent === 'Bob')`)
	if m := evalJS[float64](t, ctx, `window.sottoMarker`); m != marker {
		t.Error("the page was reloaded")
	}

	// The members view: Alice the admin, Bob a member she makes admin.
	run(t, ctx, "open the members", chromedp.Click(chromedp.ID("members-toggle")))
	waitJS(t, ctx, "two members", `!document.getElementById('group-panel').hidden && document.querySelectorAll('#group-members li').length === 2`)
	if got := evalJS[string](t, ctx, `document.getElementById('members-toggle').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("the members button says aria-expanded=%q", got)
	}
	screenshot(t, ctx, "group")

	// A member added by Session ID, then removed.
	carol := newKeyFile(t).Keys.SessionID().String()
	run(t, ctx, "add Carol", chromedp.SendKeys(chromedp.ID("group-add-id"), carol), chromedp.Click(chromedp.CSS(`#group-add button[type=submit]`)))
	waitJS(t, ctx, "Carol invited", `document.querySelector('#group-members li[data-id="`+carol+`"] .role') !== null && document.querySelector('#group-members li[data-id="`+carol+`"] .role').textContent.includes('invited')`)
	run(t, ctx, "remove Carol", click(`#group-members li[data-id="`+carol+`"] button.remove`))
	waitJS(t, ctx, "Carol removed", `document.querySelector('#group-members li[data-id="`+carol+`"]') === null || document.querySelector('#group-members li[data-id="`+carol+`"] button.remove') === null`)
	ms, err := s.Client().Members(context.Background(), gid)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(ms, func(m client.GroupMember) bool { return m.ID.String() == carol }); i >= 0 && ms[i].Removed == 0 {
		t.Error("Carol is still a member")
	}
	run(t, ctx, "make Bob an admin", click(`#group-members li[data-id="`+bobID.String()+`"] button.promote`))
	waitJS(t, ctx, "Bob shown as admin", `document.querySelector('#group-members li[data-id="`+bobID.String()+`"] .role').textContent.startsWith('Admin') && document.querySelector('#group-members li[data-id="`+bobID.String()+`"] button.promote') === null`)
	bob.waitUntil(t, "the promotion", func() bool {
		g, err := bob.c.Group(context.Background(), gid)
		return err == nil && g.Admin
	})

	// Leave, with its in-place confirmation.
	run(t, ctx, "leave",
		chromedp.Click(chromedp.ID("group-leave")),
		chromedp.Click(chromedp.ID("group-leave")))
	waitJS(t, ctx, "left", `document.getElementById('group-state').textContent.startsWith('You left') && document.getElementById('group-leave').hidden`)
	waitJS(t, ctx, "the composer closed", `document.getElementById('compose').disabled && document.getElementById('send').disabled && !document.getElementById('composer-closed').hidden && document.getElementById('composer-closed').textContent === 'You left this group'`)
	g, err := s.Client().Group(context.Background(), gid)
	if err != nil || g.State != store.GroupLeft {
		t.Errorf("the group after leaving: %+v, %v", g, err)
	}
	bob.waitUntil(t, "Alice's leaving", func() bool {
		ms, err := bob.c.Members(context.Background(), gid)
		return err == nil && !slices.ContainsFunc(ms, func(m client.GroupMember) bool {
			return m.ID == s.Client().SessionID() && m.Removed == 0
		})
	})
}

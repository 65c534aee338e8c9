package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sotto.dev/client/store"
	"sotto.dev/internal/testnet"
)

// testSearch checks that the search in a conversation finds a message
// older than the loaded page and that clicking the match loads the
// history down to it.
func testSearch(t *testing.T, browser context.Context, nw *testnet.Network) {
	s := appWithAccount(t, nw, "Alice")
	c := s.Client()
	ctx := context.Background()
	peer := newKeyFile(t).Keys.SessionID()
	const n = 3*pageSize + 5
	start := time.Now().UnixMilli() - 24*3600*1000
	err := c.Store().Update(ctx, func(tx *store.Tx) error {
		if err := tx.EnsureConversation(ctx, peer, start); err != nil {
			return err
		}
		if err := tx.SetApproved(ctx, peer, true, start); err != nil {
			return err
		}
		for j := range n {
			body := fmt.Sprintf("filler %d", j)
			if j == 2 {
				body = "the old 100% needle"
			}
			m := &store.Message{Conversation: peer, Author: peer, Direction: store.Incoming, SentAt: start + int64(j)*1000,
				ReceivedAt: start + int64(j)*1000, Body: body, State: store.StateReceived, ReadAt: start}
			if _, _, err := tx.InsertMessage(ctx, m); err != nil {
				return err
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
	run(t, tab, "open the conversation", click(`#inbox li[data-peer="`+peer.String()+`"] button.conv`))
	waitJS(t, tab, "its last page", `document.querySelectorAll('#message-list li').length === `+fmt.Sprint(pageSize))
	if evalJS[bool](t, tab, `[...document.querySelectorAll('#message-list .body')].some((b) => b.textContent.includes('needle'))`) {
		t.Fatal("the match is already loaded; the test needs it older than the page")
	}
	run(t, tab, "search", chromedp.SendKeys(chromedp.ID("chat-search"), "0% NEEDLE"))
	waitJS(t, tab, "the match listed", `!document.getElementById('search-results').hidden && document.querySelectorAll('#search-list button').length === 1`)
	if got := evalJS[string](t, tab, `document.querySelector('#search-list button').textContent`); !strings.Contains(got, "the old 100% needle") {
		t.Errorf("match listed as %q", got)
	}
	run(t, tab, "open the match", click(`#search-list button`))
	waitJS(t, tab, "the match shown", `(() => { const li = document.activeElement; return li && li.matches('#message-list li.match') && li.querySelector('.body').textContent === 'the old 100% needle'; })()`)
	run(t, tab, "search for nothing", chromedp.SendKeys(chromedp.ID("chat-search"), "zzz"))
	waitJS(t, tab, "no match", `document.getElementById('search-status').textContent === 'Nothing found.' && document.querySelectorAll('#search-list li').length === 0`)
}

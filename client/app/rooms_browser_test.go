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
)

// postShown is a JavaScript test for a post with body in the open room.
func postShown(body string) string {
	return `[...document.querySelectorAll('#posts li .body')].some((e) => e.textContent === '` + body + `')`
}

// testCommunity: the room joined by URL in the page; a post from the page
// read by another engine, whose post appears in the page by itself; a
// reaction; a blinded DM from the room arrives as a message request; made
// a moderator, the page's user bans the other member, whose posts go.
func testCommunity(t *testing.T, browser context.Context, nw *testnet.Network) {
	cs := testnet.StartCommunity(t, testnet.CommunityRoom{Token: "lobby", Name: "Lobby"})
	srv, joinURL := cs.Server, cs.JoinURL("lobby")
	s := appWithAccount(t, nw, "Alice")
	bob := startEngine(t, nw, "Bob")
	ctx := newTab(t, browser)
	run(t, ctx, "open the app", chromedp.Navigate(s.URL()))
	appShown(t, ctx)
	run(t, ctx, "join the room",
		chromedp.SendKeys(chromedp.ID("join-room-url"), joinURL),
		chromedp.Click(chromedp.CSS(`#join-room button[type=submit]`)))
	waitJS(t, ctx, "the room open", `!document.getElementById('room').hidden && document.getElementById('room-title').textContent === 'Lobby' && document.querySelector('#rooms .conv[aria-current="true"]') !== null`)

	jctx, jcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer jcancel()
	cm, err := bob.c.JoinCommunity(jctx, joinURL)
	if err != nil {
		t.Fatal(err)
	}
	room := cm.Server + "/" + cm.Room

	const mine = "hello lobby from the browser"
	run(t, ctx, "post", chromedp.SendKeys(chromedp.ID("room-compose"), mine), chromedp.Click(chromedp.ID("room-send")))
	waitJS(t, ctx, "our post", `[...document.querySelectorAll('#posts li.out .body')].some((e) => e.textContent === '`+mine+`')`)
	posts, err := bob.c.ReadRoom(jctx, room)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(posts, func(p *store.Post) bool { return p.Body == mine })
	if i < 0 {
		t.Fatal("Bob does not read the page's post")
	}
	aliceInRoom := posts[i].Author

	const theirs = "hello from Bob in the lobby"
	if _, err := bob.c.PostToRoom(jctx, room, theirs, client.PostOptions{}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "Bob's post, live", postShown(theirs))
	run(t, ctx, "react", click(`#posts li.in button.react`))
	waitJS(t, ctx, "the reaction", `[...document.querySelectorAll('#posts li.in .reactions button')].some((b) => b.textContent === '👍 1')`)

	// Alice writes to Bob from his post, to the blinded ID the room shows.
	const toBob = "a word in private, Bob"
	run(t, ctx, "message Bob",
		click(`#posts li.in button.dm`),
		chromedp.SendKeys(chromedp.ID("room-dm-body"), toBob),
		chromedp.Click(chromedp.ID("room-dm-send")))
	waitJS(t, ctx, "the DM sent", `document.getElementById('room-dm-status').textContent === 'Sent.'`)
	if got := bob.waitMessage(t, toBob); got.Author != s.Client().SessionID() {
		t.Errorf("the DM's author is %s, want Alice's Session ID", got.Author)
	}

	// Bob writes to Alice knowing only the ID the room shows.
	aliceID, err := s.Client().CommunityID(cm.PubKey)
	if err != nil {
		t.Fatal(err)
	}
	if aliceID.String() != aliceInRoom {
		t.Fatalf("the room shows Alice as %s, her blinded ID is %s", aliceInRoom, aliceID)
	}
	if err := bob.c.SendCommunityDM(jctx, room, aliceID, "psst, Alice"); err != nil {
		t.Fatal(err)
	}
	bobID := bob.c.SessionID().String()
	waitJS(t, ctx, "the DM as a request", `document.querySelector('#requests li[data-peer="`+bobID+`"]') !== null`)
	screenshot(t, ctx, "community")

	// Alice made a moderator: reopened, the room offers Ban.
	if err := srv.Store().SetModerator(context.Background(), "lobby", aliceInRoom, false, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "reopen the room", click(`#rooms .conv`))
	waitJS(t, ctx, "moderator", `document.getElementById('room-role').textContent === 'You moderate this room.' && document.querySelector('#posts li.in button.ban') !== null`)
	run(t, ctx, "ban Bob",
		click(`#posts li.in button.ban`),
		click(`#posts li.in button.ban`))
	waitJS(t, ctx, "Bob's post gone", `!(`+postShown(theirs)+`) && `+postShown(mine))
	if _, err := bob.c.PostToRoom(jctx, room, "still here?", client.PostOptions{}); err == nil {
		t.Error("Bob posted after the ban")
	}
}

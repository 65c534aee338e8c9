package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/community"
	"sotto.dev/key"
)

// communityServer runs a real community server on 127.0.0.1 with the
// given rooms and returns it with its directory and key.
func communityServer(t testing.TB, rooms ...string) (*community.Server, string, [32]byte) {
	t.Helper()
	return communityServerWith(t, nil, rooms...)
}

// communityServerWith is communityServer with tune applied to the
// server's configuration.
func communityServerWith(t testing.TB, tune func(*community.Config), rooms ...string) (*community.Server, string, [32]byte) {
	t.Helper()
	dir := t.TempDir()
	keys, _, err := community.LoadOrCreateKeys(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := community.DefaultConfig()
	cfg.Dir, cfg.Listen = dir, "127.0.0.1:0"
	cfg.PostLimit = 1000
	if tune != nil {
		tune(&cfg)
	}
	srv, err := community.New(cfg, community.Deps{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if _, err := srv.Store().AddRoom(context.Background(), r, "Room "+r, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("community server: %v", err)
		}
	})
	return srv, dir, keys.Public()
}

// communityClients is how many clients TestCommunity runs
// (SOTTO_COMMUNITY_CLIENTS overrides).
func communityClients(t *testing.T) int {
	if s := os.Getenv("SOTTO_COMMUNITY_CLIENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			t.Fatalf("SOTTO_COMMUNITY_CLIENTS=%q: want a number ≥ 10", s)
		}
		return n
	}
	return 50
}

// parallel runs f(i) for i in [0, n) concurrently and fails on the first
// error.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestCommunity: clients join a community server with two rooms through
// 3-hop onion paths and post; they react and reply with quotes, a
// moderator deletes a post and bans a member (who then gets 403 and
// whose posts are gone for everyone), and no Session ID reaches the
// server's database; a room file goes up and down; two members exchange
// blinded DMs.
func TestCommunity(t *testing.T) {
	nw := devnetTuned(t, 6, nil)
	srv, dir, pk := communityServer(t, "lobby", "other")
	ctx := context.Background()
	base := "http://" + srv.Addr().String()
	lobby := base + "/lobby?public_key=" + hex.EncodeToString(pk[:])
	other := base + "/other" // the key is known once a room of the server is joined

	n := communityClients(t)
	devs := make([]*device, n)
	accts := make([]*account, n)
	for i := range n {
		accts[i] = newAccount(t, fmt.Sprintf("m%d", i))
		devs[i] = accts[i].open(t, nw, "", devOpts{noServe: true})
	}
	start := time.Now()
	parallel(t, n, func(i int) error {
		if _, err := devs[i].c.JoinCommunity(ctx, lobby); err != nil {
			return fmt.Errorf("m%d: join: %w", i, err)
		}
		return nil
	})
	t.Logf("%d clients joined in %v", n, time.Since(start))

	// Room listing and the second room by <server>/<room>.
	rooms, err := devs[1].c.CommunityRooms(ctx, base)
	if err != nil || len(rooms) != 2 {
		t.Fatalf("rooms = %+v, %v; want 2", rooms, err)
	}
	if _, err := devs[1].c.JoinCommunity(ctx, other); err != nil {
		t.Fatal(err)
	}
	if list, _ := devs[1].c.Communities(ctx); len(list) != 2 {
		t.Fatalf("m1 communities = %d, want 2", len(list))
	}

	mod := devs[0]
	modID, err := mod.c.CommunityID(pk)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store().SetModerator(ctx, "lobby", modID.String(), false, true, time.Now()); err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	ids := make([]int64, n)
	parallel(t, n, func(i int) error {
		var err error
		ids[i], err = devs[i].c.PostToRoom(ctx, lobby, fmt.Sprintf("hello from m%d", i), PostOptions{})
		return err
	})
	t.Logf("%d posts in %v", n, time.Since(start))
	if _, err := devs[1].c.PostToRoom(ctx, other, "elsewhere", PostOptions{}); err != nil {
		t.Fatal(err)
	}

	// A reaction and a reply with a quote.
	if err := devs[2].c.ReactInRoom(ctx, lobby, ids[1], "👍", true); err != nil {
		t.Fatal(err)
	}
	reply, err := devs[3].c.PostToRoom(ctx, lobby, "welcome m1", PostOptions{Quote: &ids[1]})
	if err != nil {
		t.Fatal(err)
	}

	posts := readPosts(t, devs[4], lobby)
	if len(posts) != n+1 {
		t.Fatalf("m4 reads %d posts, want %d", len(posts), n+1)
	}
	m1ID, _ := devs[1].c.CommunityID(pk)
	var m1Sent int64
	for _, p := range posts {
		if p.ID == ids[1] {
			m1Sent = p.SentAt
		}
	}
	for _, p := range posts {
		switch p.ID {
		case ids[1]:
			if p.Body != "hello from m1" || p.Author != m1ID.String() || p.Reactions != `{"👍":1}` {
				t.Errorf("m1's post = %+v", p)
			}
		case reply:
			if p.Body != "welcome m1" || m1Sent == 0 || p.QuoteID != m1Sent {
				t.Errorf("reply = %+v", p)
			}
		}
	}
	// Both rooms of the server in one batch.
	if err := devs[1].c.PollCommunities(ctx); err != nil {
		t.Fatal(err)
	}
	if p, _ := devs[1].c.Store().Posts(ctx, base, "other"); len(p) != 1 || p[0].Body != "elsewhere" {
		t.Fatalf("m1's posts in other = %v", p)
	}

	// Deleting: one's own post, not another's; a moderator anyone's.
	if err := devs[7].c.DeletePost(ctx, lobby, ids[7]); err != nil {
		t.Fatal(err)
	}
	var ce *CommunityError
	if err := devs[7].c.DeletePost(ctx, lobby, ids[8]); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Fatalf("m7 deleting m8's post: %v, want 403", err)
	}
	if err := mod.c.DeletePost(ctx, lobby, ids[5]); err != nil {
		t.Fatal(err)
	}
	// A ban with the member's posts deleted.
	if _, err := devs[6].c.PostToRoom(ctx, lobby, "second from m6", PostOptions{}); err != nil {
		t.Fatal(err)
	}
	m6ID, _ := devs[6].c.CommunityID(pk)
	if err := devs[9].c.BanFromRoom(ctx, lobby, m6ID.String(), true); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Fatalf("a member banning: %v, want 403", err)
	}
	if err := mod.c.BanFromRoom(ctx, lobby, m6ID.String(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := devs[6].c.PostToRoom(ctx, lobby, "still here?", PostOptions{}); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Fatalf("banned member posting: %v, want 403", err)
	}
	if _, err := devs[6].c.ReadRoom(ctx, lobby); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Fatalf("banned member reading: %v, want 403", err)
	}
	for _, d := range []*device{devs[4], devs[8]} {
		posts := readPosts(t, d, lobby)
		if len(posts) != n-2 {
			t.Errorf("%d posts after the deletions, want %d", len(posts), n-2)
		}
		for _, p := range posts {
			if p.ID == ids[5] || p.ID == ids[7] || p.Author == m6ID.String() {
				t.Errorf("deleted post %d (%q by %s) still read", p.ID, p.Body, p.Author)
			}
		}
	}

	// A room file up and down: m12 posts a file through the room's file
	// endpoint, m13 reads the post and fetches the file through the room.
	content := make([]byte, 150<<10)
	rand.Read(content)
	src := filepath.Join(t.TempDir(), "notes.bin")
	if err := os.WriteFile(src, content, 0o600); err != nil {
		t.Fatal(err)
	}
	withFile, err := devs[12].c.PostToRoom(ctx, lobby, "a file for the room", PostOptions{Files: []OutgoingFile{{Path: src}}})
	if err != nil {
		t.Fatal(err)
	}
	var filePost *store.Post
	for _, p := range readPosts(t, devs[13], lobby) {
		if p.ID == withFile {
			filePost = p
		}
	}
	if filePost == nil || filePost.Body != "a file for the room" || len(filePost.Files) != 1 {
		t.Fatalf("m13 reads the file post as %+v", filePost)
	}
	if f := filePost.Files[0]; f.Name != "notes.bin" || f.Size != int64(len(content)) ||
		f.URL != base+"/room/lobby/file/"+strconv.FormatInt(f.ID, 10) {
		t.Fatalf("the post's file = %+v", f)
	}
	saved, err := devs[13].c.SaveRoomFiles(ctx, lobby, withFile, t.TempDir())
	if err != nil || len(saved) != 1 || filepath.Base(saved[0]) != "notes.bin" {
		t.Fatalf("SaveRoomFiles = %v, %v", saved, err)
	}
	if got, err := os.ReadFile(saved[0]); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the saved file differs from the posted one (%d bytes, %v)", len(got), err)
	}

	// Blinded DMs: m10 writes to m11 knowing only the ID the room shows;
	// m11 learns m10's Session ID and sees a message request.
	m11ID, _ := devs[11].c.CommunityID(pk)
	if err := devs[10].c.SendCommunityDM(ctx, lobby, m11ID, "psst, m11"); err != nil {
		t.Fatal(err)
	}
	if err := devs[11].c.PollCommunities(ctx); err != nil {
		t.Fatal(err)
	}
	if m := devs[11].onlyMessage("m10's DM", accts[10].id()); m.Body != "psst, m11" || m.Author != accts[10].id() {
		t.Fatalf("m11 got %+v", m)
	}
	if reqs := devs[11].eventsOf(EventRequest); len(reqs) != 1 || reqs[0].Conversation != accts[10].id() {
		t.Fatalf("m11's request events = %+v", reqs)
	}
	m10ID, _ := devs[10].c.CommunityID(pk)
	if err := devs[11].c.SendCommunityDM(ctx, lobby, m10ID, "and back through the room"); err != nil {
		t.Fatal(err)
	}
	if err := devs[10].c.PollCommunities(ctx); err != nil {
		t.Fatal(err)
	}
	if m := devs[10].onlyMessage("m11's DM", accts[11].id()); m.Body != "and back through the room" {
		t.Fatalf("m10 got %+v", m)
	}
	// Polling again brings nothing twice.
	if err := devs[10].c.PollCommunities(ctx); err != nil {
		t.Fatal(err)
	}
	if h := devs[10].history(accts[11].id()); len(h) != 1 {
		t.Fatalf("m10 holds %d messages from m11, want 1", len(h))
	}

	// A new room name reaches the members with the next poll (pollInfo).
	r, err := srv.Store().Room(ctx, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	name := "The Lobby"
	if err := srv.Store().UpdateRoom(ctx, r, &name, nil, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := devs[4].c.ReadRoom(ctx, lobby); err != nil {
		t.Fatal(err)
	}
	if cm, err := devs[4].c.Store().Community(ctx, base, "lobby"); err != nil || cm.Name != name {
		t.Fatalf("m4's room = %+v, %v; want the name %q", cm, err, name)
	}

	// Leaving forgets the room.
	if err := devs[9].c.LeaveCommunity(ctx, lobby); err != nil {
		t.Fatal(err)
	}
	if _, err := devs[9].c.PostToRoom(ctx, lobby, "gone", PostOptions{}); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("posting after leaving: %v", err)
	}

	noSessionIDs(t, dir, accts)
}

// readPosts polls the room and returns its posts.
func readPosts(t *testing.T, d *device, room string) []*store.Post {
	t.Helper()
	posts, err := d.c.ReadRoom(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	return posts
}

// noSessionIDs searches every file of the server's directory (database,
// WAL) for the accounts' Session IDs and keys, in hex and raw.
func noSessionIDs(t *testing.T, dir string, accts []*account) {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	for _, f := range files {
		if f.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	if len(blobs) == 0 {
		t.Fatal("no server files")
	}
	for _, a := range accts {
		id := a.id()
		k := id.Key()
		ed := a.kf.Keys.Ed25519Public()
		needles := [][]byte{[]byte(id.String()), []byte(hex.EncodeToString(k[:])), k[:], ed[:], []byte(hex.EncodeToString(ed[:])),
			[]byte(key.NewSessionID(key.PrefixUnblinded, ed).String())}
		for _, b := range blobs {
			for _, nd := range needles {
				if bytes.Contains(b, nd) || bytes.Contains(b, bytes.ToUpper(nd)) {
					t.Fatalf("the server's files hold %s's ID or key", a.name)
				}
			}
		}
	}
}

// TestCommunitySync: a room joined on one device is joined on the
// account's other device through the user-groups object, which polls it;
// leaving it on one device leaves it on the other.
func TestCommunitySync(t *testing.T) {
	nw := devnetTuned(t, 6, nil)
	srv, _, pk := communityServer(t, "lobby")
	ctx := context.Background()
	base := "http://" + srv.Addr().String()
	lobby := base + "/lobby?public_key=" + hex.EncodeToString(pk[:])
	alice := newAccount(t, "alice")
	a := alice.open(t, nw, "", devOpts{})
	configSyncOn(t, a.c)
	b := alice.open(t, nw, "", devOpts{})
	if _, err := a.c.JoinCommunity(ctx, lobby); err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.PostToRoom(ctx, lobby, "from device a", PostOptions{}); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the room and its post on device b", time.Minute, func() bool {
		p, _ := b.c.Store().Posts(ctx, base, "lobby")
		return len(p) == 1 && p[0].Body == "from device a"
	})
	if err := b.c.LeaveCommunity(ctx, lobby); err != nil {
		t.Fatal(err)
	}
	a.waitFor("the room left on device a", time.Minute, func() bool {
		l, _ := a.c.Communities(ctx)
		return len(l) == 0
	})
}

// TestCommunityModeration: an admin whispers to one member and to the
// moderators (each sees only what is theirs; a member may not whisper),
// pins and unpins posts (a member may not), and the room's settings show
// each user their permissions, and the hidden moderators and the room's
// defaults to moderators only.
func TestCommunityModeration(t *testing.T) {
	nw := devnetTuned(t, 6, nil)
	srv, _, pk := communityServer(t, "lobby")
	ctx := context.Background()
	base := "http://" + srv.Addr().String()
	lobby := base + "/lobby?public_key=" + hex.EncodeToString(pk[:])
	names := []string{"admin", "member", "hidden-mod", "other"}
	devs := make([]*device, len(names))
	ids := make([]string, len(names))
	for i, name := range names {
		devs[i] = newAccount(t, name).open(t, nw, "", devOpts{noServe: true})
		cm, err := devs[i].c.JoinCommunity(ctx, lobby)
		if err != nil {
			t.Fatal(err)
		}
		if ids[i], err = devs[i].c.RoomUserID(cm); err != nil {
			t.Fatal(err)
		}
	}
	admin, member, hidden, other := devs[0], devs[1], devs[2], devs[3]
	if err := srv.Store().SetModerator(ctx, "lobby", ids[0], true, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := srv.Store().SetModerator(ctx, "lobby", ids[2], false, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	r, err := srv.Store().Room(ctx, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	desc := "where everyone meets"
	descp := &desc
	if err := srv.Store().UpdateRoom(ctx, r, nil, &descp, nil, nil, nil); err != nil {
		t.Fatal(err)
	}

	// Whispers.
	toMember, err := admin.c.PostToRoom(ctx, lobby, "for the member only", PostOptions{WhisperTo: ids[1]})
	if err != nil {
		t.Fatal(err)
	}
	toMods, err := admin.c.PostToRoom(ctx, lobby, "for the moderators", PostOptions{WhisperMods: true})
	if err != nil {
		t.Fatal(err)
	}
	open, err := admin.c.PostToRoom(ctx, lobby, "for everyone", PostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ce *CommunityError
	if _, err := member.c.PostToRoom(ctx, lobby, "a member whispering", PostOptions{WhisperMods: true}); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Fatalf("a member whispering: %v, want 403", err)
	}
	seen := func(d *device) map[int64]*store.Post {
		out := map[int64]*store.Post{}
		for _, p := range readPosts(t, d, lobby) {
			out[p.ID] = p
		}
		return out
	}
	if ps := seen(member); len(ps) != 2 || ps[toMember] == nil || ps[toMember].WhisperTo != ids[1] || ps[toMember].Body != "for the member only" || ps[open] == nil {
		t.Fatalf("the member sees %v", ps)
	}
	if ps := seen(hidden); len(ps) != 2 || ps[toMods] == nil || !ps[toMods].WhisperMods || ps[open] == nil {
		t.Fatalf("the hidden moderator sees %v", ps)
	}
	if ps := seen(other); len(ps) != 1 || ps[open] == nil {
		t.Fatalf("another member sees %v", ps)
	}

	// Pins: admins only; a missing post is a 404.
	p1, err := member.c.PostToRoom(ctx, lobby, "pin me", PostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := member.c.PinPost(ctx, lobby, p1); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Fatalf("a member pinning: %v, want 403", err)
	}
	if err := admin.c.PinPost(ctx, lobby, p1+1000); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		t.Fatalf("pinning no post: %v, want 404", err)
	}
	for _, id := range []int64{p1, open} {
		if err := admin.c.PinPost(ctx, lobby, id); err != nil {
			t.Fatal(err)
		}
	}
	pinned := func() []int64 {
		info, err := other.c.RoomDetails(ctx, lobby)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, p := range info.Pinned {
			out = append(out, p.ID)
		}
		return out
	}
	if got := pinned(); !slices.Equal(got, []int64{p1, open}) {
		t.Fatalf("pinned = %v, want [%d %d]", got, p1, open)
	}
	if err := admin.c.UnpinPost(ctx, lobby, p1); err != nil {
		t.Fatal(err)
	}
	if got := pinned(); !slices.Equal(got, []int64{open}) {
		t.Fatalf("pinned after an unpin = %v, want [%d]", got, open)
	}
	if err := admin.c.UnpinAll(ctx, lobby); err != nil {
		t.Fatal(err)
	}
	if got := pinned(); len(got) != 0 {
		t.Fatalf("pinned after unpin all = %v", got)
	}

	// Room settings as a member and as a moderator see them.
	mi, err := member.c.RoomDetails(ctx, lobby)
	if err != nil {
		t.Fatal(err)
	}
	if mi.Name != "Room lobby" || mi.Description != desc || mi.ActiveUsers < 3 || !mi.Read || !mi.Write || !mi.Upload || mi.Moderator ||
		!slices.Contains(mi.Admins, ids[0]) || len(mi.HiddenModerators) != 0 || mi.DefaultRead != nil {
		t.Fatalf("the member's room info = %+v", mi)
	}
	hi, err := hidden.c.RoomDetails(ctx, lobby)
	if err != nil {
		t.Fatal(err)
	}
	if !hi.Moderator || hi.Admin || !slices.Contains(hi.HiddenModerators, ids[2]) || hi.DefaultRead == nil || !*hi.DefaultRead {
		t.Fatalf("the hidden moderator's room info = %+v", hi)
	}
	if ai, err := admin.c.RoomDetails(ctx, lobby); err != nil || !ai.Admin || !ai.Moderator {
		t.Fatalf("the admin's room info = %+v, %v", ai, err)
	}
}

// TestCommunityUnblinded: on a server without blinding the client signs
// with its own key (00…), as Session does; its posts (XEdDSA-signed) and
// files reach another member, and polling leaves out the blinded inbox.
func TestCommunityUnblinded(t *testing.T) {
	nw := devnetTuned(t, 6, nil)
	srv, _, pk := communityServerWith(t, func(c *community.Config) { c.RequireBlind = false }, "lobby")
	ctx := context.Background()
	base := "http://" + srv.Addr().String()
	lobby := base + "/lobby?public_key=" + hex.EncodeToString(pk[:])
	alice := newAccount(t, "alice")
	a := alice.open(t, nw, "", devOpts{noServe: true})
	b := newAccount(t, "bob").open(t, nw, "", devOpts{noServe: true})
	cm, err := a.c.JoinCommunity(ctx, lobby)
	if err != nil {
		t.Fatal(err)
	}
	if !cm.Unblinded {
		t.Fatal("the room of a server without blinding is not marked unblinded")
	}
	aID, err := a.c.RoomUserID(cm)
	if err != nil {
		t.Fatal(err)
	}
	if aID != alice.kf.Keys.SessionID().String() {
		t.Fatalf("alice's room ID = %s, want her Session ID", aID)
	}
	if _, err := b.c.JoinCommunity(ctx, lobby); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(src, []byte("hello, unblinded room\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := a.c.PostToRoom(ctx, lobby, "signed with my own key", PostOptions{Files: []OutgoingFile{{Path: src}}})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := srv.Store().User(ctx, aID, time.Now(), false); err != nil || u == nil {
		t.Fatalf("the server has no user %s: %v, %v", aID, u, err)
	}
	if err := b.c.PollCommunities(ctx); err != nil {
		t.Fatal(err)
	}
	posts, err := b.c.Store().Posts(ctx, base, "lobby")
	if err != nil || len(posts) != 1 {
		t.Fatalf("bob's posts = %v, %v; want alice's", posts, err)
	}
	if p := posts[0]; p.ID != id || p.Author != aID || p.Body != "signed with my own key" || len(p.Files) != 1 {
		t.Fatalf("bob reads %+v", p)
	}
	saved, err := b.c.SaveRoomFiles(ctx, lobby, id, t.TempDir())
	if err != nil || len(saved) != 1 {
		t.Fatalf("SaveRoomFiles = %v, %v", saved, err)
	}
	if got, _ := os.ReadFile(saved[0]); string(got) != "hello, unblinded room\n" {
		t.Fatalf("saved %q", got)
	}
	if err := a.c.ReactInRoom(ctx, lobby, id, "👍", true); err != nil {
		t.Fatal(err)
	}
	if err := a.c.DeletePost(ctx, lobby, id); err != nil {
		t.Fatal(err)
	}
	if p := readPosts(t, b, lobby); len(p) != 0 {
		t.Fatalf("bob still reads %v after alice deleted her post", p)
	}
}

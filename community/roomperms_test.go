package community

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestRoomPerms checks that RoomPerms answers as Room and Perms do, for
// users with no row, overrides, room and global moderators and admins,
// bans (lasting, expired, global) and anonymous readers.
func TestRoomPerms(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Unix(1_760_000_000, 0)
	lobby, err := st.AddRoom(ctx, "lobby", "Lobby", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddRoom(ctx, "closed", "Closed", nil, now); err != nil {
		t.Fatal(err)
	}
	if err := st.SetRoomDefaults(ctx, "closed", false, false, false); err != nil {
		t.Fatal(err)
	}
	closed, err := st.Room(ctx, "closed")
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]*User{}
	for i, name := range []string{"plain", "reader", "mod", "admin", "gmod", "banned", "expired", "gbanned", "modbanned"} {
		u, err := st.User(ctx, fmt.Sprintf("15%064x", i), now, true)
		if err != nil {
			t.Fatal(err)
		}
		users[name] = u
	}
	rooms := []*Room{lobby, closed}
	yes, no := true, false
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.SetPerms(ctx, rooms, []*User{users["reader"]}, &yes, &no, nil, false))
	must(st.ChangeModerator(ctx, rooms, []*User{users["mod"], users["modbanned"]}, ModChange{Moderator: &yes}))
	must(st.ChangeModerator(ctx, rooms, []*User{users["admin"]}, ModChange{Admin: &yes}))
	must(st.ChangeModerator(ctx, nil, []*User{users["gmod"]}, ModChange{Moderator: &yes}))
	must(st.Ban(ctx, rooms, []*User{users["banned"], users["modbanned"]}, nil))
	past := now.Add(-time.Hour)
	must(st.Ban(ctx, rooms, []*User{users["expired"]}, &past))
	must(st.SetBanned(ctx, users["gbanned"].SessionID, true, now))
	for name, u := range users {
		// Reload: the global flags are the user row's.
		if users[name], err = st.User(ctx, u.SessionID, now, false); err != nil {
			t.Fatal(err)
		}
	}
	users["anonymous"] = nil
	for _, token := range []string{"lobby", "closed"} {
		for name, u := range users {
			wantRoom, err := st.Room(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			want, err := st.Perms(ctx, wantRoom, u, now)
			if err != nil {
				t.Fatal(err)
			}
			r, got, err := st.RoomPerms(ctx, token, u, now)
			if err != nil || *r != *wantRoom || got != want {
				t.Errorf("%s in %s: %+v %+v %v, want %+v %+v", name, token, r, got, err, wantRoom, want)
			}
		}
	}
	if !func() bool { p, _ := st.Perms(ctx, lobby, users["banned"], now); return p.Banned && !p.Read }() {
		t.Error("the banned user is not banned: the cases do not test bans")
	}
	for _, u := range []*User{users["plain"], nil} {
		if _, _, err := st.RoomPerms(ctx, "nowhere", u, now); !errors.Is(err, ErrNoRoom) {
			t.Errorf("no room: %v", err)
		}
	}
}

// TestStoreKeepsConnections checks that concurrent readers do not make the
// pool close idle connections (each reopened one reads the schema and
// prepares its statements again).
func TestStoreKeepsConnections(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddRoom(ctx, "lobby", "Lobby", nil, time.Unix(1_760_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				if _, err := st.Room(ctx, "lobby"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s := st.db.Stats(); s.MaxIdleClosed != 0 || s.OpenConnections > 4 {
		t.Errorf("pool: %d connections closed as surplus idle ones, %d open", s.MaxIdleClosed, s.OpenConnections)
	}
}

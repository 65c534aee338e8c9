package testnet

import (
	"context"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sotto.dev/community"
)

func TestStartCommunity(t *testing.T) {
	s := StartCommunity(t, CommunityRoom{"lobby", "Lobby"}, CommunityRoom{"other", "Room other"})
	rooms, err := s.Server.Store().Rooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []CommunityRoom
	for _, r := range rooms {
		got = append(got, CommunityRoom{r.Token, r.Name})
	}
	slices.SortFunc(got, func(a, b CommunityRoom) int { return strings.Compare(a.Token, b.Token) })
	if want := []CommunityRoom{{"lobby", "Lobby"}, {"other", "Room other"}}; !slices.Equal(got, want) {
		t.Errorf("rooms %v, want %v", got, want)
	}
	if want := "http://" + s.Server.Addr().String() + "/lobby?public_key=" + hex.EncodeToString(s.PublicKey[:]); s.JoinURL("lobby") != want {
		t.Errorf("join URL %s, want %s", s.JoinURL("lobby"), want)
	}
	keys, created, err := community.LoadOrCreateKeys(filepath.Join(s.Dir, "key"))
	if err != nil || created || keys.Public() != s.PublicKey {
		t.Errorf("the key in Dir: created %v, %v; not the server's", created, err)
	}
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(s.URL + "/capabilities")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /capabilities: %d", resp.StatusCode)
	}
	s.Stop()
	s.Stop() // the second does nothing (and the test's cleanup a third)
	if resp, err := hc.Get(s.URL + "/capabilities"); err == nil {
		resp.Body.Close()
		t.Fatal("the server answers after Stop")
	}
}

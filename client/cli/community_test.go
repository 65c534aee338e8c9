package cli

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"sotto.dev/community"
	"sotto.dev/internal/testnet"
)

// TestCommunityScripts runs testdata/community/*.txtar against a
// loopback network and a community server with the rooms lobby and
// other; $LOBBY is lobby's join URL, $SERVER the server's URL and
// $SERVERKEY its key. `mod ID` makes the blinded ID a moderator of lobby,
// `admin ID` an admin.
func TestCommunityScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	nw := testnet.StartT(t, testnet.Options{Nodes: 6})
	dir := t.TempDir()
	keys, _, err := community.LoadOrCreateKeys(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := community.DefaultConfig()
	cfg.Dir, cfg.Listen = dir, "127.0.0.1:0"
	srv, err := community.New(cfg, community.Deps{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"lobby", "other"} {
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
	pk := keys.Public()
	server := "http://" + srv.Addr().String()
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "community"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("SOTTO_NETWORK", nw.NetworkFile())
			env.Setenv("SOTTO_ARGON2", "t=1,m=64,p=1")
			env.Setenv("SOTTO_HOME", filepath.Join(env.WorkDir, "default-home"))
			env.Setenv("SERVER", server)
			env.Setenv("SERVERKEY", hex.EncodeToString(pk[:]))
			env.Setenv("LOBBY", server+"/lobby?public_key="+hex.EncodeToString(pk[:]))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sid":       cmdSID,
			"stdoutvar": cmdStdoutVar,
			"mod": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: mod ID")
				}
				ts.Check(srv.Store().SetModerator(context.Background(), "lobby", args[0], false, true, time.Now()))
			},
			"admin": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: admin ID")
				}
				ts.Check(srv.Store().SetModerator(context.Background(), "lobby", args[0], true, true, time.Now()))
			},
		},
	})
}

package cli

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

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
	cs := testnet.StartCommunity(t, testnet.CommunityRoom{Token: "lobby", Name: "Room lobby"}, testnet.CommunityRoom{Token: "other", Name: "Room other"})
	srv, pk, server := cs.Server, cs.PublicKey, cs.URL
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "community"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("SOTTO_NETWORK", nw.NetworkFile())
			env.Setenv("SOTTO_ARGON2", "t=1,m=64,p=1")
			env.Setenv("SOTTO_HOME", filepath.Join(env.WorkDir, "default-home"))
			env.Setenv("SERVER", server)
			env.Setenv("SERVERKEY", hex.EncodeToString(pk[:]))
			env.Setenv("LOBBY", cs.JoinURL("lobby"))
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

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sotto.dev/community"
)

func TestModerationCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	for _, args := range [][]string{{"init", "--dir", dir}, {"room", "add", "lobby", "--dir", dir}} {
		if code, _, errOut := runMain(args...); code != 0 {
			t.Fatalf("%v: %q", args, errOut)
		}
	}
	const id = "15" + "d1f3c1fa1b7b0dc06a2f0d1b6c8b2d0b3e4f5a69788796a5b4c3d2e1f0a9b8c7"
	perms := func() community.Perms {
		t.Helper()
		ctx := context.Background()
		st, err := community.OpenStore(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		r, err := st.Room(ctx, "lobby")
		if err != nil {
			t.Fatal(err)
		}
		u, err := st.User(ctx, id, time.Now(), true)
		if err != nil {
			t.Fatal(err)
		}
		p, err := st.Perms(ctx, r, u, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	steps := []struct {
		args []string
		out  string
		want func(community.Perms) bool
	}{
		{[]string{"mod", "add", id, "--room", "lobby", "--admin"}, id + " is admin of room lobby\n", func(p community.Perms) bool { return p.Admin && p.Moderator }},
		{[]string{"mod", "remove", id, "--room", "lobby"}, id + " is no moderator of room lobby\n", func(p community.Perms) bool { return !p.Moderator }},
		{[]string{"ban", id, "--room", "lobby", "--for", "1h"}, "banned " + id + " from room lobby until ", func(p community.Perms) bool { return p.Banned && !p.Read }},
		{[]string{"unban", id, "--room", "lobby"}, "unbanned " + id + " from room lobby\n", func(p community.Perms) bool { return !p.Banned && p.Read }},
		{[]string{"room", "set", "lobby", "--write=false"}, "updated room lobby\n", func(p community.Perms) bool { return p.Read && !p.Write }},
		{[]string{"perm", id, "--room", "lobby", "--write"}, "set the permissions of " + id + " in room lobby\n", func(p community.Perms) bool { return p.Write && p.Upload }},
		{[]string{"perm", id, "--room", "lobby", "--read=false"}, "set the permissions of " + id + " in room lobby\n", func(p community.Perms) bool { return !p.Read && p.Write }},
		{[]string{"perm", id, "--room", "lobby", "--reset"}, "set the permissions of " + id + " in room lobby\n", func(p community.Perms) bool { return p.Read && !p.Write }},
	}
	for _, s := range steps {
		code, out, errOut := runMain(append(s.args, "--dir", dir)...)
		if code != 0 || !strings.HasPrefix(out, s.out) {
			t.Fatalf("%v: %d %q %q", s.args, code, out, errOut)
		}
		if p := perms(); !s.want(p) {
			t.Fatalf("after %v: %+v", s.args, p)
		}
	}
	if code, out, errOut := runMain("room", "set", "lobby", "--slow-mode", "30s", "--dir", dir); code != 0 || out != "updated room lobby\n" {
		t.Fatalf("slow mode: %d %q %q", code, out, errOut)
	}
	st, err := community.OpenStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.Room(context.Background(), "lobby")
	st.Close()
	if err != nil || r.SlowMode != 30 || r.DefaultWrite {
		t.Fatalf("room after --slow-mode: %+v, %v", r, err)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"room", "set", "lobby", "--slow-mode", "-1s"}, "negative --slow-mode"},
		{[]string{"ban", id}, "give exactly one of --room and --global"},
		{[]string{"ban", id, "--room", "lobby", "--global"}, "give exactly one of --room and --global"},
		{[]string{"ban", "zz", "--global"}, "bad id zz"},
		{[]string{"mod", "add", id, "--room", "nowhere"}, "no room nowhere"},
		{[]string{"room", "set", "lobby"}, "nothing to change"},
		{[]string{"perm", id, "--room", "lobby"}, "nothing to change"},
		{[]string{"perm", id, "--global", "--read"}, "permissions are per room"},
	} {
		if code, _, errOut := runMain(append(tc.args, "--dir", dir)...); code != 1 || !strings.Contains(errOut, "error: "+tc.msg) {
			t.Errorf("%v: %d %q", tc.args, code, errOut)
		}
	}
}

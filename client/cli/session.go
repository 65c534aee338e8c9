package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/identity"
	"sotto.dev/key"
)

// chatFlags are the flags every messaging command shares.
type chatFlags struct {
	timeout time.Duration
}

// session is an open account: the client and what to release.
type session struct {
	c  *client.Client
	kf *identity.KeyFile
}

func (s *session) close() {
	s.c.Close()
	s.kf.Wipe()
}

// need says what a command needs from the network.
type need int

const (
	offline    need = iota // local data only
	optional               // sync when a network is configured
	networkReq             // fails without a network
	lazy                   // a local change, pushed when a network is configured
)

// openSession loads the identity and opens the client. With networkReq a
// missing network file is an error; with optional it is not.
func (a *app) openSession(n need) (*session, error) {
	if n == networkReq && a.network == "" {
		return nil, userErr("pass --network FILE or set SOTTO_NETWORK to the network file of the network to use",
			"no network configured")
	}
	kf, err := a.loadIdentity(&idFlags{})
	if err != nil {
		return nil, err
	}
	cfg := client.Config{Home: a.home, Logger: a.logger(), KeyFile: a.identityPath(), CoverTraffic: a.cover}
	if n != offline {
		cfg.NetworkFile = a.network
	}
	if err := a.delayConfig(&cfg); err != nil {
		kf.Wipe()
		return nil, err
	}
	c, err := client.Open(cfg, kf)
	if err != nil {
		kf.Wipe()
		var ne *client.NetworkError
		switch {
		case errors.Is(err, client.ErrDeviceRemoved):
			return nil, removedError(err)
		case errors.As(err, &ne):
			return nil, &Error{Msg: "cannot use the network file", Err: err,
				Hint: `a network file looks like {"seed_nodes": [{"url": "https://host:port", "cert_sha256": "<64 hex>"}, ...]}; check --network or SOTTO_NETWORK`}
		case errors.Is(err, store.ErrWrongKey):
			return nil, &Error{Msg: "cannot open the local database in " + a.home, Err: err,
				Hint: "the database was made by another identity; use that identity's --home"}
		}
		return nil, &Error{Msg: "cannot open the local database in " + a.home, Err: err}
	}
	return &session{c: c, kf: kf}, nil
}

// synced opens the client for n, runs one network round (when n and the
// configuration allow it), then fn, and closes the client.
func (a *app) synced(f *chatFlags, n need, fn func(ctx context.Context, s *session) error) error {
	s, err := a.openSession(n)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, cancel := a.ctx(f)
	defer cancel()
	if err := a.sync(ctx, s); err != nil {
		return err
	}
	return fn(ctx, s)
}

// logger logs to standard error at the level in $SOTTO_LOG (debug, info,
// warn); by default nothing is logged.
func (a *app) logger() *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(a.env.Getenv("SOTTO_LOG")) {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "warn":
		lvl = slog.LevelWarn
	default:
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(a.env.Stderr, &slog.HandlerOptions{Level: lvl}))
}

// netError explains a network failure.
func netError(what string, err error) error {
	var ue *client.UnreachableError
	var re *client.RPCError
	switch {
	case errors.As(err, &ue), errors.Is(err, context.DeadlineExceeded):
		return &Error{Msg: what + ": cannot reach the network", Err: err,
			Hint: "check that the network is up and that --network or SOTTO_NETWORK names its network file; --offline shows local data"}
	case errors.As(err, &re) && (re.Status == 406 || re.Status == 425):
		return &Error{Msg: what + ": the network says this computer's clock is wrong", Err: err,
			Hint: "set the system clock (NTP) and try again"}
	}
	return &Error{Msg: what, Err: err}
}

// sync runs one network round when the session is online.
func (a *app) sync(ctx context.Context, s *session) error {
	if !s.c.Online() {
		return nil
	}
	if err := s.c.Sync(ctx); err != nil {
		if re := removedError(err); re != nil {
			return re
		}
		return netError("cannot fetch new messages", err)
	}
	return nil
}

// parsePeer reads a Session ID argument: a person's (05) or a group's
// (03).
func parsePeer(s string) (key.SessionID, error) {
	id, err := key.ParseSessionID(strings.TrimSpace(s))
	if err == nil && id.Prefix() != key.PrefixStandard && id.Prefix() != key.PrefixGroup {
		err = fmt.Errorf("prefix %02x: not a person's (05) or a group's (03) ID", byte(id.Prefix()))
	}
	if err != nil {
		return key.SessionID{}, &Error{Msg: fmt.Sprintf("invalid Session ID %q", short(s, 80)), Err: err,
			Hint: "a Session ID is 66 hexadecimal characters starting with 05 (see 'sotto id show'), a group ID starts with 03"}
	}
	return id, nil
}

// parseMsgRef reads a message number ("12" or "#12") as shown by 'sotto read'.
func parseMsgRef(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0, userErr("use the number shown before the message by 'sotto read ID', e.g. 12 or #12",
			"invalid message number %q", short(s, 40))
	}
	return n, nil
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (a *app) ctx(f *chatFlags) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), f.timeout)
}

// msgError explains errors about a referenced message or request.
func msgError(err error, peer key.SessionID) error {
	switch {
	case errors.Is(err, client.ErrNoMessage):
		return userErr("list the conversation's messages with 'sotto read "+peer.String()+"'", "no such message in this conversation")
	case errors.Is(err, client.ErrNotOurs):
		return userErr("you can unsend only your own messages", "that message was written by %s", peer)
	case errors.Is(err, client.ErrNoRequest):
		return userErr("list message requests with 'sotto requests'", "no message request from %s", peer)
	case errors.Is(err, client.ErrNoGroup):
		return userErr("list your groups with 'sotto group list'", "you are not in group %s", peer)
	case errors.Is(err, client.ErrNotAdmin):
		return userErr("ask an admin of the group (see 'sotto group members "+peer.String()+"')", "only a group admin can do that")
	case errors.Is(err, client.ErrNoInvite):
		return userErr("list invitations with 'sotto requests'", "no invitation to group %s", peer)
	case errors.Is(err, client.ErrTimer):
		return userErr("use a duration between 10s and 14d, e.g. 30s, 5m, 12h, 1d, or off", "%v", err)
	}
	return err
}

package ledger

import (
	"context"
	"log/slog"
	"time"
)

// Follower keeps a ChainView up to date from a ledger node over its RPC:
// what a service node that runs no ledger node of its own uses.
type Follower struct {
	client *Client
	view   *ChainView
	poll   time.Duration
	log    *slog.Logger
}

// NewFollower follows the ledger behind client, checking every poll
// (default 1 s) for a new block.
func NewFollower(client *Client, poll time.Duration, logger *slog.Logger) *Follower {
	if poll <= 0 {
		poll = time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Follower{client: client, view: NewChainView(), poll: poll, log: logger}
}

// View returns the followed view. It holds an empty snapshot until the
// first successful poll.
func (f *Follower) View() *ChainView { return f.view }

// Sync fetches the node list once if the ledger moved on.
func (f *Follower) Sync(ctx context.Context) error {
	h, err := f.client.Height(ctx)
	if err != nil {
		return err
	}
	if h == f.view.Current().Height {
		return nil
	}
	s, err := f.client.Snapshot(ctx)
	if err != nil {
		return err
	}
	f.view.publish(s)
	return nil
}

// Serve polls until ctx ends.
func (f *Follower) Serve(ctx context.Context) error {
	t := time.NewTicker(f.poll)
	defer t.Stop()
	failing := false
	for {
		err := f.Sync(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			f.log.Warn("ledger follow failed; keeping the last node list", "err", err)
			failing = true
		case err == nil && failing:
			f.log.Info("ledger follow recovered", "height", f.view.Current().Height)
			failing = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

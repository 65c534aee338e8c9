package ledger

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// Tester runs the obligation tests a quorum member performs on a node
// (service-node-network.md §3.2, and the storage test of §3.5 that Session
// never enabled). The service node implements it with real requests.
//
// Each method returns nil when the node passed, ErrCannotTest when the
// tester could not tell (its own network is down, it holds nothing to test
// with), and any other error when the node failed.
type Tester interface {
	// PingStorage checks that the node's storage RPC answers and
	// identifies itself with its Ed25519 key.
	PingStorage(ctx context.Context, n NodeInfo) error
	// RelayOnion checks that the node relays an onion request.
	RelayOnion(ctx context.Context, n NodeInfo) error
	// StorageTest asks the node for a message its swarm holds.
	StorageTest(ctx context.Context, n NodeInfo) error
}

// ErrCannotTest says a test could not be run; it counts neither way.
var ErrCannotTest = errors.New("ledger: cannot test")

// ProberConfig configures a Prober.
type ProberConfig struct {
	// Key is this node's Ed25519 key: the quorum member that votes.
	Key    state.Signer
	Client *Client
	Tester Tester
	Logger *slog.Logger
	// Timeout bounds each single test (default 5 s, Session's
	// SN_PING_TIMEOUT).
	Timeout time.Duration
	// Poll is how often the ledger is checked for new quorums (default 1 s).
	Poll time.Duration
	// Parallel bounds the nodes tested at once (default 8).
	Parallel int
	// Attempts is how many times a test a node fails is run before the
	// failure counts (default 3), spread over up to RetestWindow (default
	// 10 s, and at most half of a quorum's voting time so that the vote
	// still lands): a node restarting, or a moment of congestion, is not
	// voted out on one failed request. A pass at any attempt is a pass.
	Attempts     int
	RetestWindow time.Duration
}

// Prober is the quorum duty of a service node: whenever the ledger draws
// an obligation quorum with this node as a member, it tests the quorum's
// nodes with the Tester and submits its vote.
type Prober struct {
	c     ProberConfig
	self  string
	voted map[uint64]bool
}

// NewProber returns a prober; run it with Serve.
func NewProber(c ProberConfig) *Prober {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Parallel <= 0 {
		c.Parallel = 8
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.RetestWindow <= 0 {
		c.RetestWindow = 10 * time.Second
	}
	self := key.NodePublic(c.Key.PublicKey())
	return &Prober{c: c, self: self.String(), voted: make(map[uint64]bool)}
}

// Serve runs Round every Poll until ctx ends.
func (p *Prober) Serve(ctx context.Context) error {
	t := time.NewTicker(p.c.Poll)
	defer t.Stop()
	var lastErr string
	for {
		_, err := p.Round(ctx)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != lastErr:
			// Logged once per distinct failure (a ledger still starting
			// fails every poll).
			p.c.Logger.Warn("quorum round failed", "err", err)
			lastErr = err.Error()
		case err == nil:
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Round votes in every open quorum this node belongs to and has not voted
// in yet. It returns the number of votes submitted.
func (p *Prober) Round(ctx context.Context) (int, error) {
	quorums, err := p.c.Client.Quorums(ctx)
	if err != nil {
		return 0, err
	}
	open := make(map[uint64]bool, len(quorums))
	var mine []QuorumInfo
	for _, q := range quorums {
		open[q.Height] = true
		for i, v := range q.Validators {
			if v == p.self && !q.Voted[i] && !p.voted[q.Height] {
				mine = append(mine, q)
			}
		}
	}
	for h := range p.voted {
		if !open[h] {
			delete(p.voted, h)
		}
	}
	if len(mine) == 0 {
		return 0, nil
	}
	infos, err := p.c.Client.Nodes(ctx)
	if err != nil {
		return 0, err
	}
	st, err := p.c.Client.Status(ctx)
	if err != nil {
		return 0, err
	}
	gap := p.retestGap(st.Params)
	byKey := make(map[string]NodeInfo, len(infos))
	for _, n := range infos {
		byKey[n.Ed25519] = n
	}
	sent := 0
	for _, q := range mine {
		results := p.test(ctx, q.Workers, byKey, gap)
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
		_, err := p.c.Client.SubmitWith(ctx, p.c.Key, &state.Vote{Height: q.Height, Results: results})
		var te *state.TxError
		switch {
		case err == nil:
			sent++
		case errors.As(err, &te) && (te.Code == state.CodeDuplicate || te.Code == state.CodeUnknownQuorum):
			// Already counted, or the quorum closed meanwhile.
		default:
			return sent, err
		}
		p.voted[q.Height] = true
		failed := 0
		for _, r := range results {
			if r&^state.ResultAbstain != 0 {
				failed++
			}
		}
		p.c.Logger.Debug("quorum vote", "height", q.Height, "tested", len(results), "failing", failed)
	}
	return sent, nil
}

// retestGap is the pause between attempts of a failing test: the retest
// window split between the attempts, the window at most half of the
// time votes are accepted.
func (p *Prober) retestGap(params state.Params) time.Duration {
	if p.c.Attempts < 2 {
		return 0
	}
	window := p.c.RetestWindow
	if voting := time.Duration(params.VoteLifetime) * params.BlockTime; voting > 0 {
		window = min(window, voting/2)
	}
	return window / time.Duration(p.c.Attempts-1)
}

// test runs the three tests on every worker, a few workers at a time.
func (p *Prober) test(ctx context.Context, workers []string, byKey map[string]NodeInfo, gap time.Duration) []uint8 {
	results := make([]uint8, len(workers))
	sem := make(chan struct{}, p.c.Parallel)
	var wg sync.WaitGroup
	for i, w := range workers {
		n, ok := byKey[w]
		if !ok {
			results[i] = state.ResultAbstain
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = p.testOne(ctx, n, gap)
		}()
	}
	wg.Wait()
	return results
}

// testOne runs the three tests on n. The tests n fails are run again, up
// to Attempts times gap apart; one counts as failed only if it never
// passes.
func (p *Prober) testOne(ctx context.Context, n NodeInfo, gap time.Duration) uint8 {
	tests := []struct {
		flag uint8
		run  func(context.Context, NodeInfo) error
	}{
		{state.FailStorage, p.c.Tester.PingStorage},
		{state.FailOnion, p.c.Tester.RelayOnion},
		{state.FailStorageTest, p.c.Tester.StorageTest},
	}
	errs := make([]error, len(tests))
	pending := []int{0, 1, 2}
	for attempt := 0; attempt < p.c.Attempts && len(pending) > 0; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return state.ResultAbstain
			case <-time.After(gap):
			}
		}
		var again []int
		for _, i := range pending {
			tctx, cancel := context.WithTimeout(ctx, p.c.Timeout)
			errs[i] = tests[i].run(tctx, n)
			cancel()
			if ctx.Err() != nil {
				return state.ResultAbstain
			}
			if errs[i] != nil && !errors.Is(errs[i], ErrCannotTest) {
				again = append(again, i)
			}
		}
		pending = again
	}
	var r uint8
	known := 0
	for i, err := range errs {
		switch {
		case errors.Is(err, ErrCannotTest):
		case err != nil:
			r |= tests[i].flag
			known++
		default:
			known++
		}
	}
	if known == 0 {
		return state.ResultAbstain
	}
	return r
}

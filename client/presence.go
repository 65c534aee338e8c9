package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"sotto.dev/key"
)

// What a swarm node learns of a client's presence (docs/PRIVACY.md):
//
//   - Rotation. Every poll of a swarm (ours, and each group's) goes to a
//     member other than the one the previous poll went to, drawn at random,
//     so that no one member sees every poll, and with it the exact time
//     the client came online and left. Session's clients do the same: each
//     poll samples a random member of the swarm (session-desktop
//     ts/session/apis/snode_api/snodePool.ts getNodeFromSwarmOrThrow).
//     A poll whose answer says "more" stays on that member to drain it.
//   - Cover traffic (Config.CoverTraffic, `sotto --cover-traffic`). The
//     long poll answers the moment a message arrives, and stops the moment
//     the client quits: a node sees both. In cover mode the client does
//     not long-poll; it sends a plain retrieve every CoverTraffic ±
//     coverJitter, whatever arrived and whatever the user does, so the
//     requests' timing says nothing about messages or activity while the
//     client runs. Messages then wait up to one period.
//   - Bridges. Each member keeps its own last_hash (Session's rule), so
//     right after a message every member but the one that delivered it
//     holds a message we already have, and a poll sent there is answered
//     at once: until the poll after it is held, no member holds one, and a
//     message stored meanwhile waits for it (up to eight more link delays
//     through the onion path). The receive loop therefore polls that
//     member again at once (its answer caught it up), and while it
//     catches up, the member that answered last holds one more poll, the
//     bridge, cancelled as soon as the next poll is sent. A member thus
//     sees at most one poll after the one it answered, for about one
//     round trip through the path; the rotation is otherwise unchanged.

// coverJitter is the spread of a cover-mode period: uniform in
// CoverTraffic × [1 − coverJitter, 1 + coverJitter], mean CoverTraffic.
const coverJitter = 0.25

// nextPollNode returns the member of acct's swarm the next poll goes to: a
// random member other than last and also (when there are others still)
// than also, where a bridge poll just answered.
func (c *Client) nextPollNode(ctx context.Context, acct key.SessionID, last, also *key.NodePublic) (*key.NodePublic, error) {
	members, err := c.net.swarmOf(ctx, acct)
	if err != nil {
		return nil, err
	}
	avoid := func(m key.NodePublic, also *key.NodePublic) bool {
		return last != nil && m == *last || also != nil && m == *also
	}
	var cands []key.NodePublic
	for _, skip := range []*key.NodePublic{also, nil} {
		for _, m := range members {
			if !avoid(m.Ed25519, skip) {
				cands = append(cands, m.Ed25519)
			}
		}
		if len(cands) > 0 {
			break
		}
	}
	if len(cands) == 0 { // last is the only member
		cands = append(cands, members[0].Ed25519)
	}
	id := cands[c.net.intN(len(cands))]
	return &id, nil
}

// rotate returns the node the next poll of acct goes to: last when stay
// (the last answer had more), else nextPollNode, or last when the swarm
// cannot be looked up now (the poll then fails and backs off as before).
func (c *Client) rotate(ctx context.Context, acct key.SessionID, last *key.NodePublic, stay bool) *key.NodePublic {
	return c.rotateAvoiding(ctx, acct, last, nil, stay)
}

// rotateAvoiding is rotate that also avoids also when it can.
func (c *Client) rotateAvoiding(ctx context.Context, acct key.SessionID, last, also *key.NodePublic, stay bool) *key.NodePublic {
	if stay && last != nil {
		return last
	}
	next, err := c.nextPollNode(ctx, acct, last, also)
	if err != nil {
		return last
	}
	return next
}

// coverPeriod draws the time from one cover-mode poll to the next.
func (n *network) coverPeriod(mean time.Duration) time.Duration {
	n.rndMu.Lock()
	f := 1 - coverJitter + 2*coverJitter*n.rnd.Float64()
	n.rndMu.Unlock()
	return time.Duration(float64(mean) * f)
}

// coverPoll is one poll of the cover-mode loop, for tests.
type coverPoll struct {
	period   time.Duration // drawn for the time to the next poll
	returned int           // messages the node returned
	err      error
}

// coverLoop is receiveLoop in cover mode: a retrieve that the node answers
// at once, from the next member in turn, every coverPeriod from the start
// of the last one, whatever the answers held.
func (c *Client) coverLoop(ctx context.Context) {
	var node *key.NodePublic
	for ctx.Err() == nil {
		start := c.clock.Now()
		node = c.rotate(ctx, c.self, node, false)
		res, err := c.retrieve(ctx, node, 0)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Debug("retrieve failed", "error", err)
		}
		period := c.net.coverPeriod(c.cfg.CoverTraffic)
		if c.onCoverPoll != nil {
			c.onCoverPoll(coverPoll{period: period, returned: res.returned, err: err})
		}
		if !sleep(ctx, period-c.clock.Now().Sub(start)) {
			return
		}
	}
}

// freshness is what the receive loop knows of the members' last_hash: a
// member is fresh when it answered with everything it had and no new
// message has reached us since, so that a long poll there is held.
type freshness struct {
	mu  sync.Mutex
	gen uint64                    // answers that brought new messages, and our own stores
	at  map[key.NodePublic]uint64 // gen after each fresh member's last answer
}

// begin is the state at the start of a poll, for answered.
func (f *freshness) begin() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gen
}

// answered records node's answer to a poll begun at began: the node is
// fresh unless it has more or another poll brought new messages meanwhile
// (which the node may hold after what it returned).
func (f *freshness) answered(node key.NodePublic, res retrieveResult, began uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	others := f.gen != began
	if res.count > 0 {
		f.gen++
	}
	if f.at == nil {
		f.at = map[key.NodePublic]uint64{}
	}
	if res.more || others {
		delete(f.at, node)
		return
	}
	f.at[node] = f.gen
}

// stored records a message we stored in our own swarm (a config push, a
// sync copy of a sent message): every member now holds one after our
// last_hash there, so none is fresh, and a poll answered meanwhile does
// not make its member fresh either.
func (f *freshness) stored() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
}

// is reports whether node is fresh.
func (f *freshness) is(node key.NodePublic) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.at[node]
	return ok && g == f.gen
}

// bridgeMax is the longest a bridge poll is held.
const bridgeMax = 5 * time.Second

// bridge is the receive loop's bridge poll, when one runs.
type bridge struct {
	wg     sync.WaitGroup // the bridges' goroutines
	cancel context.CancelFunc
	node   key.NodePublic
	done   chan struct{} // closed when the current bridge's goroutine returns

	mu       sync.Mutex
	answered *key.NodePublic // the bridge's node, when it answered (not stopped)
}

// takeAnswered returns the node of a bridge poll that answered since the
// last call, or nil: the next poll avoids it, as it avoids the node the
// last poll went to.
func (b *bridge) takeAnswered() *key.NodePublic {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.answered
	b.answered = nil
	return n
}

// runningAt reports whether a bridge poll to node runs now.
func (b *bridge) runningAt(node key.NodePublic) bool {
	if b.done == nil || b.node != node {
		return false
	}
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

// stop cancels the bridge poll, if any, without waiting for it.
func (b *bridge) stop() {
	if b.cancel != nil {
		b.cancel()
	}
}

// wait stops the bridge and waits for the goroutines of all bridges.
func (b *bridge) wait() {
	b.stop()
	b.wg.Wait()
}

// startBridge stops b's bridge poll, if one runs, and long-polls node,
// and only node, until b is stopped or the node answers; what it returns
// is processed as any poll's answer.
func (c *Client) startBridge(ctx context.Context, b *bridge, node key.NodePublic, wait time.Duration) {
	b.stop()
	// The loop stops the bridge once the next member caught up, about one
	// round trip through the path; bridgeMax bounds it when that member
	// holds the poll after all (we took it to be behind but it was not).
	bctx, cancel := context.WithTimeout(ctx, bridgeMax)
	done := make(chan struct{})
	b.cancel, b.done, b.node = cancel, done, node
	began := c.fresh.begin()
	start := c.clock.Now()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer close(done)
		defer cancel()
		res, err := c.retrieveFrom(bctx, node, wait)
		if err != nil {
			res.node = node
			if bctx.Err() != nil && !errors.Is(err, bctx.Err()) {
				// Stopped: the store's driver may report it as its own
				// interruption rather than as the context's error.
				err = fmt.Errorf("%w (%w)", bctx.Err(), err)
			}
		}
		if c.onPoll != nil {
			c.onPoll(pollTrace{res: res, bridge: true, wait: wait, start: start, end: c.clock.Now(), err: err})
		}
		if err == nil {
			c.fresh.answered(node, res, began)
			b.mu.Lock()
			b.answered = &node
			b.mu.Unlock()
		} else if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			c.log.Debug("bridge poll failed", "error", err)
		}
	}()
}

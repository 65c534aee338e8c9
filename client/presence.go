package client

import (
	"context"
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

// coverJitter is the spread of a cover-mode period: uniform in
// CoverTraffic × [1 − coverJitter, 1 + coverJitter], mean CoverTraffic.
const coverJitter = 0.25

// nextPollNode returns the member of acct's swarm the next poll goes to: a
// random member other than last (last itself when it is the only one).
func (c *Client) nextPollNode(ctx context.Context, acct key.SessionID, last *key.NodePublic) (*key.NodePublic, error) {
	members, err := c.net.swarmOf(ctx, acct)
	if err != nil {
		return nil, err
	}
	cands := members[:0]
	for _, m := range members {
		if last == nil || m.Ed25519 != *last || len(members) == 1 {
			cands = append(cands, m)
		}
	}
	id := cands[c.net.intN(len(cands))].Ed25519
	return &id, nil
}

// rotate returns the node the next poll of acct goes to: last when stay
// (the last answer had more), else nextPollNode, or last when the swarm
// cannot be looked up now (the poll then fails and backs off as before).
func (c *Client) rotate(ctx context.Context, acct key.SessionID, last *key.NodePublic, stay bool) *key.NodePublic {
	if stay && last != nil {
		return last
	}
	next, err := c.nextPollNode(ctx, acct, last)
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

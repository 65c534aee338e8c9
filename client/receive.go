package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/path"
	"sotto.dev/client/store"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

// Long-poll fallback: a node that answers an empty long poll in less than
// half the wait quickEmptyLimit times in a row is taken not to support
// wait_ms, and is polled every PollInterval instead.
const quickEmptyLimit = 3

// receiveLoop retrieves our messages until ctx is done.
func (c *Client) receiveLoop(ctx context.Context) {
	if c.cfg.CoverTraffic > 0 {
		c.coverLoop(ctx)
		return
	}
	backoff := time.Second
	var (
		node       *key.NodePublic
		stay       bool // the last answer had more, or caught that node up: poll it again
		stayed     bool // this poll stays after a catch-up (once only)
		quickEmpty = map[key.NodePublic]int{}
		noLongPoll = map[key.NodePublic]bool{}
		br         bridge // a poll held at the last member while the next one catches up (presence.go)
		answered   *key.NodePublic
	)
	defer br.wait()
	for ctx.Err() == nil {
		// Each poll goes to another member of the swarm (presence.go),
		// and not to one where a bridge poll just answered either.
		node = c.rotateAvoiding(ctx, c.self, node, br.takeAnswered(), stay)
		stay = false
		wait := c.cfg.LongPollWait
		// A config namespace never fetched is fetched at once: its
		// pushes wait for it.
		fetching := c.configsUnfetched()
		if wait < 0 || (node != nil && noLongPoll[*node]) || fetching {
			wait = 0
		}
		switch {
		case wait == 0 || node == nil || c.fresh.is(*node):
			// This poll will be held (or none is): no bridge.
			br.stop()
		case answered != nil && *answered != *node && !noLongPoll[*answered] && !br.runningAt(*answered):
			// The next member has messages we already have: it answers
			// at once, and the poll after it is held. Meanwhile the
			// member that answered last, up to date, holds one (in
			// place of an earlier bridge, no longer up to date).
			c.startBridge(ctx, &br, *answered, wait)
		}
		answered = nil
		began := c.fresh.begin()
		if c.onPollStart != nil {
			c.onPollStart(pollStart{held: wait > 0 && node != nil && c.fresh.is(*node), gen: began})
		}
		start := c.clock.Now()
		res, err := c.retrieve(ctx, node, wait)
		if c.onPoll != nil {
			c.onPoll(pollTrace{res: res, wait: wait, start: start, end: c.clock.Now(), err: err})
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Debug("retrieve failed", "error", err)
			node = nil
			br.stop()
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		id := res.node
		node = &id
		c.fresh.answered(id, res, began)
		if res.more || (fetching && !c.configsUnfetched()) {
			stay, stayed = res.more, false
			continue
		}
		answered = &id
		if wait > 0 {
			if res.returned == 0 && c.clock.Now().Sub(start) < wait/2 {
				quickEmpty[res.node]++
				if quickEmpty[res.node] >= quickEmptyLimit {
					c.log.Info("node does not hold long polls; polling instead", "interval", c.cfg.PollInterval)
					noLongPoll[res.node] = true
					c.fallbacks.Add(1)
				}
			} else {
				quickEmpty[res.node] = 0
			}
			if !noLongPoll[res.node] {
				// An answer of messages we all had caught the node up:
				// the next poll there is held, where one to another
				// member would be answered at once again. Once: a
				// member still behind after that is left.
				stay = res.caughtUp() && !stayed
				stayed = stay
				continue
			}
		}
		if res.returned == 0 && !sleep(ctx, c.cfg.PollInterval) {
			return
		}
	}
}

// receiveAll retrieves until the node has nothing more, without waiting.
func (c *Client) receiveAll(ctx context.Context) (int, error) {
	total := 0
	var node *key.NodePublic
	for range 1000 {
		res, err := c.retrieve(ctx, node, 0)
		if err != nil {
			return total, err
		}
		total += res.count
		id := res.node
		node = &id
		if !res.more {
			return total, nil
		}
	}
	return total, nil
}

// pollStart is the start of a poll of the receive loop (not a bridge),
// for tests: held is whether the loop takes the member to be fresh (the
// poll will be held until a message comes), gen the freshness state then.
type pollStart struct {
	held bool
	gen  uint64
}

// pollTrace is one poll of the receive loop, for tests.
type pollTrace struct {
	res        retrieveResult
	bridge     bool // a bridge poll (presence.go)
	wait       time.Duration
	start, end time.Time
	err        error
}

type retrieveResult struct {
	node     key.NodePublic
	returned int // messages the node returned
	count    int // new messages processed
	more     bool
}

// caughtUp reports an answer of messages we all had: the node was behind
// our last_hash there, and is not any more.
func (r retrieveResult) caughtUp() bool { return r.returned > 0 && r.count == 0 && !r.more }

// retrieve asks a member of our swarm (prefer, when it is still one) for
// the messages after the last hash we saw there, holding the request up
// to wait when wait > 0, and processes them. With config sync on, the
// config namespaces are retrieved in the same request (a batch of
// retrieves, which a Sotto node holds until any of them has something,
// docs/longpoll.md).
func (c *Client) retrieve(ctx context.Context, prefer *key.NodePublic, wait time.Duration) (retrieveResult, error) {
	return c.retrieveAt(ctx, prefer, false, wait)
}

// retrieveFrom is retrieve from node alone: it fails rather than ask
// another member.
func (c *Client) retrieveFrom(ctx context.Context, node key.NodePublic, wait time.Duration) (retrieveResult, error) {
	return c.retrieveAt(ctx, &node, true, wait)
}

func (c *Client) retrieveAt(ctx context.Context, prefer *key.NodePublic, only bool, wait time.Duration) (retrieveResult, error) {
	spaces := append([]int{int(storagerpc.NamespaceDefault)}, c.configNamespaces()...)
	lastHashes := make([]string, len(spaces))
	var asked key.NodePublic
	timeout := c.cfg.RequestTimeout
	if wait > 0 {
		timeout += wait
	}
	method := storagerpc.MethodRetrieve
	if len(spaces) > 1 {
		method = storagerpc.MethodBatch
	}
	dest, body, err := c.net.callSwarm(ctx, swarmRequest{
		method: method, acct: c.self, timeout: timeout, prefer: prefer, only: only,
		build: func(dest path.Node) ([]byte, error) {
			asked = dest.Ed25519
			ts := c.nowMillis()
			reqs := make([]storagerpc.Request, len(spaces))
			for i, ns := range spaces {
				h, err := c.db.LastHash(ctx, c.self, dest.Ed25519.String(), int16(ns))
				if err != nil {
					return nil, err
				}
				lastHashes[i] = h
				space := storagerpc.Namespace(ns)
				reqs[i] = &storagerpc.RetrieveParams{
					Account: storagerpc.AccountFromSessionID(c.self), Namespace: space,
					LastHash: h, Timestamp: ts, Auth: c.auth(storagerpc.RetrieveSigMessage(space, ts)),
				}
			}
			if len(reqs) == 1 {
				return encodeRetrieve(reqs[0].(*storagerpc.RetrieveParams), wait)
			}
			return encodeWithWait(&storagerpc.BatchParams{Requests: reqs}, wait)
		},
	})
	if err != nil {
		return retrieveResult{}, err
	}
	if dest.Ed25519 != asked {
		return retrieveResult{}, errors.New("client: retrieve answered by an unexpected node")
	}
	resps, err := c.retrieveAnswers(method, body, len(spaces))
	if err != nil {
		return retrieveResult{}, err
	}
	res := retrieveResult{node: dest.Ed25519}
	// What the node answered is processed whole, even if the poll is
	// stopped meanwhile (a bridge poll is, once another member answers):
	// an object merged in memory but not applied to the database would
	// not change again when the same messages come back.
	ctx = context.WithoutCancel(ctx)
	// Messages first, so that a read position merged from the conversation
	// info finds the messages it covers.
	count, err := c.ingestBatch(ctx, dest.Ed25519, lastHashes[0], resps[0].Messages)
	if err != nil {
		return retrieveResult{}, err
	}
	res.count, res.returned, res.more = count, len(resps[0].Messages), resps[0].More
	for i := 1; i < len(spaces); i++ {
		r := resps[i]
		if r == nil {
			continue
		}
		changed, err := c.ingestConfig(ctx, dest.Ed25519.String(), lastHashes[i], spaces[i], r.Messages, r.More)
		if err != nil {
			return retrieveResult{}, err
		}
		res.returned += len(r.Messages)
		if changed {
			// Config messages that changed nothing (our own pushes, or
			// what another member returned) are ones we had.
			res.count += len(r.Messages)
		}
		res.more = res.more || r.More
	}
	if count > 0 {
		// Messages may have queued work (deletes after an unsend).
		kick(c.kickOutbox)
	}
	return res, nil
}

// retrieveAnswers reads the answer of a retrieve, or of a batch of n
// retrieves: one response per namespace, nil for a config namespace the
// node refused (namespace 0 refused is an error).
func (c *Client) retrieveAnswers(method string, body []byte, n int) ([]*storagerpc.RetrieveResponse, error) {
	if method == storagerpc.MethodRetrieve {
		var resp storagerpc.RetrieveResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			return nil, fmt.Errorf("client: retrieve: bad answer: %w", err)
		}
		return []*storagerpc.RetrieveResponse{&resp}, nil
	}
	var batch storagerpc.BatchResponse
	if err := json.Unmarshal(body, &batch); err != nil || len(batch.Results) != n {
		return nil, fmt.Errorf("client: retrieve: bad batch answer (%d results, want %d)", len(batch.Results), n)
	}
	out := make([]*storagerpc.RetrieveResponse, n)
	for i, r := range batch.Results {
		if r.Code != http.StatusOK {
			if i > 0 {
				c.log.Debug("config retrieve refused", "status", r.Code)
				continue
			}
			if r.Code == storagerpc.StatusMisdirectedRequest {
				var gs storagerpc.GetSwarmResponse
				if json.Unmarshal(r.Body, &gs) == nil {
					c.net.setSwarm(c.self, gs.Snodes)
				}
			}
			return nil, &RPCError{Method: storagerpc.MethodRetrieve, Status: r.Code, Body: string(r.Body)}
		}
		var resp storagerpc.RetrieveResponse
		if err := json.Unmarshal(r.Body, &resp); err != nil {
			return nil, fmt.Errorf("client: retrieve: bad answer: %w", err)
		}
		out[i] = &resp
	}
	return out, nil
}

// encodeRetrieve is the retrieve request with the long-poll extension
// "wait_ms" added when wait > 0 (docs/longpoll.md). Nodes that do not
// know the parameter ignore it.
func encodeRetrieve(p *storagerpc.RetrieveParams, wait time.Duration) ([]byte, error) {
	return encodeWithWait(p, wait)
}

// encodeWithWait encodes a request with "wait_ms" added to its params
// when wait > 0.
func encodeWithWait(p storagerpc.Request, wait time.Duration) ([]byte, error) {
	params, err := p.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(params, &m); err != nil {
			return nil, err
		}
		m["wait_ms"] = json.RawMessage(fmt.Sprint(wait.Milliseconds()))
		if params, err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	return json.Marshal(struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}{p.Method(), params})
}

// batch collects what one retrieve's messages call for once they are all
// processed.
type batch struct {
	delivered map[key.SessionID][]int64 // delivery receipts to send
	unhidden  []key.SessionID           // hidden conversations a message showed again
	after     []func()                  // work after the transaction (a promotion to group admin)
}

// decoded is a retrieved message not seen before, decrypted outside the
// transaction that applies it.
type decoded struct {
	msg     *storagerpc.RetrievedMessage
	dec     *sessionproto.Decoded
	err     error
	expires int64
}

// ingestBatch processes the messages one retrieve from node returned: the
// new ones are decrypted, then applied in one transaction together with
// marking their hashes seen, queueing the delivery receipts they call for
// and moving the node's last hash. A client stopped at any point either
// has all of that or none of it, and then retrieves the same messages
// again. It returns how many new messages were for us.
func (c *Client) ingestBatch(ctx context.Context, node key.NodePublic, lastHash string, msgs []storagerpc.RetrievedMessage) (int, error) {
	defer c.lockChange()() // a message can unhide a conversation: a local config change
	var fresh []decoded
	for i := range msgs {
		m := &msgs[i]
		if !storagerpc.ValidMessageHash(m.Hash) {
			continue
		}
		seen, err := c.db.Seen(ctx, m.Hash)
		if err != nil {
			return 0, err
		}
		if seen {
			continue
		}
		d := decoded{msg: m, expires: m.Expiration}
		if d.expires <= 0 {
			d.expires = c.nowMillis() + ContentTTL.Milliseconds()
		}
		d.dec, d.err = sessionproto.DecodeMessage(c.keys, m.Data)
		fresh = append(fresh, d)
	}
	var newLast string
	if len(msgs) > 0 && msgs[len(msgs)-1].Hash != lastHash {
		newLast = msgs[len(msgs)-1].Hash
	}
	if len(fresh) == 0 && newLast == "" {
		return 0, nil
	}
	var (
		events []Event
		count  int
		queued bool
		b      *batch
	)
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		b = &batch{delivered: map[key.SessionID][]int64{}}
		for _, d := range fresh {
			isNew, err := tx.MarkSeen(ctx, d.msg.Hash, d.expires)
			if err != nil {
				return err
			}
			if !isNew {
				continue
			}
			if d.err != nil {
				// Not for us, or damaged: remembered as seen so that it is
				// not decrypted again. Its content is not logged.
				c.log.Debug("undecodable message in our swarm", "error", d.err)
				continue
			}
			evs, err := c.apply(ctx, tx, d.dec, d.msg.Hash, b)
			if err != nil {
				return err
			}
			events = append(events, evs...)
			count++
		}
		if newLast != "" {
			if err := tx.SetLastHash(ctx, c.self, node.String(), int16(storagerpc.NamespaceDefault), newLast, c.nowMillis()); err != nil {
				return err
			}
		}
		var err error
		queued, err = c.queueDelivered(ctx, tx, b)
		return err
	})
	if err != nil {
		return 0, err
	}
	c.emit(events...)
	if queued {
		kick(c.kickOutbox)
	}
	if count > 0 {
		kick(c.kickAttach)
	}
	for _, id := range b.unhidden {
		c.configWarn(c.syncContact(ctx, id, fieldPriority))
	}
	for _, fn := range b.after {
		fn()
	}
	return count, nil
}

// apply dispatches a decrypted message.
func (c *Client) apply(ctx context.Context, tx *store.Tx, dec *sessionproto.Decoded, hash string, b *batch) ([]Event, error) {
	content := dec.Content
	sentAt := int64(dec.Timestamp)
	sender := dec.Sender
	if sender == c.self {
		return c.applyOwn(ctx, tx, content, sentAt, hash)
	}
	contact, err := tx.Contact(ctx, sender)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if contact != nil && contact.Blocked {
		return nil, nil
	}
	approved := contact != nil && contact.Approved
	switch {
	case content.DataMessage.GetGroupUpdateMessage() != nil:
		return c.applyGroupInvitation(ctx, tx, sender, content.DataMessage.GroupUpdateMessage, sentAt, &b.after)
	case content.DataMessage != nil:
		evs, err := c.applyData(ctx, tx, sender, sender, content, sentAt, hash)
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 && evs[0].Kind == EventMessage && approved {
			b.delivered[sender] = append(b.delivered[sender], sentAt)
		}
		if len(evs) > 0 && evs[0].Kind == EventMessage && contact != nil && contact.Priority < 0 {
			// A new message shows a hidden conversation again, as in
			// Session; the contacts object follows after the batch.
			if err := tx.SetPriority(ctx, sender, 0, c.nowMillis()); err != nil {
				return nil, err
			}
			b.unhidden = append(b.unhidden, sender)
		}
		return evs, nil
	case content.ReceiptMessage != nil:
		return c.applyReceipt(ctx, tx, sender, content.ReceiptMessage)
	case content.TypingMessage != nil:
		if !approved {
			return nil, nil
		}
		return []Event{{Kind: EventTyping, Conversation: sender,
			Typing: content.TypingMessage.GetAction() == wire.TypingMessage_STARTED}}, nil
	case content.UnsendRequest != nil:
		return c.applyUnsend(ctx, tx, sender, content.UnsendRequest)
	case content.MessageRequestResponse != nil:
		return c.applyRequestResponse(ctx, tx, sender, content.MessageRequestResponse)
	}
	return nil, nil
}

// applyOwn handles what our other devices (or this one) stored in our
// swarm: sync copies of sent messages, Note to Self, unsends.
func (c *Client) applyOwn(ctx context.Context, tx *store.Tx, content *wire.Content, sentAt int64, hash string) ([]Event, error) {
	switch {
	case content.DataMessage != nil:
		conv := c.self
		if t := content.DataMessage.GetSyncTarget(); t != "" {
			id, err := key.ParseStandardSessionID(t)
			if err != nil {
				return nil, nil // a sync copy we cannot place
			}
			conv = id
			// A sync copy in the private form (queueWithSync) carries
			// the sent timestamp inside, its envelope the later store
			// time. Nothing else in a 1:1 DataMessage we read uses
			// this legacy field; a Session client that sets it sets the
			// sent time, which is never after the envelope's.
			if ts := content.DataMessage.GetTimestamp(); ts != 0 && ts <= uint64(max(sentAt, 0)) {
				sentAt = int64(ts)
			}
		}
		return c.applyData(ctx, tx, conv, c.self, content, sentAt, hash)
	case content.UnsendRequest != nil:
		return c.applyUnsend(ctx, tx, c.self, content.UnsendRequest)
	}
	return nil, nil
}

// applyData handles a DataMessage from author in conversation conv: a
// reaction, a disappearing-setting change, or a message.
func (c *Client) applyData(ctx context.Context, tx *store.Tx, conv, author key.SessionID, content *wire.Content, sentAt int64, hash string) ([]Event, error) {
	dm := content.DataMessage
	now := c.nowMillis()
	outgoing := author == c.self
	if !outgoing {
		if name := dm.GetProfile().GetDisplayName(); name != "" {
			if err := tx.SetDisplayName(ctx, author, name, now); err != nil {
				return nil, err
			}
		}
		if err := c.notePicture(ctx, tx, author, dm, now); err != nil {
			return nil, err
		}
	}
	if r := dm.Reaction; r != nil {
		return c.applyReaction(ctx, tx, conv, author, r, now)
	}
	if dm.GetFlags()&uint32(wire.DataMessage_EXPIRATION_TIMER_UPDATE) != 0 {
		mode, timer := expiryOf(content)
		if err := tx.SetDisappearing(ctx, conv, mode, timer, now); err != nil {
			return nil, err
		}
		return []Event{{Kind: EventDisappearing, Conversation: conv, Mode: mode, Timer: timer}}, nil
	}
	body := dm.GetBody()
	if body == "" && len(dm.Attachments) == 0 {
		return nil, nil
	}
	mode, timer := expiryOf(content)
	msg := &store.Message{
		Conversation: conv, Author: author, SentAt: sentAt, ReceivedAt: now, ServerHash: hash,
		Body: body, State: store.StateReceived, ExpiryMode: mode, ExpiryTimer: timer,
	}
	if outgoing {
		msg.Direction, msg.State, msg.ServerHash, msg.SyncHash, msg.ReadAt = store.Outgoing, store.StateSent, "", hash, sentAt
	}
	if mode == store.ExpiryAfterSend || (outgoing && mode == store.ExpiryAfterRead) {
		msg.ExpiresAt = sentAt + int64(timer)*1000
	}
	if !outgoing {
		// Read already on another device of ours (config sync).
		if cv, err := tx.Conversation(ctx, conv); err == nil && cv.ReadUpTo >= sentAt {
			msg.ReadAt = now
			if mode == store.ExpiryAfterRead {
				msg.ExpiresAt = now + int64(timer)*1000
			}
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if q := dm.Quote; q != nil {
		if qa, err := key.ParseStandardSessionID(q.GetAuthor()); err == nil && q.GetId() <= math.MaxInt64 {
			msg.Quote = &store.Ref{Author: qa, SentAt: int64(q.GetId())}
		}
	}
	_, inserted, err := tx.InsertMessage(ctx, msg)
	if err != nil || !inserted {
		return nil, err
	}
	if err := c.storePointers(ctx, tx, msg.ID, dm.Attachments); err != nil {
		return nil, err
	}
	if err := tx.EnsureConversation(ctx, conv, sentAt); err != nil {
		return nil, err
	}
	events := []Event{{Kind: EventMessage, Conversation: conv, Message: msg}}
	more, err := c.noteApproval(ctx, tx, conv, author, msg, now)
	if err != nil {
		return nil, err
	}
	events = append(events, more...)
	if msg.ExpiresAt != 0 {
		kick(c.kickExpiry)
	}
	return events, nil
}

// noteApproval records what a new message says about approval: one we
// wrote from another device accepts the peer here too; one from someone we
// have not accepted makes (or joins) a message request.
func (c *Client) noteApproval(ctx context.Context, tx *store.Tx, conv, author key.SessionID, msg *store.Message, now int64) ([]Event, error) {
	if conv.Prefix() == key.PrefixGroup {
		return nil, nil // joining a group was the approval
	}
	if author == c.self {
		if conv != c.self {
			// Written from another device: that accepts the peer here too.
			if _, err := tx.RemoveRequest(ctx, conv); err != nil {
				return nil, err
			}
			if err := tx.SetApproved(ctx, conv, true, now); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	contact, err := tx.Contact(ctx, author)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if contact == nil || !contact.ApprovedMe {
		if err := tx.SetApprovedMe(ctx, author, true, now); err != nil {
			return nil, err
		}
	}
	if contact != nil && contact.Approved {
		return nil, nil
	}
	isReq, err := tx.IsRequest(ctx, author)
	if err != nil {
		return nil, err
	}
	if err := tx.AddRequest(ctx, author, msg.SentAt); err != nil {
		return nil, err
	}
	if isReq {
		return nil, nil
	}
	return []Event{{Kind: EventRequest, Conversation: author, Message: msg}}, nil
}

// expiryOf reads the disappearing setting of a Content (2023+ fields;
// the legacy DataMessage.expireTimer counts as after-send).
func expiryOf(content *wire.Content) (store.ExpiryMode, uint32) {
	timer := content.GetExpirationTimer()
	switch content.GetExpirationType() {
	case wire.Content_DELETE_AFTER_READ:
		if timer > 0 {
			return store.ExpiryAfterRead, timer
		}
	case wire.Content_DELETE_AFTER_SEND:
		if timer > 0 {
			return store.ExpiryAfterSend, timer
		}
	default:
		if t := content.GetDataMessage().GetExpireTimer(); t > 0 {
			return store.ExpiryAfterSend, t
		}
	}
	return store.ExpiryOff, 0
}

func (c *Client) applyReaction(ctx context.Context, tx *store.Tx, conv, reactor key.SessionID, r *wire.DataMessage_Reaction, now int64) ([]Event, error) {
	target, err := key.ParseStandardSessionID(r.GetAuthor())
	if err != nil || r.GetId() > math.MaxInt64 || r.GetEmoji() == "" {
		return nil, nil
	}
	m, err := tx.FindMessage(ctx, conv, store.Ref{Author: target, SentAt: int64(r.GetId())})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	add := r.GetAction() == wire.DataMessage_Reaction_REACT
	changed, err := tx.SetReaction(ctx, m.ID, reactor, r.GetEmoji(), add, now)
	if err != nil || !changed {
		return nil, err
	}
	m, err = tx.Message(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	return []Event{{Kind: EventReaction, Conversation: conv, Message: m}}, nil
}

func (c *Client) applyReceipt(ctx context.Context, tx *store.Tx, sender key.SessionID, r *wire.ReceiptMessage) ([]Event, error) {
	var ts []int64
	for _, t := range r.Timestamp {
		if t <= math.MaxInt64 {
			ts = append(ts, int64(t))
		}
	}
	to := store.StateDelivered
	if r.GetType() == wire.ReceiptMessage_READ {
		to = store.StateRead
	}
	changed, err := tx.AdvanceOutgoing(ctx, sender, c.self, ts, to, c.nowMillis())
	if err != nil {
		return nil, err
	}
	evs := make([]Event, 0, len(changed))
	for _, m := range changed {
		evs = append(evs, Event{Kind: EventState, Conversation: sender, Message: m})
	}
	return evs, nil
}

// applyUnsend blanks the message the request names. Only its author may
// unsend it. When the message has not arrived yet, a blank placeholder is
// stored so that it stays unsent when it does.
func (c *Client) applyUnsend(ctx context.Context, tx *store.Tx, sender key.SessionID, u *wire.UnsendRequest) ([]Event, error) {
	if u.GetAuthor() != sender.String() || u.GetTimestamp() > math.MaxInt64 {
		return nil, nil
	}
	ref := store.Ref{Author: sender, SentAt: int64(u.GetTimestamp())}
	var m *store.Message
	var err error
	if sender == c.self {
		m, err = tx.FindByAuthor(ctx, ref)
	} else {
		m, err = tx.FindMessage(ctx, sender, ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		if sender == c.self {
			return nil, nil
		}
		ph := &store.Message{Conversation: sender, Author: sender, SentAt: ref.SentAt, ReceivedAt: c.nowMillis(),
			State: store.StateReceived, Unsent: true, ReadAt: c.nowMillis()}
		_, _, err := tx.InsertMessage(ctx, ph)
		return nil, err
	}
	if err != nil || m.Unsent {
		return nil, err
	}
	if err := tx.MarkUnsent(ctx, m.ID); err != nil {
		return nil, err
	}
	if _, err := tx.RemoveOutboxFor(ctx, m.ID); err != nil {
		return nil, err
	}
	// Delete the copy in our own swarm: the received message, or the sync
	// copy of ours.
	own := m.ServerHash
	if m.Direction == store.Outgoing {
		own = m.SyncHash
	}
	if own != "" {
		if err := c.queueSwarmOp(ctx, tx, store.OutboxDelete, []string{own}, 0); err != nil {
			return nil, err
		}
	}
	m, err = tx.Message(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	return []Event{{Kind: EventUnsent, Conversation: m.Conversation, Message: m}}, nil
}

func (c *Client) applyRequestResponse(ctx context.Context, tx *store.Tx, sender key.SessionID, r *wire.MessageRequestResponse) ([]Event, error) {
	now := c.nowMillis()
	if name := r.GetProfile().GetDisplayName(); name != "" {
		if err := tx.SetDisplayName(ctx, sender, name, now); err != nil {
			return nil, err
		}
	}
	if err := tx.SetApprovedMe(ctx, sender, r.GetIsApproved(), now); err != nil {
		return nil, err
	}
	if !r.GetIsApproved() {
		return nil, nil
	}
	return []Event{{Kind: EventApproved, Conversation: sender}}, nil
}

// queueSwarmOp queues a delete or an expire on our own swarm.
func (c *Client) queueSwarmOp(ctx context.Context, tx *store.Tx, kind store.OutboxKind, hashes []string, expiry int64) error {
	now := c.nowMillis()
	return tx.Enqueue(ctx, &store.OutboxItem{Kind: kind, Account: c.self, Data: joinHashes(hashes), Timestamp: now, Expiry: expiry})
}

// queueDelivered queues, in tx, the delivery receipts a retrieve called
// for, unless the user turned them off. It reports whether it queued any.
func (c *Client) queueDelivered(ctx context.Context, tx *store.Tx, b *batch) (bool, error) {
	if len(b.delivered) == 0 {
		return false, nil
	}
	on, err := boolSetting(ctx, tx, settingDeliveryReceipts, true)
	if err != nil || !on {
		return false, err
	}
	for peer, ts := range b.delivered {
		if err := c.queueReceipt(ctx, tx, peer, wire.ReceiptMessage_DELIVERY, ts); err != nil {
			return false, err
		}
	}
	return true, nil
}

// queueReceipt queues, in tx, a receipt of typ to peer for the messages
// sent at ts. With delays on (Config.DelayMax) it leaves after c.delay(),
// its own timestamp that later time, so that peer's swarm does not see it
// a few milliseconds after ours took the messages; it waits in the outbox
// (OutboxReceipt), and a receipt of the same type to peer queued
// meanwhile joins it (one receipt for several messages) when that one
// still waits at least DelayMin.
func (c *Client) queueReceipt(ctx context.Context, tx *store.Tx, peer key.SessionID, typ wire.ReceiptMessage_Type, ts []int64) error {
	r := &wire.ReceiptMessage{Type: typ.Enum()}
	for _, t := range ts {
		r.Timestamp = append(r.Timestamp, uint64(t))
	}
	if c.cfg.DelayMax <= 0 {
		sentAt := c.nextTimestamp()
		return c.queue(ctx, tx, peer, &wire.Content{ReceiptMessage: r}, sentAt, sentAt+ContentTTL.Milliseconds(), 0, store.OutboxControl)
	}
	// Only a receipt that still waits at least DelayMin is joined, so
	// that every message's receipt leaves at least that long after it.
	now := c.nowMillis()
	waiting, err := tx.WaitingOutbox(ctx, store.OutboxReceipt, peer, now+c.cfg.DelayMin.Milliseconds()-1)
	if err != nil {
		return err
	}
	for _, it := range waiting {
		var w wire.ReceiptMessage
		if proto.Unmarshal(it.Data, &w) != nil || w.GetType() != typ {
			continue
		}
		for _, t := range r.Timestamp {
			if !slices.Contains(w.Timestamp, t) {
				w.Timestamp = append(w.Timestamp, t)
			}
		}
		data, err := proto.Marshal(&w)
		if err != nil {
			return err
		}
		return tx.SetOutbox(ctx, it.ID, store.OutboxReceipt, data)
	}
	data, err := proto.Marshal(r)
	if err != nil {
		return err
	}
	at := now + c.delay()
	return tx.Enqueue(ctx, &store.OutboxItem{
		Kind: store.OutboxReceipt, Account: peer, Data: data,
		Timestamp: at, Expiry: at + ContentTTL.Milliseconds(), NextAttempt: at,
	})
}

// sealReceipt turns the waiting receipt id into the Session message it
// stands for (an OutboxControl item, sent at its timestamp) and returns
// that item; nil when it is gone or not a waiting receipt any more. It
// reads and seals in one transaction, so that no receipt joining it is
// lost.
func (c *Client) sealReceipt(ctx context.Context, id int64) (*store.OutboxItem, error) {
	var sealed *store.OutboxItem
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		it, err := tx.OutboxItem(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if it.Kind != store.OutboxReceipt {
			sealed = it
			return nil
		}
		var r wire.ReceiptMessage
		if err := proto.Unmarshal(it.Data, &r); err != nil {
			c.log.Warn("dropping a malformed waiting receipt")
			return tx.RemoveOutbox(ctx, id)
		}
		content := &wire.Content{ReceiptMessage: &r, SigTimestamp: proto.Uint64(uint64(it.Timestamp))}
		data, err := sessionproto.EncodeMessage(c.keys, it.Account, content, uint64(it.Timestamp))
		if err != nil {
			return fmt.Errorf("client: encode receipt: %w", err)
		}
		if err := tx.SetOutbox(ctx, id, store.OutboxControl, data); err != nil {
			return err
		}
		it.Kind, it.Data = store.OutboxControl, data
		sealed = it
		return nil
	})
	return sealed, err
}

// settings is what reads a setting: the store, or a transaction.
type settings interface {
	Setting(ctx context.Context, key string) (string, bool, error)
}

// boolSetting reads an on/off setting from db, def when it is unset.
func boolSetting(ctx context.Context, db settings, key string, def bool) (bool, error) {
	v, ok, err := db.Setting(ctx, key)
	if err != nil || !ok {
		return def, err
	}
	return v == "on", nil
}

// expiryLoop deletes disappearing messages when their timer runs out.
func (c *Client) expiryLoop(ctx context.Context) {
	for ctx.Err() == nil {
		if err := c.applyExpiries(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("disappearing messages", "error", err)
		}
		wait := time.Minute
		if at, err := c.db.NextExpiry(ctx); err == nil && at > 0 {
			wait = min(max(time.Duration(at-c.nowMillis())*time.Millisecond, 10*time.Millisecond), time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-c.kickExpiry:
		}
		t.Stop()
	}
}

// applyExpiries deletes the messages whose timer ran out.
func (c *Client) applyExpiries(ctx context.Context) error {
	due, err := c.db.DueExpiries(ctx, c.nowMillis())
	if err != nil || len(due) == 0 {
		return err
	}
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		for _, m := range due {
			if err := tx.DeleteMessage(ctx, m.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range due {
		c.emit(Event{Kind: EventExpired, Conversation: m.Conversation, Message: m})
	}
	return nil
}

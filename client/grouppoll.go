package client

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/config/groups"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// Polling the groups. Every joined group has a loop that long-polls its
// swarm with one batch request for namespaces 12, 13, 14 and 11 (keys,
// info, members, messages), through the client's onion paths, and
// processes the answer in that order: a key message must be loaded before
// the configs and messages it decrypts (session-protocol.md §6.2).

// groupSpaces are the namespaces polled, in processing order.
var groupSpaces = []storagerpc.Namespace{
	storagerpc.NamespaceGroupKeys, storagerpc.NamespaceGroupInfo,
	storagerpc.NamespaceGroupMembers, storagerpc.NamespaceGroupMessages,
}

// groupConfigSpaces are the namespaces of the info and members configs,
// in the order of openGroup.laterConfigs and groupConfigs.
var groupConfigSpaces = []storagerpc.Namespace{storagerpc.NamespaceGroupInfo, storagerpc.NamespaceGroupMembers}

// groupConfigs returns og's info and members config objects (og.mu held).
func groupConfigs(og *openGroup) [2]*config.Config {
	return [2]*config.Config{og.g.Info.Config, og.g.Members.Config}
}

// groupsLoop runs a poll loop for every joined group until ctx is done,
// starting and stopping loops as groups are joined and left.
func (c *Client) groupsLoop(ctx context.Context) {
	running := map[key.SessionID]context.CancelFunc{}
	var wg sync.WaitGroup
	defer func() {
		for _, cancel := range running {
			cancel()
		}
		wg.Wait()
	}()
	for {
		want := c.joinedGroups()
		for _, id := range want {
			if _, ok := running[id]; ok {
				continue
			}
			gctx, cancel := context.WithCancel(ctx)
			running[id] = cancel
			wg.Go(func() { c.groupLoop(gctx, id) })
		}
		for id, cancel := range running {
			if !slices.Contains(want, id) {
				cancel()
				delete(running, id)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-c.grp.kick:
		}
	}
}

// groupLoop polls one group until ctx is done or the user is no longer
// in it.
func (c *Client) groupLoop(ctx context.Context, id key.SessionID) {
	backoff := time.Second
	var node *key.NodePublic
	stay := false
	for ctx.Err() == nil {
		og, err := c.group(id)
		if err != nil {
			return
		}
		if og.admin() {
			if err := c.adminUpkeep(ctx, og); err != nil && ctx.Err() == nil {
				c.log.Debug("group push failed", "error", err)
			}
		}
		wait := c.cfg.LongPollWait
		cover := c.cfg.CoverTraffic > 0
		if wait < 0 || cover {
			wait = 0
		}
		start := c.clock.Now()
		// Each poll goes to another member of the group's swarm; in cover
		// mode at a constant rate (presence.go).
		node = c.rotate(ctx, id, node, stay && !cover)
		stay = false
		res, err := c.pollGroup(ctx, og, node, wait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if c.groupRefused(ctx, og, err) {
				return
			}
			c.log.Debug("group retrieve failed", "error", err)
			node = nil
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		n := res.node
		node = &n
		if cover {
			if !sleep(ctx, c.net.coverPeriod(c.cfg.CoverTraffic)-c.clock.Now().Sub(start)) {
				return
			}
			continue
		}
		if res.more {
			stay = true
			continue
		}
		// A node that does not hold the request (or no long poll at all):
		// wait before asking again.
		if res.returned == 0 && (wait == 0 || c.clock.Now().Sub(start) < wait/2) && !sleep(ctx, c.cfg.PollInterval) {
			return
		}
	}
}

// groupRefused handles a retrieve the group's swarm refused: a member
// whose subaccount was revoked (every namespace answers 401) was removed
// from the group.
func (c *Client) groupRefused(ctx context.Context, og *openGroup, err error) bool {
	var rpc *RPCError
	if !errors.As(err, &rpc) || rpc.Status != http.StatusUnauthorized || og.admin() {
		return false
	}
	c.log.Info("group access refused: removed from the group")
	if err := c.endGroup(ctx, og, store.GroupRemoved); err != nil {
		c.log.Warn("group: record the removal", "error", err)
	}
	return true
}

// pollGroup retrieves what is new in the group's swarm (holding the
// request up to wait) and processes it.
func (c *Client) pollGroup(ctx context.Context, og *openGroup, prefer *key.NodePublic, wait time.Duration) (retrieveResult, error) {
	p, err := c.groupSwarmOf(og).retrieve(ctx, groupSpaces, prefer, wait)
	if err != nil {
		return retrieveResult{}, err
	}
	res := retrieveResult{node: p.node}
	for _, r := range p.resps {
		if r != nil {
			res.returned += len(r.Messages)
			res.more = res.more || r.More
		}
	}
	// Processed whole even if the poll is stopped meanwhile (retrieveAt).
	n, err := c.ingestGroup(context.WithoutCancel(ctx), og, p)
	res.count = n
	return res, err
}

// ingestGroup processes one retrieve of a group: keys, then info and
// members, then messages; the messages are applied, marked seen and the
// node's last hashes moved in one transaction.
func (c *Client) ingestGroup(ctx context.Context, og *openGroup, p *groupPoll) (int, error) {
	unlock := c.lockChange()
	count, events, b, info, removed, err := c.ingestGroupLocked(ctx, og, p)
	unlock()
	if err != nil {
		return 0, err
	}
	c.emit(events...)
	if count > 0 {
		kick(c.kickAttach)
		kick(c.kickOutbox)
	}
	switch {
	case info.Destroyed:
		c.publishDisband(ctx, og)
		return count, c.endGroup(ctx, og, store.GroupDestroyed)
	case removed:
		return count, c.endGroup(ctx, og, store.GroupRemoved)
	}
	c.groupBatchDone(ctx, og, &b)
	return count, nil
}

// publishDisband pushes, before an admin leaves a group it found
// disbanded, the info it merged when that is a new message: another admin
// disbanded while this one pushed the info (a rekey's), both messages have
// the same seqno, and a member, who cannot merge, adopts one of the two,
// maybe the one without the disband; the merge has a higher seqno and
// carries the disband to every member.
func (c *Client) publishDisband(ctx context.Context, og *openGroup) {
	if c.net == nil || !og.admin() {
		return
	}
	og.mu.Lock()
	dirty := og.g.Info.NeedsPush()
	og.mu.Unlock()
	if !dirty {
		return
	}
	if err := c.pushGroup(ctx, og, nil); err != nil && ctx.Err() == nil {
		c.log.Debug("group: push the merged disband", "error", err)
	}
}

// ingestGroupLocked is ingestGroup's work under the change lock.
func (c *Client) ingestGroupLocked(ctx context.Context, og *openGroup, p *groupPoll) (count int, events []Event, b groupBatch, info groups.InfoFields, removed bool, err error) {
	og.mu.Lock()
	retry, retryConfigs := c.loadGroupKeysLocked(og, p.messages(0))
	waits := c.mergeGroupConfigsLocked(og, p, retryConfigs)
	info = og.g.Info.Fields()
	admin := len(og.row.Secret) > 0
	_, member := og.g.Members.Get(c.self)
	removed = og.g.Members.Len() > 0 && !member && !admin
	og.mu.Unlock()

	fresh, err := c.decodeGroupMessages(ctx, og, p.messages(3), retry)
	if err != nil {
		return 0, nil, b, info, false, err
	}
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		count, events, err = c.applyGroupMessages(ctx, tx, og.row.ID, fresh, admin, &b)
		if err != nil {
			return err
		}
		if err := waits.apply(ctx, tx, og.row.ID); err != nil {
			return err
		}
		if err := c.moveGroupPositions(ctx, tx, og.row.ID, p); err != nil {
			return err
		}
		return c.applyGroupInfo(ctx, tx, og.row.ID, info, &events)
	})
	if err != nil {
		return 0, nil, b, info, false, err
	}
	og.mu.Lock()
	err = c.saveGroupLocked(ctx, og)
	og.mu.Unlock()
	return count, events, b, info, removed, err
}

// messages returns the messages retrieved from namespace groupSpaces[i].
func (p *groupPoll) messages(i int) []storagerpc.RetrievedMessage {
	if p.resps[i] == nil {
		return nil
	}
	return p.resps[i].Messages
}

// loadGroupKeysLocked loads the key messages (og.mu held); when one gave a
// key, it returns the messages and the config messages that waited for a
// key, to try again.
func (c *Client) loadGroupKeysLocked(og *openGroup, msgs []storagerpc.RetrievedMessage) (retry []storagerpc.RetrievedMessage, retryConfigs [2][]storagerpc.RetrievedMessage) {
	newKey := false
	for _, m := range msgs {
		if storagerpc.ValidMessageHash(m.Hash) {
			found, err := og.g.LoadKeyMessage(m.Hash, m.Data, m.Timestamp)
			if err != nil {
				c.log.Debug("group key message not loaded", "error", err)
			}
			newKey = newKey || found
		}
	}
	if newKey {
		retry, og.later = og.later, nil
		retryConfigs, og.laterConfigs = og.laterConfigs, [2][]storagerpc.RetrievedMessage{}
	}
	return retry, retryConfigs
}

// configWaits are the changes to the store's waiting messages that a
// merge of config messages calls for, made in the retrieve's transaction
// (the one that moves the retrieve positions past them).
type configWaits struct {
	add  []store.WaitingMessage
	done []string // hashes: opened, given up or expired
}

func (w *configWaits) apply(ctx context.Context, tx *store.Tx, id key.SessionID) error {
	for _, m := range w.add {
		if err := tx.AddGroupWaiting(ctx, id, m); err != nil {
			return err
		}
	}
	for _, h := range w.done {
		if err := tx.DeleteGroupWaiting(ctx, id, h); err != nil {
			return err
		}
	}
	return nil
}

// mergeGroupConfigsLocked merges the info and members messages of a
// retrieve, and those that waited for a key when retry holds them (a new
// key came), og.mu held. A message that no key opens waits (as group
// messages do, openGroup.laterConfigs and the store) until a later key
// opens it or it expires: the key message and the config it opens can
// reach the polled node in either order (two admins, the swarm's
// replication), and the retrieve position moves past the config. One that
// opens but is not valid is dropped.
func (c *Client) mergeGroupConfigsLocked(og *openGroup, p *groupPoll, retry [2][]storagerpc.RetrievedMessage) configWaits {
	var w configWaits
	now := c.nowMillis()
	for i, cfg := range groupConfigs(og) {
		ns := groupConfigSpaces[i]
		waiting := map[string]bool{}
		for _, m := range og.laterConfigs[i] {
			waiting[m.Hash] = true
		}
		var in []config.Incoming
		var from []storagerpc.RetrievedMessage // in's messages
		var retried []bool
		for _, m := range retry[i] {
			if m.Expiration <= now {
				w.done = append(w.done, m.Hash)
				continue
			}
			waiting[m.Hash] = true
			in = append(in, config.Incoming{Hash: m.Hash, Data: m.Data})
			from = append(from, m)
			retried = append(retried, true)
		}
		for _, m := range p.messages(slices.Index(groupSpaces, ns)) {
			if !storagerpc.ValidMessageHash(m.Hash) {
				continue
			}
			if m.Expiration <= 0 {
				m.Expiration = now + ConfigTTL.Milliseconds()
			}
			if waiting[m.Hash] {
				// Retrieved again (another node): it waits already; its
				// row is written again in case the retrieve that first
				// brought it did not commit.
				w.add = append(w.add, waitingConfig(ns, m))
				continue
			}
			waiting[m.Hash] = true // a second copy in this retrieve
			in = append(in, config.Incoming{Hash: m.Hash, Data: m.Data})
			from = append(from, m)
			retried = append(retried, false)
		}
		if len(in) == 0 {
			continue
		}
		_, outcomes, err := cfg.MergeReport(in)
		if err != nil && !errors.Is(err, config.ErrNoKeys) {
			c.log.Debug("group config merge: nothing valid", "error", err)
		}
		for j, o := range outcomes {
			m := from[j]
			switch {
			case o == config.MergeNoKey && (retried[j] || len(og.laterConfigs[i]) < maxLater):
				og.laterConfigs[i] = append(og.laterConfigs[i], m)
				if !retried[j] {
					w.add = append(w.add, waitingConfig(ns, m))
				}
			case retried[j]:
				w.done = append(w.done, m.Hash)
			}
			if o == config.MergeRejected {
				c.log.Debug("group config message dropped", "namespace", int(ns))
			}
		}
	}
	return w
}

// waitingConfig is the store's record of config message m of namespace ns
// waiting for its key.
func waitingConfig(ns storagerpc.Namespace, m storagerpc.RetrievedMessage) store.WaitingMessage {
	return store.WaitingMessage{Namespace: int16(ns), Hash: m.Hash, Data: m.Data, TS: m.Timestamp, Expires: m.Expiration}
}

// decodeGroupMessages decrypts the messages not seen before, and those
// that waited for a key: already marked seen, applied now if the new key
// opens them, kept if still no key does, dropped if anything else is wrong
// with them.
func (c *Client) decodeGroupMessages(ctx context.Context, og *openGroup, msgs, retry []storagerpc.RetrievedMessage) ([]decodedGroup, error) {
	var fresh []decodedGroup
	for _, m := range msgs {
		if !storagerpc.ValidMessageHash(m.Hash) {
			continue
		}
		seen, err := c.db.Seen(ctx, m.Hash)
		if err != nil {
			return nil, err
		}
		if seen {
			continue
		}
		d := decodedGroup{msg: &m, expires: m.Expiration}
		if d.expires <= 0 {
			d.expires = c.nowMillis() + ContentTTL.Milliseconds()
		}
		og.mu.Lock()
		d.sender, d.sentAt, d.content, d.err = decodeGroup(og, m.Data)
		if errors.Is(d.err, groups.ErrNoMessageKey) && len(og.later) < maxLater {
			og.later = append(og.later, m)
			d.wait = true
		}
		og.mu.Unlock()
		fresh = append(fresh, d)
	}
	for _, m := range retry {
		d := decodedGroup{msg: &m, retry: true}
		og.mu.Lock()
		d.sender, d.sentAt, d.content, d.err = decodeGroup(og, m.Data)
		if errors.Is(d.err, groups.ErrNoMessageKey) {
			og.later = append(og.later, m)
		}
		og.mu.Unlock()
		if !errors.Is(d.err, groups.ErrNoMessageKey) {
			fresh = append(fresh, d)
		}
	}
	return fresh, nil
}

// applyGroupMessages marks the decoded messages seen and applies them.
func (c *Client) applyGroupMessages(ctx context.Context, tx *store.Tx, id key.SessionID, fresh []decodedGroup, admin bool, b *groupBatch) (int, []Event, error) {
	count := 0
	var events []Event
	for i := range fresh {
		d := &fresh[i]
		if err := c.keepWaiting(ctx, tx, id, d); err != nil {
			return 0, nil, err
		}
		if !d.retry {
			isNew, err := tx.MarkSeen(ctx, d.msg.Hash, d.expires)
			if err != nil {
				return 0, nil, err
			}
			if !isNew {
				continue
			}
		}
		if d.err != nil {
			c.log.Debug("undecodable group message", "error", d.err)
			continue
		}
		evs, err := c.applyGroup(ctx, tx, id, d, admin, b)
		if err != nil {
			return 0, nil, err
		}
		events = append(events, evs...)
		count++
	}
	return count, events, nil
}

// moveGroupPositions records the last hash retrieved from each namespace.
func (c *Client) moveGroupPositions(ctx context.Context, tx *store.Tx, id key.SessionID, p *groupPoll) error {
	now := c.nowMillis()
	for i, ns := range groupSpaces {
		msgs := p.messages(i)
		if len(msgs) > 0 && msgs[len(msgs)-1].Hash != p.lastHashes[i] {
			if err := tx.SetLastHash(ctx, id, p.node.String(), int16(ns), msgs[len(msgs)-1].Hash, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyGroupInfo brings the group's conversation in line with its info:
// the messages deleted before a time, the disappearing timer (Session's
// groups delete after send).
func (c *Client) applyGroupInfo(ctx context.Context, tx *store.Tx, id key.SessionID, info groups.InfoFields, events *[]Event) error {
	if info.DeleteBefore > 0 || info.DeleteAttachBefore > 0 {
		// An admin deleted the group's messages (or attachments) up to a
		// time: gone here too.
		n, err := tx.DeleteBefore(ctx, id, info.DeleteBefore*1000, info.DeleteAttachBefore*1000)
		if err != nil {
			return err
		}
		if n > 0 {
			*events = append(*events, Event{Kind: EventGroup, Conversation: id})
		}
	}
	secs := uint32(info.ExpiryTimer / time.Second)
	mode := store.ExpiryAfterSend
	if secs == 0 {
		mode = store.ExpiryOff
	}
	conv, err := tx.Conversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if err := tx.EnsureConversation(ctx, id, c.nowMillis()); err != nil {
			return err
		}
		conv = &store.Conversation{}
	} else if err != nil {
		return err
	}
	if conv.ExpiryMode == mode && conv.ExpiryTimer == secs {
		return nil
	}
	if err := tx.SetDisappearing(ctx, id, mode, secs, c.nowMillis()); err != nil {
		return err
	}
	*events = append(*events, Event{Kind: EventDisappearing, Conversation: id, Mode: mode, Timer: secs})
	return nil
}

// groupBatchDone does the admin work a retrieve called for: messages
// their authors unsent leave the swarm, members who accepted their
// invitation are marked so, members who left are removed.
func (c *Client) groupBatchDone(ctx context.Context, og *openGroup, b *groupBatch) {
	if len(b.deleted) > 0 && c.net != nil {
		if err := c.groupSwarmOf(og).remove(ctx, b.deleted); err != nil {
			c.log.Debug("group: delete unsent messages", "error", err)
		}
	}
	if len(b.accepted) == 0 && len(b.left) == 0 {
		return
	}
	og.mu.Lock()
	for _, id := range b.accepted {
		if m, ok := og.g.Members.Get(id); ok && m.Invite != 0 {
			m.SetInviteAccepted()
			if err := og.g.Members.Set(m); err != nil {
				c.log.Debug("group: mark an invitation accepted", "error", err)
			}
		}
	}
	var left []key.SessionID
	for _, id := range b.left {
		if _, ok := og.g.Members.Get(id); ok {
			left = append(left, id)
		}
	}
	og.mu.Unlock()
	if c.net == nil {
		return
	}
	if len(left) > 0 {
		if err := c.removeMembers(ctx, og, left); err != nil {
			c.log.Debug("group: remove members who left", "error", err)
		}
		return
	}
	if err := c.pushGroup(ctx, og, nil); err != nil {
		c.log.Debug("group push failed", "error", err)
	}
}

// pollGroups retrieves, once and without waiting, everything new in the
// swarm of every joined group (Sync).
func (c *Client) pollGroups(ctx context.Context) error {
	var errs []error
	for _, id := range c.joinedGroups() {
		og, err := c.group(id)
		if err != nil {
			continue
		}
		if og.admin() {
			if err := c.adminUpkeep(ctx, og); err != nil {
				errs = append(errs, err)
			}
		}
		var node *key.NodePublic
		for range 100 {
			res, err := c.pollGroup(ctx, og, node, 0)
			if err != nil {
				if !c.groupRefused(ctx, og, err) {
					errs = append(errs, err)
				}
				break
			}
			n := res.node
			node = &n
			if !res.more {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// adminUpkeep is an admin's share of a poll round: a rekey when two
// admins' key messages of one generation met (Keys.NeedsRekey), and the
// push of what changed.
func (c *Client) adminUpkeep(ctx context.Context, og *openGroup) error {
	og.mu.Lock()
	var err error
	if og.g.Keys.NeedsRekey() {
		_, err = og.g.Rekey() // stored by pushGroup from Keys.Pending
	}
	og.mu.Unlock()
	if err != nil {
		return err
	}
	return c.pushGroup(ctx, og, nil)
}

// keepWaiting records in the store what happened to a message that waits
// for its key: kept when it starts waiting, forgotten once it was opened
// or given up (a retry that reached the transaction).
func (c *Client) keepWaiting(ctx context.Context, tx *store.Tx, id key.SessionID, d *decodedGroup) error {
	switch {
	case d.wait:
		return tx.AddGroupWaiting(ctx, id, store.WaitingMessage{Namespace: int16(storagerpc.NamespaceGroupMessages),
			Hash: d.msg.Hash, Data: d.msg.Data, TS: d.msg.Timestamp, Expires: d.expires})
	case d.retry:
		return tx.DeleteGroupWaiting(ctx, id, d.msg.Hash)
	}
	return nil
}

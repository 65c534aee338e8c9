package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/path"
	"sotto.dev/client/store"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

// TTLs of what the client stores (session-protocol.md §2.3, desktop
// TTL_DEFAULT): content and control messages 14 days, typing 20 s.
const (
	ContentTTL = 14 * 24 * time.Hour
	TypingTTL  = 20 * time.Second
)

// Outbox retry policy: the first retry after retryBase, doubling up to
// retryMax; a message is shown as failed after failAfter attempts (and is
// still retried until it expires). A retry is one small request, so the
// cap is low: a message goes out soon after the network is back.
const (
	retryBase = 2 * time.Second
	retryMax  = 30 * time.Second
	failAfter = 3
	// outboxWorkers deliver outbox items in parallel.
	outboxWorkers = 4
)

// NotSentError means a message was saved and queued but could not be
// stored in the network yet; the outbox keeps retrying it.
type NotSentError struct{ Err error }

func (e *NotSentError) Error() string {
	return "client: message queued, not sent yet: " + e.Err.Error()
}
func (e *NotSentError) Unwrap() error { return e.Err }

// SendOptions are the optional parts of a message.
type SendOptions struct {
	// Quote names the message this one replies to.
	Quote *store.Ref
	// Files are attached (attachments.go): encrypted and uploaded
	// before the message is saved; a failed upload saves nothing.
	Files []OutgoingFile
	// Progress, if set, is told how the uploads advance.
	Progress func(Progress)
}

// Send writes body to peer: it stores the message locally, queues it for
// peer's swarm (and a sync copy for ours) and tries to store both at once.
// The returned message is saved even when the error is a *NotSentError;
// other errors mean nothing was saved.
func (c *Client) Send(ctx context.Context, peer key.SessionID, body string, opt SendOptions) (*store.Message, error) {
	if peer.Prefix() == key.PrefixGroup {
		if _, err := c.group(peer); err != nil {
			return nil, err
		}
	} else if peer.Prefix() != key.PrefixStandard {
		return nil, ErrBadRecipient
	}
	if strings.TrimSpace(body) == "" && len(opt.Files) == 0 {
		return nil, ErrEmptyMessage
	}
	if len(body) > MaxBodyLen {
		return nil, ErrTooLong
	}
	if !utf8.ValidString(body) {
		return nil, errors.New("client: message is not valid UTF-8")
	}
	var files []outgoing
	if len(opt.Files) > 0 {
		if len(body)+len(opt.Files)*maxPointerLen > MaxBodyLen {
			return nil, ErrTooLong
		}
		if c.net == nil {
			return nil, ErrNoNetwork
		}
		// The uploads' local copies are not orphans until the message is
		// saved (download.go).
		c.att.localMu.RLock()
		defer c.att.localMu.RUnlock()
		var err error
		if files, err = c.uploadFiles(ctx, opt.Files, opt.Progress); err != nil {
			return nil, err
		}
	}
	sentAt := c.nextTimestamp()
	var msg *store.Message
	unlock := c.lockChange() // sending approves peer: a local config change
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		conv, err := c.conversation(ctx, tx, peer)
		if err != nil {
			return err
		}
		dm := &wire.DataMessage{}
		if body != "" {
			dm.Body = proto.String(body)
		}
		for _, f := range files {
			dm.Attachments = append(dm.Attachments, f.ptr)
		}
		if err := c.decorate(ctx, tx, dm); err != nil {
			return err
		}
		msg = &store.Message{
			Conversation: peer, Author: c.self, Direction: store.Outgoing, SentAt: sentAt, ReceivedAt: sentAt,
			Body: body, State: store.StateSending, ExpiryMode: conv.ExpiryMode, ExpiryTimer: conv.ExpiryTimer,
		}
		if opt.Quote != nil {
			q, err := tx.FindMessage(ctx, peer, *opt.Quote)
			if err != nil {
				return ErrNoMessage
			}
			dm.Quote = &wire.DataMessage_Quote{Id: proto.Uint64(uint64(q.SentAt)), Author: proto.String(q.Author.String())}
			if err := quoteAttachments(ctx, tx, dm.Quote, q.ID); err != nil {
				return err
			}
			msg.Quote = &store.Ref{Author: q.Author, SentAt: q.SentAt}
		}
		content := &wire.Content{DataMessage: dm}
		expiry := setExpiry(content, conv.ExpiryMode, conv.ExpiryTimer, sentAt)
		if conv.ExpiryMode != store.ExpiryOff {
			// Our own copy starts its timer at once: we have read what
			// we wrote.
			msg.ExpiresAt = sentAt + int64(conv.ExpiryTimer)*1000
		}
		if _, _, err := tx.InsertMessage(ctx, msg); err != nil {
			return err
		}
		for _, f := range files {
			f.row.MessageID = msg.ID
			if err := tx.InsertAttachment(ctx, f.row); err != nil {
				return err
			}
		}
		if err := c.acceptImplicitly(ctx, tx, peer, sentAt); err != nil {
			return err
		}
		return c.queueWithSync(ctx, tx, peer, content, sentAt, expiry, msg.ExpiresAt, msg.ID, store.OutboxMessage)
	})
	if err != nil {
		unlock()
		c.removeLocal(files)
		return nil, err
	}
	c.configWarn(c.syncContact(ctx, peer, fieldApproved))
	unlock()
	c.emit(Event{Kind: EventMessage, Conversation: peer, Message: msg})
	kick(c.kickExpiry)
	return c.deliverMessage(ctx, msg)
}

// conversation returns the conversation with peer, creating it.
func (c *Client) conversation(ctx context.Context, tx *store.Tx, peer key.SessionID) (*store.Conversation, error) {
	conv, err := tx.Conversation(ctx, peer)
	if errors.Is(err, store.ErrNotFound) {
		if err := tx.EnsureConversation(ctx, peer, c.nowMillis()); err != nil {
			return nil, err
		}
		return tx.Conversation(ctx, peer)
	}
	return conv, err
}

// decorate adds our display name and profile picture (its URL, and its
// key as profileKey) to an outgoing DataMessage.
func (c *Client) decorate(ctx context.Context, tx *store.Tx, dm *wire.DataMessage) error {
	name, ok, err := tx.Setting(ctx, settingProfileName)
	if err != nil {
		return err
	}
	if ok && name != "" {
		dm.Profile = &wire.LokiProfile{DisplayName: proto.String(name)}
	}
	return c.decoratePicture(ctx, tx, dm)
}

// setExpiry writes the disappearing setting into content and returns the
// store expiry of the recipient's copy: after send, the timer; after read,
// the normal TTL (the recipient shortens it when read).
func setExpiry(content *wire.Content, mode store.ExpiryMode, timer uint32, sentAt int64) int64 {
	if mode == store.ExpiryOff || timer == 0 {
		return sentAt + ContentTTL.Milliseconds()
	}
	content.ExpirationType = wire.Content_ExpirationType(mode).Enum()
	content.ExpirationTimer = proto.Uint32(timer)
	if mode == store.ExpiryAfterSend {
		return sentAt + int64(timer)*1000
	}
	return sentAt + ContentTTL.Milliseconds()
}

// acceptImplicitly: writing to someone accepts them, as in Session; a
// reply to a message request accepts the request and tells the sender.
func (c *Client) acceptImplicitly(ctx context.Context, tx *store.Tx, peer key.SessionID, now int64) error {
	if peer == c.self || peer.Prefix() == key.PrefixGroup {
		return nil
	}
	wasRequest, err := tx.RemoveRequest(ctx, peer)
	if err != nil {
		return err
	}
	if err := tx.SetApproved(ctx, peer, true, now); err != nil {
		return err
	}
	// Writing to a hidden conversation shows it again.
	if ct, err := tx.Contact(ctx, peer); err != nil {
		return err
	} else if ct.Priority < 0 {
		if err := tx.SetPriority(ctx, peer, 0, now); err != nil {
			return err
		}
	}
	if wasRequest {
		return c.queueRequestResponse(ctx, tx, peer)
	}
	return nil
}

// queue encodes content for to and adds it to the outbox.
func (c *Client) queue(ctx context.Context, tx *store.Tx, to key.SessionID, content *wire.Content, sentAt, expiry, msgID int64, kind store.OutboxKind) error {
	return c.queueAt(ctx, tx, to, content, sentAt, sentAt, expiry, msgID, kind, 0)
}

// queueAt is queue for an item stored with storeAt as its store
// timestamp, and no earlier than notBefore when that is set; the envelope
// and Content.sigTimestamp carry sentAt.
func (c *Client) queueAt(ctx context.Context, tx *store.Tx, to key.SessionID, content *wire.Content, sentAt, storeAt, expiry, msgID int64, kind store.OutboxKind, notBefore int64) error {
	content.SigTimestamp = proto.Uint64(uint64(sentAt))
	var data []byte
	var err error
	if to.Prefix() == key.PrefixGroup {
		// A group message: sealed with the group's key (groupmsg.go).
		var og *openGroup
		if og, err = c.group(to); err == nil {
			data, err = c.encodeGroup(og, content, sentAt)
		}
	} else {
		data, err = sessionproto.EncodeMessage(c.keys, to, content, uint64(sentAt))
	}
	if err != nil {
		return fmt.Errorf("client: encode message: %w", err)
	}
	it := &store.OutboxItem{
		MessageID: msgID, Kind: kind, Account: to, Data: data, Timestamp: storeAt, Expiry: expiry,
	}
	if notBefore != 0 {
		it.NextAttempt = notBefore
	}
	return tx.Enqueue(ctx, it)
}

// delay draws the wait, in ms, before a receipt or a sync copy leaves:
// uniform in [cfg.DelayMin, cfg.DelayMax], 0 when delays are off.
func (c *Client) delay() int64 {
	lo, hi := c.cfg.DelayMin.Milliseconds(), c.cfg.DelayMax.Milliseconds()
	if hi <= 0 {
		return 0
	}
	if c.jitter != nil {
		return lo + c.jitter(hi-lo+1)
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return lo + int64(binary.LittleEndian.Uint64(b[:])%uint64(hi-lo+1))
}

// settingSyncPrivate: "on" when our sync copies take the private form
// (SetSyncPrivacy); absent or "off", Session's form.
const settingSyncPrivate = "sync_private"

// SyncPrivacy reports whether the copies of sent messages for our own
// swarm take the private form: their envelope timestamp is the time they
// are stored, the sent timestamp travels encrypted inside. Off unless
// turned on (sotto id new does for the accounts it creates).
func (c *Client) SyncPrivacy(ctx context.Context) (bool, error) {
	return boolSetting(ctx, c.db, settingSyncPrivate, false)
}

// SetSyncPrivacy turns the private form of sync copies on or off for the
// copies queued from now on.
func (c *Client) SetSyncPrivacy(ctx context.Context, on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	return c.db.Update(ctx, func(tx *store.Tx) error { return tx.SetSetting(ctx, settingSyncPrivate, v) })
}

// syncAt returns when a sync copy of something sent at sentAt leaves:
// after c.delay(), and never before an earlier sync copy, so that our
// other devices get them in the order sent (a reaction after its
// message). That stays within the range: the earlier one was sent before
// and drew at most DelayMax too.
func (c *Client) syncAt(sentAt int64) int64 {
	d := c.delay()
	if d <= 0 {
		return sentAt
	}
	for {
		last := c.lastSyncAt.Load()
		at := max(sentAt+d, last)
		if c.lastSyncAt.CompareAndSwap(last, at) {
			return at
		}
	}
}

// queueWithSync queues content for peer and, when content carries a
// DataMessage, a copy for our own swarm with syncTarget = peer (expiring at
// syncExpiry when that is set). Note to Self has only the one copy.
//
// The copy leaves after c.delay() (syncAt), with that later time as its
// store timestamp and its expiry moved as far: our swarm and peer's do not
// see the two copies stored at the same moment with the same expiry
// (docs/PRIVACY.md). Its envelope timestamp is either
// Session's form: sentAt, as in peer's copy, which is how every Session
// client names the message; or, with SyncPrivacy on, the private form: the
// store time, in the envelope and in Content.sigTimestamp alike, with
// sentAt inside the encrypted DataMessage.timestamp, which our other
// devices file the message under (applyOwn); docs/PRIVACY.md, "Sync copy".
//
// The two timestamps must agree: Session desktop (receiver/common.ts,
// shouldProcessContentMessage) drops non-community content whose
// sigTimestamp is set and differs from the envelope timestamp, and still
// processes legacy content without one. A Session device of the account
// therefore reads a private-form copy, but under the later time.
func (c *Client) queueWithSync(ctx context.Context, tx *store.Tx, peer key.SessionID, content *wire.Content, sentAt, expiry, syncExpiry, msgID int64, kind store.OutboxKind) error {
	if err := c.queue(ctx, tx, peer, content, sentAt, expiry, msgID, kind); err != nil {
		return err
	}
	if peer == c.self || peer.Prefix() == key.PrefixGroup {
		// Our other devices read the group's swarm.
		return nil
	}
	private, err := boolSetting(ctx, tx, settingSyncPrivate, false)
	if err != nil {
		return err
	}
	sync := proto.Clone(content).(*wire.Content)
	if sync.DataMessage != nil {
		sync.DataMessage.SyncTarget = proto.String(peer.String())
	}
	if syncExpiry == 0 {
		syncExpiry = sentAt + ContentTTL.Milliseconds()
	}
	syncKind := store.OutboxSync
	if kind != store.OutboxMessage {
		syncKind = kind
	}
	at := c.syncAt(sentAt)
	var notBefore int64
	if at != sentAt {
		notBefore = at
	}
	envAt := sentAt
	if private {
		envAt = at
		if sync.DataMessage != nil {
			sync.DataMessage.Timestamp = proto.Uint64(uint64(sentAt))
		}
	}
	return c.queueAt(ctx, tx, c.self, sync, envAt, at, syncExpiry+(at-sentAt), msgID, syncKind, notBefore)
}

// queueOwnUnsend queues the copy of an unsend request (sent at ts) for
// our own swarm. In Session's form it leaves at once with ts, as the
// copy for the peer does; in the private form it leaves after syncAt
// (after every earlier sync copy, the unsent message's among them) with
// that time as envelope, sigTimestamp and store timestamp. Nothing refers
// to an unsend request's own timestamp: it names its message inside.
func (c *Client) queueOwnUnsend(ctx context.Context, tx *store.Tx, content *wire.Content, ts, expiry int64) error {
	private, err := boolSetting(ctx, tx, settingSyncPrivate, false)
	if err != nil {
		return err
	}
	if !private {
		return c.queue(ctx, tx, c.self, content, ts, expiry, 0, store.OutboxControl)
	}
	at := c.syncAt(ts)
	var notBefore int64
	if at != ts {
		notBefore = at
	}
	return c.queueAt(ctx, tx, c.self, content, at, at, expiry+(at-ts), 0, store.OutboxControl, notBefore)
}

// deliverMessage tries the outbox items of a just-sent message at once.
func (c *Client) deliverMessage(ctx context.Context, msg *store.Message) (*store.Message, error) {
	if c.net == nil {
		return msg, &NotSentError{Err: ErrNoNetwork}
	}
	items, err := c.db.DueOutbox(ctx, c.nowMillis()+1, 1<<20)
	if err != nil {
		return msg, &NotSentError{Err: err}
	}
	var firstErr error
	for _, it := range items {
		if it.MessageID != msg.ID {
			continue
		}
		if err := c.deliverClaimed(ctx, it); err != nil && it.Kind == store.OutboxMessage && firstErr == nil {
			firstErr = err
		}
	}
	kick(c.kickOutbox)
	if m, err := c.db.Message(ctx, msg.ID); err == nil {
		msg = m
	}
	if firstErr != nil {
		return msg, &NotSentError{Err: firstErr}
	}
	return msg, nil
}

// claim marks an outbox item as being delivered; when it already is, it
// returns false and a channel closed when that attempt ends.
func (c *Client) claim(id int64) (bool, <-chan struct{}) {
	c.inflightMu.Lock()
	defer c.inflightMu.Unlock()
	if ch, ok := c.inflight[id]; ok {
		return false, ch
	}
	c.inflight[id] = make(chan struct{})
	return true, nil
}

func (c *Client) release(id int64) {
	c.inflightMu.Lock()
	defer c.inflightMu.Unlock()
	if ch, ok := c.inflight[id]; ok {
		close(ch)
		delete(c.inflight, id)
	}
}

// deliverClaimed delivers one outbox item unless another goroutine is
// already delivering it (then it waits for that attempt to end, so that a
// caller that flushes before stopping Serve does not cut it short) or
// delivered it since it was listed.
func (c *Client) deliverClaimed(ctx context.Context, it *store.OutboxItem) error {
	ok, busy := c.claim(it.ID)
	if !ok {
		select {
		case <-busy:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer c.release(it.ID)
	cur, err := c.db.OutboxItem(ctx, it.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.deliver(ctx, cur)
}

// FlushOutbox tries every due outbox item once and returns the first
// failure.
func (c *Client) FlushOutbox(ctx context.Context) error {
	return c.flushOutboxAt(ctx, c.nowMillis())
}

// flushOutboxAt is FlushOutbox for the items due at now (tests pass a
// later time to send delayed items without waiting for them).
func (c *Client) flushOutboxAt(ctx context.Context, now int64) error {
	if c.net == nil {
		return ErrNoNetwork
	}
	items, err := c.db.DueOutbox(ctx, now, 1<<20)
	if err != nil {
		return err
	}
	return c.deliverAll(ctx, items)
}

func (c *Client) deliverAll(ctx context.Context, items []*store.OutboxItem) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, outboxWorkers)
	)
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := c.deliverClaimed(ctx, it); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// outboxLoop delivers due items and sleeps until the next is due or
// something new is queued.
func (c *Client) outboxLoop(ctx context.Context) {
	for ctx.Err() == nil {
		if err := c.FlushOutbox(ctx); err != nil && ctx.Err() == nil {
			c.log.Debug("outbox delivery failed", "error", err)
		}
		wait := time.Minute
		if at, ok, err := c.db.NextOutbox(ctx); err == nil && ok {
			wait = max(time.Duration(at-c.nowMillis())*time.Millisecond, 50*time.Millisecond)
			wait = min(wait, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-c.kickOutbox:
		}
		t.Stop()
	}
}

// deliver performs one outbox item and records the outcome.
func (c *Client) deliver(ctx context.Context, it *store.OutboxItem) error {
	now := c.nowMillis()
	if it.Kind != store.OutboxDelete && it.Kind != store.OutboxExpire && it.Expiry <= now {
		c.log.Debug("dropping expired outbox item", "kind", it.Kind)
		return c.dropOutbox(ctx, it)
	}
	if it.Account.Prefix() == key.PrefixGroup {
		if _, err := c.group(it.Account); err != nil {
			// The user left the group (or was removed): nothing queued
			// for it can be stored any more.
			return c.dropOutbox(ctx, it)
		}
	}
	if it.Kind == store.OutboxReceipt {
		sealed, err := c.sealReceipt(ctx, it.ID)
		if err != nil || sealed == nil {
			return err
		}
		it = sealed
	}
	var hash string
	var err error
	switch it.Kind {
	case store.OutboxDelete:
		err = c.swarmDelete(ctx, splitHashes(it.Data))
	case store.OutboxExpire:
		err = c.swarmExpire(ctx, splitHashes(it.Data), it.Expiry)
	default:
		if it.Account.Prefix() == key.PrefixGroup {
			hash, err = c.storeGroupMessage(ctx, it)
		} else {
			hash, err = c.storeData(ctx, it.Account, it.Data, it.Timestamp, it.Expiry)
		}
	}
	if err != nil {
		return c.deliveryFailed(ctx, it, err)
	}
	var events []Event
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.RemoveOutbox(ctx, it.ID); err != nil {
			return err
		}
		if hash != "" && (it.Account == c.self || it.Account.Prefix() == key.PrefixGroup) {
			// Our own copy will come back in our retrieves; skip it.
			if _, err := tx.MarkSeen(ctx, hash, it.Expiry); err != nil {
				return err
			}
		}
		if it.MessageID == 0 {
			return nil
		}
		switch it.Kind {
		case store.OutboxMessage:
			if err := tx.SetSent(ctx, it.MessageID, hash); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if m, err := tx.Message(ctx, it.MessageID); err == nil {
				events = append(events, Event{Kind: EventState, Conversation: m.Conversation, Message: m})
			}
		case store.OutboxSync:
			if err := tx.SetSyncHash(ctx, it.MessageID, hash); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.emit(events...)
	return nil
}

// dropOutbox removes an item that will never be stored; its message, if
// any, failed.
func (c *Client) dropOutbox(ctx context.Context, it *store.OutboxItem) error {
	return c.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.RemoveOutbox(ctx, it.ID); err != nil {
			return err
		}
		if it.Kind == store.OutboxMessage && it.MessageID != 0 {
			return c.setStateTx(ctx, tx, it.MessageID, store.StateFailed)
		}
		return nil
	})
}

// deliveryFailed schedules the next attempt with exponential backoff; a
// message whose own copy failed failAfter times is shown as failed.
func (c *Client) deliveryFailed(ctx context.Context, it *store.OutboxItem, cause error) error {
	attempts := it.Attempts + 1
	backoff := min(retryBase<<min(attempts-1, 16), retryMax)
	next := c.nowMillis() + backoff.Milliseconds()
	var rpcErr *RPCError
	if errors.As(cause, &rpcErr) && rpcErr.Status >= 400 && rpcErr.Status < 500 && rpcErr.Status != storagerpc.StatusTooManyRequests {
		// The node refused the request itself (bad TTL, malformed): no
		// retry will change that.
		c.log.Warn("outbox item refused by the network", "kind", it.Kind, "status", rpcErr.Status)
		err := c.db.Update(ctx, func(tx *store.Tx) error {
			if err := tx.RemoveOutbox(ctx, it.ID); err != nil {
				return err
			}
			if it.Kind == store.OutboxMessage && it.MessageID != 0 {
				return c.setStateTx(ctx, tx, it.MessageID, store.StateFailed)
			}
			return nil
		})
		return errors.Join(cause, err)
	}
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.RetryLater(ctx, it.ID, next, cause.Error()); err != nil {
			return err
		}
		if it.Kind == store.OutboxMessage && it.MessageID != 0 && attempts >= failAfter {
			return c.setStateTx(ctx, tx, it.MessageID, store.StateFailed)
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return errors.Join(cause, err)
	}
	return cause
}

func (c *Client) setStateTx(ctx context.Context, tx *store.Tx, id int64, st store.State) error {
	m, err := tx.Message(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.State != store.StateSending && m.State != store.StateFailed {
		return nil
	}
	if m.State == st {
		return nil
	}
	if err := tx.SetState(ctx, id, st); err != nil {
		return err
	}
	m.State = st
	c.emit(Event{Kind: EventState, Conversation: m.Conversation, Message: m})
	return nil
}

func splitHashes(b []byte) []string {
	var out []string
	for _, h := range strings.Split(string(b), "\n") {
		if h != "" {
			out = append(out, h)
		}
	}
	return out
}

func joinHashes(h []string) []byte { return []byte(strings.Join(h, "\n")) }

// storeData stores data in namespace 0 of acct's swarm and returns its
// hash. Namespace 0 is a public inbox: no signature.
func (c *Client) storeData(ctx context.Context, acct key.SessionID, data []byte, ts, expiry int64) (string, error) {
	account := storagerpc.AccountFromSessionID(acct)
	want := storagerpc.MessageHash(account, storagerpc.NamespaceDefault, data)
	_, body, err := c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodStore, acct: acct,
		build: func(path.Node) ([]byte, error) {
			return storagerpc.EncodeRequest(&storagerpc.StoreParams{
				Account: account, Namespace: storagerpc.NamespaceDefault, Timestamp: ts, Expiry: expiry, Data: data,
			})
		},
	})
	if err != nil {
		return "", err
	}
	var resp storagerpc.SwarmResponse[storagerpc.StoreResult]
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", fmt.Errorf("client: store: bad answer: %w", err)
	}
	ok := 0
	for _, r := range resp.Swarm {
		if !r.Failed() && r.OK.Hash == want {
			ok++
		}
	}
	if ok == 0 {
		return "", errors.New("client: store: no swarm member stored the message")
	}
	if acct == c.self {
		c.fresh.stored() // a sync copy (send.go)
	}
	return want, nil
}

// auth signs msg with the account key for a request on our own swarm.
func (c *Client) auth(msg []byte) storagerpc.Auth {
	sig := storagerpc.Signature(c.keys.Sign(msg))
	pub := c.keys.Ed25519Public()
	return storagerpc.Auth{Signature: &sig, PubkeyEd25519: &pub}
}

// swarmDelete deletes messages we own from our swarm.
func (c *Client) swarmDelete(ctx context.Context, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	_, _, err := c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodDelete, acct: c.self,
		build: func(path.Node) ([]byte, error) {
			return storagerpc.EncodeRequest(&storagerpc.DeleteParams{
				Account: storagerpc.AccountFromSessionID(c.self), Messages: hashes,
				Auth: c.auth(storagerpc.DeleteSigMessage(hashes)),
			})
		},
	})
	return err
}

// swarmExpire shortens the expiry of messages in our swarm to expiry.
func (c *Client) swarmExpire(ctx context.Context, hashes []string, expiry int64) error {
	if len(hashes) == 0 {
		return nil
	}
	_, _, err := c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodExpire, acct: c.self,
		build: func(path.Node) ([]byte, error) {
			exp := []int64{expiry}
			return storagerpc.EncodeRequest(&storagerpc.ExpireParams{
				Account: storagerpc.AccountFromSessionID(c.self), Messages: hashes, Expiries: exp,
				Mode: storagerpc.ExpireShorten,
				Auth: c.auth(storagerpc.ExpireSigMessage(storagerpc.ExpireShorten, exp, hashes)),
			})
		},
	})
	return err
}

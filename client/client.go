// Package client is the Sotto client engine for one-to-one and group
// messaging with Session's wire formats (session-protocol.md §2–§4).
//
// A Client owns the account's local database (package store) and its view
// of the network: it bootstraps the node list from the seeds of a network
// file (a direct HTTPS POST /json_rpc get_n_service_nodes to a seed that
// presents the certificate the file pins, as Session pins its seeds,
// session-protocol.md §3.7), refreshes it by asking three nodes and keeping
// what they agree on, and from then on sends every request through 3-hop
// onion paths (package client/path). Swarms are looked up with get_swarm
// and cached; a 421 answer replaces the cached swarm with the one it
// carries. Network time is the local clock corrected by the median offset
// of several nodes' "t", one vote each.
//
// Sending: Content{dataMessage{body, profile, quote}} → Pad → Seal → Wrap
// (sessionproto.EncodeMessage) → store in the recipient's swarm, namespace
// 0, TTL 14 days (or the disappearing timer); a copy encrypted to ourselves
// with syncTarget set goes to our own swarm, so that our other devices show
// the message. Both go through a durable outbox: a message that cannot be
// stored now is retried, with backoff, until its expiry; nothing typed is
// lost to a network failure.
//
// Receiving: Serve runs a loop that retrieves namespace 0 of our swarm with
// the last hash seen on that node, holding the request open on the node
// with the wait_ms long-poll extension (docs/longpoll.md) and falling back
// to polling every PollInterval with nodes that answer at once. Every
// message is de-duplicated by its swarm hash, decrypted, verified,
// dispatched and stored in one transaction.
//
// Features, each with its Session wire form: delivery state
// (sending/sent/delivered/read/failed; ReceiptMessage DELIVERY and READ),
// typing indicators (TypingMessage), unsend (UnsendRequest, and a swarm
// delete of the copies we own), disappearing messages after send or after
// read (Content.expirationType/expirationTimer, the store TTL, and expire on
// our swarm when read), message requests (senders we have not accepted wait
// until Accept, which sends MessageRequestResponse), blocking, display
// names (DataMessage.profile), quotes and reactions.
//
// Closed groups (03 groups, session-protocol.md §6): the client keeps the
// groups the user is in (groups.go), long-polls each group's swarm through
// the same onion paths (grouppoll.go), and sends and receives group
// messages sealed with the group's key (groupmsg.go); docs/client.md.
//
// The client never logs message contents, keys or Session IDs next to
// network addresses.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/identity"
	"sotto.dev/key"
)

// Client is a running account. Create it with Open, run its receive and
// send loops with Serve, and Close it when done. Methods are safe for
// concurrent use.
type Client struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	keys  *identity.Keys
	self  key.SessionID
	db    *store.Store
	net   *network // nil without a network file

	events  chan Event
	dropped atomic.Int64

	lastSent atomic.Int64 // the last sent timestamp handed out (ms)

	lastSyncAt atomic.Int64 // the latest store time given to a delayed sync copy (ms)

	// jitter, when set (by tests), replaces the random draw of delay():
	// a number in [0, n).
	jitter func(n int64) int64

	kickOutbox chan struct{}
	kickExpiry chan struct{}
	kickAttach chan struct{} // attachments and pictures to download (download.go)

	inflightMu sync.Mutex
	inflight   map[int64]chan struct{} // outbox items being delivered; closed when the attempt ends

	fallbacks atomic.Int64 // nodes found not to hold long polls

	// fresh is what the receive loop knows of the members' last_hash
	// (presence.go); our own stores to our swarm make every member stale.
	fresh freshness

	onCoverPoll func(coverPoll) // tests: called after every cover-mode poll
	onPoll      func(pollTrace) // tests: called after every poll of the receive loop
	onPollStart func(pollStart) // tests: called before every poll of the receive loop (not bridges)

	cs   configSync // config objects (configsync.go)
	devs devices    // the devices list (devices.go)

	att attachments // downloads and pictures (download.go)

	grp groupEngine // closed groups (groups.go)

	unblinded sync.Map // community server URL → bool: it takes no blinded IDs (community.go)

	serving   atomic.Bool
	closeOnce sync.Once
}

// EventBuffer is the capacity of the Events channel; events that find it
// full are dropped (and counted), never blocking the client.
const EventBuffer = 1024

// Settings keys in the local database.
const (
	settingSessionID        = "session_id"
	settingProfileName      = "profile_name"
	settingReadReceipts     = "read_receipts"
	settingDeliveryReceipts = "delivery_receipts"
)

// Errors of the client API.
var (
	// ErrBadRecipient: messages go to standard (05) Session IDs only.
	ErrBadRecipient = errors.New("client: recipient is not a standard (05) Session ID")
	// ErrEmptyMessage: a message needs a body.
	ErrEmptyMessage = errors.New("client: empty message")
	// ErrTooLong: the body does not fit in one stored message.
	ErrTooLong = fmt.Errorf("client: message longer than %d bytes", MaxBodyLen)
	// ErrNoMessage: the referenced message does not exist in that
	// conversation.
	ErrNoMessage = errors.New("client: no such message in this conversation")
	// ErrNotOurs: only the author of a message can unsend it.
	ErrNotOurs = errors.New("client: only messages you sent can be unsent")
	// ErrNoRequest: the ID is not waiting in the message requests.
	ErrNoRequest = errors.New("client: no message request from this ID")
	// ErrServing: Serve was called twice.
	ErrServing = errors.New("client: already serving")
	// ErrTimer: a disappearing timer out of range.
	ErrTimer = fmt.Errorf("client: disappearing timer must be between %v and %v", MinDisappearTimer, MaxDisappearTimer)
)

// MaxBodyLen bounds a message body: padded, sealed, framed and
// base64-encoded it must stay under the node's 76,800-byte limit.
const MaxBodyLen = 60_000

// Open opens the account's local database in cfg.Home with the key from
// kf and reads the network file, if any. The client keeps a reference to
// kf.Keys, which must stay valid (not wiped) until Close.
func Open(cfg Config, kf *identity.KeyFile) (*Client, error) {
	cfg = cfg.withDefaults()
	if cfg.Home == "" {
		return nil, errors.New("client: no home directory")
	}
	if kf == nil || kf.Keys == nil {
		return nil, errors.New("client: no identity")
	}
	nw := cfg.Network
	if nw == nil && cfg.NetworkFile != "" {
		var err error
		if nw, err = LoadNetwork(cfg.NetworkFile); err != nil {
			return nil, err
		}
	}
	ctx := context.Background()
	db, err := store.Open(ctx, DatabasePath(cfg.Home), kf.DBKey)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg: cfg, log: cfg.Logger, clock: cfg.Clock, keys: kf.Keys, self: kf.Keys.SessionID(), db: db,
		events:     make(chan Event, EventBuffer),
		kickOutbox: make(chan struct{}, 1),
		kickExpiry: make(chan struct{}, 1),
		kickAttach: make(chan struct{}, 1),
		inflight:   map[int64]chan struct{}{},
	}
	id, ok, err := db.Setting(ctx, settingSessionID)
	switch {
	case err != nil:
		db.Close()
		return nil, err
	case ok && id != c.self.String():
		db.Close()
		return nil, fmt.Errorf("client: the database in %s belongs to another account", cfg.Home)
	case !ok:
		if err := db.SetSetting(ctx, settingSessionID, c.self.String()); err != nil {
			db.Close()
			return nil, err
		}
	}
	c.loadConfigs(ctx)
	c.loadGroups(ctx)
	c.openDevices(ctx)
	if err := c.checkRemoved(); err != nil {
		return nil, err
	}
	if nw != nil {
		c.net = newNetwork(cfg, nw)
		c.net.keep = db
	}
	return c, nil
}

// Close releases the database and the network connections. Stop Serve
// (cancel its context) first.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		if c.net != nil {
			c.net.close()
		}
		err = c.db.Close()
	})
	return err
}

// SessionID is the account's Session ID.
func (c *Client) SessionID() key.SessionID { return c.self }

// Store gives read access to the local database (for listing history,
// contacts and the like).
func (c *Client) Store() *store.Store { return c.db }

// Online reports whether the client has a network to talk to.
func (c *Client) Online() bool { return c.net != nil }

// Events delivers what changed while Serve runs (and what the client's
// own calls did). See EventBuffer.
func (c *Client) Events() <-chan Event { return c.events }

// DroppedEvents is the number of events dropped because nobody read them.
func (c *Client) DroppedEvents() int64 { return c.dropped.Load() }

func (c *Client) emit(evs ...Event) {
	for _, ev := range evs {
		select {
		case c.events <- ev:
		default:
			c.dropped.Add(1)
		}
	}
}

func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// now is the network time when online, else the local clock.
func (c *Client) now() time.Time {
	if c.net != nil {
		return c.net.now()
	}
	return c.clock.Now()
}

func (c *Client) nowMillis() int64 { return c.now().UnixMilli() }

// nextTimestamp hands out a sent timestamp: network time in ms, strictly
// after the previous one, since Session names messages by author and
// timestamp.
func (c *Client) nextTimestamp() int64 {
	now := c.nowMillis()
	for {
		last := c.lastSent.Load()
		t := max(now, last+1)
		if c.lastSent.CompareAndSwap(last, t) {
			return t
		}
	}
}

// Serve runs the client until ctx is done: the receive loop (long poll or
// polling), the outbox (sending and retrying), and the disappearing-message
// timer. It returns nil when ctx is cancelled, and a *DeviceRemovedError
// when another device of the account removed this one: the client is then
// closed and its local data erased (devices.go).
func (c *Client) Serve(ctx context.Context) error {
	if c.net == nil {
		return ErrNoNetwork
	}
	if !c.serving.CompareAndSwap(false, true) {
		return ErrServing
	}
	defer c.serving.Store(false)
	// A merge that finds this device removed stops the loops.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	if c.setStopServe(stop) {
		stop()
	}
	defer c.setStopServe(nil)
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){c.receiveLoop, c.outboxLoop, c.expiryLoop, c.housekeeping, c.configLoop, c.devicesLoop, c.attachmentLoop, c.groupsLoop, c.communityLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	wg.Wait()
	return c.checkRemoved()
}

// Sync does one round of network work without Serve: it retrieves
// everything new from our swarm (no long poll), messages and config
// objects, pushes changed config objects, sends what is due in the outbox
// and applies due expiries. Commands that run once use it. Like Serve, it
// returns a *DeviceRemovedError when this device was removed.
func (c *Client) Sync(ctx context.Context) error {
	if c.net == nil {
		return ErrNoNetwork
	}
	var errs []error
	if _, err := c.receiveAll(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := c.checkRemoved(); err != nil {
		return err
	}
	if err := c.pushAllConfigs(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := c.pollGroups(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := c.FlushOutbox(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := c.applyExpiries(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sleep waits d or until ctx is done; false means ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// housekeeping forgets processed hashes whose messages expired.
func (c *Client) housekeeping(ctx context.Context) {
	for {
		if _, err := c.db.PruneSeen(ctx, c.nowMillis()); err != nil && ctx.Err() == nil {
			c.log.Warn("prune processed hashes", "error", err)
		}
		if !sleep(ctx, time.Hour) {
			return
		}
	}
}

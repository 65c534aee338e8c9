package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/blake2b"

	"sotto.dev/client/path"
	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/storagerpc"
)

// Config sync (docs/configsync.md). The account's config objects (the four
// Session user objects, and any object another component registers with
// RegisterConfig) live in memory, with their dumps in the local database.
// A change marks an object dirty; the push loop then stores the object's
// messages in its namespace of our own swarm (signed store), confirms
// them, and deletes the messages the push made obsolete (signed delete,
// retried through the outbox). The receive loop retrieves the config
// namespaces in the same long-poll request as namespace 0; what arrives is
// merged and the merged state applied to the local database.

// ConfigTTL is how long a config message lives in the swarm (Session
// stores configs for 30 days and re-pushes what changed).
const ConfigTTL = 30 * 24 * time.Hour

// ConfigRefresh is how often a serving client extends the expiry of the
// current config messages back to ConfigTTL.
const ConfigRefresh = 24 * time.Hour

// Push timing: a change is pushed after pushDebounce (so that a burst of
// changes makes one push); a failed push is retried after pushRetryMin,
// doubling up to pushRetryMax.
const (
	pushDebounce = 20 * time.Millisecond
	pushRetryMin = time.Second
	pushRetryMax = time.Minute
)

// MergeFunc is called after messages were merged into a registered
// object, with the object locked: it may read cfg and Mutate it, but must
// not call UpdateConfig. An error is logged and the merge stays; the call
// is made again at the next retrieve of the namespace, so it must bring
// the local state in line with cfg whatever an earlier call did.
type MergeFunc func(ctx context.Context, cfg *config.Config) error

// syncedConfig is one object under sync.
type syncedConfig struct {
	kind   config.Kind
	cfg    *config.Config
	merged MergeFunc
	// push is cfg.Push, or the typed object's (conversation info prunes
	// stale entries first).
	push func() (config.Push, error)
	// apply, for the user objects, brings the local database in line with
	// the merged data (before: the data before the merge), but for the
	// changes in skip.
	apply func(ctx context.Context, before config.Dict, skip pendingSet) error
	// replay, for the user objects, writes the local changes made before
	// the first fetch into the object.
	replay func(ctx context.Context, pending []store.ConfigPending) error

	lastPush, lastMerge int64 // ms
	// unapplied holds the data from before a merge whose apply (or
	// merged) failed: the object already holds the merged data, so the
	// same messages will not change it again, and the next retrieve of
	// the namespace runs the apply again from there.
	unapplied *config.Dict
	lastErr   string
	failures  int
	retryAt   time.Time
}

// configSync holds the objects; mu guards them and every cfg (a Config is
// not safe for concurrent use).
type configSync struct {
	// change serialises a local change (its database write, then the
	// object update that reads it back) with a merge of fetched messages
	// and its apply to the database, so that neither overwrites the
	// other half-way. Lock order: change, then mu.
	change sync.Mutex
	mu     sync.Mutex
	objs   map[int]*syncedConfig // by namespace
	err    error                 // why the user objects could not be loaded
	kick   chan struct{}
	// fetched holds the namespaces retrieved from our swarm at least
	// once. Before its first fetch an object is not pushed, and the user
	// objects are not changed: the changes wait in the database
	// (config_pending) and are written into the object after the first
	// merge, so that libsession's lag rule cannot drop them.
	fetched map[int]bool

	// The user objects (nil when err is set), sharing their *Config with
	// objs.
	profile  *config.UserProfile
	contacts *config.Contacts
	convo    *config.ConvoInfo
	groups   *config.UserGroups
}

// lockChange takes configSync.change and returns its unlock: a local
// change holds it from its database write to its object update.
func (c *Client) lockChange() func() {
	c.cs.change.Lock()
	return c.cs.change.Unlock
}

// ErrNoConfig: no config object in that namespace.
var ErrNoConfig = errors.New("client: no config object in that namespace")

// userOptions are the options of a user config object of kind: the
// account's keys and its saved dump, if any.
func (c *Client) userOptions(ctx context.Context, kind config.Kind) (config.Options, *store.ConfigObject, error) {
	saved, err := c.db.ConfigObject(ctx, kind.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return config.Options{}, nil, err
	}
	opts := config.Options{
		Kind: kind, Keys: [][32]byte{c.keys.Seed32()}, Account: c.keys.Ed25519Private(),
		Now: c.now,
	}
	if saved != nil {
		opts.Dump = saved.Dump
	}
	return opts, saved, nil
}

// NewUserConfig builds a config object of kind encrypted with the
// account's keys (a user config: key base the account seed, pushes
// protobuf-wrapped when kind.Protobuf), restored from the dump this client
// saved for kind.Name, if any. Pass it to RegisterConfig.
func (c *Client) NewUserConfig(ctx context.Context, kind config.Kind) (*config.Config, error) {
	opts, _, err := c.userOptions(ctx, kind)
	if err != nil {
		return nil, err
	}
	cfg, err := config.New(opts)
	if err != nil {
		return nil, fmt.Errorf("client: config %s: %w", kind.Name, err)
	}
	return cfg, nil
}

// loadConfigs loads the four user objects. A failure (a damaged dump)
// leaves config sync off and is reported by SyncStatus; messaging works
// without it.
func (c *Client) loadConfigs(ctx context.Context) {
	s := &c.cs
	s.objs = map[int]*syncedConfig{}
	s.kick = make(chan struct{}, 1)
	fetched, err := c.db.ConfigFetched(ctx)
	if err == nil {
		s.fetched = fetched
		err = c.loadUserConfigs(ctx)
	} else {
		s.fetched = map[int]bool{}
	}
	if err != nil {
		s.err = err
		s.objs = map[int]*syncedConfig{}
		s.profile, s.contacts, s.convo, s.groups = nil, nil, nil, nil
		c.log.Warn("config sync is off", "error", err)
	}
}

func (c *Client) loadUserConfigs(ctx context.Context) error {
	s := &c.cs
	add := func(kind config.Kind, build func(config.Options) (*config.Config, func() (config.Push, error), error),
		apply func(context.Context, config.Dict, pendingSet) error, replay func(context.Context, []store.ConfigPending) error) error {
		opts, saved, err := c.userOptions(ctx, kind)
		if err != nil {
			return err
		}
		cfg, push, err := build(opts)
		if err != nil {
			return fmt.Errorf("client: config %s: %w", kind.Name, err)
		}
		o := &syncedConfig{kind: kind, cfg: cfg, push: push, apply: apply, replay: replay}
		if saved != nil {
			o.lastPush, o.lastMerge, o.lastErr = saved.LastPush, saved.LastMerge, saved.LastError
		}
		s.objs[kind.Namespace] = o
		return nil
	}
	return errors.Join(
		add(config.UserProfileKind, func(o config.Options) (*config.Config, func() (config.Push, error), error) {
			p, err := config.NewUserProfile(o)
			if err != nil {
				return nil, nil, err
			}
			s.profile = p
			return p.Config, p.Push, nil
		}, c.applyProfile, c.replayProfile),
		add(config.ContactsKind, func(o config.Options) (*config.Config, func() (config.Push, error), error) {
			ct, err := config.NewContacts(o)
			if err != nil {
				return nil, nil, err
			}
			s.contacts = ct
			return ct.Config, ct.Push, nil
		}, c.applyContacts, c.replayContacts),
		add(config.ConvoInfoKind, func(o config.Options) (*config.Config, func() (config.Push, error), error) {
			ci, err := config.NewConvoInfo(o)
			if err != nil {
				return nil, nil, err
			}
			s.convo = ci
			return ci.Config, ci.Push, nil
		}, c.applyConvoInfo, c.replayConvoInfo),
		add(config.UserGroupsKind, func(o config.Options) (*config.Config, func() (config.Push, error), error) {
			g, err := config.NewUserGroups(o)
			if err != nil {
				return nil, nil, err
			}
			s.groups = g
			return g.Config, g.Push, nil
		}, c.applyUserGroups, nil),
	)
}

// RegisterConfig adds cfg, an object of kind, to config sync: its changes
// are pushed to kind.Namespace of our own swarm and that namespace is
// retrieved with the others; after each merge of incoming messages,
// merged (if not nil) runs with the object locked. Its dump is saved
// under kind.Name. Build cfg with NewUserConfig. Change it only through
// UpdateConfig (or inside merged). The namespace must not be 0 or one
// already registered; the four user objects hold 2–5.
func (c *Client) RegisterConfig(ctx context.Context, kind config.Kind, cfg *config.Config, merged MergeFunc) error {
	if kind.Namespace == int(storagerpc.NamespaceDefault) || kind.Name == "" || cfg == nil {
		return errors.New("client: RegisterConfig: needs a name, a namespace other than 0 and an object")
	}
	s := &c.cs
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objs[kind.Namespace]; ok {
		return fmt.Errorf("client: RegisterConfig: namespace %d is taken", kind.Namespace)
	}
	o := &syncedConfig{kind: kind, cfg: cfg, push: cfg.Push, merged: merged}
	if saved, err := c.db.ConfigObject(ctx, kind.Name); err == nil {
		o.lastPush, o.lastMerge, o.lastErr = saved.LastPush, saved.LastMerge, saved.LastError
	}
	s.objs[kind.Namespace] = o
	if err := c.saveDumpLocked(ctx, o); err != nil {
		return err
	}
	kick(s.kick)
	return nil
}

// UpdateConfig runs fn on the object registered in namespace ns, with the
// object locked, then saves its dump and schedules a push if fn changed
// it (fn changes it with cfg.Mutate).
func (c *Client) UpdateConfig(ctx context.Context, ns int, fn func(cfg *config.Config) error) error {
	s := &c.cs
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[ns]
	if !ok {
		if s.err != nil {
			return s.err
		}
		return ErrNoConfig
	}
	if err := fn(o.cfg); err != nil {
		return err
	}
	if err := c.saveDumpLocked(ctx, o); err != nil {
		return err
	}
	if o.cfg.NeedsPush() {
		kick(s.kick)
	}
	return nil
}

// updateUser runs fn on the user objects (locked) and saves and
// schedules the object in ns. Before the object's first fetch it records
// pend, the fields the user changed, instead (ingestConfig writes them
// into the object after the first merge). With config sync off it does
// nothing.
func (c *Client) updateUser(ctx context.Context, ns int, pend []store.ConfigPending, fn func(s *configSync) error) error {
	s := &c.cs
	if s.err != nil {
		return nil
	}
	s.mu.Lock()
	if !s.fetched[ns] {
		defer s.mu.Unlock()
		return c.db.Update(ctx, func(tx *store.Tx) error {
			for _, p := range pend {
				if p.Field == fieldErased {
					// Erasing undoes the item's earlier changes.
					if err := tx.DeleteConfigPending(ctx, ns, p.Item); err != nil {
						return err
					}
				}
				if err := tx.AddConfigPending(ctx, ns, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	s.mu.Unlock()
	return c.UpdateConfig(ctx, ns, func(*config.Config) error { return fn(s) })
}

// MarkNewAccount records that this client's account was just created
// (sotto id new): its swarm holds no config objects yet, so there is
// nothing to fetch before the first push.
func (c *Client) MarkNewAccount(ctx context.Context) error {
	s := &c.cs
	s.mu.Lock()
	defer s.mu.Unlock()
	namespaces := make([]int, 0, len(s.objs))
	for ns := range s.objs {
		namespaces = append(namespaces, ns)
	}
	if err := c.db.Update(ctx, func(tx *store.Tx) error {
		for _, ns := range namespaces {
			if err := tx.SetConfigFetched(ctx, ns); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, ns := range namespaces {
		s.fetched[ns] = true
	}
	kick(s.kick)
	return nil
}

// configsUnfetched reports whether some config namespace was never
// retrieved from our swarm.
func (c *Client) configsUnfetched() bool {
	s := &c.cs
	s.mu.Lock()
	defer s.mu.Unlock()
	for ns := range s.objs {
		if !s.fetched[ns] {
			return true
		}
	}
	return false
}

// saveDumpLocked saves o's dump when it changed.
func (c *Client) saveDumpLocked(ctx context.Context, o *syncedConfig) error {
	if !o.cfg.NeedsDump() {
		return nil
	}
	return c.db.SaveConfigDump(ctx, o.kind.Name, o.kind.Namespace, o.cfg.Dump())
}

// configNamespaces are the registered namespaces, ascending.
func (c *Client) configNamespaces() []int {
	s := &c.cs
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, 0, len(s.objs))
	for ns := range s.objs {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}

// ---- push ----

// configLoop pushes dirty objects, and keeps the current messages alive
// in the swarm, until ctx is done.
func (c *Client) configLoop(ctx context.Context) {
	s := &c.cs
	var refreshAt time.Time
	for ctx.Err() == nil {
		next := c.pushConfigs(ctx)
		if now := c.clock.Now(); !now.Before(refreshAt) {
			refreshAt = now.Add(ConfigRefresh)
			if err := c.refreshConfigs(ctx); err != nil && ctx.Err() == nil {
				c.log.Debug("config expiry refresh failed", "error", err)
				refreshAt = now.Add(time.Hour)
			}
		}
		if next.IsZero() || refreshAt.Before(next) {
			next = refreshAt
		}
		wait := max(next.Sub(c.clock.Now()), 0)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.kick:
			t.Stop()
			// Debounce: let a burst of changes land before pushing.
			if !sleep(ctx, pushDebounce) {
				return
			}
		}
	}
}

// refreshConfigs extends the expiry of every object's current messages
// to ConfigTTL from now: an object nobody changes for a month must still
// be there for a device restored from the phrase.
func (c *Client) refreshConfigs(ctx context.Context) error {
	s := &c.cs
	s.mu.Lock()
	var hashes []string
	for _, o := range s.objs {
		hashes = append(hashes, o.cfg.CurrentHashes()...)
	}
	s.mu.Unlock()
	if len(hashes) == 0 {
		return nil
	}
	slices.Sort(hashes)
	expiry := c.nowMillis() + ConfigTTL.Milliseconds()
	_, _, err := c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodExpire, acct: c.self,
		build: func(path.Node) ([]byte, error) {
			exp := []int64{expiry}
			return storagerpc.EncodeRequest(&storagerpc.ExpireParams{
				Account: storagerpc.AccountFromSessionID(c.self), Messages: hashes, Expiries: exp,
				Mode: storagerpc.ExpireExtend,
				Auth: c.auth(storagerpc.ExpireSigMessage(storagerpc.ExpireExtend, exp, hashes)),
			})
		},
	})
	return err
}

// pushConfigs pushes every object that needs it and is not waiting for a
// retry. It returns when the next retry is due (zero: none).
func (c *Client) pushConfigs(ctx context.Context) time.Time {
	var next time.Time
	for _, ns := range c.configNamespaces() {
		retry, err := c.pushConfig(ctx, ns, false)
		if err != nil && ctx.Err() == nil {
			c.log.Debug("config push failed", "namespace", ns, "error", err)
		}
		if !retry.IsZero() && (next.IsZero() || retry.Before(next)) {
			next = retry
		}
	}
	return next
}

// PushConfigs pushes every config object that has changes, now (commands
// that run once use it; Serve pushes by itself). An object never fetched
// from our swarm is fetched first: it is only pushed after its first
// fetch.
func (c *Client) PushConfigs(ctx context.Context) error {
	if c.net == nil {
		return ErrNoNetwork
	}
	if c.configsUnfetched() {
		if _, err := c.receiveAll(ctx); err != nil {
			return err
		}
	}
	return c.pushAllConfigs(ctx)
}

// pushAllConfigs pushes every fetched object that has changes, now.
func (c *Client) pushAllConfigs(ctx context.Context) error {
	var errs []error
	for _, ns := range c.configNamespaces() {
		if _, err := c.pushConfig(ctx, ns, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pushConfig pushes the object in ns if it needs it: store every message,
// confirm, delete what became obsolete. It returns when to retry after a
// failure.
func (c *Client) pushConfig(ctx context.Context, ns int, force bool) (time.Time, error) {
	s := &c.cs
	s.mu.Lock()
	o, ok := s.objs[ns]
	if !ok || !s.fetched[ns] || !o.cfg.NeedsPush() || (!force && c.clock.Now().Before(o.retryAt)) {
		var retry time.Time
		if ok && s.fetched[ns] && o.cfg.NeedsPush() {
			retry = o.retryAt
		}
		s.mu.Unlock()
		return retry, nil
	}
	p, err := o.push()
	if err == nil {
		err = c.saveDumpLocked(ctx, o)
	}
	kind := o.kind
	s.mu.Unlock()
	if err != nil {
		return c.pushFailed(ctx, ns, err)
	}
	c.log.Debug("config push", "namespace", ns, "seqno", p.Seqno, "parts", len(p.Messages), "obsolete", len(p.Obsolete))
	ts := c.nowMillis()
	hashes := make([]string, 0, len(p.Messages))
	for _, m := range p.Messages {
		h, err := c.storeConfigMessage(ctx, kind.Namespace, m, ts, ts+ConfigTTL.Milliseconds())
		if err != nil {
			return c.pushFailed(ctx, ns, err)
		}
		hashes = append(hashes, h)
	}
	// A push can store exactly the message another device already stored
	// (both made the same merge): never delete what is current.
	p.Obsolete = slices.DeleteFunc(p.Obsolete, func(h string) bool { return slices.Contains(hashes, h) })
	s.mu.Lock()
	o.cfg.ConfirmPushed(p.Seqno, hashes...)
	current := o.cfg.CurrentHashes()
	p.Obsolete = slices.DeleteFunc(p.Obsolete, func(h string) bool { return slices.Contains(current, h) })
	o.failures, o.retryAt, o.lastErr, o.lastPush = 0, time.Time{}, "", c.nowMillis()
	err = c.saveDumpLocked(ctx, o)
	dirty := o.cfg.NeedsPush()
	s.mu.Unlock()
	if err != nil {
		return time.Time{}, err
	}
	if err := c.db.ConfigPushed(ctx, kind.Name, o.lastPush, ""); err != nil {
		return time.Time{}, err
	}
	if len(p.Obsolete) > 0 {
		// Deleted through the outbox, which retries until it succeeds.
		if err := c.db.Update(ctx, func(tx *store.Tx) error {
			return c.queueSwarmOp(ctx, tx, store.OutboxDelete, p.Obsolete, 0)
		}); err != nil {
			return time.Time{}, err
		}
		kick(c.kickOutbox)
	}
	if dirty {
		kick(s.kick)
	}
	return time.Time{}, nil
}

// pushFailed records a failed push and when to try again.
func (c *Client) pushFailed(ctx context.Context, ns int, cause error) (time.Time, error) {
	s := &c.cs
	s.mu.Lock()
	o := s.objs[ns]
	o.failures++
	wait := pushRetryMin << min(o.failures-1, 10)
	wait = min(wait, pushRetryMax)
	o.retryAt = c.clock.Now().Add(wait)
	o.lastErr = cause.Error()
	retry, name := o.retryAt, o.kind.Name
	s.mu.Unlock()
	if ctx.Err() == nil {
		_ = c.db.ConfigPushed(ctx, name, 0, cause.Error())
	}
	return retry, cause
}

// storeConfigMessage stores data in namespace ns of our own swarm with a
// signed store and returns its hash.
func (c *Client) storeConfigMessage(ctx context.Context, ns int, data []byte, ts, expiry int64) (string, error) {
	account := storagerpc.AccountFromSessionID(c.self)
	space := storagerpc.Namespace(ns)
	want := storagerpc.MessageHash(account, space, data)
	_, body, err := c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodStore, acct: c.self,
		build: func(path.Node) ([]byte, error) {
			sigTS := c.nowMillis()
			return storagerpc.EncodeRequest(&storagerpc.StoreParams{
				Account: account, Namespace: space, Timestamp: ts, Expiry: expiry, Data: data,
				SigTimestamp: sigTS, Auth: c.auth(storagerpc.StoreSigMessage(space, sigTS)),
			})
		},
	})
	if err != nil {
		return "", err
	}
	var resp storagerpc.SwarmResponse[storagerpc.StoreResult]
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", fmt.Errorf("client: config store: bad answer: %w", err)
	}
	for _, r := range resp.Swarm {
		if !r.Failed() && r.OK.Hash == want {
			c.fresh.stored()
			return want, nil
		}
	}
	return "", errors.New("client: config store: no swarm member stored the message")
}

// ---- receive ----

// ingestConfig merges the messages one retrieve returned for namespace ns
// and applies the result; the node's last hash moves in the same
// transaction as the saved dump. The first complete retrieve of ns (more
// is false: the node has nothing further), empty or not, is its first
// fetch: the local changes made before it are written into the merged
// object (the local change wins: it is the newer one) and their record
// cleared, in the same transaction. It reports whether the messages
// changed the object: those that did not (our own pushes, or what another
// member returned before) are messages we already had.
func (c *Client) ingestConfig(ctx context.Context, node, lastHash string, ns int, msgs []storagerpc.RetrievedMessage, more bool) (changed bool, err error) {
	defer c.lockChange()()
	var in []config.Incoming
	for _, m := range msgs {
		if storagerpc.ValidMessageHash(m.Hash) {
			in = append(in, config.Incoming{Hash: m.Hash, Data: m.Data})
		}
	}
	var newLast string
	if len(msgs) > 0 && msgs[len(msgs)-1].Hash != lastHash {
		newLast = msgs[len(msgs)-1].Hash
	}
	s := &c.cs
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[ns]
	first := ok && !s.fetched[ns]
	done := first && !more // this retrieve completes the first fetch
	if !ok || (len(in) == 0 && newLast == "" && !done && o.unapplied == nil) {
		return false, nil
	}
	var pending []store.ConfigPending
	if first {
		var err error
		if pending, err = c.db.ConfigPendingOf(ctx, ns); err != nil {
			return false, err
		}
	}
	skip := newPendingSet(pending)
	now := c.nowMillis()
	if len(in) > 0 {
		c.log.Debug("config merge", "namespace", ns, "messages", len(in), "seqno", o.cfg.Seqno())
		gen, beforeData := o.cfg.Generation(), o.cfg.Data() // a merge replaces the data, never edits it
		if _, err := o.cfg.Merge(in); err != nil {
			// Nothing valid for an object still at seqno 0: not ours, or
			// damaged. Skipped, as libsession clients do.
			c.log.Debug("config merge: nothing valid", "namespace", ns, "error", err)
		}
		if changed = o.cfg.Generation() != gen; changed {
			o.lastMerge = now
			if o.unapplied == nil {
				o.unapplied = &beforeData
			}
		}
	}
	if o.unapplied != nil {
		if err := c.applyMerged(ctx, o, *o.unapplied, skip); err != nil {
			c.log.Warn("config merge: apply", "namespace", ns, "error", err)
		} else {
			o.unapplied = nil
		}
	}
	if done && o.replay != nil && len(pending) > 0 {
		c.log.Debug("config first fetch: local changes", "namespace", ns, "changes", len(pending))
		if err := o.replay(ctx, pending); err != nil {
			return changed, fmt.Errorf("client: config %s: local changes: %w", o.kind.Name, err)
		}
	}
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		if done {
			if err := tx.SetConfigFetched(ctx, ns); err != nil {
				return err
			}
			if err := tx.ClearConfigPending(ctx, ns); err != nil {
				return err
			}
		}
		if o.cfg.NeedsDump() {
			if err := tx.SaveConfigDump(ctx, o.kind.Name, o.kind.Namespace, o.cfg.Dump()); err != nil {
				return err
			}
		}
		if o.lastMerge == now {
			if err := tx.ConfigMerged(ctx, o.kind.Name, now); err != nil {
				return err
			}
		}
		if newLast != "" {
			return tx.SetLastHash(ctx, c.self, node, int16(ns), newLast, now)
		}
		return nil
	})
	if err != nil {
		return changed, err
	}
	if done {
		s.fetched[ns] = true
	}
	if o.cfg.NeedsPush() {
		kick(s.kick)
	}
	return changed, nil
}

// applyMerged brings the local database in line with o's merged data
// (before: the data before the merge).
func (c *Client) applyMerged(ctx context.Context, o *syncedConfig, before config.Dict, skip pendingSet) error {
	if o.apply != nil {
		if err := o.apply(ctx, before, skip); err != nil {
			return err
		}
	}
	if o.merged != nil {
		return o.merged(ctx, o.cfg)
	}
	return nil
}

// ---- status ----

// ConfigStatus is the sync state of one config object.
type ConfigStatus struct {
	Name      string    `json:"name"`
	Namespace int       `json:"namespace"`
	Seqno     int64     `json:"seqno"`
	State     string    `json:"state"` // clean, dirty, waiting
	Hash      string    `json:"hash"`  // BLAKE2b-256 of the current config message, hex
	LastPush  time.Time `json:"last_push"`
	LastMerge time.Time `json:"last_merge"`
	LastError string    `json:"last_error,omitempty"`
	// Fetched: the object was retrieved from our swarm at least once
	// (before that, nothing is pushed).
	Fetched bool `json:"fetched"`
}

// SyncStatus reports every config object under sync, by namespace. Its
// error says why config sync is off, when it is.
func (c *Client) SyncStatus() ([]ConfigStatus, error) {
	s := &c.cs
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	out := make([]ConfigStatus, 0, len(s.objs))
	for _, o := range s.objs {
		st := ConfigStatus{
			Name: o.kind.Name, Namespace: o.kind.Namespace, Seqno: o.cfg.Seqno(), State: stateName(o.cfg.State()),
			LastError: o.lastErr, Fetched: s.fetched[o.kind.Namespace],
		}
		h := blake2b.Sum256(o.cfg.Serialized())
		st.Hash = hex.EncodeToString(h[:])
		if o.lastPush > 0 {
			st.LastPush = time.UnixMilli(o.lastPush).UTC()
		}
		if o.lastMerge > 0 {
			st.LastMerge = time.UnixMilli(o.lastMerge).UTC()
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b ConfigStatus) int { return a.Namespace - b.Namespace })
	return out, nil
}

func stateName(s config.State) string {
	switch s {
	case config.StateClean:
		return "clean"
	case config.StateDirty:
		return "dirty"
	case config.StateWaiting:
		return "waiting"
	}
	return "unknown"
}

package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"

	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/config/groups"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// Closed groups (03 groups, session-protocol.md §6). A group is an
// Ed25519 identity with a swarm of its own, holding its messages
// (namespace 11), its key messages (12) and its info and members configs
// (13, 14). The client keeps, for every group the user is in, the user's
// view of those objects (package config/groups) in memory and their dumps
// in the local database; polls the group's swarm through the onion paths
// (grouppoll.go); and reads and writes the group's messages
// (groupmsg.go). The groups themselves are listed in the user-groups
// config object, which carries them to the user's other devices: the
// group's secret key for an admin, the subaccount auth data for a member.

// Errors of the group API.
var (
	// ErrNoGroup: the user is not in that group (or it is unknown).
	ErrNoGroup = errors.New("client: not a member of that group")
	// ErrNotAdmin: the operation needs the group's admin key.
	ErrNotAdmin = errors.New("client: only a group admin can do that")
	// ErrNoInvite: no invitation to that group waits.
	ErrNoInvite = errors.New("client: no invitation to that group")
)

// groupEngine holds the open groups.
type groupEngine struct {
	mu   sync.Mutex
	open map[key.SessionID]*openGroup
	// kick tells the poller that the set of joined groups changed.
	kick chan struct{}
}

// openGroup is one group the user is in: its row and its objects. mu
// guards both (the objects are not safe for concurrent use); it is never
// held across a network request or a database transaction that takes
// other locks.
type openGroup struct {
	mu sync.Mutex
	// push serialises pushGroup (taken before mu, never inside it).
	push sync.Mutex
	row  *store.Group
	g    *groups.Group
	// later holds messages no key opened yet (their key message may come
	// in a later retrieve), also kept in the store (group_waiting): tried
	// again after each new key until one opens them or they expire.
	later []storagerpc.RetrievedMessage
	// laterConfigs holds, the same way, the info and members config
	// messages (by groupConfigs index) no key opened yet: merged again
	// after each new key until one opens them or they expire.
	laterConfigs [2][]storagerpc.RetrievedMessage
}

// maxLater bounds openGroup.later and each list of laterConfigs.
const maxLater = 256

func (og *openGroup) admin() bool {
	og.mu.Lock()
	defer og.mu.Unlock()
	return len(og.row.Secret) == ed25519.PrivateKeySize
}

// loadGroups opens the joined groups of the local database.
func (c *Client) loadGroups(ctx context.Context) {
	c.grp.open = map[key.SessionID]*openGroup{}
	c.grp.kick = make(chan struct{}, 1)
	rows, err := c.db.Groups(ctx, store.GroupJoined)
	if err != nil {
		c.log.Warn("groups: load", "error", err)
		return
	}
	for _, row := range rows {
		if _, err := c.openGroupRow(row); err != nil {
			c.log.Warn("groups: open", "error", err)
		}
	}
}

// openGroupRow opens row's objects from its dumps and registers it.
func (c *Client) openGroupRow(row *store.Group) (*openGroup, error) {
	pub := row.ID.Key()
	opts := groups.Options{
		User: c.keys.Ed25519Private(), Public: ed25519.PublicKey(pub[:]),
		InfoDump: nonEmpty(row.InfoDump), MembersDump: nonEmpty(row.MembersDump), KeysDump: nonEmpty(row.KeysDump),
		Now: c.now,
	}
	if len(row.Secret) == ed25519.PrivateKeySize {
		opts.Secret = ed25519.PrivateKey(row.Secret)
	}
	g, err := groups.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("client: group %s: %w", row.ID, err)
	}
	og := &openGroup{row: row, g: g}
	if og.later, og.laterConfigs, err = c.waitingMessages(row.ID); err != nil {
		return nil, err
	}
	c.grp.mu.Lock()
	c.grp.open[row.ID] = og
	c.grp.mu.Unlock()
	kick(c.grp.kick)
	return og, nil
}

func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// group returns the open (joined) group id.
func (c *Client) group(id key.SessionID) (*openGroup, error) {
	if id.Prefix() != key.PrefixGroup {
		return nil, ErrNoGroup
	}
	c.grp.mu.Lock()
	defer c.grp.mu.Unlock()
	og, ok := c.grp.open[id]
	if !ok {
		return nil, ErrNoGroup
	}
	return og, nil
}

// closeGroup stops polling id and forgets its objects.
func (c *Client) closeGroup(id key.SessionID) {
	c.grp.mu.Lock()
	delete(c.grp.open, id)
	c.grp.mu.Unlock()
	kick(c.grp.kick)
}

// joinedGroups lists the open groups' IDs.
func (c *Client) joinedGroups() []key.SessionID {
	c.grp.mu.Lock()
	defer c.grp.mu.Unlock()
	out := make([]key.SessionID, 0, len(c.grp.open))
	for id := range c.grp.open {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b key.SessionID) int { return slices.Compare(a.Bytes(), b.Bytes()) })
	return out
}

// swarmOf is how the user reaches the group's swarm: with the group key
// when admin, with the subaccount otherwise.
func (c *Client) groupSwarmOf(og *openGroup) groupSwarm {
	og.mu.Lock()
	defer og.mu.Unlock()
	sw := groupSwarm{c: c, id: og.row.ID}
	if len(og.row.Secret) == ed25519.PrivateKeySize {
		sw.sign = adminSigner(ed25519.PrivateKey(og.row.Secret))
	} else {
		sw.sign = memberSigner(c.keys.Ed25519Private(), og.row.AuthData)
	}
	return sw
}

// memberSigner signs as a member, with the subaccount of authData
// (session-protocol.md §6.4).
func memberSigner(user ed25519.PrivateKey, authData []byte) groupSigner {
	return func(msg []byte) (storagerpc.Auth, error) {
		s, err := groups.SubaccountSign(user, authData, msg)
		if err != nil {
			return storagerpc.Auth{}, fmt.Errorf("client: subaccount signature: %w", err)
		}
		sig := storagerpc.Signature(s.Signature)
		return storagerpc.Auth{Signature: &sig, Subaccount: &storagerpc.SignedSubaccount{
			Token: storagerpc.SubaccountToken(s.Token), Sig: storagerpc.Signature(s.TokenSig),
		}}, nil
	}
}

// saveGroupLocked writes the dumps that changed and the group's name to
// the database. og.mu is held.
func (c *Client) saveGroupLocked(ctx context.Context, og *openGroup) error {
	var k, i, m []byte
	if og.g.Keys.NeedsDump() {
		k = og.g.Keys.Dump()
	}
	if og.g.Info.NeedsDump() {
		i = og.g.Info.Dump()
	}
	if og.g.Members.NeedsDump() {
		m = og.g.Members.Dump()
	}
	now := c.nowMillis()
	if k != nil || i != nil || m != nil {
		if err := c.db.SaveGroupDumps(ctx, og.row.ID, k, i, m, now); err != nil {
			return err
		}
	}
	if name := og.g.Info.Name(); name != "" && name != og.row.Name {
		og.row.Name = name
		if err := c.db.SetGroupName(ctx, og.row.ID, name, now); err != nil {
			return err
		}
	}
	return nil
}

// pushGroup stores what the admin changed: keyMsg (a rekey or supplement,
// if not nil) in namespace 12 first, then the info and members objects,
// which the new key encrypts. A rekey whose key message is not stored yet
// (Keys.Pending: the rekey's own push failed, or runs now) is stored first
// whatever keyMsg is, so that no member gets configs encrypted with a key
// it cannot have. Obsolete config messages are deleted.
func (c *Client) pushGroup(ctx context.Context, og *openGroup, keyMsg []byte) error {
	// One push at a time: two admin actions at once (a removal's rekey
	// and a disband, say) must not push configs under a key whose message
	// the other has not stored yet.
	og.push.Lock()
	defer og.push.Unlock()
	og.mu.Lock()
	_, pending, ok := og.g.Keys.Pending()
	og.mu.Unlock()
	var keyMsgs [][]byte
	if ok {
		keyMsgs = append(keyMsgs, pending)
	}
	if keyMsg != nil && !(ok && bytes.Equal(keyMsg, pending)) {
		keyMsgs = append(keyMsgs, keyMsg)
	}
	sw := c.groupSwarmOf(og)
	ts := c.nowMillis()
	expiry := ts + ConfigTTL.Milliseconds()
	for _, km := range keyMsgs {
		h, err := sw.store(ctx, storagerpc.NamespaceGroupKeys, km, ts, expiry)
		if err != nil {
			return fmt.Errorf("client: group keys: %w", err)
		}
		og.mu.Lock()
		_, err = og.g.LoadKeyMessage(h, km, ts)
		if err == nil {
			err = c.saveGroupLocked(ctx, og)
		}
		og.mu.Unlock()
		if err != nil {
			return fmt.Errorf("client: group keys: %w", err)
		}
	}
	var obsolete []string
	for _, obj := range []struct {
		cfg *config.Config
		ns  storagerpc.Namespace
	}{{og.g.Info.Config, storagerpc.NamespaceGroupInfo}, {og.g.Members.Config, storagerpc.NamespaceGroupMembers}} {
		og.mu.Lock()
		if !obj.cfg.NeedsPush() {
			og.mu.Unlock()
			continue
		}
		p, err := obj.cfg.Push()
		og.mu.Unlock()
		if err != nil {
			return fmt.Errorf("client: group config: %w", err)
		}
		hashes := make([]string, 0, len(p.Messages))
		for _, m := range p.Messages {
			h, err := sw.store(ctx, obj.ns, m, ts, expiry)
			if err != nil {
				return fmt.Errorf("client: group config: %w", err)
			}
			hashes = append(hashes, h)
		}
		og.mu.Lock()
		obj.cfg.ConfirmPushed(p.Seqno, hashes...)
		current := obj.cfg.CurrentHashes()
		err = c.saveGroupLocked(ctx, og)
		og.mu.Unlock()
		if err != nil {
			return err
		}
		for _, h := range p.Obsolete {
			if !slices.Contains(current, h) {
				obsolete = append(obsolete, h)
			}
		}
	}
	if len(obsolete) > 0 {
		if err := sw.remove(ctx, obsolete); err != nil {
			c.log.Debug("group: delete obsolete config messages", "error", err)
		}
	}
	return nil
}

// setUserGroup records the group in the user-groups object (which syncs
// it to the user's other devices), or erases it.
func (c *Client) setUserGroup(ctx context.Context, row *store.Group, erase bool) {
	err := c.UpdateConfig(ctx, int(storagerpc.NamespaceUserGroups), func(*config.Config) error {
		ug := c.cs.groups
		if erase {
			ug.EraseGroup(row.ID)
			return nil
		}
		e := ug.GroupOrNew(row.ID)
		e.Name = row.Name
		if len(row.Secret) == ed25519.PrivateKeySize {
			e.SecretKey = ed25519.PrivateKey(row.Secret)
		} else {
			e.AuthData = row.AuthData
		}
		return ug.SetGroup(e)
	})
	c.configWarn(err)
}

// applyUserGroups brings the local groups in line with the user-groups
// object that another device of the user changed: a group joined there
// is joined here (and polled: its history comes from its swarm), an
// invitation accepted there is accepted here, a promotion there gives the
// admin key here, and a group that another device left (its entry was
// erased by the merge) is left here. It runs with the config objects
// locked (a MergeFunc's rules): it changes no config object.
func (c *Client) applyUserGroups(ctx context.Context, before config.Dict, _ pendingSet) error {
	errs := []error{c.applyUserCommunities(ctx, before)}
	for raw := range before.Dict("g") {
		id, err := key.ParseSessionID(hex.EncodeToString([]byte(raw)))
		if err != nil || id.Prefix() != key.PrefixGroup {
			continue
		}
		if _, ok := c.cs.groups.Group(id); ok {
			continue
		}
		if og, err := c.group(id); err == nil {
			c.closeGroup(id)
			errs = append(errs, c.db.SetGroupState(ctx, id, store.GroupLeft, c.nowMillis()))
			og.mu.Lock()
			og.row.State = store.GroupLeft
			og.mu.Unlock()
			c.emit(Event{Kind: EventGroup, Conversation: id})
		}
	}
	for _, e := range c.cs.groups.Groups() {
		admin := len(e.SecretKey) == ed25519.PrivateKeySize
		if !admin && len(e.AuthData) != config.GroupAuthDataSize {
			continue
		}
		row, err := c.db.Group(ctx, e.ID)
		switch {
		case errors.Is(err, store.ErrNotFound), err == nil && row.State == store.GroupInvited:
			now := c.nowMillis()
			row = &store.Group{ID: e.ID, Name: e.Name, AuthData: e.AuthData, State: store.GroupJoined, JoinedAt: now, UpdatedAt: now}
			if admin {
				row.Secret = e.SecretKey
			}
			err = c.db.Update(ctx, func(tx *store.Tx) error {
				if _, err := tx.RemoveRequest(ctx, e.ID); err != nil {
					return err
				}
				if err := tx.SaveGroup(ctx, row); err != nil {
					return err
				}
				return tx.EnsureConversation(ctx, e.ID, now)
			})
			if err == nil {
				_, err = c.openGroupRow(row)
			}
			if err == nil {
				c.emit(Event{Kind: EventGroup, Conversation: e.ID})
			}
		case err == nil && row.State == store.GroupJoined && admin && !row.Admin():
			_, _, err = c.loadAdminKey(ctx, e.ID, e.SecretKey)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// waitingMessages loads the group's messages and config messages that
// wait for a key.
func (c *Client) waitingMessages(id key.SessionID) (msgs []storagerpc.RetrievedMessage, configs [2][]storagerpc.RetrievedMessage, err error) {
	ws, err := c.db.GroupWaiting(context.Background(), id, c.nowMillis())
	if err != nil {
		return nil, configs, err
	}
	for _, w := range ws {
		m := storagerpc.RetrievedMessage{Hash: w.Hash, Data: w.Data, Timestamp: w.TS, Expiration: w.Expires}
		ns := storagerpc.Namespace(w.Namespace)
		if i := slices.Index(groupConfigSpaces, ns); i >= 0 {
			configs[i] = append(configs[i], m)
		} else if ns == storagerpc.NamespaceGroupMessages {
			msgs = append(msgs, m)
		}
	}
	return msgs, configs, nil
}

package client

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"sotto.dev/attachment"
	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/config/groups"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

// The group lifecycle: create, invite and answer invitations, remove,
// promote, leave, change the info, disband (session-protocol.md §6.5).
// Operations that change the group's objects store them in the group's
// swarm before they return; the messages they send (invitations,
// promotions, control messages in the group) go through the outbox.

// Prefixes of the admin signatures in GroupUpdate messages
// (session-protocol.md §2, "Groups v2 admin signatures").
const (
	sigInvite       = "INVITE"
	sigInfoChange   = "INFO_CHANGE"
	sigMemberChange = "MEMBER_CHANGE"
	sigDelete       = "DELETE_CONTENT"
)

// GroupMember is one member of a group as Members lists it.
type GroupMember = groups.Member

// CreateGroup creates a group named name with the user as its admin and
// invites members (05 Session IDs). It returns the group's ID.
func (c *Client) CreateGroup(ctx context.Context, name string, members []key.SessionID) (key.SessionID, error) {
	if c.net == nil {
		return key.SessionID{}, ErrNoNetwork
	}
	if err := checkMembers(members, c.self); err != nil {
		return key.SessionID{}, err
	}
	pub, secret, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		return key.SessionID{}, err
	}
	id := key.NewSessionID(key.PrefixGroup, [32]byte(pub))
	g, err := groups.Open(groups.Options{User: c.keys.Ed25519Private(), Public: pub, Secret: secret, Now: c.now})
	if err != nil {
		return key.SessionID{}, err
	}
	if err := g.Info.SetName(name); err != nil {
		return key.SessionID{}, err
	}
	now := c.nowMillis()
	if err := g.Info.SetCreated(now / 1000); err != nil {
		return key.SessionID{}, err
	}
	me := g.Members.GetOrNew(c.self)
	me.Admin, me.Invite = true, groups.InviteAccepted
	if n, err := c.ProfileName(ctx); err == nil {
		me.SetNameTruncated(n)
	}
	if err := g.Members.Set(me); err != nil {
		return key.SessionID{}, err
	}
	for _, m := range members {
		if err := g.Members.Set(groups.NewMember(m)); err != nil {
			return key.SessionID{}, err
		}
	}
	keyMsg, err := g.Rekey()
	if err != nil {
		return key.SessionID{}, err
	}
	row := &store.Group{ID: id, Name: name, Secret: secret, State: store.GroupJoined, JoinedAt: now, UpdatedAt: now}
	if err := c.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SaveGroup(ctx, row); err != nil {
			return err
		}
		return tx.EnsureConversation(ctx, id, now)
	}); err != nil {
		return key.SessionID{}, err
	}
	og := &openGroup{row: row, g: g}
	og.mu.Lock()
	err = c.saveGroupLocked(ctx, og)
	og.mu.Unlock()
	if err != nil {
		return key.SessionID{}, err
	}
	c.grp.mu.Lock()
	c.grp.open[id] = og
	c.grp.mu.Unlock()
	if err := c.pushGroup(ctx, og, keyMsg); err != nil {
		return id, err
	}
	c.setUserGroup(ctx, row, false)
	kick(c.grp.kick)
	c.emit(Event{Kind: EventGroup, Conversation: id})
	return id, c.sendInvites(ctx, og, members)
}

func checkMembers(members []key.SessionID, self key.SessionID) error {
	for _, m := range members {
		if m.Prefix() != key.PrefixStandard {
			return fmt.Errorf("%w: %s", ErrBadRecipient, m)
		}
		if m == self {
			return errors.New("client: you are in the group already")
		}
	}
	return nil
}

// adminKey returns the group's secret key, or ErrNotAdmin.
func (og *openGroup) adminKey() (ed25519.PrivateKey, error) {
	og.mu.Lock()
	defer og.mu.Unlock()
	if len(og.row.Secret) != ed25519.PrivateKeySize {
		return nil, ErrNotAdmin
	}
	return ed25519.PrivateKey(og.row.Secret), nil
}

// sendInvites sends each member a GroupUpdateInviteMessage with the auth
// data of its subaccount, and records the invitation as sent.
func (c *Client) sendInvites(ctx context.Context, og *openGroup, members []key.SessionID) error {
	secret, err := og.adminKey()
	if err != nil {
		return err
	}
	id := og.row.ID
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		for _, m := range members {
			og.mu.Lock()
			auth, err := og.g.Keys.MakeSubaccount(m, true, false)
			name := og.g.Info.Name()
			og.mu.Unlock()
			if err != nil {
				return err
			}
			ts := c.nextTimestamp()
			inv := &wire.GroupUpdateInviteMessage{
				GroupSessionId: proto.String(id.String()), Name: proto.String(name), MemberAuthData: auth,
				AdminSignature: ed25519.Sign(secret, []byte(sigInvite+m.String()+strconv.FormatInt(ts, 10))),
			}
			dm := &wire.DataMessage{GroupUpdateMessage: &wire.GroupUpdateMessage{InviteMessage: inv}}
			if err := c.decorate(ctx, tx, dm); err != nil {
				return err
			}
			if err := c.queue(ctx, tx, m, &wire.Content{DataMessage: dm}, ts, ts+ContentTTL.Milliseconds(), 0, store.OutboxControl); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	og.mu.Lock()
	for _, m := range members {
		if mm, ok := og.g.Members.Get(m); ok {
			mm.SetInviteSent()
			err = errors.Join(err, og.g.Members.Set(mm))
		}
	}
	og.mu.Unlock()
	kick(c.kickOutbox)
	return errors.Join(err, c.pushGroup(ctx, og, nil))
}

// Invite adds members to the group (admins). They get the keys of the
// group's history (a supplemental key message) and an invitation; the
// group is told with a member change message.
func (c *Client) Invite(ctx context.Context, id key.SessionID, members []key.SessionID) error {
	og, err := c.group(id)
	if err != nil {
		return err
	}
	if _, err := og.adminKey(); err != nil {
		return err
	}
	if err := checkMembers(members, c.self); err != nil {
		return err
	}
	og.mu.Lock()
	for _, m := range members {
		mm := og.g.Members.GetOrNew(m)
		mm.Removed = groups.NotRemoved
		mm.Supplement = true
		if err == nil {
			err = og.g.Members.Set(mm)
		}
	}
	var keyMsg []byte
	if err == nil {
		keyMsg, err = og.g.Keys.Supplement(members)
	}
	og.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.pushGroup(ctx, og, keyMsg); err != nil {
		return err
	}
	if err := c.sendInvites(ctx, og, members); err != nil {
		return err
	}
	return c.sendMemberChange(ctx, og, wire.GroupUpdateMemberChangeMessage_ADDED, members, true)
}

// sendMemberChange tells the group that members were added, removed or
// promoted.
func (c *Client) sendMemberChange(ctx context.Context, og *openGroup, typ wire.GroupUpdateMemberChangeMessage_Type, members []key.SessionID, history bool) error {
	secret, err := og.adminKey()
	if err != nil {
		return err
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.String()
	}
	return c.sendGroupUpdate(ctx, og.row.ID, func(ts int64) *wire.GroupUpdateMessage {
		mc := &wire.GroupUpdateMemberChangeMessage{
			Type: typ.Enum(), MemberSessionIds: ids,
			AdminSignature: ed25519.Sign(secret, []byte(sigMemberChange+strconv.Itoa(int(typ))+strconv.FormatInt(ts, 10))),
		}
		if history {
			mc.HistoryShared = proto.Bool(true)
		}
		return &wire.GroupUpdateMessage{MemberChangeMessage: mc}
	})
}

// sendGroupUpdate queues a GroupUpdateMessage (built for the sent
// timestamp) in the group.
func (c *Client) sendGroupUpdate(ctx context.Context, id key.SessionID, build func(ts int64) *wire.GroupUpdateMessage) error {
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		ts := c.nextTimestamp()
		dm := &wire.DataMessage{GroupUpdateMessage: build(ts)}
		return c.queue(ctx, tx, id, &wire.Content{DataMessage: dm}, ts, ts+ContentTTL.Milliseconds(), 0, store.OutboxControl)
	})
	if err == nil {
		kick(c.kickOutbox)
	}
	return err
}

// Remove removes members from the group (admins): the group is rekeyed
// without them, so that they read nothing sent afterwards, their
// subaccounts are revoked, so that they can no longer read or write the
// group's swarm, and the group is told.
func (c *Client) Remove(ctx context.Context, id key.SessionID, members []key.SessionID) error {
	og, err := c.group(id)
	if err != nil {
		return err
	}
	if _, err := og.adminKey(); err != nil {
		return err
	}
	if err := c.removeMembers(ctx, og, members); err != nil {
		return err
	}
	return c.sendMemberChange(ctx, og, wire.GroupUpdateMemberChangeMessage_REMOVED, members, false)
}

func (c *Client) removeMembers(ctx context.Context, og *openGroup, members []key.SessionID) error {
	var tokens []storagerpc.SubaccountToken
	og.mu.Lock()
	var err error
	for _, m := range members {
		if m == c.self {
			err = errors.New("client: an admin leaves a group with Leave")
			break
		}
		if _, err = og.g.Members.Erase(m); err != nil {
			break
		}
		var tok []byte
		if tok, err = og.g.Keys.SubaccountToken(m, true, false); err != nil {
			break
		}
		if len(tok) != storagerpc.SubaccountTokenSize {
			err = errors.New("client: subaccount token has the wrong size")
			break
		}
		tokens = append(tokens, storagerpc.SubaccountToken(tok))
	}
	var keyMsg []byte
	if err == nil {
		keyMsg, err = og.g.Rekey()
	}
	og.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.pushGroup(ctx, og, keyMsg); err != nil {
		return err
	}
	if err := c.groupSwarmOf(og).revoke(ctx, tokens); err != nil {
		return fmt.Errorf("client: revoke subaccounts: %w", err)
	}
	if err := c.storeKickNotice(ctx, og, members); err != nil {
		return err
	}
	c.emit(Event{Kind: EventGroup, Conversation: og.row.ID})
	return nil
}

// storeKickNotice leaves the removed members a notice in namespace −11,
// which their revoked subaccounts can still read; it is how Session's
// clients learn they were removed (Sotto's learn it from the revocation
// too).
func (c *Client) storeKickNotice(ctx context.Context, og *openGroup, members []key.SessionID) error {
	secret, err := og.adminKey()
	if err != nil {
		return err
	}
	og.mu.Lock()
	gen, _ := og.g.Keys.Generation()
	og.mu.Unlock()
	notice, err := groups.KickNotice(secret, members, gen, crand.Reader)
	if err != nil {
		return fmt.Errorf("client: kick notice: %w", err)
	}
	ts := c.nowMillis()
	if _, err := c.groupSwarmOf(og).store(ctx, storagerpc.NamespaceRevokedRetrievable, notice, ts, ts+ContentTTL.Milliseconds()); err != nil {
		return fmt.Errorf("client: store kick notice: %w", err)
	}
	return nil
}

// Promote makes member an admin: it gets the group's key in a
// GroupUpdatePromoteMessage, and the group is told.
func (c *Client) Promote(ctx context.Context, id key.SessionID, member key.SessionID) error {
	og, err := c.group(id)
	if err != nil {
		return err
	}
	secret, err := og.adminKey()
	if err != nil {
		return err
	}
	og.mu.Lock()
	m, ok := og.g.Members.Get(member)
	if ok {
		m.SetPromoted()
		m.SetPromotionSent()
		err = og.g.Members.Set(m)
	}
	name := og.g.Info.Name()
	og.mu.Unlock()
	if !ok {
		return fmt.Errorf("client: %s is not a member of the group", member)
	}
	if err != nil {
		return err
	}
	if err := c.pushGroup(ctx, og, nil); err != nil {
		return err
	}
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		ts := c.nextTimestamp()
		pm := &wire.GroupUpdatePromoteMessage{GroupIdentitySeed: secret.Seed(), Name: proto.String(name)}
		dm := &wire.DataMessage{GroupUpdateMessage: &wire.GroupUpdateMessage{PromoteMessage: pm}}
		return c.queue(ctx, tx, member, &wire.Content{DataMessage: dm}, ts, ts+ContentTTL.Milliseconds(), 0, store.OutboxControl)
	})
	if err != nil {
		return err
	}
	kick(c.kickOutbox)
	return c.sendMemberChange(ctx, og, wire.GroupUpdateMemberChangeMessage_PROMOTED, []key.SessionID{member}, false)
}

// Leave leaves the group: the group is told (an admin then removes us),
// the group stops being polled and leaves the user-groups object. Its
// history stays until the conversation is deleted.
func (c *Client) Leave(ctx context.Context, id key.SessionID) error {
	og, err := c.group(id)
	if err != nil {
		return err
	}
	if c.net == nil {
		return ErrNoNetwork
	}
	ts := c.nextTimestamp()
	data, err := c.encodeGroup(og, &wire.Content{DataMessage: &wire.DataMessage{
		GroupUpdateMessage: &wire.GroupUpdateMessage{MemberLeftMessage: &wire.GroupUpdateMemberLeftMessage{}},
	}}, ts)
	if err != nil {
		return err
	}
	if _, err := c.groupSwarmOf(og).store(ctx, storagerpc.NamespaceGroupMessages, data, ts, ts+ContentTTL.Milliseconds()); err != nil {
		return err
	}
	return c.endGroup(ctx, og, store.GroupLeft)
}

// endGroup closes a group the user is no longer in. The caller is often
// the group's own poll loop, whose context the close cancels: the end is
// recorded first, and on a context the close does not cancel (an
// interrupted write left a closed group marked joined until a restart).
func (c *Client) endGroup(ctx context.Context, og *openGroup, st store.GroupState) error {
	ctx = context.WithoutCancel(ctx)
	if err := c.db.SetGroupState(ctx, og.row.ID, st, c.nowMillis()); err != nil {
		return err
	}
	c.closeGroup(og.row.ID)
	og.mu.Lock()
	og.row.State = st
	row := *og.row
	og.mu.Unlock()
	c.setUserGroup(ctx, &row, true)
	c.emit(Event{Kind: EventGroup, Conversation: row.ID})
	return nil
}

// Rename sets the group's name (admins).
func (c *Client) Rename(ctx context.Context, id key.SessionID, name string) error {
	return c.changeInfo(ctx, id, wire.GroupUpdateInfoChangeMessage_NAME, func(info *groups.Info) error { return info.SetName(name) },
		func(m *wire.GroupUpdateInfoChangeMessage) { m.UpdatedName = proto.String(name) })
}

// Describe sets the group's description (admins). No message tells the
// group: Session has no info change type for it.
func (c *Client) Describe(ctx context.Context, id key.SessionID, desc string) error {
	return c.changeInfo(ctx, id, 0, func(info *groups.Info) error { return info.SetDescription(desc) }, nil)
}

// SetGroupPicture sets the group's picture (admins): the URL of an
// uploaded encrypted image and its 32-byte key, or "" to remove it.
func (c *Client) SetGroupPicture(ctx context.Context, id key.SessionID, url string, picKey []byte) error {
	return c.changeInfo(ctx, id, wire.GroupUpdateInfoChangeMessage_AVATAR,
		func(info *groups.Info) error { return info.SetPic(config.ProfilePic{URL: url, Key: picKey}) }, nil)
}

// setGroupTimer sets the group's disappearing timer (admins; Session's
// groups only delete after send).
func (c *Client) setGroupTimer(ctx context.Context, id key.SessionID, timer time.Duration) error {
	secs := uint32(timer / time.Second)
	err := c.changeInfo(ctx, id, wire.GroupUpdateInfoChangeMessage_DISAPPEARING_MESSAGES,
		func(info *groups.Info) error { return info.SetExpiryTimer(timer) },
		func(m *wire.GroupUpdateInfoChangeMessage) { m.UpdatedExpiration = proto.Uint32(secs) })
	if err != nil {
		return err
	}
	mode := store.ExpiryAfterSend
	if secs == 0 {
		mode = store.ExpiryOff
	}
	if err := c.db.SetDisappearing(ctx, id, mode, secs, c.nowMillis()); err != nil {
		return err
	}
	c.emit(Event{Kind: EventDisappearing, Conversation: id, Mode: mode, Timer: secs})
	return nil
}

// changeInfo changes the group's info with set, stores it, and (typ not
// 0) tells the group with an info change message that fill completes.
func (c *Client) changeInfo(ctx context.Context, id key.SessionID, typ wire.GroupUpdateInfoChangeMessage_Type,
	set func(*groups.Info) error, fill func(*wire.GroupUpdateInfoChangeMessage)) error {
	og, err := c.group(id)
	if err != nil {
		return err
	}
	secret, err := og.adminKey()
	if err != nil {
		return err
	}
	og.mu.Lock()
	err = set(og.g.Info)
	og.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.pushGroup(ctx, og, nil); err != nil {
		return err
	}
	c.emit(Event{Kind: EventGroup, Conversation: id})
	if typ == 0 {
		return nil
	}
	return c.sendGroupUpdate(ctx, id, func(ts int64) *wire.GroupUpdateMessage {
		m := &wire.GroupUpdateInfoChangeMessage{
			Type:           typ.Enum(),
			AdminSignature: ed25519.Sign(secret, []byte(sigInfoChange+strconv.Itoa(int(typ))+strconv.FormatInt(ts, 10))),
		}
		if fill != nil {
			fill(m)
		}
		return &wire.GroupUpdateMessage{InfoChangeMessage: m}
	})
}

// Disband destroys the group (admins): its info is marked destroyed,
// which every member's client sees, and its messages are deleted from
// its swarm.
func (c *Client) Disband(ctx context.Context, id key.SessionID) error {
	og, err := c.group(id)
	if err != nil {
		return err
	}
	if _, err := og.adminKey(); err != nil {
		return err
	}
	og.mu.Lock()
	err = og.g.Info.Destroy()
	og.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.pushGroup(ctx, og, nil); err != nil {
		return err
	}
	sw := c.groupSwarmOf(og)
	if err := sw.deleteAll(ctx, storagerpc.OneNamespace(storagerpc.NamespaceGroupMessages)); err != nil {
		return fmt.Errorf("client: delete the group's messages: %w", err)
	}
	return c.endGroup(ctx, og, store.GroupDestroyed)
}

// GroupInfo is what Group reports about a group.
type GroupInfo struct {
	ID          key.SessionID
	State       store.GroupState
	Admin       bool
	Info        groups.InfoFields
	Members     []GroupMember
	Name        string // the info's name, or the invitation's
	Inviter     key.SessionID
	KeyGen      int64
	HaveKeys    bool
	Description string
}

// Group describes a group the user is in, was invited to, or left.
func (c *Client) Group(ctx context.Context, id key.SessionID) (*GroupInfo, error) {
	if id.Prefix() != key.PrefixGroup {
		return nil, ErrNoGroup
	}
	row, err := c.db.Group(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoGroup
	}
	if err != nil {
		return nil, err
	}
	gi := &GroupInfo{ID: id, State: row.State, Admin: row.Admin(), Name: row.Name, Inviter: row.Inviter}
	if og, err := c.group(id); err == nil {
		og.mu.Lock()
		gi.Info = og.g.Info.Fields()
		gi.Members = og.g.Members.All()
		gi.KeyGen, gi.HaveKeys = og.g.Keys.Generation()
		gi.Admin = len(og.row.Secret) == ed25519.PrivateKeySize
		og.mu.Unlock()
		if gi.Info.Name != "" {
			gi.Name = gi.Info.Name
		}
		gi.Description = gi.Info.Description
	}
	return gi, nil
}

// Groups lists the groups of the local database.
func (c *Client) Groups(ctx context.Context) ([]*store.Group, error) { return c.db.Groups(ctx) }

// UploadGroupPicture encrypts the image at path with a fresh key, uploads
// it and makes it the group's picture (admins).
func (c *Client) UploadGroupPicture(ctx context.Context, id key.SessionID, path string) error {
	if c.net == nil {
		return ErrNoNetwork
	}
	og, err := c.group(id)
	if err != nil {
		return err
	}
	if _, err := og.adminKey(); err != nil {
		return err
	}
	var seed attachment.Seed
	if _, err := crand.Read(seed[:]); err != nil {
		return err
	}
	defer seed.Wipe()
	up, err := c.uploadPicture(ctx, path, &seed)
	if err != nil {
		return err
	}
	defer up.key.Wipe()
	return c.SetGroupPicture(ctx, id, up.url, up.key[:])
}

// Members lists the members of a group the user is in, ordered by ID.
func (c *Client) Members(_ context.Context, id key.SessionID) ([]GroupMember, error) {
	og, err := c.group(id)
	if err != nil {
		return nil, err
	}
	og.mu.Lock()
	defer og.mu.Unlock()
	return og.g.Members.All(), nil
}

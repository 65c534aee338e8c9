package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/config/groups"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

// Group messages (session-protocol.md §6.3): a Content, serialized
// without padding, goes in an Envelope{CLOSED_GROUP_MESSAGE} that the
// group's current key encrypts (Keys.EncryptMessage: signed by the
// sender, compressed when that helps, padded to 256 bytes) and that is
// stored in namespace 11 of the group's swarm. Invitations and promotions
// are 1:1 messages (GroupUpdateInviteMessage, GroupUpdatePromoteMessage).

// groupPadding is the padding multiple of group messages (libsession
// encrypt_message's default).
const groupPadding = 256

// encodeGroup seals content, sent at sentAt, for the group.
func (c *Client) encodeGroup(og *openGroup, content *wire.Content, sentAt int64) ([]byte, error) {
	body, err := proto.Marshal(content)
	if err != nil {
		return nil, err
	}
	env, err := proto.Marshal(&wire.Envelope{
		Type: wire.Envelope_CLOSED_GROUP_MESSAGE.Enum(), SourceDevice: proto.Uint32(1),
		Timestamp: proto.Uint64(uint64(sentAt)), Content: body,
	})
	if err != nil {
		return nil, err
	}
	// Not under og.mu: a send encodes inside its database transaction,
	// and og.mu is held while a group's dumps are written (saveGroupLocked),
	// which waits for that transaction; Keys is safe for concurrent use
	// and og.g never changes.
	return og.g.Keys.EncryptMessage(env, true, groupPadding)
}

// decodedGroup is a group message decrypted outside the transaction that
// applies it.
type decodedGroup struct {
	msg     *storagerpc.RetrievedMessage
	sender  key.SessionID
	sentAt  int64
	content *wire.Content
	err     error
	expires int64
	retry   bool // seen already: it waited for its key (openGroup.later)
	wait    bool // no key opens it yet: it starts waiting (openGroup.later)
}

// decodeGroup opens a group message: decrypt (og.mu held), then the
// Envelope and its Content.
func decodeGroup(og *openGroup, data []byte) (key.SessionID, int64, *wire.Content, error) {
	sender, plain, err := og.g.Keys.DecryptMessage(data)
	if err != nil {
		return key.SessionID{}, 0, nil, err
	}
	var env wire.Envelope
	if err := proto.Unmarshal(plain, &env); err != nil {
		return key.SessionID{}, 0, nil, fmt.Errorf("client: group message envelope: %w", err)
	}
	if env.GetType() != wire.Envelope_CLOSED_GROUP_MESSAGE || env.GetTimestamp() > math.MaxInt64 {
		return key.SessionID{}, 0, nil, errors.New("client: group message envelope is not a closed group message")
	}
	var content wire.Content
	if err := proto.Unmarshal(env.GetContent(), &content); err != nil {
		return key.SessionID{}, 0, nil, fmt.Errorf("client: group message content: %w", err)
	}
	return sender, int64(env.GetTimestamp()), &content, nil
}

// storeGroupMessage stores an outbox item (a sealed group message) in
// namespace 11 of the group's swarm.
func (c *Client) storeGroupMessage(ctx context.Context, it *store.OutboxItem) (string, error) {
	og, err := c.group(it.Account)
	if err != nil {
		return "", err
	}
	return c.groupSwarmOf(og).store(ctx, storagerpc.NamespaceGroupMessages, it.Data, it.Timestamp, it.Expiry)
}

// groupBatch collects what one group retrieve calls for once its
// messages are applied: work on the group's objects and network work that
// cannot run inside the transaction.
type groupBatch struct {
	accepted []key.SessionID // members who accepted their invitation
	left     []key.SessionID // members who left
	deleted  []string        // messages their authors deleted, to delete from the swarm (admins)
}

// applyGroup dispatches a message of group gid from sender.
func (c *Client) applyGroup(ctx context.Context, tx *store.Tx, gid key.SessionID, d *decodedGroup, admin bool, b *groupBatch) ([]Event, error) {
	content := d.content
	if dm := content.DataMessage; dm != nil && dm.GroupUpdateMessage != nil {
		return c.applyGroupUpdate(ctx, tx, gid, d, admin, b)
	}
	switch {
	case content.DataMessage != nil:
		if d.sender != c.self {
			if ct, err := tx.Contact(ctx, d.sender); err == nil && ct.Blocked {
				return nil, nil
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		return c.applyData(ctx, tx, gid, d.sender, content, d.sentAt, d.msg.Hash)
	case content.UnsendRequest != nil:
		u := content.UnsendRequest
		if u.GetAuthor() != d.sender.String() || u.GetTimestamp() > math.MaxInt64 {
			return nil, nil
		}
		m, err := tx.FindMessage(ctx, gid, store.Ref{Author: d.sender, SentAt: int64(u.GetTimestamp())})
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return c.unsendLocal(ctx, tx, m)
	}
	return nil, nil
}

// applyGroupUpdate handles a GroupUpdateMessage that came through the
// group.
func (c *Client) applyGroupUpdate(ctx context.Context, tx *store.Tx, gid key.SessionID, d *decodedGroup, admin bool, b *groupBatch) ([]Event, error) {
	u := d.content.DataMessage.GroupUpdateMessage
	ts := strconv.FormatInt(d.sentAt, 10)
	pub := gid.Key()
	signedByAdmin := func(sig []byte, msg string) bool {
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(ed25519.PublicKey(pub[:]), []byte(msg), sig)
	}
	switch {
	case u.InviteResponse != nil:
		if u.InviteResponse.GetIsApproved() && admin {
			b.accepted = append(b.accepted, d.sender)
		}
		return []Event{{Kind: EventGroup, Conversation: gid}}, nil
	case u.MemberLeftMessage != nil:
		if admin && d.sender != c.self {
			b.left = append(b.left, d.sender)
		}
		return []Event{{Kind: EventGroup, Conversation: gid}}, nil
	case u.MemberChangeMessage != nil:
		mc := u.MemberChangeMessage
		if !signedByAdmin(mc.AdminSignature, sigMemberChange+strconv.Itoa(int(mc.GetType()))+ts) {
			return nil, nil
		}
		return []Event{{Kind: EventGroup, Conversation: gid}}, nil
	case u.InfoChangeMessage != nil:
		ic := u.InfoChangeMessage
		if !signedByAdmin(ic.AdminSignature, sigInfoChange+strconv.Itoa(int(ic.GetType()))+ts) {
			return nil, nil
		}
		return []Event{{Kind: EventGroup, Conversation: gid}}, nil
	case u.DeleteMemberContent != nil:
		dc := u.DeleteMemberContent
		msg := sigDelete + ts
		for _, m := range dc.MemberSessionIds {
			msg += m
		}
		for _, h := range dc.MessageHashes {
			msg += h
		}
		byAdmin := dc.AdminSignature != nil && signedByAdmin(dc.AdminSignature, msg)
		var evs []Event
		for _, h := range dc.MessageHashes {
			if !storagerpc.ValidMessageHash(h) {
				continue
			}
			m, err := tx.FindByHash(ctx, gid, h)
			if errors.Is(err, store.ErrNotFound) {
				if byAdmin {
					// Not here yet: an admin's delete keeps it out when
					// it comes.
					if _, err := tx.MarkSeen(ctx, h, c.nowMillis()+ContentTTL.Milliseconds()); err != nil {
						return nil, err
					}
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			if !byAdmin && m.Author != d.sender {
				continue
			}
			if admin {
				b.deleted = append(b.deleted, h)
			}
			ev, err := c.unsendLocal(ctx, tx, m)
			if err != nil {
				return nil, err
			}
			evs = append(evs, ev...)
		}
		return evs, nil
	}
	return nil, nil
}

// unsendLocal blanks m here.
func (c *Client) unsendLocal(ctx context.Context, tx *store.Tx, m *store.Message) ([]Event, error) {
	if m.Unsent {
		return nil, nil
	}
	if err := tx.MarkUnsent(ctx, m.ID); err != nil {
		return nil, err
	}
	if _, err := tx.RemoveOutboxFor(ctx, m.ID); err != nil {
		return nil, err
	}
	m, err := tx.Message(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	return []Event{{Kind: EventUnsent, Conversation: m.Conversation, Message: m}}, nil
}

// unsendGroup withdraws one of our messages from a group: the group gets
// a GroupUpdateDeleteMemberContentMessage naming its hash (as Session's
// clients send), and an admin also deletes it from the group's swarm.
func (c *Client) unsendGroup(ctx context.Context, gid key.SessionID, msgID int64) (*store.Message, error) {
	og, err := c.group(gid)
	if err != nil {
		return nil, err
	}
	secret, _ := og.adminKey()
	var out *store.Message
	var hash string
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		m, err := c.ownMessage(ctx, tx, gid, msgID)
		if err != nil {
			return err
		}
		if m.Unsent {
			out = m
			return nil
		}
		hash = m.ServerHash
		if hash == "" {
			hash = m.SyncHash
		}
		if hash == "" {
			// Not known as stored yet: it may be in a store right now. Its
			// hash is that of its sealed bytes in the outbox.
			items, err := tx.OutboxFor(ctx, m.ID)
			if err != nil {
				return err
			}
			for _, it := range items {
				if it.Account == gid {
					hash = storagerpc.MessageHash(storagerpc.AccountFromSessionID(gid), storagerpc.NamespaceGroupMessages, it.Data)
				}
			}
		}
		if _, err := c.unsendLocal(ctx, tx, m); err != nil {
			return err
		}
		if hash != "" {
			ts := c.nextTimestamp()
			dc := &wire.GroupUpdateDeleteMemberContentMessage{MessageHashes: []string{hash}}
			if secret != nil {
				dc.AdminSignature = ed25519.Sign(secret, []byte(sigDelete+strconv.FormatInt(ts, 10)+hash))
			}
			dm := &wire.DataMessage{GroupUpdateMessage: &wire.GroupUpdateMessage{DeleteMemberContent: dc}}
			if err := c.queue(ctx, tx, gid, &wire.Content{DataMessage: dm}, ts, ts+ContentTTL.Milliseconds(), 0, store.OutboxControl); err != nil {
				return err
			}
		}
		out, err = tx.Message(ctx, m.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.emit(Event{Kind: EventUnsent, Conversation: gid, Message: out})
	kick(c.kickOutbox)
	if secret != nil && hash != "" && c.net != nil {
		if err := c.groupSwarmOf(og).remove(ctx, []string{hash}); err != nil {
			c.log.Debug("group: delete an unsent message", "error", err)
		}
	}
	return out, nil
}

// ---- 1:1 group messages: invitations and promotions ----

// applyGroupInvitation handles a GroupUpdateMessage that came in a 1:1
// message from sender: an invitation (kept as a request until the user
// accepts or declines) or a promotion (the group's key).
func (c *Client) applyGroupInvitation(ctx context.Context, tx *store.Tx, sender key.SessionID, u *wire.GroupUpdateMessage, sentAt int64, after *[]func()) ([]Event, error) {
	now := c.nowMillis()
	switch {
	case u.InviteMessage != nil:
		inv := u.InviteMessage
		gid, err := key.ParseSessionID(inv.GetGroupSessionId())
		if err != nil || gid.Prefix() != key.PrefixGroup {
			return nil, nil
		}
		pub := gid.Key()
		msg := sigInvite + c.self.String() + strconv.FormatInt(sentAt, 10)
		if len(inv.AdminSignature) != ed25519.SignatureSize || !ed25519.Verify(ed25519.PublicKey(pub[:]), []byte(msg), inv.AdminSignature) {
			return nil, nil
		}
		// The auth data must be the group's grant to us: a subaccount
		// that opens the group's swarm.
		if !groups.VerifySubaccount(ed25519.PublicKey(pub[:]), c.keys.Ed25519Private(), inv.MemberAuthData, false, false) {
			return nil, nil
		}
		row, err := tx.Group(ctx, gid)
		switch {
		case errors.Is(err, store.ErrNotFound):
			row = &store.Group{ID: gid}
		case err != nil:
			return nil, err
		case row.State == store.GroupJoined:
			// Invited again while in the group (after a removal undone,
			// say): the newer auth data replaces the old.
			if !bytes.Equal(row.AuthData, inv.MemberAuthData) && !row.Admin() {
				row.AuthData = inv.MemberAuthData
				row.UpdatedAt = now
				*after = append(*after, func() { c.reopenGroup(ctx, gid) })
				return nil, tx.SaveGroup(ctx, row)
			}
			return nil, nil
		}
		row.Name, row.AuthData, row.State, row.Inviter, row.InvitedAt, row.UpdatedAt = inv.GetName(), inv.MemberAuthData, store.GroupInvited, sender, sentAt, now
		if err := tx.SaveGroup(ctx, row); err != nil {
			return nil, err
		}
		if err := tx.AddRequest(ctx, gid, now); err != nil {
			return nil, err
		}
		return []Event{{Kind: EventRequest, Conversation: gid}}, nil
	case u.PromoteMessage != nil:
		seed := u.PromoteMessage.GroupIdentitySeed
		if len(seed) != ed25519.SeedSize {
			return nil, nil
		}
		sk := ed25519.NewKeyFromSeed(seed)
		gid := key.NewSessionID(key.PrefixGroup, [32]byte(sk[32:]))
		row, err := tx.Group(ctx, gid)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil || row.Admin() {
			return nil, err
		}
		row.Secret, row.UpdatedAt = sk, now
		if err := tx.SaveGroup(ctx, row); err != nil {
			return nil, err
		}
		if row.State == store.GroupJoined {
			*after = append(*after, func() { c.becomeAdmin(ctx, gid, sk) })
		}
		return []Event{{Kind: EventGroup, Conversation: gid}}, nil
	}
	return nil, nil
}

// becomeAdmin loads the group key we were promoted with.
func (c *Client) becomeAdmin(ctx context.Context, gid key.SessionID, sk ed25519.PrivateKey) {
	og, row, err := c.loadAdminKey(ctx, gid, sk)
	if err != nil {
		c.log.Warn("group: load the admin key", "error", err)
		return
	}
	if og == nil {
		return
	}
	c.setUserGroup(ctx, row, false)
	if c.net != nil {
		if err := c.pushGroup(ctx, og, nil); err != nil {
			c.log.Debug("group: push after promotion", "error", err)
		}
	}
}

// loadAdminKey gives the open group gid its admin key (nil, nil, nil
// when gid is not open).
func (c *Client) loadAdminKey(ctx context.Context, gid key.SessionID, sk ed25519.PrivateKey) (*openGroup, *store.Group, error) {
	og, err := c.group(gid)
	if err != nil {
		return nil, nil, nil
	}
	og.mu.Lock()
	err = og.g.LoadAdminKey(sk)
	if err == nil {
		og.row.Secret = sk
		if m, ok := og.g.Members.Get(c.self); ok {
			m.Admin = true
			m.SetPromotionAccepted()
			err = og.g.Members.Set(m)
		}
	}
	if err == nil {
		err = c.saveGroupLocked(ctx, og)
	}
	// The row is saved whole (with the secret): with the objects' dumps
	// as they are now, not as they were when the group was opened.
	og.row.KeysDump, og.row.InfoDump, og.row.MembersDump = og.g.Keys.Dump(), og.g.Info.Dump(), og.g.Members.Dump()
	row := *og.row
	og.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	return og, &row, c.db.SaveGroup(ctx, &row)
}

// reopenGroup reopens a joined group whose row changed.
func (c *Client) reopenGroup(ctx context.Context, gid key.SessionID) {
	row, err := c.db.Group(ctx, gid)
	if err != nil || row.State != store.GroupJoined {
		return
	}
	if _, err := c.openGroupRow(row); err != nil {
		c.log.Warn("group: reopen", "error", err)
	}
}

// AcceptInvite joins a group we were invited to: the group is polled from
// now on, listed in the user-groups object, and its admins get an
// invitation response.
func (c *Client) AcceptInvite(ctx context.Context, gid key.SessionID) error {
	row, err := c.db.Group(ctx, gid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.State != store.GroupInvited) {
		return ErrNoInvite
	}
	if err != nil {
		return err
	}
	now := c.nowMillis()
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.RemoveRequest(ctx, gid); err != nil {
			return err
		}
		if err := tx.SetGroupState(ctx, gid, store.GroupJoined, now); err != nil {
			return err
		}
		return tx.EnsureConversation(ctx, gid, now)
	})
	if err != nil {
		return err
	}
	row.State, row.JoinedAt = store.GroupJoined, now
	og, err := c.openGroupRow(row)
	if err != nil {
		return err
	}
	c.setUserGroup(ctx, row, false)
	c.emit(Event{Kind: EventGroup, Conversation: gid})
	if c.net == nil {
		return nil
	}
	// The response is encrypted with the group's key: fetch the keys
	// first.
	if _, err := c.pollGroup(ctx, og, nil, 0); err != nil {
		return err
	}
	return c.sendGroupUpdate(ctx, gid, func(int64) *wire.GroupUpdateMessage {
		return &wire.GroupUpdateMessage{InviteResponse: &wire.GroupUpdateInviteResponseMessage{IsApproved: proto.Bool(true)}}
	})
}

// DeclineInvite forgets an invitation.
func (c *Client) DeclineInvite(ctx context.Context, gid key.SessionID) error {
	row, err := c.db.Group(ctx, gid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.State != store.GroupInvited) {
		return ErrNoInvite
	}
	if err != nil {
		return err
	}
	return c.db.Update(ctx, func(tx *store.Tx) error { return tx.DeleteGroup(ctx, gid) })
}

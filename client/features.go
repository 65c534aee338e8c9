package client

import (
	"context"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
	"sotto.dev/storagerpc"
	"sotto.dev/wire"
)

// Bounds of a disappearing timer: a stored message lives at least
// storagerpc.MinTTL and at most the public inbox maximum.
const (
	MinDisappearTimer = storagerpc.MinTTL
	MaxDisappearTimer = storagerpc.MaxTTLPublic
)

// MaxProfileNameLen bounds a display name (in bytes).
const MaxProfileNameLen = 100

// MarkRead marks every incoming message of the conversation with peer as
// read: messages that disappear after being read start their timer (here
// and, through expire, on our swarm), and peer gets a read receipt if we
// accepted them and read receipts are on. It returns the messages marked.
func (c *Client) MarkRead(ctx context.Context, peer key.SessionID) ([]*store.Message, error) {
	defer c.lockChange()()
	now := c.nowMillis()
	receipts, err := boolSetting(ctx, c.db, settingReadReceipts, true)
	if err != nil {
		return nil, err
	}
	var read []*store.Message
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		read, err = tx.MarkRead(ctx, peer, math.MaxInt64, now)
		if err != nil || len(read) == 0 {
			return err
		}
		if err := tx.SetReadUpTo(ctx, peer, read[len(read)-1].SentAt); err != nil {
			return err
		}
		byExpiry := map[int64][]string{}
		var ts []int64
		for _, m := range read {
			if m.Unsent {
				continue
			}
			ts = append(ts, m.SentAt)
			if m.ExpiryMode == store.ExpiryAfterRead && m.ServerHash != "" {
				byExpiry[m.ExpiresAt] = append(byExpiry[m.ExpiresAt], m.ServerHash)
			}
		}
		for exp, hashes := range byExpiry {
			if err := c.queueSwarmOp(ctx, tx, store.OutboxExpire, hashes, exp); err != nil {
				return err
			}
		}
		if !receipts || peer == c.self || len(ts) == 0 {
			return nil
		}
		contact, err := tx.Contact(ctx, peer)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!contact.Approved || contact.Blocked)) {
			return nil
		}
		if err != nil {
			return err
		}
		return c.queueReceipt(ctx, tx, peer, wire.ReceiptMessage_READ, ts)
	})
	if err != nil {
		return nil, err
	}
	if len(read) > 0 {
		kick(c.kickOutbox)
		kick(c.kickExpiry)
		var upTo int64
		for _, m := range read {
			upTo = max(upTo, m.SentAt)
		}
		c.configWarn(c.syncRead(ctx, peer, upTo))
	}
	return read, nil
}

// SendTyping tells peer that we started or stopped typing. Typing
// indicators are not queued: one that cannot be stored now is dropped.
func (c *Client) SendTyping(ctx context.Context, peer key.SessionID, started bool) error {
	if c.net == nil {
		return ErrNoNetwork
	}
	if peer.Prefix() != key.PrefixStandard {
		return ErrBadRecipient
	}
	action := wire.TypingMessage_STOPPED
	if started {
		action = wire.TypingMessage_STARTED
	}
	ts := c.nextTimestamp()
	content := &wire.Content{
		TypingMessage: &wire.TypingMessage{Timestamp: proto.Uint64(uint64(ts)), Action: action.Enum()},
		SigTimestamp:  proto.Uint64(uint64(ts)),
	}
	data, err := sessionproto.EncodeMessage(c.keys, peer, content, uint64(ts))
	if err != nil {
		return err
	}
	_, err = c.storeData(ctx, peer, data, ts, ts+TypingTTL.Milliseconds())
	return err
}

// Unsend withdraws one of our messages: peer (and our other devices) get
// an UnsendRequest, our copy in our own swarm is deleted, and the message
// is blanked here. Copies in peer's swarm are peer's to delete, which its
// client does when it gets the request.
func (c *Client) Unsend(ctx context.Context, peer key.SessionID, msgID int64) (*store.Message, error) {
	if peer.Prefix() == key.PrefixGroup {
		return c.unsendGroup(ctx, peer, msgID)
	}
	var out *store.Message
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		m, err := c.ownMessage(ctx, tx, peer, msgID)
		if err != nil {
			return err
		}
		if m.Unsent {
			out = m
			return nil
		}
		if _, err := tx.RemoveOutboxFor(ctx, m.ID); err != nil {
			return err
		}
		if err := tx.MarkUnsent(ctx, m.ID); err != nil {
			return err
		}
		req := &wire.UnsendRequest{Timestamp: proto.Uint64(uint64(m.SentAt)), Author: proto.String(c.self.String())}
		ts := c.nextTimestamp()
		expiry := ts + ContentTTL.Milliseconds()
		if err := c.queue(ctx, tx, peer, &wire.Content{UnsendRequest: req}, ts, expiry, 0, store.OutboxControl); err != nil {
			return err
		}
		if peer != c.self {
			if err := c.queueOwnUnsend(ctx, tx, &wire.Content{UnsendRequest: proto.Clone(req).(*wire.UnsendRequest)}, ts, expiry); err != nil {
				return err
			}
		}
		if h := m.SyncHash; h != "" {
			if err := c.queueSwarmOp(ctx, tx, store.OutboxDelete, []string{h}, 0); err != nil {
				return err
			}
		}
		out, err = tx.Message(ctx, m.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.emit(Event{Kind: EventUnsent, Conversation: peer, Message: out})
	kick(c.kickOutbox)
	return out, nil
}

// ownMessage returns message msgID of conversation conv if the user
// wrote it: ErrNoMessage or ErrNotOurs otherwise.
func (c *Client) ownMessage(ctx context.Context, tx *store.Tx, conv key.SessionID, msgID int64) (*store.Message, error) {
	m, err := tx.Message(ctx, msgID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.Conversation != conv) {
		return nil, ErrNoMessage
	}
	if err != nil {
		return nil, err
	}
	if m.Author != c.self {
		return nil, ErrNotOurs
	}
	return m, nil
}

// React adds (or with remove, removes) our emoji reaction to message
// msgID of the conversation with peer.
func (c *Client) React(ctx context.Context, peer key.SessionID, msgID int64, emoji string, remove bool) (*store.Message, error) {
	emoji = strings.TrimSpace(emoji)
	if emoji == "" || utf8.RuneCountInString(emoji) > 8 || !utf8.ValidString(emoji) {
		return nil, errors.New("client: a reaction is one emoji")
	}
	var out *store.Message
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		m, err := tx.Message(ctx, msgID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (m.Conversation != peer || m.Unsent)) {
			return ErrNoMessage
		}
		if err != nil {
			return err
		}
		ts := c.nextTimestamp()
		if _, err := tx.SetReaction(ctx, m.ID, c.self, emoji, !remove, ts); err != nil {
			return err
		}
		action := wire.DataMessage_Reaction_REACT
		if remove {
			action = wire.DataMessage_Reaction_REMOVE
		}
		dm := &wire.DataMessage{Reaction: &wire.DataMessage_Reaction{
			Id: proto.Uint64(uint64(m.SentAt)), Author: proto.String(m.Author.String()),
			Emoji: proto.String(emoji), Action: action.Enum(),
		}}
		if err := c.decorate(ctx, tx, dm); err != nil {
			return err
		}
		expiry := ts + ContentTTL.Milliseconds()
		if err := c.queueWithSync(ctx, tx, peer, &wire.Content{DataMessage: dm}, ts, expiry, 0, 0, store.OutboxControl); err != nil {
			return err
		}
		out, err = tx.Message(ctx, m.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.emit(Event{Kind: EventReaction, Conversation: peer, Message: out})
	kick(c.kickOutbox)
	return out, nil
}

// SetDisappearing sets the disappearing-messages mode of the conversation
// with peer and tells peer (and our other devices) with an expiration
// timer update. Messages sent from now on carry the setting.
func (c *Client) SetDisappearing(ctx context.Context, peer key.SessionID, mode store.ExpiryMode, timer time.Duration) error {
	if peer.Prefix() == key.PrefixGroup {
		// A group's timer is in its info (admins); groups delete after
		// send only.
		switch {
		case mode == store.ExpiryAfterRead:
			return errors.New("client: groups only delete messages after send")
		case mode == store.ExpiryOff:
			timer = 0
		case timer < MinDisappearTimer || timer > MaxDisappearTimer:
			return ErrTimer
		}
		return c.setGroupTimer(ctx, peer, timer)
	}
	defer c.lockChange()()
	if peer.Prefix() != key.PrefixStandard {
		return ErrBadRecipient
	}
	var secs uint32
	if mode != store.ExpiryOff {
		if timer < MinDisappearTimer || timer > MaxDisappearTimer {
			return ErrTimer
		}
		secs = uint32(timer / time.Second)
	}
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		ts := c.nextTimestamp()
		if err := tx.SetDisappearing(ctx, peer, mode, secs, ts); err != nil {
			return err
		}
		dm := &wire.DataMessage{Flags: proto.Uint32(uint32(wire.DataMessage_EXPIRATION_TIMER_UPDATE))}
		if err := c.decorate(ctx, tx, dm); err != nil {
			return err
		}
		content := &wire.Content{DataMessage: dm}
		if mode != store.ExpiryOff {
			content.ExpirationType = wire.Content_ExpirationType(mode).Enum()
		}
		content.ExpirationTimer = proto.Uint32(secs)
		expiry := ts + ContentTTL.Milliseconds()
		return c.queueWithSync(ctx, tx, peer, content, ts, expiry, 0, 0, store.OutboxControl)
	})
	if err != nil {
		return err
	}
	c.emit(Event{Kind: EventDisappearing, Conversation: peer, Mode: mode, Timer: secs})
	kick(c.kickOutbox)
	if peer == c.self {
		c.configWarn(c.syncProfile(ctx, fieldExpiry))
	} else {
		c.configWarn(c.syncContact(ctx, peer, fieldExpiry))
	}
	return nil
}

// Accept takes peer out of the message requests: its messages join the
// inbox and peer gets a MessageRequestResponse.
func (c *Client) Accept(ctx context.Context, peer key.SessionID) error {
	if peer.Prefix() == key.PrefixGroup {
		return c.AcceptInvite(ctx, peer)
	}
	defer c.lockChange()()
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.RemoveRequest(ctx, peer)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoRequest
		}
		if err := tx.SetApproved(ctx, peer, true, c.nowMillis()); err != nil {
			return err
		}
		if err := tx.SetBlocked(ctx, peer, false, c.nowMillis()); err != nil {
			return err
		}
		return c.queueRequestResponse(ctx, tx, peer)
	})
	if err == nil {
		kick(c.kickOutbox)
		kick(c.kickAttach) // their attachments may download now
		c.configWarn(c.syncContact(ctx, peer, fieldApproved, fieldBlocked))
	}
	return err
}

func (c *Client) queueRequestResponse(ctx context.Context, tx *store.Tx, peer key.SessionID) error {
	r := &wire.MessageRequestResponse{IsApproved: proto.Bool(true)}
	if name, ok, err := tx.Setting(ctx, settingProfileName); err != nil {
		return err
	} else if ok && name != "" {
		r.Profile = &wire.LokiProfile{DisplayName: proto.String(name)}
	}
	ts := c.nextTimestamp()
	return c.queue(ctx, tx, peer, &wire.Content{MessageRequestResponse: r}, ts, ts+ContentTTL.Milliseconds(), 0, store.OutboxControl)
}

// Decline deletes the message request from peer and its messages. Later
// messages from peer make a new request (Block stops them).
func (c *Client) Decline(ctx context.Context, peer key.SessionID) error {
	if peer.Prefix() == key.PrefixGroup {
		return c.DeclineInvite(ctx, peer)
	}
	defer c.lockChange()()
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.RemoveRequest(ctx, peer)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoRequest
		}
		return tx.DeleteConversation(ctx, peer)
	})
	if err == nil {
		c.configWarn(c.forgetContact(ctx, peer))
	}
	return err
}

// Block drops everything peer sends from now on (blocked = true) or
// lifts the block.
func (c *Client) Block(ctx context.Context, peer key.SessionID, blocked bool) error {
	defer c.lockChange()()
	if peer.Prefix() != key.PrefixStandard {
		return ErrBadRecipient
	}
	if err := c.db.SetBlocked(ctx, peer, blocked, c.nowMillis()); err != nil {
		return err
	}
	c.configWarn(c.syncContact(ctx, peer, fieldBlocked))
	return nil
}

// SetNickname gives peer a name of our own ("" removes it); it is shown
// instead of their display name, on every device of the account.
func (c *Client) SetNickname(ctx context.Context, peer key.SessionID, name string) error {
	defer c.lockChange()()
	if peer.Prefix() != key.PrefixStandard || peer == c.self {
		return ErrBadRecipient
	}
	name = strings.TrimSpace(name)
	if err := checkName(name); err != nil {
		return err
	}
	if err := c.db.SetNickname(ctx, peer, name, c.nowMillis()); err != nil {
		return err
	}
	c.configWarn(c.syncContact(ctx, peer, fieldNickname))
	return nil
}

// Priorities of a conversation (Session's config priority).
const (
	PriorityHidden int64 = -1
	PriorityNormal int64 = 0
	PriorityPinned int64 = 1
)

// SetPriority pins (PriorityPinned or higher), unpins (PriorityNormal) or
// hides (PriorityHidden) the conversation with peer, on every device of
// the account. Hidden conversations are left out of the inbox.
func (c *Client) SetPriority(ctx context.Context, peer key.SessionID, p int64) error {
	defer c.lockChange()()
	if peer.Prefix() != key.PrefixStandard || peer == c.self {
		return ErrBadRecipient
	}
	if p < PriorityHidden {
		return errors.New("client: priority must be -1 (hidden), 0 or more (pinned)")
	}
	if err := c.db.SetPriority(ctx, peer, p, c.nowMillis()); err != nil {
		return err
	}
	c.configWarn(c.syncContact(ctx, peer, fieldPriority))
	return nil
}

func checkName(name string) error {
	if len(name) > MaxProfileNameLen || !utf8.ValidString(name) || strings.ContainsAny(name, "\n\r") {
		return errors.New("client: a name must be one line of at most 100 bytes")
	}
	return nil
}

// SetProfileName sets the display name sent with our messages ("" to send
// none).
func (c *Client) SetProfileName(ctx context.Context, name string) error {
	defer c.lockChange()()
	name = strings.TrimSpace(name)
	if len(name) > MaxProfileNameLen || !utf8.ValidString(name) || strings.ContainsAny(name, "\n\r") {
		return errors.New("client: display name must be one line of at most 100 bytes")
	}
	if err := c.db.SetSetting(ctx, settingProfileName, name); err != nil {
		return err
	}
	c.configWarn(c.syncProfile(ctx, fieldName))
	return nil
}

// SetProfilePicture sets our profile picture: the URL of the encrypted
// picture on a file server and its 32-byte key (both empty for none).
func (c *Client) SetProfilePicture(ctx context.Context, url string, picKey []byte) error {
	defer c.lockChange()()
	if (url == "") != (len(picKey) == 0) || (url != "" && len(picKey) != picKeySize) {
		return errors.New("client: a profile picture needs a URL and a 32-byte key")
	}
	if len(url) > 512 || strings.ContainsAny(url, " \n\r") {
		return errors.New("client: invalid picture URL")
	}
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetSetting(ctx, settingProfilePicURL, url); err != nil {
			return err
		}
		return tx.SetSetting(ctx, settingProfilePicKey, hex.EncodeToString(picKey))
	})
	if err != nil {
		return err
	}
	c.configWarn(c.syncProfile(ctx, fieldPic))
	return nil
}

// ProfilePicture returns our profile picture's URL and key (empty when
// there is none).
func (c *Client) ProfilePicture(ctx context.Context) (string, []byte, error) {
	url, _, err := c.db.Setting(ctx, settingProfilePicURL)
	if err != nil {
		return "", nil, err
	}
	k, _, err := c.db.Setting(ctx, settingProfilePicKey)
	if err != nil {
		return "", nil, err
	}
	picKey, err := hex.DecodeString(k)
	if err != nil || url == "" {
		return "", nil, err
	}
	return url, picKey, nil
}

// ProfileName returns our display name.
func (c *Client) ProfileName(ctx context.Context) (string, error) {
	v, _, err := c.db.Setting(ctx, settingProfileName)
	return v, err
}

// Receipts reports whether read and delivery receipts are sent.
func (c *Client) Receipts(ctx context.Context) (read, delivery bool, err error) {
	if read, err = boolSetting(ctx, c.db, settingReadReceipts, true); err != nil {
		return false, false, err
	}
	delivery, err = boolSetting(ctx, c.db, settingDeliveryReceipts, true)
	return read, delivery, err
}

// Delay returns the range of the delay before receipts and sync copies
// leave (Config.DelayMin, DelayMax); 0, 0 when they leave at once.
func (c *Client) Delay() (lo, hi time.Duration) { return c.cfg.DelayMin, c.cfg.DelayMax }

// SetReceipts turns read and delivery receipts on or off. Receipts of a
// type turned off that still wait for their delay are dropped.
func (c *Client) SetReceipts(ctx context.Context, read, delivery bool) error {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	return c.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetSetting(ctx, settingReadReceipts, onOff(read)); err != nil {
			return err
		}
		if err := tx.SetSetting(ctx, settingDeliveryReceipts, onOff(delivery)); err != nil {
			return err
		}
		waiting, err := tx.OutboxOfKind(ctx, store.OutboxReceipt)
		if err != nil {
			return err
		}
		for _, it := range waiting {
			var r wire.ReceiptMessage
			if proto.Unmarshal(it.Data, &r) != nil {
				continue
			}
			if (r.GetType() == wire.ReceiptMessage_READ && !read) || (r.GetType() == wire.ReceiptMessage_DELIVERY && !delivery) {
				if err := tx.RemoveOutbox(ctx, it.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

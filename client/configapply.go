package client

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/key"
)

// The user objects' data keys (spec §4.5) and how the local database maps
// to them: contacts (ns 3) carry approval, block, names, picture,
// priority and the disappearing setting of each 1:1 conversation; the
// conversation info (ns 4) carries how far each conversation was read;
// the user profile (ns 2) our name and picture and Note to Self's
// disappearing setting. User groups (ns 5) are kept in sync, merged and
// pushed, but this client has no groups to apply them to yet.

// Settings keys of the profile picture.
const (
	settingProfilePicURL = "profile_pic_url"
	settingProfilePicKey = "profile_pic_key" // hex
)

// Limits of the user objects (spec §4.5).
const (
	maxConfigName = 100                 // bytes of a name
	picKeySize    = 32                  // bytes of a picture key
	readPruneLow  = 30 * 24 * time.Hour // convo info: older reads are not written
)

// contactKey is the 33-byte dict key of a Session ID.
func contactKey(id key.SessionID) string { return string(id.Bytes()) }

// configID reads a 33-byte dict key as a standard Session ID.
func configID(k string) (key.SessionID, bool) {
	id, err := key.SessionIDFromBytes([]byte(k))
	if err != nil || id.Prefix() != key.PrefixStandard {
		return key.SessionID{}, false
	}
	return id, true
}

// cutName cuts s to maxConfigName bytes without splitting a UTF-8
// sequence.
func cutName(s string) string {
	if len(s) <= maxConfigName {
		return s
	}
	i := maxConfigName
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}

// Session's expiry modes in configs: 1 after send, 2 after read.
func configExpiry(m store.ExpiryMode) int64 {
	switch m {
	case store.ExpiryAfterSend:
		return 1
	case store.ExpiryAfterRead:
		return 2
	}
	return 0
}

func storeExpiry(mode, secs int64) (store.ExpiryMode, uint32) {
	if secs <= 0 || secs > int64(MaxDisappearTimer/time.Second) {
		return store.ExpiryOff, 0
	}
	switch mode {
	case 1:
		return store.ExpiryAfterSend, uint32(secs)
	case 2:
		return store.ExpiryAfterRead, uint32(secs)
	}
	return store.ExpiryOff, 0
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// configWarn logs a failed config update: the user's change is saved
// locally, only its sync is lost until the next change.
func (c *Client) configWarn(err error) {
	if err != nil {
		c.log.Warn("config sync: update failed", "error", err)
	}
}

// syncContact writes what the local database knows of peer into the
// contacts object.
func (c *Client) syncContact(ctx context.Context, peer key.SessionID) error {
	if peer == c.self || peer.Prefix() != key.PrefixStandard {
		return nil
	}
	ct, err := c.db.Contact(ctx, peer)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	conv, err := c.db.Conversation(ctx, peer)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return c.mutateConfig(ctx, KindContacts.Namespace, func(d config.Dict) bool {
		e := d.SubDict("c").SubDict(contactKey(peer))
		ch := e.SetString("n", cutName(ct.DisplayName))
		ch = e.SetStringOrDelete("N", cutName(ct.Nickname)) || ch
		if ct.PicURL != "" && len(ct.PicKey) == picKeySize {
			ch = e.SetString("p", ct.PicURL) || ch
			ch = e.SetString("q", string(ct.PicKey)) || ch
		} else {
			ch = e.Delete("p") || ch
			ch = e.Delete("q") || ch
		}
		ch = e.SetIntOrDelete("a", boolInt(ct.Approved)) || ch
		ch = e.SetIntOrDelete("A", boolInt(ct.ApprovedMe)) || ch
		ch = e.SetIntOrDelete("b", boolInt(ct.Blocked)) || ch
		ch = e.SetIntOrDelete("+", ct.Priority) || ch
		var mode, secs int64
		if conv != nil && conv.ExpiryMode != store.ExpiryOff && conv.ExpiryTimer > 0 {
			mode, secs = configExpiry(conv.ExpiryMode), int64(conv.ExpiryTimer)
		}
		ch = e.SetIntOrDelete("e", mode) || ch
		ch = e.SetIntOrDelete("E", secs) || ch
		return ch
	})
}

// forgetContact removes peer from the contacts object (a declined
// request).
func (c *Client) forgetContact(ctx context.Context, peer key.SessionID) error {
	return c.mutateConfig(ctx, KindContacts.Namespace, func(d config.Dict) bool {
		cs := d.Dict("c")
		return cs != nil && cs.Delete(contactKey(peer))
	})
}

// syncRead records in the conversation info that the conversation with
// peer was read up to upTo (ms).
func (c *Client) syncRead(ctx context.Context, peer key.SessionID, upTo int64) error {
	if upTo < c.now().Add(-readPruneLow).UnixMilli() {
		return nil
	}
	return c.mutateConfig(ctx, KindConvoInfo.Namespace, func(d config.Dict) bool {
		e := d.SubDict("1").SubDict(contactKey(peer))
		if upTo <= e.Int("r") {
			return false
		}
		return e.SetInt("r", upTo)
	})
}

// syncProfile writes our name, picture and Note to Self's disappearing
// setting into the user profile.
func (c *Client) syncProfile(ctx context.Context) error {
	name, _, err := c.db.Setting(ctx, settingProfileName)
	if err != nil {
		return err
	}
	url, _, err := c.db.Setting(ctx, settingProfilePicURL)
	if err != nil {
		return err
	}
	keyHex, _, err := c.db.Setting(ctx, settingProfilePicKey)
	if err != nil {
		return err
	}
	picKey, _ := hex.DecodeString(keyHex)
	nts, err := c.db.Conversation(ctx, c.self)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return c.mutateConfig(ctx, KindUserProfile.Namespace, func(d config.Dict) bool {
		ch := d.SetStringOrDelete("n", name)
		if url != "" && len(picKey) == picKeySize {
			ch = d.SetString("p", url) || ch
			ch = d.SetString("q", string(picKey)) || ch
		} else {
			ch = d.Delete("p") || ch
			ch = d.Delete("q") || ch
		}
		var secs int64
		if nts != nil && nts.ExpiryMode != store.ExpiryOff {
			secs = int64(nts.ExpiryTimer)
		}
		return d.SetIntOrDelete("e", secs) || ch
	})
}

// userApplier is the function that applies merged data of a user object
// to the local database.
func (c *Client) userApplier(kind config.Kind) func(ctx context.Context, before, after config.Dict) error {
	switch kind.Namespace {
	case KindUserProfile.Namespace:
		return c.applyProfile
	case KindContacts.Namespace:
		return c.applyContacts
	case KindConvoInfo.Namespace:
		return c.applyConvoInfo
	}
	return nil
}

func (c *Client) applyProfile(ctx context.Context, _, after config.Dict) error {
	now := c.nowMillis()
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		if err := setIfChanged(ctx, tx, settingProfileName, after.String("n")); err != nil {
			return err
		}
		url, picKey := after.String("p"), after.String("q")
		if url == "" || len(picKey) != picKeySize {
			url, picKey = "", ""
		}
		if err := setIfChanged(ctx, tx, settingProfilePicURL, url); err != nil {
			return err
		}
		if err := setIfChanged(ctx, tx, settingProfilePicKey, hex.EncodeToString([]byte(picKey))); err != nil {
			return err
		}
		mode, secs := storeExpiry(1, after.Int("e"))
		nts, err := tx.Conversation(ctx, c.self)
		if errors.Is(err, store.ErrNotFound) {
			if mode == store.ExpiryOff {
				return nil
			}
		} else if err != nil {
			return err
		} else if nts.ExpiryMode == mode && nts.ExpiryTimer == secs {
			return nil
		}
		return tx.SetDisappearing(ctx, c.self, mode, secs, now)
	})
	if err == nil {
		c.emit(Event{Kind: EventSynced})
	}
	return err
}

func setIfChanged(ctx context.Context, tx *store.Tx, k, v string) error {
	old, _, err := tx.Setting(ctx, k)
	if err != nil || old == v {
		return err
	}
	return tx.SetSetting(ctx, k, v)
}

func (c *Client) applyContacts(ctx context.Context, before, after config.Dict) error {
	now := c.nowMillis()
	var events []Event
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		events = events[:0]
		cs := after.Dict("c")
		for k, v := range cs {
			e, ok := v.(config.Dict)
			id, okID := configID(k)
			if !ok || !okID || id == c.self {
				continue
			}
			changed, err := c.applyContact(ctx, tx, id, e, now)
			if err != nil {
				return err
			}
			if changed {
				events = append(events, Event{Kind: EventSynced, Conversation: id})
			}
		}
		// A request declined on another device leaves the contacts.
		for k := range before.Dict("c") {
			if _, ok := cs[k]; ok {
				continue
			}
			id, ok := configID(k)
			if !ok {
				continue
			}
			removed, err := tx.RemoveRequest(ctx, id)
			if err != nil {
				return err
			}
			if removed {
				if err := tx.DeleteConversation(ctx, id); err != nil {
					return err
				}
				events = append(events, Event{Kind: EventSynced, Conversation: id})
			}
		}
		return nil
	})
	if err == nil {
		c.emit(events...)
	}
	return err
}

// applyContact brings the local contact id in line with its entry e.
func (c *Client) applyContact(ctx context.Context, tx *store.Tx, id key.SessionID, e config.Dict, now int64) (bool, error) {
	cur, err := tx.Contact(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		cur, err = &store.Contact{}, nil
	}
	if err != nil {
		return false, err
	}
	changed := false
	step := func(differs bool, fn func() error) error {
		if !differs {
			return nil
		}
		changed = true
		return fn()
	}
	approved, approvedMe, blocked := e.Int("a") == 1, e.Int("A") == 1, e.Int("b") == 1
	name, nick := e.String("n"), e.String("N")
	url, picKey := e.String("p"), e.String("q")
	if url == "" || len(picKey) != picKeySize {
		url, picKey = "", ""
	}
	for _, err := range []error{
		step(approved != cur.Approved, func() error { return tx.SetApproved(ctx, id, approved, now) }),
		step(approvedMe && !cur.ApprovedMe, func() error { return tx.SetApprovedMe(ctx, id, true, now) }),
		step(blocked != cur.Blocked, func() error { return tx.SetBlocked(ctx, id, blocked, now) }),
		step(name != "" && name != cur.DisplayName, func() error { return tx.SetDisplayName(ctx, id, name, now) }),
		step(nick != cur.Nickname, func() error { return tx.SetNickname(ctx, id, nick, now) }),
		step(url != cur.PicURL || picKey != string(cur.PicKey), func() error {
			return tx.SetContactPicture(ctx, id, url, []byte(picKey), now)
		}),
		step(e.Int("+") != cur.Priority, func() error { return tx.SetPriority(ctx, id, e.Int("+"), now) }),
	} {
		if err != nil {
			return false, err
		}
	}
	if approved {
		removed, err := tx.RemoveRequest(ctx, id)
		if err != nil {
			return false, err
		}
		changed = changed || removed
	}
	mode, secs := storeExpiry(e.Int("e"), e.Int("E"))
	conv, err := tx.Conversation(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if mode != store.ExpiryOff {
			changed = true
			err = tx.SetDisappearing(ctx, id, mode, secs, now)
		} else {
			err = nil
		}
	case err == nil && (conv.ExpiryMode != mode || conv.ExpiryTimer != secs):
		changed = true
		err = tx.SetDisappearing(ctx, id, mode, secs, now)
	}
	return changed, err
}

func (c *Client) applyConvoInfo(ctx context.Context, _, after config.Dict) error {
	now := c.nowMillis()
	var events []Event
	expiring := false
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		events, expiring = events[:0], false
		for k, v := range after.Dict("1") {
			e, ok := v.(config.Dict)
			id, okID := configID(k)
			r := e.Int("r")
			if !ok || !okID || r <= 0 {
				continue
			}
			conv, err := tx.Conversation(ctx, id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if conv != nil && conv.ReadUpTo >= r {
				continue
			}
			if err := tx.SetReadUpTo(ctx, id, r); err != nil {
				return err
			}
			read, err := tx.MarkRead(ctx, id, r, now)
			if err != nil {
				return err
			}
			for _, m := range read {
				expiring = expiring || m.ExpiresAt != 0
			}
			events = append(events, Event{Kind: EventSynced, Conversation: id})
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.emit(events...)
	if expiring {
		kick(c.kickExpiry)
	}
	return nil
}

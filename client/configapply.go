package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"time"

	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/key"
)

// The user objects and the local database (docs/configsync.md): contacts
// (ns 3) carry approval, block, names, picture, priority and the
// disappearing setting of each 1:1 conversation; the conversation info
// (ns 4) how far each conversation was read; the user profile (ns 2) our
// name and picture and Note to Self's disappearing setting. User groups
// (ns 5) are kept in sync, merged and pushed, but this client has no
// groups to apply them to yet.

// Settings keys of the profile picture.
const (
	settingProfilePicURL = "profile_pic_url"
	settingProfilePicKey = "profile_pic_key" // hex
)

// picKeySize is the size of a profile picture's key.
const picKeySize = config.PicKeySize

// configExpiry maps a store expiry mode to the config's.
func configExpiry(m store.ExpiryMode) config.ExpiryMode {
	switch m {
	case store.ExpiryAfterSend:
		return config.ExpiryAfterSend
	case store.ExpiryAfterRead:
		return config.ExpiryAfterRead
	}
	return config.ExpiryNone
}

// storeExpiry maps a config expiry setting to the store's.
func storeExpiry(mode config.ExpiryMode, secs int64) (store.ExpiryMode, uint32) {
	if secs <= 0 || secs > int64(MaxDisappearTimer/time.Second) {
		return store.ExpiryOff, 0
	}
	switch mode {
	case config.ExpiryAfterSend:
		return store.ExpiryAfterSend, uint32(secs)
	case config.ExpiryAfterRead:
		return store.ExpiryAfterRead, uint32(secs)
	}
	return store.ExpiryOff, 0
}

// configWarn logs a failed config update: the user's change is saved
// locally, only its sync is lost until the next change.
func (c *Client) configWarn(err error) {
	if err != nil {
		c.log.Warn("config sync: update failed", "error", err)
	}
}

// syncContact writes what the local database knows of peer into the
// contacts object. Fields the client does not keep (notifications, mute,
// created) stay as they are.
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
	return c.updateUser(ctx, config.ContactsKind.Namespace, func(s *configSync) error {
		e := s.contacts.GetOrNew(peer)
		e.Name = config.TruncateName(ct.DisplayName, config.MaxNameLength)
		e.Nickname = config.TruncateName(ct.Nickname, config.MaxNameLength)
		e.Pic = config.ProfilePic{}
		if ct.PicURL != "" && len(ct.PicKey) == picKeySize {
			e.Pic = config.ProfilePic{URL: ct.PicURL, Key: ct.PicKey}
		}
		e.Approved, e.ApprovedMe, e.Blocked, e.Priority = ct.Approved, ct.ApprovedMe, ct.Blocked, ct.Priority
		e.Expiry, e.ExpirySeconds = config.ExpiryNone, 0
		if conv != nil && conv.ExpiryMode != store.ExpiryOff && conv.ExpiryTimer > 0 {
			e.Expiry, e.ExpirySeconds = configExpiry(conv.ExpiryMode), int64(conv.ExpiryTimer)
		}
		return s.contacts.Set(e)
	})
}

// forgetContact removes peer from the contacts object (a declined
// request).
func (c *Client) forgetContact(ctx context.Context, peer key.SessionID) error {
	return c.updateUser(ctx, config.ContactsKind.Namespace, func(s *configSync) error {
		s.contacts.Erase(peer)
		return nil
	})
}

// syncRead records in the conversation info that the conversation with
// peer was read up to upTo (ms). The object ignores a position older than
// 30 days (libsession's PRUNE_LOW).
func (c *Client) syncRead(ctx context.Context, peer key.SessionID, upTo int64) error {
	return c.updateUser(ctx, config.ConvoInfoKind.Namespace, func(s *configSync) error {
		cv := s.convo.GetOrNew(config.OneToOne(peer))
		if upTo <= cv.LastRead {
			return nil
		}
		cv.LastRead = upTo
		return s.convo.Set(cv)
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
	return c.updateUser(ctx, config.UserProfileKind.Namespace, func(s *configSync) error {
		s.profile.SetNameTruncated(name)
		pic := config.ProfilePic{}
		if url != "" && len(picKey) == picKeySize {
			pic = config.ProfilePic{URL: url, Key: picKey}
		}
		if err := s.profile.SetPic(pic); err != nil {
			return err
		}
		var secs int64
		if nts != nil && nts.ExpiryMode != store.ExpiryOff {
			secs = int64(nts.ExpiryTimer)
		}
		s.profile.SetNoteToSelfExpiry(secs)
		return nil
	})
}

// The apply functions run with the objects locked, after a merge that
// changed the object; before is the object's data before the merge.

func (c *Client) applyProfile(ctx context.Context, _ config.Dict) error {
	p := c.cs.profile
	now := c.nowMillis()
	name, pic := p.Name(), p.Pic()
	url, picKey := "", []byte(nil)
	if pic.IsSet() {
		url, picKey = pic.URL, pic.Key
	}
	mode, secs := storeExpiry(config.ExpiryAfterSend, p.NoteToSelfExpiry())
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		if err := setIfChanged(ctx, tx, settingProfileName, name); err != nil {
			return err
		}
		if err := setIfChanged(ctx, tx, settingProfilePicURL, url); err != nil {
			return err
		}
		if err := setIfChanged(ctx, tx, settingProfilePicKey, hex.EncodeToString(picKey)); err != nil {
			return err
		}
		nts, err := tx.Conversation(ctx, c.self)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if mode == store.ExpiryOff {
				return nil
			}
		case err != nil:
			return err
		case nts.ExpiryMode == mode && nts.ExpiryTimer == secs:
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

func (c *Client) applyContacts(ctx context.Context, before config.Dict) error {
	now := c.nowMillis()
	all := c.cs.contacts.All()
	var events []Event
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		events = events[:0]
		for _, e := range all {
			if e.ID == c.self {
				continue
			}
			changed, err := c.applyContact(ctx, tx, e, now)
			if err != nil {
				return err
			}
			if changed {
				events = append(events, Event{Kind: EventSynced, Conversation: e.ID})
			}
		}
		// A request declined on another device leaves the contacts.
		for k := range before.Dict("c") {
			id, err := key.SessionIDFromBytes([]byte(k))
			if err != nil || id.Prefix() != key.PrefixStandard {
				continue
			}
			if _, ok := c.cs.contacts.Get(id); ok {
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

// applyContact brings the local contact e.ID in line with e.
func (c *Client) applyContact(ctx context.Context, tx *store.Tx, e config.Contact, now int64) (bool, error) {
	id := e.ID
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
	url, picKey := "", []byte(nil)
	if e.Pic.IsSet() {
		url, picKey = e.Pic.URL, e.Pic.Key
	}
	for _, err := range []error{
		step(e.Approved != cur.Approved, func() error { return tx.SetApproved(ctx, id, e.Approved, now) }),
		step(e.ApprovedMe && !cur.ApprovedMe, func() error { return tx.SetApprovedMe(ctx, id, true, now) }),
		step(e.Blocked != cur.Blocked, func() error { return tx.SetBlocked(ctx, id, e.Blocked, now) }),
		step(e.Name != "" && e.Name != cur.DisplayName, func() error { return tx.SetDisplayName(ctx, id, e.Name, now) }),
		step(e.Nickname != cur.Nickname, func() error { return tx.SetNickname(ctx, id, e.Nickname, now) }),
		step(url != cur.PicURL || !bytes.Equal(picKey, cur.PicKey), func() error {
			return tx.SetContactPicture(ctx, id, url, picKey, now)
		}),
		step(e.Priority != cur.Priority, func() error { return tx.SetPriority(ctx, id, e.Priority, now) }),
	} {
		if err != nil {
			return false, err
		}
	}
	if e.Approved {
		removed, err := tx.RemoveRequest(ctx, id)
		if err != nil {
			return false, err
		}
		changed = changed || removed
	}
	mode, secs := storeExpiry(e.Expiry, e.ExpirySeconds)
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

func (c *Client) applyConvoInfo(ctx context.Context, _ config.Dict) error {
	now := c.nowMillis()
	all := c.cs.convo.All()
	var events []Event
	expiring := false
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		events, expiring = events[:0], false
		for _, cv := range all {
			if cv.Kind != config.ConvoOneToOne || cv.LastRead <= 0 {
				continue
			}
			conv, err := tx.Conversation(ctx, cv.ID)
			if errors.Is(err, store.ErrNotFound) || (err == nil && conv.ReadUpTo >= cv.LastRead) {
				continue
			}
			if err != nil {
				return err
			}
			if err := tx.SetReadUpTo(ctx, cv.ID, cv.LastRead); err != nil {
				return err
			}
			read, err := tx.MarkRead(ctx, cv.ID, cv.LastRead, now)
			if err != nil {
				return err
			}
			for _, m := range read {
				expiring = expiring || m.ExpiresAt != 0
			}
			events = append(events, Event{Kind: EventSynced, Conversation: cv.ID})
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

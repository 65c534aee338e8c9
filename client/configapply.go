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

// Fields of a local change made before the object's first fetch
// (store.ConfigPending.Field, docs/configsync.md): what the user changed
// in a contact, in the profile or in a conversation's read position.
const (
	fieldApproved = "approved" // contacts; Accept also lifts a block
	fieldBlocked  = "blocked"
	fieldNickname = "nickname"
	fieldPriority = "priority"
	fieldExpiry   = "expiry" // contacts: the conversation's disappearing setting; profile: Note to Self's
	fieldErased   = "erased" // contacts: the entry was removed (Decline)
	fieldName     = "name"   // profile
	fieldPic      = "pic"    // profile
	fieldRead     = "read"   // conversation info; Value: read up to, ms
)

// pendingSet is the pending changes of one object: item, then field.
type pendingSet map[string]map[string]bool

func newPendingSet(pending []store.ConfigPending) pendingSet {
	out := pendingSet{}
	for _, p := range pending {
		if out[p.Item] == nil {
			out[p.Item] = map[string]bool{}
		}
		out[p.Item][p.Field] = true
	}
	return out
}

// has reports whether field of item has a pending change.
func (p pendingSet) has(item, field string) bool { return p[item][field] }

// pendingFields are the pending changes of fields of item.
func pendingFields(item string, fields ...string) []store.ConfigPending {
	out := make([]store.ConfigPending, len(fields))
	for i, f := range fields {
		out[i] = store.ConfigPending{Item: item, Field: f}
	}
	return out
}

// syncContact writes what the local database knows of peer into the
// contacts object; fields name what the user changed (kept as pending
// changes before the object's first fetch). Fields the client does not
// keep (notifications, mute, created) stay as they are.
func (c *Client) syncContact(ctx context.Context, peer key.SessionID, fields ...string) error {
	if peer == c.self || peer.Prefix() != key.PrefixStandard {
		return nil
	}
	ct, conv, err := c.localContact(ctx, peer)
	if err != nil {
		return err
	}
	changed := map[string]bool{}
	for _, f := range fields {
		changed[f] = true
	}
	return c.updateUser(ctx, config.ContactsKind.Namespace, pendingFields(peer.String(), fields...), func(s *configSync) error {
		return putContact(s.contacts, peer, ct, conv, changed, true)
	})
}

// localContact reads peer's contact (nil when there is none) and
// conversation (nil when there is none) from the local database.
func (c *Client) localContact(ctx context.Context, peer key.SessionID) (*store.Contact, *store.Conversation, error) {
	ct, err := c.db.Contact(ctx, peer)
	if errors.Is(err, store.ErrNotFound) {
		ct, err = nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	conv, err := c.db.Conversation(ctx, peer)
	if errors.Is(err, store.ErrNotFound) {
		conv, err = nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return ct, conv, nil
}

// putContact writes what the local database keeps of peer (ct, nil when
// peer is not a contact there, and conv) into the contacts object: the
// whole entry when whole is set or the entry is new to the object, else
// the fields in changed. Without a local contact, only an entry the
// object has is changed, in the fields in changed (a disappearing
// setting with someone this device knows only from the object).
func putContact(contacts *config.Contacts, peer key.SessionID, ct *store.Contact, conv *store.Conversation, changed map[string]bool, whole bool) error {
	e, ok := contacts.Get(peer)
	switch {
	case ct == nil && (!ok || len(changed) == 0):
		return nil
	case ct == nil:
		ct, whole = &store.Contact{}, false
	case !ok:
		e, whole = contacts.GetOrNew(peer), true
	}
	only := changed
	if whole {
		only = nil
	}
	contactFields(&e, ct, conv, only)
	return contacts.Set(e)
}

// contactFields sets the fields of e that the local database keeps from
// ct and conv: all of them when only is nil, else the fields in only.
func contactFields(e *config.Contact, ct *store.Contact, conv *store.Conversation, only map[string]bool) {
	set := func(f string) bool { return only == nil || only[f] }
	if only == nil {
		e.Name = config.TruncateName(ct.DisplayName, config.MaxNameLength)
		e.Pic = config.ProfilePic{}
		if ct.PicURL != "" && len(ct.PicKey) == picKeySize {
			e.Pic = config.ProfilePic{URL: ct.PicURL, Key: ct.PicKey}
		}
		e.ApprovedMe = ct.ApprovedMe
	}
	if set(fieldNickname) {
		e.Nickname = config.TruncateName(ct.Nickname, config.MaxNameLength)
	}
	if set(fieldApproved) {
		e.Approved = ct.Approved
	}
	if set(fieldBlocked) {
		e.Blocked = ct.Blocked
	}
	if set(fieldPriority) {
		e.Priority = ct.Priority
	}
	if set(fieldExpiry) {
		e.Expiry, e.ExpirySeconds = config.ExpiryNone, 0
		if conv != nil && conv.ExpiryMode != store.ExpiryOff && conv.ExpiryTimer > 0 {
			e.Expiry, e.ExpirySeconds = configExpiry(conv.ExpiryMode), int64(conv.ExpiryTimer)
		}
	}
}

// forgetContact removes peer from the contacts object (a declined
// request).
func (c *Client) forgetContact(ctx context.Context, peer key.SessionID) error {
	return c.updateUser(ctx, config.ContactsKind.Namespace, pendingFields(peer.String(), fieldErased), func(s *configSync) error {
		s.contacts.Erase(peer)
		return nil
	})
}

// syncRead records in the conversation info that the conversation with
// peer was read up to upTo (ms). The object ignores a position older than
// 30 days (libsession's PRUNE_LOW).
func (c *Client) syncRead(ctx context.Context, peer key.SessionID, upTo int64) error {
	pend := []store.ConfigPending{{Item: peer.String(), Field: fieldRead, Value: upTo}}
	return c.updateUser(ctx, config.ConvoInfoKind.Namespace, pend, func(s *configSync) error {
		return setRead(s.convo, peer, upTo)
	})
}

// setRead moves the read position of the conversation with peer to upTo
// if that is later.
func setRead(convo *config.ConvoInfo, peer key.SessionID, upTo int64) error {
	cv := convo.GetOrNew(config.OneToOne(peer))
	if upTo <= cv.LastRead {
		return nil
	}
	cv.LastRead = upTo
	return convo.Set(cv)
}

// localProfile is what the local database keeps of the user profile.
type localProfile struct {
	name    string
	pic     config.ProfilePic
	ntsSecs int64 // Note to Self's disappearing timer; 0: off
}

func (c *Client) localProfile(ctx context.Context) (localProfile, error) {
	var p localProfile
	name, _, err := c.db.Setting(ctx, settingProfileName)
	if err != nil {
		return p, err
	}
	url, _, err := c.db.Setting(ctx, settingProfilePicURL)
	if err != nil {
		return p, err
	}
	keyHex, _, err := c.db.Setting(ctx, settingProfilePicKey)
	if err != nil {
		return p, err
	}
	picKey, _ := hex.DecodeString(keyHex)
	nts, err := c.db.Conversation(ctx, c.self)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return p, err
	}
	p.name = name
	if url != "" && len(picKey) == picKeySize {
		p.pic = config.ProfilePic{URL: url, Key: picKey}
	}
	if nts != nil && nts.ExpiryMode != store.ExpiryOff {
		p.ntsSecs = int64(nts.ExpiryTimer)
	}
	return p, nil
}

// profileFields sets the fields of the user profile from lp: all of them
// when only is nil, else the fields in only.
func profileFields(prof *config.UserProfile, lp localProfile, only map[string]bool) error {
	set := func(f string) bool { return only == nil || only[f] }
	if set(fieldName) {
		prof.SetNameTruncated(lp.name)
	}
	if set(fieldPic) {
		if err := prof.SetPic(lp.pic); err != nil {
			return err
		}
	}
	if set(fieldExpiry) {
		prof.SetNoteToSelfExpiry(lp.ntsSecs)
	}
	return nil
}

// syncProfile writes our name, picture and Note to Self's disappearing
// setting into the user profile; fields name what the user changed.
func (c *Client) syncProfile(ctx context.Context, fields ...string) error {
	lp, err := c.localProfile(ctx)
	if err != nil {
		return err
	}
	return c.updateUser(ctx, config.UserProfileKind.Namespace, pendingFields("", fields...), func(s *configSync) error {
		return profileFields(s.profile, lp, nil)
	})
}

// The replay functions run with the objects locked, after the first fetch
// of their object and its merge: they write the changes the user made
// before it from the local database into the object (the local change is
// the newer one).

func (c *Client) replayContacts(ctx context.Context, pending []store.ConfigPending) error {
	s := &c.cs
	for item, fields := range newPendingSet(pending) {
		id, err := key.ParseStandardSessionID(item)
		if err != nil || id == c.self {
			continue
		}
		if fields[fieldErased] {
			s.contacts.Erase(id)
		}
		if len(fields) == 1 && fields[fieldErased] {
			continue
		}
		ct, conv, err := c.localContact(ctx, id)
		if err != nil {
			return err
		}
		if err := putContact(s.contacts, id, ct, conv, fields, false); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) replayProfile(ctx context.Context, pending []store.ConfigPending) error {
	lp, err := c.localProfile(ctx)
	if err != nil {
		return err
	}
	return profileFields(c.cs.profile, lp, newPendingSet(pending)[""])
}

func (c *Client) replayConvoInfo(_ context.Context, pending []store.ConfigPending) error {
	for _, p := range pending {
		id, err := key.ParseStandardSessionID(p.Item)
		if err != nil || p.Field != fieldRead {
			continue
		}
		if err := setRead(c.cs.convo, id, p.Value); err != nil {
			return err
		}
	}
	return nil
}

// The apply functions run with the objects locked, after a merge that
// changed the object; before is the object's data before the merge, skip
// the local changes still waiting to be written into the object (on its
// first fetch), which the merged data must not undo.

func (c *Client) applyProfile(ctx context.Context, _ config.Dict, skip pendingSet) error {
	p := c.cs.profile
	now := c.nowMillis()
	name, pic := p.Name(), p.Pic()
	url, picKey := "", []byte(nil)
	if pic.IsSet() {
		url, picKey = pic.URL, pic.Key
	}
	mode, secs := storeExpiry(config.ExpiryAfterSend, p.NoteToSelfExpiry())
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		if !skip.has("", fieldName) {
			if err := setIfChanged(ctx, tx, settingProfileName, name); err != nil {
				return err
			}
		}
		if !skip.has("", fieldPic) {
			if err := setIfChanged(ctx, tx, settingProfilePicURL, url); err != nil {
				return err
			}
			if err := setIfChanged(ctx, tx, settingProfilePicKey, hex.EncodeToString(picKey)); err != nil {
				return err
			}
		}
		if skip.has("", fieldExpiry) {
			return nil
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

func (c *Client) applyContacts(ctx context.Context, before config.Dict, skip pendingSet) error {
	now := c.nowMillis()
	all := c.cs.contacts.All()
	var events []Event
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		events = events[:0]
		for _, e := range all {
			if e.ID == c.self || skip.has(e.ID.String(), fieldErased) {
				continue
			}
			changed, err := c.applyContact(ctx, tx, e, now, skip[e.ID.String()])
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
			if _, ok := c.cs.contacts.Get(id); ok || len(skip[id.String()]) > 0 {
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

// applyContact brings the local contact e.ID in line with e, but for the
// fields in skip.
func (c *Client) applyContact(ctx context.Context, tx *store.Tx, e config.Contact, now int64, skip map[string]bool) (bool, error) {
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
		step(!skip[fieldApproved] && e.Approved != cur.Approved, func() error { return tx.SetApproved(ctx, id, e.Approved, now) }),
		step(e.ApprovedMe && !cur.ApprovedMe, func() error { return tx.SetApprovedMe(ctx, id, true, now) }),
		step(!skip[fieldBlocked] && e.Blocked != cur.Blocked, func() error { return tx.SetBlocked(ctx, id, e.Blocked, now) }),
		step(e.Name != "" && e.Name != cur.DisplayName, func() error { return tx.SetDisplayName(ctx, id, e.Name, now) }),
		step(!skip[fieldNickname] && e.Nickname != cur.Nickname, func() error { return tx.SetNickname(ctx, id, e.Nickname, now) }),
		step(url != cur.PicURL || !bytes.Equal(picKey, cur.PicKey), func() error {
			return tx.SetContactPicture(ctx, id, url, picKey, now)
		}),
		step(!skip[fieldPriority] && e.Priority != cur.Priority, func() error { return tx.SetPriority(ctx, id, e.Priority, now) }),
	} {
		if err != nil {
			return false, err
		}
	}
	if e.Approved && !skip[fieldApproved] {
		removed, err := tx.RemoveRequest(ctx, id)
		if err != nil {
			return false, err
		}
		changed = changed || removed
	}
	if skip[fieldExpiry] {
		return changed, nil
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

func (c *Client) applyConvoInfo(ctx context.Context, _ config.Dict, _ pendingSet) error {
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

package config

import (
	"errors"
	"fmt"

	"sotto.dev/key"
)

// NotifyMode is a conversation's notification setting (libsession
// notify.hpp).
type NotifyMode int64

// The notification modes.
const (
	NotifyDefault      NotifyMode = 0 // the client's default
	NotifyAll          NotifyMode = 1
	NotifyDisabled     NotifyMode = 2
	NotifyMentionsOnly NotifyMode = 3 // groups only; a contact stores it as NotifyAll
)

// loadNotify reads "@": values outside 0–3 read as NotifyDefault.
func loadNotify(d Dict) NotifyMode {
	n := cInt(d.Int("@"))
	if n < 0 || n > 3 {
		return NotifyDefault
	}
	return NotifyMode(n)
}

// ExpiryMode is a conversation's disappearing-messages mode (libsession
// expiring.hpp).
type ExpiryMode int64

// The expiry modes.
const (
	ExpiryNone      ExpiryMode = 0
	ExpiryAfterSend ExpiryMode = 1
	ExpiryAfterRead ExpiryMode = 2
)

// ErrInvalidID is returned for an ID with the wrong prefix for its place
// (05 for contacts, 1:1 and legacy groups; 03 for groups).
var ErrInvalidID = errors.New("config: invalid session ID")

func checkPrefix(id key.SessionID, p key.Prefix) error {
	if id.Prefix() != p {
		return fmt.Errorf("%w: %s does not start with %s", ErrInvalidID, id, p)
	}
	return nil
}

// Contact is one entry of the contacts config, keyed by its 05 Session ID
// (libsession contacts.hpp:21-46).
type Contact struct {
	ID         key.SessionID
	Name       string // the contact's own display name
	Nickname   string // the name the user gave them
	Pic        ProfilePic
	Approved   bool // the user accepted the conversation
	ApprovedMe bool // the contact accepted the user
	Blocked    bool
	// Priority is 0 normally, -1 when hidden, above 0 when pinned (higher
	// first).
	Priority  int64
	Notify    NotifyMode
	MuteUntil int64 // unix seconds; 0 when not muted
	// Expiry and ExpirySeconds are the disappearing-messages setting; the
	// mode is stored only with a timer above 0.
	Expiry        ExpiryMode
	ExpirySeconds int64
	Created       int64 // unix seconds
}

func (c *Contact) load(d Dict) {
	c.Name = d.String("n")
	c.Nickname = d.String("N")
	c.Pic = loadPic(d)
	c.Approved = d.Int("a") != 0
	c.ApprovedMe = d.Int("A") != 0
	c.Blocked = d.Int("b") != 0
	c.Priority = cInt(d.Int("+"))
	c.Notify = loadNotify(d)
	if c.Notify == NotifyMentionsOnly {
		c.Notify = NotifyAll
	}
	c.MuteUntil = d.Int("!")
	// contacts.cpp:102-119: an unknown mode, or a mode without a timer
	// above 0, reads as none.
	c.Expiry, c.ExpirySeconds = ExpiryNone, 0
	if e := ExpiryMode(cInt(d.Int("e"))); e == ExpiryAfterSend || e == ExpiryAfterRead {
		if secs := cInt(d.Int("E")); secs > 0 {
			c.Expiry, c.ExpirySeconds = e, secs
		}
	}
	c.Created = d.Int("j")
}

// Contacts is the user's contact list (namespace 3).
type Contacts struct {
	*Config
}

// NewContacts creates the contacts object, empty or from opts.Dump. The
// kind is set for the caller; Keys default to the account's seed.
func NewContacts(opts Options) (*Contacts, error) {
	opts, err := userOptions(opts, ContactsKind)
	if err != nil {
		return nil, err
	}
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	return &Contacts{c}, nil
}

// Get returns the contact with id, and whether there is one.
func (c *Contacts) Get(id key.SessionID) (Contact, bool) {
	d := c.Data().Dict("c").Dict(string(id.Bytes()))
	if d == nil || id.Prefix() != key.PrefixStandard {
		return Contact{}, false
	}
	ct := Contact{ID: id}
	ct.load(d)
	return ct, true
}

// GetOrNew returns the contact with id, or a new empty one (libsession
// get_or_construct): change its fields and Set it.
func (c *Contacts) GetOrNew(id key.SessionID) Contact {
	if ct, ok := c.Get(id); ok {
		return ct
	}
	return Contact{ID: id}
}

// Set stores ct, replacing every field of the contact with the same ID
// (libsession Contacts::set, contacts.cpp:217-253): names are cut to
// MaxNameLength bytes (use TruncateName first to cut on a UTF-8 boundary),
// NotifyMentionsOnly is stored as NotifyAll, and the expiry mode only with
// a timer above 0. The ID must be a standard (05) Session ID.
func (c *Contacts) Set(ct Contact) error {
	if err := checkPrefix(ct.ID, key.PrefixStandard); err != nil {
		return err
	}
	if err := ct.Pic.check(); err != nil {
		return err
	}
	c.Mutate(func(d Dict) bool {
		info := d.SubDict("c").SubDict(string(ct.ID.Bytes()))
		// "n" is always stored, even empty, so that the entry is never an
		// empty (pruned) dict.
		ch := info.SetString("n", cut(ct.Name, MaxNameLength))
		ch = info.SetStringOrDelete("N", cut(ct.Nickname, MaxNameLength)) || ch
		ch = storePic(info, ct.Pic) || ch
		ch = setFlag(info, "a", ct.Approved) || ch
		ch = setFlag(info, "A", ct.ApprovedMe) || ch
		ch = setFlag(info, "b", ct.Blocked) || ch
		ch = info.SetIntOrDelete("+", ct.Priority) || ch
		notify := ct.Notify
		if notify == NotifyMentionsOnly {
			notify = NotifyAll
		}
		ch = setPositive(info, "@", int64(notify)) || ch
		ch = setPositive(info, "!", ct.MuteUntil) || ch
		if ct.Expiry != ExpiryNone && ct.ExpirySeconds > 0 {
			ch = info.SetInt("e", int64(ct.Expiry)) || ch
			ch = info.SetInt("E", ct.ExpirySeconds) || ch
		} else {
			ch = info.Delete("e") || ch
			ch = info.Delete("E") || ch
		}
		return setPositive(info, "j", ct.Created) || ch
	})
	return nil
}

// Erase removes the contact with id and reports whether there was one.
func (c *Contacts) Erase(id key.SessionID) bool {
	return eraseKey(c.Config, string(id.Bytes()), "c")
}

// eraseKey removes k from the dict at path and reports whether k was
// there, whatever its value (libsession's erase_impl: exists, then erase).
func eraseKey(c *Config, k string, path ...string) bool {
	sub := c.Data()
	for _, p := range path {
		sub = sub.Dict(p)
	}
	if _, ok := sub[k]; !ok {
		return false
	}
	c.Mutate(func(d Dict) bool {
		for _, p := range path {
			d = d.Dict(p)
		}
		delete(d, k)
		return true
	})
	return true
}

// All returns every contact, ordered by ID.
func (c *Contacts) All() []Contact {
	var out []Contact
	for _, k := range sortedKeys(c.Data().Dict("c")) {
		d := c.Data().Dict("c").Dict(k)
		if d == nil {
			continue
		}
		id, err := key.SessionIDFromBytes([]byte(k))
		if err != nil || id.Prefix() != key.PrefixStandard {
			continue // libsession skips keys it does not understand
		}
		ct := Contact{ID: id}
		ct.load(d)
		out = append(out, ct)
	}
	return out
}

// Len is the number of contacts.
func (c *Contacts) Len() int { return len(c.Data().Dict("c")) }

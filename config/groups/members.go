package groups

import (
	"errors"
	"fmt"
	"slices"

	"sotto.dev/config"
	"sotto.dev/key"
)

// InviteStatus is where a member's invitation stands (libsession
// groups/members.hpp, "I").
type InviteStatus int64

// The invitation states. InviteAccepted (0) is stored as no "I" at all.
const (
	InviteAccepted InviteStatus = 0
	InviteSent     InviteStatus = 1 // sent, not accepted yet
	InviteFailed   InviteStatus = 2 // failed to send; to be sent again
	InviteNotSent  InviteStatus = 3 // added, invitation not sent yet
)

// PromotionStatus is where a member's promotion to admin stands ("P").
type PromotionStatus int64

// The promotion states. PromotionNone (0) is stored as no "P": never
// promoted, or promotion accepted.
const (
	PromotionNone    PromotionStatus = 0
	PromotionSent    PromotionStatus = 1
	PromotionFailed  PromotionStatus = 2
	PromotionNotSent PromotionStatus = 3
)

// RemovedStatus says whether a member is being removed ("R", which the
// libsession header does not list; spec §4.12).
type RemovedStatus int64

// The removal states.
const (
	NotRemoved          RemovedStatus = 0
	Removed             RemovedStatus = 1 // removal pending
	RemovedWithMessages RemovedStatus = 2 // removal pending, and their messages deleted
)

// MaxMemberNameLength is the longest member name stored, in bytes
// (member::MAX_NAME_LENGTH); Set cuts longer names.
const MaxMemberNameLength = 100

// ErrMemberID is returned for a member whose ID is not a standard (05)
// Session ID.
var ErrMemberID = errors.New("groups: member ID is not a 05 Session ID")

// Member is one entry of the members config, keyed by its 05 Session ID
// (libsession groups/members.hpp:17-42).
type Member struct {
	ID     key.SessionID
	Name   string // "" when none; Set cuts it to MaxMemberNameLength bytes
	PicURL string // profile picture, stored only with a 32-byte PicKey
	PicKey []byte
	// Admin is informative: it is not what lets a member sign (the group
	// key is).
	Admin     bool
	Invite    InviteStatus    // always InviteAccepted for an admin
	Promotion PromotionStatus // promotion to admin
	Removed   RemovedStatus
	// Supplement says the invitation came with a supplemental key message
	// (the member may read what was sent before) rather than a rekey. It
	// reads as false unless the invitation is pending and no promotion is.
	Supplement bool
}

// NewMember returns a member as libsession constructs one: invitation not
// sent yet, everything else empty.
func NewMember(id key.SessionID) Member { return Member{ID: id, Invite: InviteNotSent} }

// The status setters below are libsession's member::set_* helpers.

// SetInviteSent records that the invitation was sent.
func (m *Member) SetInviteSent() { m.Invite = InviteSent }

// SetInviteFailed records that the invitation failed to send.
func (m *Member) SetInviteFailed() { m.Invite = InviteFailed }

// SetInviteNotSent resets the invitation to not sent.
func (m *Member) SetInviteNotSent() { m.Invite = InviteNotSent }

// SetInviteAccepted records that the member accepted: the invitation and
// supplement flags clear.
func (m *Member) SetInviteAccepted() { m.Invite, m.Supplement = InviteAccepted, false }

// SetPromoted marks the member as an admin whose promotion is not sent yet.
func (m *Member) SetPromoted() { m.setPromotion(PromotionNotSent) }

// SetPromotionSent records that the promotion was sent.
func (m *Member) SetPromotionSent() { m.setPromotion(PromotionSent) }

// SetPromotionFailed records that the promotion failed to send.
func (m *Member) SetPromotionFailed() { m.setPromotion(PromotionFailed) }

// SetPromotionAccepted records that the member accepted the promotion.
func (m *Member) SetPromotionAccepted() { m.setPromotion(PromotionNone) }

func (m *Member) setPromotion(p PromotionStatus) {
	m.Admin, m.Invite, m.Promotion = true, InviteAccepted, p
}

// SetRemoved marks the member for removal, with their messages when
// messages is set; the invitation and promotion states clear.
func (m *Member) SetRemoved(messages bool) {
	m.Invite, m.Promotion = InviteAccepted, PromotionNone
	m.Removed = Removed
	if messages {
		m.Removed = RemovedWithMessages
	}
}

// SetName sets the name; one over MaxMemberNameLength bytes is refused.
func (m *Member) SetName(name string) error {
	if len(name) > MaxMemberNameLength {
		return fmt.Errorf("groups: member name exceeds %d bytes", MaxMemberNameLength)
	}
	m.Name = name
	return nil
}

// SetNameTruncated sets the name cut on a UTF-8 boundary.
func (m *Member) SetNameTruncated(name string) {
	m.Name = config.TruncateName(name, MaxMemberNameLength)
}

// pendingSend is libsession's rule for the local "pending send" list: a
// member whose invitation (or, for an admin, promotion) is not sent yet.
func (m Member) pendingSend() bool {
	if m.Admin {
		return m.Promotion == PromotionNotSent
	}
	return m.Invite == InviteNotSent
}

// load reads a member dict as member::load does (members.cpp:82-100).
func (m *Member) load(d config.Dict) {
	m.Name = d.String("n")
	url, urlOK := d.StringOK("p")
	pk, keyOK := d.StringOK("q")
	if urlOK && keyOK && url != "" && len(pk) == config.PicKeySize {
		m.PicURL, m.PicKey = url, []byte(pk)
	}
	m.Admin = d.Int("A") != 0
	if !m.Admin {
		m.Invite = InviteStatus(cInt(d.Int("I")))
	}
	m.Promotion = PromotionStatus(cInt(d.Int("P")))
	m.Removed = RemovedStatus(cInt(d.Int("R")))
	if m.Invite > 0 && !m.Admin && m.Promotion <= 0 {
		m.Supplement = d.Int("s") != 0
	}
}

// cInt narrows v to a C int, as libsession reads stored status integers.
func cInt(v int64) int64 { return int64(int32(v)) }

// Members is a group's members config (namespace 14), signed with the
// group key like Info. Besides the config it keeps, in its dumps only, the
// members whose invitation or promotion is not sent yet (libsession's
// pending_send_ids).
type Members struct {
	*config.Config
	pending map[key.SessionID]bool
}

// extraPending is the key of the pending-send list in the dump's extra
// dict (members.cpp, extra_data).
const extraPending = "pending_send_ids"

// NewMembers creates the members object, empty or from opts.Dump, with
// the options NewInfo takes.
func NewMembers(opts config.Options) (*Members, error) {
	opts, err := groupOptions(opts, MembersKind)
	if err != nil {
		return nil, err
	}
	c, err := config.New(opts)
	if err != nil {
		return nil, err
	}
	m := &Members{Config: c, pending: map[key.SessionID]bool{}}
	if x := c.Extra(); x != nil {
		v, err := config.DecodeBT(x)
		if err != nil {
			return nil, fmt.Errorf("groups: members dump: %w", err)
		}
		d, _ := v.(map[string]any)
		ids, _ := d[extraPending].([]any)
		for _, e := range ids {
			s, ok := e.(string)
			if !ok {
				continue
			}
			id, err := key.ParseSessionID(s)
			if err != nil {
				continue
			}
			m.pending[id] = true
		}
	}
	c.SetExtraSource(m.extra)
	return m, nil
}

// Get returns the member with id, and whether there is one.
func (ms *Members) Get(id key.SessionID) (Member, bool) {
	d := ms.Data().Dict("m").Dict(string(id.Bytes()))
	if d == nil {
		return Member{}, false
	}
	m := Member{ID: id}
	m.load(d)
	return m, true
}

// GetOrNew returns the member with id, or NewMember(id) (libsession
// get_or_construct): change its fields and Set it.
func (ms *Members) GetOrNew(id key.SessionID) Member {
	if m, ok := ms.Get(id); ok {
		return m
	}
	return NewMember(id)
}

// Set stores m, replacing every field of the member with the same ID
// (libsession Members::set, members.cpp:53-80): the name is cut to
// MaxMemberNameLength bytes (SetNameTruncated first cuts on a UTF-8
// boundary), the picture is stored only when complete, and an admin's
// invitation status is not stored. It also updates the pending-send list.
// A read-only object (a member who cannot sign) changes nothing but that
// list.
func (ms *Members) Set(m Member) error {
	if m.ID.Prefix() != key.PrefixStandard {
		return ErrMemberID
	}
	if len(m.PicKey) != 0 && len(m.PicKey) != config.PicKeySize {
		return ErrPicKey
	}
	err := ms.Change(func(d config.Dict) bool {
		info := d.SubDict("m").SubDict(string(m.ID.Bytes()))
		// "n" is always stored, even empty, so that the entry is never an
		// empty (pruned) dict.
		name := m.Name
		if len(name) > MaxMemberNameLength {
			name = name[:MaxMemberNameLength]
		}
		ch := info.SetString("n", name)
		ch = storePic(info, config.ProfilePic{URL: m.PicURL, Key: m.PicKey}) || ch
		ch = setFlag(info, "A", m.Admin) || ch
		ch = setPositive(info, "P", int64(m.Promotion)) || ch
		invite := m.Invite
		if m.Admin {
			invite = InviteAccepted
		}
		ch = setPositive(info, "I", int64(invite)) || ch
		ch = setFlag(info, "s", m.Supplement) || ch
		return setPositive(info, "R", int64(m.Removed)) || ch
	})
	if err != nil {
		return err
	}
	ms.SetPendingSend(m.ID, m.pendingSend())
	return nil
}

// Erase removes the member with id and reports whether there was one.
// A member who cannot sign gets config.ErrReadOnly.
func (ms *Members) Erase(id key.SessionID) (bool, error) {
	k := string(id.Bytes())
	_, ok := ms.Data().Dict("m")[k]
	if ok {
		err := ms.Change(func(d config.Dict) bool {
			delete(d.Dict("m"), k)
			return true
		})
		if err != nil {
			return false, err
		}
	}
	ms.SetPendingSend(id, false)
	return ok, nil
}

// All returns every member, ordered by ID. Entries that are not a member
// dict under a 33-byte key are skipped, as libsession's iterator does.
func (ms *Members) All() []Member {
	md := ms.Data().Dict("m")
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Member, 0, len(keys))
	for _, k := range keys {
		d := md.Dict(k)
		if d == nil || len(k) != key.SessionIDLen {
			continue
		}
		m := Member{ID: key.NewSessionID(key.Prefix(k[0]), [key.Size]byte([]byte(k[1:])))}
		m.load(d)
		out = append(out, m)
	}
	return out
}

// IDs returns the ID of every member, ordered: the list a rekey covers.
func (ms *Members) IDs() []key.SessionID {
	all := ms.All()
	out := make([]key.SessionID, len(all))
	for i, m := range all {
		out[i] = m.ID
	}
	return out
}

// Len is the number of entries in the members dict.
func (ms *Members) Len() int { return len(ms.Data().Dict("m")) }

// PendingSend reports whether the member with id is waiting for its
// invitation or promotion to be sent by this device.
func (ms *Members) PendingSend(id key.SessionID) bool { return ms.pending[id] }

// SetPendingSend adds id to the local pending-send list, or removes it; a
// change makes the object need a dump.
func (ms *Members) SetPendingSend(id key.SessionID, pending bool) {
	if ms.pending[id] == pending {
		return
	}
	if pending {
		ms.pending[id] = true
	} else {
		delete(ms.pending, id)
	}
	ms.ExtraChanged()
}

// extra encodes the pending-send list as the dump's extra dict, nil when
// it is empty. The IDs are sorted (libsession writes them in hash set
// order).
func (ms *Members) extra() []byte {
	if len(ms.pending) == 0 {
		return nil
	}
	ids := make([]string, 0, len(ms.pending))
	for id := range ms.pending {
		ids = append(ids, id.String())
	}
	slices.Sort(ids)
	list := make([]any, len(ids))
	for i, s := range ids {
		list[i] = s
	}
	b, err := config.EncodeBT(map[string]any{extraPending: list})
	if err != nil {
		return nil // not reached: a list of strings always encodes
	}
	return b
}

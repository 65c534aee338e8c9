package config

import (
	"bytes"
	"crypto/ed25519"
	"maps"
	"slices"

	"sotto.dev/key"
)

// GroupSettings are the fields every entry of the user groups config has
// (libsession user_groups.hpp, base_group_info).
type GroupSettings struct {
	// Priority is 0 normally, -1 when hidden, above 0 when pinned.
	Priority  int64
	JoinedAt  int64 // unix seconds
	Notify    NotifyMode
	MuteUntil int64 // unix seconds
	Invited   bool  // an invitation not yet accepted
}

func (s *GroupSettings) load(d Dict) {
	s.Priority = cInt(d.Int("+"))
	s.JoinedAt = max(0, d.Int("j"))
	s.Notify = loadNotify(d)
	s.MuteUntil = d.Int("!")
	s.Invited = d.Int("i") != 0
}

// store writes the common fields (UserGroups::set_base,
// user_groups.cpp:399-406).
func (s GroupSettings) store(d Dict) bool {
	ch := d.SetIntOrDelete("+", s.Priority)
	ch = setPositive(d, "j", s.JoinedAt) || ch
	ch = setPositive(d, "@", int64(s.Notify)) || ch
	ch = setPositive(d, "!", s.MuteUntil) || ch
	return setFlag(d, "i", s.Invited) || ch
}

// RemovedStatus says why the user is no longer in a group.
type RemovedStatus int64

// The removed statuses (user_groups.hpp, NOT_REMOVED…GROUP_DESTROYED).
const (
	NotRemoved      RemovedStatus = 0
	KickedFromGroup RemovedStatus = 1
	GroupDestroyed  RemovedStatus = 2
)

// GroupAuthDataSize is the length of a non-admin member's group
// authentication data (user_groups.hpp).
const GroupAuthDataSize = 100

// Group is a closed group (03 ID) the user is in or invited to.
type Group struct {
	ID key.SessionID
	// SecretKey is the group's 64-byte Ed25519 key when the user is an
	// admin; it is stored only when it belongs to ID.
	SecretKey ed25519.PrivateKey
	// AuthData authenticates a non-admin member (100 bytes); it is stored
	// only when there is no secret key.
	AuthData []byte
	// Name is the name from the invitation, until the group's own info
	// replaces it.
	Name    string
	Removed RemovedStatus
	GroupSettings
}

func (g *Group) load(d Dict) {
	g.GroupSettings.load(d)
	g.Name = d.String("n")
	// user_groups.cpp:286-300: the secret key is rebuilt from the stored
	// seed and kept only when it matches the ID.
	g.SecretKey = nil
	if seed := d.String("K"); len(seed) == ed25519.SeedSize {
		sk := ed25519.NewKeyFromSeed([]byte(seed))
		if bytes.Equal(sk[32:], g.ID.Bytes()[1:]) {
			g.SecretKey = sk
		}
	}
	g.AuthData = nil
	if s := d.String("s"); len(s) == GroupAuthDataSize {
		g.AuthData = []byte(s)
	}
	g.Removed = RemovedStatus(cInt(d.Int("r")))
}

// LegacyGroup is a legacy closed group (05 ID).
type LegacyGroup struct {
	ID   key.SessionID
	Name string
	// EncPublic and EncSecret are the group's X25519 key pair (32 bytes
	// each); stored only as a pair.
	EncPublic, EncSecret []byte
	// Members maps each member to whether they are an admin.
	Members           map[key.SessionID]bool
	DisappearingTimer int64 // seconds, 0 when off
	GroupSettings
}

func (g *LegacyGroup) load(d Dict) {
	g.GroupSettings.load(d)
	g.Name = d.String("n")
	g.EncPublic, g.EncSecret = nil, nil
	if k, s := d.String("k"), d.String("K"); len(k) == 32 && len(s) == 32 {
		g.EncPublic, g.EncSecret = []byte(k), []byte(s)
	}
	g.DisappearingTimer = max(0, d.Int("E"))
	g.Members = map[key.SessionID]bool{}
	for _, set := range []struct {
		k     string
		admin bool
	}{{"m", false}, {"a", true}} {
		for _, m := range d.Set(set.k).Strings() {
			if len(m) != key.SessionIDLen || key.Prefix(m[0]) != key.PrefixStandard {
				continue
			}
			id, err := key.SessionIDFromBytes([]byte(m))
			if err != nil {
				continue
			}
			// An ID in both sets stays a plain member (std::map::emplace,
			// user_groups.cpp:263-273).
			if _, ok := g.Members[id]; !ok {
				g.Members[id] = set.admin
			}
		}
	}
}

// CommunityRoom is a community the user joined.
type CommunityRoom struct {
	Community
	GroupSettings
}

// UserGroups is the user's groups config (namespace 5): closed groups,
// legacy groups and communities (libsession user_groups.hpp:22-79).
type UserGroups struct {
	*Config
}

// NewUserGroups creates the user groups object, empty or from opts.Dump.
// The kind is set for the caller; Keys default to the account's seed.
func NewUserGroups(opts Options) (*UserGroups, error) {
	opts, err := userOptions(opts, UserGroupsKind)
	if err != nil {
		return nil, err
	}
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	return &UserGroups{c}, nil
}

// Group returns the closed group id, and whether there is one.
func (u *UserGroups) Group(id key.SessionID) (Group, bool) {
	d := u.Data().Dict("g").Dict(string(id.Bytes()))
	if d == nil || id.Prefix() != key.PrefixGroup {
		return Group{}, false
	}
	g := Group{ID: id}
	g.load(d)
	return g, true
}

// GroupOrNew returns the closed group id, or a new empty one.
func (u *UserGroups) GroupOrNew(id key.SessionID) Group {
	if g, ok := u.Group(id); ok {
		return g
	}
	return Group{ID: id}
}

// SetGroup stores g (UserGroups::set, user_groups.cpp:438-461). The name
// is cut to MaxNameLength bytes and omitted when empty. "K" is always
// stored: the secret key's seed when the key belongs to the ID, "" otherwise,
// and then "s" holds the auth data when it is 100 bytes.
func (u *UserGroups) SetGroup(g Group) error {
	if err := checkPrefix(g.ID, key.PrefixGroup); err != nil {
		return err
	}
	u.Mutate(func(d Dict) bool {
		info := d.SubDict("g").SubDict(string(g.ID.Bytes()))
		ch := g.GroupSettings.store(info)
		ch = info.SetStringOrDelete("n", cut(g.Name, MaxNameLength)) || ch
		ch = setPositive(info, "r", int64(g.Removed)) || ch
		if len(g.SecretKey) == ed25519.PrivateKeySize && bytes.Equal(g.SecretKey[32:], g.ID.Bytes()[1:]) {
			ch = info.SetString("K", string(g.SecretKey[:32])) || ch
		} else {
			ch = info.SetString("K", "") || ch
			if len(g.AuthData) == GroupAuthDataSize {
				ch = info.SetString("s", string(g.AuthData)) || ch
			} else {
				ch = info.Delete("s") || ch
			}
		}
		return ch
	})
	return nil
}

// EraseGroup removes the closed group id and reports whether it was there.
func (u *UserGroups) EraseGroup(id key.SessionID) bool {
	return u.erase("g", string(id.Bytes()))
}

// Groups returns every closed group, ordered by ID.
func (u *UserGroups) Groups() []Group {
	var out []Group
	sub := u.Data().Dict("g")
	for _, k := range sortedKeys(sub) {
		d := sub.Dict(k)
		if d == nil || len(k) != key.SessionIDLen || key.Prefix(k[0]) != key.PrefixGroup {
			continue
		}
		id, err := key.SessionIDFromBytes([]byte(k))
		if err != nil {
			continue
		}
		g := Group{ID: id}
		g.load(d)
		out = append(out, g)
	}
	return out
}

// LegacyGroup returns the legacy group id, and whether there is one.
func (u *UserGroups) LegacyGroup(id key.SessionID) (LegacyGroup, bool) {
	d := u.Data().Dict("C").Dict(string(id.Bytes()))
	if d == nil || id.Prefix() != key.PrefixStandard {
		return LegacyGroup{}, false
	}
	g := LegacyGroup{ID: id}
	g.load(d)
	return g, true
}

// LegacyGroupOrNew returns the legacy group id, or a new empty one.
func (u *UserGroups) LegacyGroupOrNew(id key.SessionID) LegacyGroup {
	if g, ok := u.LegacyGroup(id); ok {
		return g
	}
	return LegacyGroup{ID: id, Members: map[key.SessionID]bool{}}
}

// SetLegacyGroup stores g (user_groups.cpp:414-436): the name is always
// stored (cut to MaxNameLength bytes), the key pair only as a pair, the
// members and admins as two sets. Members must be 05 IDs.
func (u *UserGroups) SetLegacyGroup(g LegacyGroup) error {
	if err := checkPrefix(g.ID, key.PrefixStandard); err != nil {
		return err
	}
	members, admins := Set{}, Set{}
	for id, admin := range g.Members {
		if err := checkPrefix(id, key.PrefixStandard); err != nil {
			return err
		}
		if admin {
			admins.Add(string(id.Bytes()))
		} else {
			members.Add(string(id.Bytes()))
		}
	}
	u.Mutate(func(d Dict) bool {
		info := d.SubDict("C").SubDict(string(g.ID.Bytes()))
		ch := g.GroupSettings.store(info)
		ch = info.SetString("n", cut(g.Name, MaxNameLength)) || ch
		if len(g.EncPublic) == 32 && len(g.EncSecret) == 32 {
			ch = info.SetString("k", string(g.EncPublic)) || ch
			ch = info.SetString("K", string(g.EncSecret)) || ch
		} else {
			ch = info.Delete("k") || ch
			ch = info.Delete("K") || ch
		}
		ch = setSet(info, "m", members) || ch
		ch = setSet(info, "a", admins) || ch
		return setPositive(info, "E", g.DisappearingTimer) || ch
	})
	return nil
}

// setSet replaces the set at k with s (removing k when s is empty) and
// reports whether that changed anything.
func setSet(d Dict, k string, s Set) bool {
	if len(s) == 0 {
		return d.Delete(k)
	}
	if old := d.Set(k); old != nil && valueEqual(old, s) {
		return false
	}
	d[k] = s
	return true
}

// EraseLegacyGroup removes the legacy group id and reports whether it was
// there.
func (u *UserGroups) EraseLegacyGroup(id key.SessionID) bool {
	return u.erase("C", string(id.Bytes()))
}

// LegacyGroups returns every legacy group, ordered by ID.
func (u *UserGroups) LegacyGroups() []LegacyGroup {
	var out []LegacyGroup
	sub := u.Data().Dict("C")
	for _, k := range sortedKeys(sub) {
		d := sub.Dict(k)
		if d == nil || len(k) != key.SessionIDLen || key.Prefix(k[0]) != key.PrefixStandard {
			continue
		}
		id, err := key.SessionIDFromBytes([]byte(k))
		if err != nil {
			continue
		}
		g := LegacyGroup{ID: id}
		g.load(d)
		out = append(out, g)
	}
	return out
}

// Community returns the community room at baseURL (any spelling) and room
// (any case), and whether the user joined it.
func (u *UserGroups) Community(baseURL, room string) (CommunityRoom, bool) {
	url, err := CanonicalURL(baseURL)
	if err != nil {
		return CommunityRoom{}, false
	}
	rk, err := CanonicalRoom(room)
	if err != nil {
		return CommunityRoom{}, false
	}
	server := u.Data().Dict("o").Dict(url)
	info := server.Dict("R").Dict(rk)
	if info == nil {
		return CommunityRoom{}, false
	}
	c := CommunityRoom{Community: Community{BaseURL: url, Room: room}}
	if pk := server.String("#"); len(pk) == 32 {
		c.Pubkey = [32]byte([]byte(pk))
	}
	if n, ok := info.StringOK("n"); ok {
		c.Room = n
	}
	c.GroupSettings.load(info)
	return c, true
}

// CommunityOrNew returns the stored room of c's address, with c's public
// key, or c with no settings. As libsession's get_or_construct, the stored
// spelling of the room wins over c's.
func (u *UserGroups) CommunityOrNew(c Community) CommunityRoom {
	if got, ok := u.Community(c.BaseURL, c.Room); ok {
		got.Pubkey = c.Pubkey
		return got
	}
	return CommunityRoom{Community: c}
}

// SetCommunity stores a community room (user_groups.cpp:392-397): the
// server's key under its canonical URL, the room under its lower-case
// token with the typed spelling in "n".
func (u *UserGroups) SetCommunity(c CommunityRoom) error {
	comm, err := NewCommunity(c.BaseURL, c.Room, c.Pubkey)
	if err != nil {
		return err
	}
	u.Mutate(func(d Dict) bool {
		server := d.SubDict("o").SubDict(comm.BaseURL)
		ch := server.SetString("#", string(comm.Pubkey[:]))
		info := server.SubDict("R").SubDict(comm.RoomKey())
		ch = c.GroupSettings.store(info) || ch
		return info.SetString("n", comm.Room) || ch
	})
	return nil
}

// EraseCommunity removes the room at baseURL and room, and its server when
// it was the last room; it reports whether the room was there.
func (u *UserGroups) EraseCommunity(baseURL, room string) bool {
	url, err := CanonicalURL(baseURL)
	if err != nil {
		return false
	}
	c := Community{BaseURL: url, Room: room}
	if _, ok := u.Data().Dict("o").Dict(url).Dict("R")[c.RoomKey()]; !ok {
		return false
	}
	u.Mutate(func(d Dict) bool { return eraseRoom(d, c) })
	return true
}

// Communities returns every community room, ordered by base URL then room.
func (u *UserGroups) Communities() []CommunityRoom {
	var out []CommunityRoom
	for _, rm := range communityRooms(u.Data()) {
		c := CommunityRoom{Community: rm.comm}
		c.GroupSettings.load(rm.info)
		out = append(out, c)
	}
	return out
}

// Len is the number of groups, legacy groups and community rooms.
func (u *UserGroups) Len() int {
	d := u.Data()
	return len(d.Dict("g")) + len(d.Dict("C")) + countRooms(d)
}

func (u *UserGroups) erase(sub, k string) bool { return eraseKey(u.Config, k, sub) }

// MemberIDs returns the members of a legacy group in ID order.
func (g LegacyGroup) MemberIDs() []key.SessionID {
	return slices.SortedFunc(maps.Keys(g.Members), func(a, b key.SessionID) int {
		return bytes.Compare(a.Bytes(), b.Bytes())
	})
}

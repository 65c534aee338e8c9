package config

import (
	"time"

	"sotto.dev/key"
)

// Pruning of conversation info (libsession convo_info_volatile.hpp,
// PRUNE_LOW and PRUNE_HIGH): Set ignores a last-read time older than
// PruneLow unless it moves the stored time back, and Push first drops read
// entries older than PruneHigh.
const (
	PruneLow  = 30 * 24 * time.Hour
	PruneHigh = 45 * 24 * time.Hour
)

// ConvoKind says which kind of conversation a Convo is.
type ConvoKind int

// The conversation kinds, with the data key each is stored under.
const (
	ConvoOneToOne    ConvoKind = iota + 1 // "1", by 05 Session ID
	ConvoGroup                            // "g", by 03 group ID
	ConvoLegacyGroup                      // "C", by 05 legacy group ID
	ConvoCommunity                        // "o", by base URL and room
)

func (k ConvoKind) dataKey() string {
	switch k {
	case ConvoOneToOne:
		return "1"
	case ConvoGroup:
		return "g"
	case ConvoLegacyGroup:
		return "C"
	case ConvoCommunity:
		return "o"
	}
	return ""
}

func (k ConvoKind) prefix() key.Prefix {
	if k == ConvoGroup {
		return key.PrefixGroup
	}
	return key.PrefixStandard
}

// Convo is the volatile state of one conversation: up to when it was read,
// and whether the user marked it unread (libsession
// convo_info_volatile.hpp:26-57).
type Convo struct {
	Kind      ConvoKind
	ID        key.SessionID // one-to-one, group and legacy group
	Community Community     // community
	LastRead  int64         // unix milliseconds
	Unread    bool
}

// OneToOne is the (empty) conversation with the account id, to pass to
// the ConvoInfo methods.
func OneToOne(id key.SessionID) Convo { return Convo{Kind: ConvoOneToOne, ID: id} }

// GroupConvo is the conversation of the 03 group id.
func GroupConvo(id key.SessionID) Convo { return Convo{Kind: ConvoGroup, ID: id} }

// LegacyGroupConvo is the conversation of the legacy group id.
func LegacyGroupConvo(id key.SessionID) Convo { return Convo{Kind: ConvoLegacyGroup, ID: id} }

// CommunityConvo is the conversation of a community room.
func CommunityConvo(c Community) Convo { return Convo{Kind: ConvoCommunity, Community: c} }

func (c *Convo) load(d Dict) {
	c.LastRead = d.Int("r")
	c.Unread = d.Int("u") != 0
}

// ConvoInfo is the conversation info config (namespace 4): read state of
// every conversation. It reads the clock (Options.Now) in Set and Push.
type ConvoInfo struct {
	*Config
	now func() time.Time
}

// NewConvoInfo creates the conversation info object, empty or from
// opts.Dump. The kind is set for the caller; Keys default to the account's
// seed.
func NewConvoInfo(opts Options) (*ConvoInfo, error) {
	opts, err := userOptions(opts, ConvoInfoKind)
	if err != nil {
		return nil, err
	}
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &ConvoInfo{Config: c, now: now}, nil
}

// entry returns the dict that holds cv, or nil (and for a community the
// server's stored public key, if any).
func (ci *ConvoInfo) entry(d Dict, cv Convo) (Dict, []byte) {
	if cv.Kind == ConvoCommunity {
		server := d.Dict("o").Dict(cv.Community.BaseURL)
		pk := server.String("#")
		return server.Dict("R").Dict(cv.Community.RoomKey()), []byte(pk)
	}
	return d.Dict(cv.Kind.dataKey()).Dict(string(cv.ID.Bytes())), nil
}

// Get returns the stored state of the conversation cv names (its Kind and
// ID, or Community), and whether there is one.
func (ci *ConvoInfo) Get(cv Convo) (Convo, bool) {
	if cv.Kind == ConvoCommunity {
		// Conversation info knows rooms by their lower-case token only
		// (get_community, convo_info_volatile.cpp:128-141).
		u, err := CanonicalURL(cv.Community.BaseURL)
		if err != nil {
			return Convo{}, false
		}
		r, err := CanonicalRoom(cv.Community.Room)
		if err != nil {
			return Convo{}, false
		}
		cv.Community.BaseURL, cv.Community.Room = u, r
	} else if checkPrefix(cv.ID, cv.Kind.prefix()) != nil {
		return Convo{}, false
	}
	d, pk := ci.entry(ci.Data(), cv)
	if d == nil {
		return Convo{}, false
	}
	if len(pk) == 32 {
		cv.Community.Pubkey = [32]byte(pk)
	}
	cv.load(d)
	return cv, true
}

// GetOrNew returns the stored state of cv, or cv with no state (libsession
// get_or_construct): change LastRead or Unread and Set it. A community
// keeps cv's public key and takes the lower-case room token.
func (ci *ConvoInfo) GetOrNew(cv Convo) Convo {
	if got, ok := ci.Get(cv); ok {
		if cv.Kind == ConvoCommunity {
			got.Community.Pubkey = cv.Community.Pubkey
		}
		return got
	}
	cv.LastRead, cv.Unread = 0, false
	if cv.Kind == ConvoCommunity {
		cv.Community.Room = lowerASCII(cv.Community.Room)
	}
	return cv
}

// Set stores the state of cv (convo_info_volatile.cpp:216-235, 272-290). A
// LastRead older than the stored one is written as given; a newer one
// only when it is within PruneLow of now. Community rooms are keyed by
// their canonical base URL and lower-case room, and store the server key.
func (ci *ConvoInfo) Set(cv Convo) error {
	if cv.Kind == ConvoCommunity {
		comm, err := NewCommunity(cv.Community.BaseURL, cv.Community.Room, cv.Community.Pubkey)
		if err != nil {
			return err
		}
		cv.Community = comm
	} else if err := checkPrefix(cv.ID, cv.Kind.prefix()); err != nil {
		return err
	}
	cutoff := ci.now().Add(-PruneLow).UnixMilli()
	ci.Mutate(func(d Dict) bool {
		ch := false
		// entry finds (create false) or makes the conversation's dict. As
		// libsession's field proxies, nothing is created unless a value is
		// written, and an entry emptied by the change stays until the next
		// serialization prunes it.
		entry := func(create bool) Dict {
			if cv.Kind != ConvoCommunity {
				if !create {
					return d.Dict(cv.Kind.dataKey()).Dict(string(cv.ID.Bytes()))
				}
				return d.SubDict(cv.Kind.dataKey()).SubDict(string(cv.ID.Bytes()))
			}
			server := d.Dict("o").Dict(cv.Community.BaseURL)
			if !create {
				return server.Dict("R").Dict(cv.Community.RoomKey())
			}
			return server.SubDict("R").SubDict(cv.Community.RoomKey())
		}
		if cv.Kind == ConvoCommunity {
			server := d.SubDict("o").SubDict(cv.Community.BaseURL)
			ch = server.SetString("#", string(cv.Community.Pubkey[:]))
		}
		if r, ok := entry(false).IntOK("r"); ok && cv.LastRead < r || cv.LastRead > cutoff {
			ch = entry(true).SetInt("r", cv.LastRead) || ch
		}
		if cv.Unread {
			return entry(true).SetInt("u", 1) || ch
		}
		if info := entry(false); info != nil {
			ch = info.Delete("u") || ch
		}
		return ch
	})
	return nil
}

// Erase removes the state of cv and reports whether there was one. The
// last room of a community server takes the server with it.
func (ci *ConvoInfo) Erase(cv Convo) bool {
	if cv.Kind == ConvoCommunity {
		u, err := CanonicalURL(cv.Community.BaseURL)
		if err != nil {
			return false
		}
		cv.Community.BaseURL = u
	} else if checkPrefix(cv.ID, cv.Kind.prefix()) != nil {
		return false
	}
	if cv.Kind != ConvoCommunity {
		return eraseKey(ci.Config, string(cv.ID.Bytes()), cv.Kind.dataKey())
	}
	if _, ok := ci.Data().Dict("o").Dict(cv.Community.BaseURL).Dict("R")[cv.Community.RoomKey()]; !ok {
		return false
	}
	ci.Mutate(func(d Dict) bool { return eraseRoom(d, cv.Community) })
	return true
}

// eraseRoom removes a community room, and its server when it was the last
// room (convo_info_volatile.cpp:336-349, user_groups.cpp:480-494); it
// reports whether the room was there.
func eraseRoom(d Dict, c Community) bool {
	server := d.Dict("o").Dict(c.BaseURL)
	rooms := server.Dict("R")
	if _, ok := rooms[c.RoomKey()]; !ok {
		return false
	}
	delete(rooms, c.RoomKey())
	if len(rooms) == 0 {
		delete(server, "R")
		delete(d.Dict("o"), c.BaseURL)
	}
	return true
}

// All returns every conversation: one-to-ones, then groups, legacy groups
// and communities, each ordered by key.
func (ci *ConvoInfo) All() []Convo {
	d := ci.Data()
	var out []Convo
	for _, kind := range []ConvoKind{ConvoOneToOne, ConvoGroup, ConvoLegacyGroup} {
		sub := d.Dict(kind.dataKey())
		for _, k := range sortedKeys(sub) {
			e := sub.Dict(k)
			if e == nil || len(k) != key.SessionIDLen || key.Prefix(k[0]) != kind.prefix() {
				continue
			}
			id, err := key.SessionIDFromBytes([]byte(k))
			if err != nil {
				continue
			}
			cv := Convo{Kind: kind, ID: id}
			cv.load(e)
			out = append(out, cv)
		}
	}
	for _, rm := range communityRooms(d) {
		cv := Convo{Kind: ConvoCommunity, Community: rm.comm}
		cv.load(rm.info)
		out = append(out, cv)
	}
	return out
}

// Len is the number of conversations (libsession size(): every entry, and
// the rooms of servers that have a public key).
func (ci *ConvoInfo) Len() int {
	d := ci.Data()
	n := len(d.Dict("1")) + len(d.Dict("g")) + len(d.Dict("C"))
	return n + countRooms(d)
}

// Prune drops the read conversations (one-to-one, legacy group and
// community; not groups, as libsession) last read before PruneHigh ago
// (convo_info_volatile.cpp:237-265). Push calls it.
func (ci *ConvoInfo) Prune() {
	cutoff := ci.now().Add(-PruneHigh).UnixMilli()
	var stale []Convo
	for _, cv := range ci.All() {
		if cv.Kind != ConvoGroup && !cv.Unread && cv.LastRead < cutoff {
			stale = append(stale, cv)
		}
	}
	for _, cv := range stale {
		ci.Erase(cv)
	}
}

// Push prunes stale conversations, then pushes (libsession
// ConvoInfoVolatile::push).
func (ci *ConvoInfo) Push() (Push, error) {
	ci.Prune()
	return ci.Config.Push()
}

type room struct {
	comm Community
	info Dict
}

// communityRooms lists the rooms of every server with a 32-byte public
// key, ordered by base URL then room key; a room's "n", when present, is
// its typed spelling (comm_iterator_helper, community.hpp).
func communityRooms(d Dict) []room {
	var out []room
	servers := d.Dict("o")
	for _, url := range sortedKeys(servers) {
		server := servers.Dict(url)
		pk, ok := server.StringOK("#")
		if !ok || len(pk) != 32 {
			continue
		}
		rooms := server.Dict("R")
		for _, rk := range sortedKeys(rooms) {
			info := rooms.Dict(rk)
			if info == nil {
				continue
			}
			name := rk
			if n, ok := info.StringOK("n"); ok {
				name = n
			}
			if _, err := CanonicalRoom(name); err != nil {
				continue
			}
			out = append(out, room{comm: Community{BaseURL: url, Room: name, Pubkey: [32]byte([]byte(pk))}, info: info})
		}
	}
	return out
}

func countRooms(d Dict) int {
	n := 0
	servers := d.Dict("o")
	for url := range servers {
		server := servers.Dict(url)
		if _, ok := server.StringOK("#"); !ok {
			continue
		}
		n += len(server.Dict("R"))
	}
	return n
}

package storagerpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Communities (docs/ledger.md "Communities"): the ledger lists the
// community servers operators register, with the public rooms each
// lists; nodes answer sotto_communities with that list and a devnet's
// network file names its own. The URL rule is the file server's
// (CheckFileServerURL).

// OxendCommunities is Sotto's own oxend_request endpoint (and /json_rpc
// method): the ledger's listed community servers, as a CommunityList.
const OxendCommunities = "sotto_communities"

// MaxCommunities bounds the entries of a CommunityList a client accepts.
const MaxCommunities = 4096

// MaxCommunityRooms bounds the rooms one registration lists.
const MaxCommunityRooms = 32

// MaxRoomToken bounds a room token, in bytes (session-pysogs: [\w-]{1,64}).
const MaxRoomToken = 64

// Community is a community server as nodes and network files list it.
type Community struct {
	// URL is the server's base URL (BASE/ROOM?public_key=HEX joins a
	// room), checked by CheckFileServerURL.
	URL string `json:"url"`
	// Pubkey is the server's X25519 key in hex: the join URL's
	// public_key, the onion v4 key and the blinding input.
	Pubkey string `json:"pubkey"`
	// PubkeyEd25519 is the Ed25519 key that registered the server in the
	// ledger, in hex; a network file leaves it out.
	PubkeyEd25519 string `json:"pubkey_ed25519,omitempty"`
	// Rooms are the public rooms the server lists, by token.
	Rooms []string `json:"rooms"`
}

// CommunityList is the answer of sotto_communities: the community servers
// the ledger lists at Height, sorted by Ed25519 key.
type CommunityList struct {
	Height      uint64      `json:"height"`
	Communities []Community `json:"communities"`
}

// ErrCommunity is wrapped by the errors of CheckCommunity, CheckRooms and
// ParseCommunityList.
var ErrCommunity = errors.New("bad community entry")

// ValidRoomToken reports whether t can name a room: 1–64 ASCII letters,
// digits, '_' or '-' (session-pysogs model/room.py, ASCII here).
func ValidRoomToken(t string) bool {
	if len(t) == 0 || len(t) > MaxRoomToken {
		return false
	}
	for _, c := range []byte(t) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CheckRooms applies the ledger's rule for a registration's rooms: 1 to
// MaxCommunityRooms valid tokens (ValidRoomToken), none repeated. It is a
// consensus rule, as CheckFileServerURL is.
func CheckRooms(rooms []string) error {
	if len(rooms) == 0 || len(rooms) > MaxCommunityRooms {
		return fmt.Errorf("%w: %d rooms, 1 to %d", ErrCommunity, len(rooms), MaxCommunityRooms)
	}
	seen := make(map[string]bool, len(rooms))
	for i, r := range rooms {
		if !ValidRoomToken(r) {
			return fmt.Errorf("%w: rooms[%d] %q is not a room token (1-%d of A-Z a-z 0-9 _ -)", ErrCommunity, i, r, MaxRoomToken)
		}
		if seen[r] {
			return fmt.Errorf("%w: rooms[%d] %q is repeated", ErrCommunity, i, r)
		}
		seen[r] = true
	}
	return nil
}

// CheckCommunity checks an entry exactly: its URL (CheckFileServerURL),
// its keys as 64 lower-case hex digits, not all zero (the Ed25519 key may
// be absent), and its rooms (CheckRooms).
func CheckCommunity(c Community, allowPrivate bool) error {
	if err := CheckFileServerURL(c.URL, allowPrivate); err != nil {
		return fmt.Errorf("%w: %w", ErrCommunity, err)
	}
	keys := []struct{ name, v string }{{"pubkey", c.Pubkey}}
	if c.PubkeyEd25519 != "" {
		keys = append(keys, struct{ name, v string }{"pubkey_ed25519", c.PubkeyEd25519})
	}
	for _, k := range keys {
		if len(k.v) != 64 || strings.Trim(k.v, "0123456789abcdef") != "" {
			return fmt.Errorf("%w: %s must be 64 lower-case hex digits, got %q", ErrCommunity, k.name, k.v)
		}
		if strings.Trim(k.v, "0") == "" {
			return fmt.Errorf("%w: %s is zero", ErrCommunity, k.name)
		}
	}
	return CheckRooms(c.Rooms)
}

// CheckCommunities checks every entry of a list and that no two share a
// URL or a key.
func CheckCommunities(list []Community, allowPrivate bool) error {
	if len(list) > MaxCommunities {
		return fmt.Errorf("%w: %d entries, at most %d", ErrCommunity, len(list), MaxCommunities)
	}
	seen := make(map[string]int, 3*len(list))
	for i, c := range list {
		if err := CheckCommunity(c, allowPrivate); err != nil {
			return fmt.Errorf("communities[%d]: %w", i, err)
		}
		vs := []string{"url " + c.URL, "key " + c.Pubkey}
		if c.PubkeyEd25519 != "" {
			vs = append(vs, "key "+c.PubkeyEd25519)
		}
		for _, v := range vs {
			if j, dup := seen[v]; dup {
				return fmt.Errorf("%w: communities[%d] repeats the %s of communities[%d]", ErrCommunity, i, strings.Fields(v)[0], j)
			}
			seen[v] = i
		}
	}
	return nil
}

// ParseCommunityList parses a sotto_communities answer: one JSON object
// with communities (possibly empty), each entry passing CheckCommunities.
func ParseCommunityList(b []byte, allowPrivate bool) (*CommunityList, error) {
	var l CommunityList
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%w: not a community list: %v", ErrCommunity, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the list", ErrCommunity)
	}
	if l.Communities == nil {
		return nil, fmt.Errorf("%w: no communities", ErrCommunity)
	}
	if err := CheckCommunities(l.Communities, allowPrivate); err != nil {
		return nil, err
	}
	return &l, nil
}

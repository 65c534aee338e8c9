package lsu

import (
	"fmt"

	"sotto.dev/config"
)

func newConvoObject(opts config.Options) (*object, error) {
	ci, err := config.NewConvoInfo(opts)
	if err != nil {
		return nil, refErr(err)
	}
	o := &object{cfg: ci.Config, opts: withKind(opts, config.ConvoInfoKind), prePush: ci.Prune}
	o.fields = func() map[string]any { return convoFields(ci) }
	o.step = func(op string, q *Request) (Reply, bool, error) {
		switch op {
		case "set_convo", "set_convos":
			set := func(c *Request) error { return setConvo(ci, c) }
			if err := setOneOrEach(q, op, "convo", "convos", set); err != nil {
				return nil, true, err
			}
		case "erase_convo":
			c, err := requireObject(q, "convo")
			if err != nil {
				return nil, true, err
			}
			cv, err := convoKey(c, false)
			if err != nil {
				return nil, true, err
			}
			erased := ci.Erase(cv)
			return Reply{"erased": erased, "count": ci.Len()}, true, nil
		default:
			return nil, false, nil
		}
		return Reply{"count": ci.Len()}, true, nil
	}
	return o, nil
}

// convoKey reads which conversation q names. A community needs its
// server's public key unless it is only looked up (erase).
func convoKey(q *Request, withKey bool) (config.Convo, error) {
	kind, err := textField(q, "kind")
	if err != nil {
		return config.Convo{}, err
	}
	switch kind {
	case "1to1":
		id, err := idField(q, "session_id", "05")
		return config.OneToOne(id), err
	case "group":
		id, err := idField(q, "id", "03")
		return config.GroupConvo(id), err
	case "legacy_group":
		id, err := idField(q, "id", "05")
		return config.LegacyGroupConvo(id), err
	case "community":
		comm, err := communityField(q, withKey)
		return config.CommunityConvo(comm), err
	}
	return config.Convo{}, fmt.Errorf("unknown convo kind %s", kind)
}

// communityField reads base_url, room and (withKey) pubkey, checking them
// as libsession's community constructor does. The oracle reads the fields
// last to first.
func communityField(q *Request, withKey bool) (config.Community, error) {
	var pkText string
	var err error
	if withKey {
		if pkText, err = textField(q, "pubkey"); err != nil {
			return config.Community{}, err
		}
	}
	room, err := textField(q, "room")
	if err != nil {
		return config.Community{}, err
	}
	base, err := textField(q, "base_url")
	if err != nil {
		return config.Community{}, err
	}
	url, err := config.CanonicalURL(base)
	if err != nil {
		return config.Community{}, communityError(err)
	}
	if _, err := config.CanonicalRoom(room); err != nil {
		return config.Community{}, communityError(err)
	}
	comm := config.Community{BaseURL: url, Room: room}
	if withKey {
		pk, err := config.DecodeCommunityPubkey(pkText)
		if err != nil {
			return config.Community{}, communityError(err)
		}
		comm.Pubkey = pk
	}
	return comm, nil
}

// communityError gives community address errors libsession's texts.
func communityError(err error) error {
	texts := map[error]string{
		config.ErrURLProtocol:    "Invalid community URL: invalid/missing protocol://",
		config.ErrURLHost:        "Invalid community URL: invalid hostname",
		config.ErrURLPort:        "Invalid community URL: invalid port",
		config.ErrURLTrailing:    "Invalid community URL: found unexpected trailing value",
		config.ErrURLTooLong:     "Invalid community URL: base URL is too long",
		config.ErrRoomTooLong:    "Invalid community room: room token is too long",
		config.ErrRoomEmpty:      "Invalid community room: room token cannot be empty",
		config.ErrRoomCharacters: "Invalid community URL: room token contains invalid characters",
		config.ErrCommunityKey:   "Invalid encoded pubkey: expected hex, base32z or base64",
	}
	if t, ok := texts[err]; ok {
		return refError(t)
	}
	return err
}

// setConvo is the oracle's set_convo: get_or_construct, change last_read
// and unread when given, set.
func setConvo(ci *config.ConvoInfo, q *Request) error {
	key, err := convoKey(q, true)
	if err != nil {
		return err
	}
	cv := ci.GetOrNew(key)
	if err := setOpt(q, "last_read", optInt, &cv.LastRead); err != nil {
		return err
	}
	if err := setOpt(q, "unread", optBool, &cv.Unread); err != nil {
		return err
	}
	return ci.Set(cv)
}

func convoFields(ci *config.ConvoInfo) map[string]any {
	f := map[string]any{
		"one_to_one":    []any{},
		"groups":        []any{},
		"legacy_groups": []any{},
		"communities":   []any{},
		"count":         ci.Len(),
	}
	for _, cv := range ci.All() {
		switch cv.Kind {
		case config.ConvoOneToOne:
			f["one_to_one"] = append(f["one_to_one"].([]any), map[string]any{
				"session_id": cv.ID.String(), "last_read": cv.LastRead, "unread": cv.Unread,
			})
		case config.ConvoGroup:
			f["groups"] = append(f["groups"].([]any), map[string]any{
				"id": cv.ID.String(), "last_read": cv.LastRead, "unread": cv.Unread,
			})
		case config.ConvoLegacyGroup:
			f["legacy_groups"] = append(f["legacy_groups"].([]any), map[string]any{
				"id": cv.ID.String(), "last_read": cv.LastRead, "unread": cv.Unread,
			})
		case config.ConvoCommunity:
			f["communities"] = append(f["communities"].([]any), map[string]any{
				"base_url":  cv.Community.BaseURL,
				"room":      cv.Community.Room,
				"room_norm": cv.Community.RoomKey(),
				"pubkey":    Hex(cv.Community.Pubkey[:]),
				"last_read": cv.LastRead,
				"unread":    cv.Unread,
			})
		}
	}
	return f
}

package lsu

import (
	"fmt"

	"sotto.dev/config"
)

func newGroupsObject(opts config.Options) (*object, error) {
	ug, err := config.NewUserGroups(opts)
	if err != nil {
		return nil, refErr(err)
	}
	o := &object{cfg: ug.Config, opts: withKind(opts, config.UserGroupsKind)}
	o.fields = func() map[string]any { return groupsFields(ug) }
	o.step = func(op string, q *Request) (Reply, bool, error) {
		switch op {
		case "set_group", "set_groups":
			set := func(g *Request) error { return setGroup(ug, g) }
			if err := setOneOrEach(q, op, "group", "groups", set); err != nil {
				return nil, true, err
			}
		case "erase_group":
			g, err := requireObject(q, "group")
			if err != nil {
				return nil, true, err
			}
			erased, err := eraseGroup(ug, g)
			if err != nil {
				return nil, true, err
			}
			return Reply{"erased": erased, "count": ug.Len()}, true, nil
		default:
			return nil, false, nil
		}
		return Reply{"count": ug.Len()}, true, nil
	}
	return o, nil
}

// setGroup is the oracle's set_group: get_or_construct the entry its kind
// names, change the fields given, set.
func setGroup(ug *config.UserGroups, q *Request) error {
	kind, err := textField(q, "kind")
	if err != nil {
		return err
	}
	switch kind {
	case "group":
		id, err := idField(q, "id", "03")
		if err != nil {
			return err
		}
		g := ug.GroupOrNew(id)
		if err := groupSettings(q, &g.GroupSettings); err != nil {
			return err
		}
		if err := setOpt(q, "name", optText, &g.Name); err != nil {
			return err
		}
		if b, ok, err := stepBytes(q, "secretkey"); err != nil {
			return err
		} else if ok {
			g.SecretKey = b
		}
		if err := setOpt(q, "auth_data", stepBytes, &g.AuthData); err != nil {
			return err
		}
		if v, ok, err := optCInt(q, "removed_status"); err != nil {
			return err
		} else if ok {
			g.Removed = config.RemovedStatus(v)
		}
		return ug.SetGroup(g)
	case "legacy_group":
		id, err := idField(q, "session_id", "05")
		if err != nil {
			return err
		}
		g := ug.LegacyGroupOrNew(id)
		if err := groupSettings(q, &g.GroupSettings); err != nil {
			return err
		}
		if err := setOpt(q, "name", optText, &g.Name); err != nil {
			return err
		}
		if err := setOpt(q, "enc_pubkey", stepBytes, &g.EncPublic); err != nil {
			return err
		}
		if err := setOpt(q, "enc_seckey", stepBytes, &g.EncSecret); err != nil {
			return err
		}
		if err := setOpt(q, "disappearing_timer", optInt, &g.DisappearingTimer); err != nil {
			return err
		}
		if err := legacyMembers(q, &g); err != nil {
			return err
		}
		return ug.SetLegacyGroup(g)
	case "community":
		comm, err := communityField(q, true)
		if err != nil {
			return err
		}
		c := ug.CommunityOrNew(comm)
		if err := groupSettings(q, &c.GroupSettings); err != nil {
			return err
		}
		return ug.SetCommunity(c)
	}
	return fmt.Errorf("unknown user_groups kind %s", kind)
}

// legacyMembers adds (or updates the admin flag of) the members given as
// {session_id: is_admin}.
func legacyMembers(q *Request, g *config.LegacyGroup) error {
	raw, ok := q.Raw("members")
	if !ok || q.IsNull("members") {
		return nil
	}
	if jsonType(raw) != "object" {
		return errType("object", raw)
	}
	var m map[string]any
	if err := jsonUnmarshal(raw, &m); err != nil {
		return err
	}
	for _, sid := range sortedStrings(m) {
		admin, ok := m[sid].(bool)
		if !ok {
			return fmt.Errorf("[json.exception.type_error.302] type must be boolean, but is %s", jsonKind(m[sid]))
		}
		b, err := sessionID(sid, "05")
		if err != nil {
			return err
		}
		id, err := keyFromBytes(b)
		if err != nil {
			return err
		}
		g.Members[id] = admin
	}
	return nil
}

func groupSettings(q *Request, s *config.GroupSettings) error {
	for _, f := range []struct {
		name string
		dst  *int64
		cInt bool
	}{
		{"priority", &s.Priority, true},
		{"joined_at", &s.JoinedAt, false},
		{"mute_until", &s.MuteUntil, false},
	} {
		read := optInt
		if f.cInt {
			read = optCInt
		}
		if err := setOpt(q, f.name, read, f.dst); err != nil {
			return err
		}
	}
	if v, ok, err := optCInt(q, "notifications"); err != nil {
		return err
	} else if ok {
		s.Notify = config.NotifyMode(v)
	}
	if err := setOpt(q, "invited", optBool, &s.Invited); err != nil {
		return err
	}
	return nil
}

// eraseGroup erases the entry q names; an unknown kind is read as a
// community, as the oracle does.
func eraseGroup(ug *config.UserGroups, q *Request) (bool, error) {
	kind, err := textField(q, "kind")
	if err != nil {
		return false, err
	}
	switch kind {
	case "group":
		id, err := idField(q, "id", "03")
		if err != nil {
			return false, err
		}
		return ug.EraseGroup(id), nil
	case "legacy_group":
		id, err := idField(q, "session_id", "05")
		if err != nil {
			return false, err
		}
		return ug.EraseLegacyGroup(id), nil
	}
	comm, err := communityField(q, false)
	if err != nil {
		return false, err
	}
	return ug.EraseCommunity(comm.BaseURL, comm.Room), nil
}

func groupsFields(ug *config.UserGroups) map[string]any {
	settings := func(m map[string]any, s config.GroupSettings) map[string]any {
		m["priority"] = s.Priority
		m["joined_at"] = s.JoinedAt
		m["notifications"] = int64(s.Notify)
		m["mute_until"] = s.MuteUntil
		m["invited"] = s.Invited
		return m
	}
	groups, legacy, comms := []any{}, []any{}, []any{}
	for _, g := range ug.Groups() {
		groups = append(groups, settings(map[string]any{
			"id":             g.ID.String(),
			"name":           g.Name,
			"name_hex":       Hex([]byte(g.Name)),
			"secretkey":      Hex(g.SecretKey),
			"auth_data":      Hex(g.AuthData),
			"removed_status": int64(g.Removed),
		}, g.GroupSettings))
	}
	for _, g := range ug.LegacyGroups() {
		members := map[string]any{}
		for id, admin := range g.Members {
			members[id.String()] = admin
		}
		legacy = append(legacy, settings(map[string]any{
			"session_id":         g.ID.String(),
			"name":               g.Name,
			"name_hex":           Hex([]byte(g.Name)),
			"enc_pubkey":         Hex(g.EncPublic),
			"enc_seckey":         Hex(g.EncSecret),
			"disappearing_timer": g.DisappearingTimer,
			"members":            members,
		}, g.GroupSettings))
	}
	for _, c := range ug.Communities() {
		comms = append(comms, settings(map[string]any{
			"base_url":  c.BaseURL,
			"room":      c.Room,
			"room_norm": c.RoomKey(),
			"pubkey":    Hex(c.Pubkey[:]),
			"name":      "",
			"name_hex":  "",
		}, c.GroupSettings))
	}
	return map[string]any{"groups": groups, "legacy_groups": legacy, "communities": comms, "count": ug.Len()}
}

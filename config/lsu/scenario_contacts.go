package lsu

import (
	"sotto.dev/config"
	"sotto.dev/key"
)

func newContactsObject(opts config.Options) (*object, error) {
	cs, err := config.NewContacts(opts)
	if err != nil {
		return nil, refErr(err)
	}
	o := &object{cfg: cs.Config, opts: withKind(opts, config.ContactsKind)}
	o.fields = func() map[string]any { return contactsFields(cs) }
	o.step = func(op string, q *Request) (Reply, bool, error) {
		switch op {
		case "set_contact", "set_contacts":
			set := func(c *Request) error { return setContact(cs, c) }
			if err := setOneOrEach(q, op, "contact", "contacts", set); err != nil {
				return nil, true, err
			}
		case "erase_contact":
			id, err := idField(q, "session_id", "05")
			if err != nil {
				return nil, true, err
			}
			erased := cs.Erase(id)
			return Reply{"erased": erased, "count": cs.Len()}, true, nil
		default:
			return nil, false, nil
		}
		return Reply{"count": cs.Len()}, true, nil
	}
	return o, nil
}

// setContact is the oracle's set_contact: get_or_construct, change the
// fields given, set.
func setContact(cs *config.Contacts, q *Request) error {
	id, err := idField(q, "session_id", "05")
	if err != nil {
		return err
	}
	ct := cs.GetOrNew(id)
	if s, ok, err := optText(q, "name"); err != nil {
		return err
	} else if ok {
		ct.Name = config.TruncateName(s, config.MaxNameLength)
	}
	if s, ok, err := optText(q, "nickname"); err != nil {
		return err
	} else if ok {
		ct.Nickname = config.TruncateName(s, config.MaxNameLength)
	}
	pic, err := picField(q, ct.Pic)
	if err != nil {
		return err
	}
	ct.Pic = pic
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"approved", &ct.Approved}, {"approved_me", &ct.ApprovedMe}, {"blocked", &ct.Blocked}} {
		if err := setOpt(q, f.name, optBool, f.dst); err != nil {
			return err
		}
	}
	var notify, expiry int64 = int64(ct.Notify), int64(ct.Expiry)
	for _, f := range []struct {
		name string
		dst  *int64
		cInt bool
	}{
		{"priority", &ct.Priority, true},
		{"notifications", &notify, true},
		{"mute_until", &ct.MuteUntil, false},
		{"exp_mode", &expiry, true},
		{"exp_seconds", &ct.ExpirySeconds, false},
		{"created", &ct.Created, false},
	} {
		read := optInt
		if f.cInt {
			read = optCInt
		}
		if err := setOpt(q, f.name, read, f.dst); err != nil {
			return err
		}
	}
	ct.Notify, ct.Expiry = config.NotifyMode(notify), config.ExpiryMode(expiry)
	return cs.Set(ct)
}

// picField applies pic_url and pic_key to cur; the key must be empty or
// 32 bytes.
func picField(q *Request, cur config.ProfilePic) (config.ProfilePic, error) {
	url, urlOK, err := optText(q, "pic_url")
	if err != nil {
		return cur, err
	}
	key, keyOK, err := stepBytes(q, "pic_key")
	if err != nil {
		return cur, err
	}
	if !urlOK && !keyOK {
		return cur, nil
	}
	if !urlOK {
		url = cur.URL
	}
	if !keyOK {
		key = cur.Key
	}
	if len(key) != 0 && len(key) != config.PicKeySize {
		return cur, config.ErrPicKey
	}
	return config.ProfilePic{URL: url, Key: key}, nil
}

// idField reads a hex Session ID with the given prefix.
func idField(q *Request, name, prefix string) (key.SessionID, error) {
	s, err := textField(q, name)
	if err != nil {
		return key.SessionID{}, err
	}
	b, err := sessionID(s, prefix)
	if err != nil {
		return key.SessionID{}, err
	}
	return key.SessionIDFromBytes(b)
}

func contactsFields(cs *config.Contacts) map[string]any {
	list := []any{}
	for _, c := range cs.All() {
		list = append(list, map[string]any{
			"session_id":    c.ID.String(),
			"name":          c.Name,
			"name_hex":      Hex([]byte(c.Name)),
			"nickname":      c.Nickname,
			"nickname_hex":  Hex([]byte(c.Nickname)),
			"pic":           picFields(c.Pic),
			"approved":      c.Approved,
			"approved_me":   c.ApprovedMe,
			"blocked":       c.Blocked,
			"priority":      c.Priority,
			"notifications": int64(c.Notify),
			"mute_until":    c.MuteUntil,
			"exp_mode":      int64(c.Expiry),
			"exp_seconds":   c.ExpirySeconds,
			"created":       c.Created,
		})
	}
	return map[string]any{"count": cs.Len(), "contacts": list}
}

package lsu

import (
	"sotto.dev/config"
)

func newProfileObject(opts config.Options) (*object, error) {
	p, err := config.NewUserProfile(opts)
	if err != nil {
		return nil, refErr(err)
	}
	o := &object{cfg: p.Config, opts: withKind(opts, config.UserProfileKind)}
	o.fields = func() map[string]any { return profileFields(p) }
	o.step = func(op string, q *Request) (Reply, bool, error) {
		err := profileStep(p, op, q)
		if err == errUnknownOp {
			return nil, false, nil
		}
		if err != nil {
			return nil, true, refErr(err)
		}
		return Reply{"fields": profileFields(p)}, true, nil
	}
	return o, nil
}

// withKind returns opts as the object constructors complete them.
func withKind(opts config.Options, kind config.Kind) config.Options {
	opts.Kind = kind
	return opts
}

func profileStep(p *config.UserProfile, op string, q *Request) error {
	switch op {
	case "set_name", "set_name_truncated":
		name, err := textField(q, "name")
		if err != nil {
			return err
		}
		if op == "set_name_truncated" {
			p.SetNameTruncated(name)
			return nil
		}
		return p.SetName(name)
	case "set_pic":
		url, _, err := optText(q, "url")
		if err != nil {
			return err
		}
		key, _, err := stepBytes(q, "key")
		if err != nil {
			return err
		}
		return p.SetPic(config.ProfilePic{URL: url, Key: key})
	case "set_nts_priority":
		v, err := intField(q, "priority")
		if err != nil {
			return err
		}
		p.SetNoteToSelfPriority(int64(int32(v)))
		return nil
	case "set_nts_expiry":
		v, err := intField(q, "seconds")
		if err != nil {
			return err
		}
		p.SetNoteToSelfExpiry(v)
		return nil
	case "set_blinded_msgreqs":
		if _, ok := q.Raw("value"); !ok {
			return errNotFound("value")
		}
		v, ok, err := optBool(q, "value")
		switch {
		case err != nil:
			return err
		case ok:
			p.SetBlindedMsgReqs(v)
		default:
			p.ClearBlindedMsgReqs()
		}
		return nil
	}
	return errUnknownOp
}

func profileFields(p *config.UserProfile) map[string]any {
	f := map[string]any{
		"name":         nil,
		"pic":          picFields(p.Pic()),
		"nts_priority": p.NoteToSelfPriority(),
		"nts_expiry":   nil,
	}
	if n := p.Name(); n != "" {
		f["name"] = n
		f["name_hex"] = Hex([]byte(n))
	}
	if e := p.NoteToSelfExpiry(); e > 0 {
		f["nts_expiry"] = e
	}
	if v, ok := p.BlindedMsgReqs(); ok {
		f["blinded_msgreqs"] = v
	} else {
		f["blinded_msgreqs"] = nil
	}
	return f
}

func picFields(pic config.ProfilePic) map[string]any {
	if !pic.IsSet() {
		return map[string]any{"url": "", "key": ""}
	}
	return map[string]any{"url": pic.URL, "key": Hex(pic.Key)}
}

package lsu

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"sotto.dev/config"
	"sotto.dev/config/groups"
	"sotto.dev/identity"
	"sotto.dev/key"
)

// groupObject is a scenario object of type "group": one user's view of a
// closed group (Info, Members and Keys), as the oracle's
// groups::Info + groups::Members + groups::Keys.
type groupObject struct {
	g    *groups.Group
	user ed25519.PrivateKey
}

// Error texts of libsession-util that the group steps return.
const (
	errTextNoEncKey  = refError("Cannot push data without an encryption key!")
	errTextNoDecKey  = refError("Cannot merge configs without any decryption keys")
	errTextReadOnly  = refError("Unable to make changes to a read-only config object")
	errTextConf      = refError(`group steps on configs need "conf": "info"|"members"`)
	errTextGroupName = refError("Invalid group name: exceeds maximum length")
	errTextGroupDesc = refError("Invalid group description: exceeds maximum length")
	errTextPicKey    = refError("Invalid profile pic key: 32 bytes required")
	errTextGroupSeed = refError("group_seed must be 32 (seed) or 64 (secret key) bytes")
	errTextGroupPK   = refError("group_pk must be 32 bytes")
	errTextUserSeed  = refError("user_seed must be 32 (seed) or 64 (secret key) bytes")
	errTextDumpState = refError("Unable to parse dumped config data: did not find '!' state key")
	errTextDumpData  = refError("Unable to parse dumped config data: did not find '$' data key")
)

// groupErr gives the groups package's errors libsession's texts.
func groupErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, config.ErrReadOnly):
		return errTextReadOnly
	case errors.Is(err, groups.ErrNameTooLong):
		return errTextGroupName
	case errors.Is(err, groups.ErrDescriptionTooLong):
		return errTextGroupDesc
	case errors.Is(err, groups.ErrPicKey):
		return errTextPicKey
	case errors.Is(err, config.ErrDumpState):
		return errTextDumpState
	case errors.Is(err, config.ErrDumpData):
		return errTextDumpData
	}
	return refErr(err)
}

// newGroup creates a group object from user_seed and group_seed (admin)
// or group_pk (member), with optional info_dump, members_dump, keys_dump.
func (sc *scenario) newGroup(name string, q *Request) (Reply, error) {
	seed, err := stepNeedBytes(q, "user_seed")
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize && len(seed) != ed25519.PrivateKeySize {
		return nil, errTextUserSeed
	}
	keys, err := identity.KeysFromSeed(seed[:ed25519.SeedSize])
	if err != nil {
		return nil, err
	}
	defer keys.Wipe()
	user := keys.Ed25519Private()
	opts := groups.Options{User: user, Now: q.Now, Rand: q.Rand}
	if gs, ok, err := stepBytes(q, "group_seed"); err != nil {
		return nil, err
	} else if ok {
		if len(gs) != ed25519.SeedSize && len(gs) != ed25519.PrivateKeySize {
			return nil, errTextGroupSeed
		}
		opts.Secret = ed25519.NewKeyFromSeed(gs[:ed25519.SeedSize])
	} else {
		pk, err := groupPK(q)
		if err != nil {
			return nil, err
		}
		opts.Public = pk
	}
	for _, d := range []struct {
		name string
		dst  *[]byte
	}{{"info_dump", &opts.InfoDump}, {"members_dump", &opts.MembersDump}, {"keys_dump", &opts.KeysDump}} {
		b, _, err := stepBytes(q, d.name)
		if err != nil {
			return nil, err
		}
		*d.dst = b
	}
	g, err := groups.Open(opts)
	if err != nil {
		return nil, groupErr(err)
	}
	sc.objs[name] = &object{typ: "group", group: &groupObject{g: g, user: user}}
	return Reply{
		"group_id":        g.ID().String(),
		"user_session_id": keys.SessionID().String(),
		"admin":           g.Admin(),
	}, nil
}

// groupPK reads group_pk: 32 bytes, or 33 with the 03 prefix (hex).
func groupPK(q *Request) (ed25519.PublicKey, error) {
	pk, err := stepNeedBytes(q, "group_pk")
	if err != nil {
		return nil, err
	}
	if len(pk) == key.SessionIDLen && pk[0] == byte(key.PrefixGroup) {
		pk = pk[1:]
	}
	if len(pk) != ed25519.PublicKeySize {
		return nil, errTextGroupPK
	}
	return ed25519.PublicKey(pk), nil
}

// step runs a step on the group: a config step on conf "info" or
// "members", or a group step.
func (gr *groupObject) step(op string, q *Request) (Reply, error) {
	switch op {
	case "push", "merge", "get", "dump", "confirm_pushed", "current_hashes", "explain":
		conf, ok, err := optText(q, "conf")
		if err != nil {
			return nil, err
		}
		if !ok && op == "get" {
			return Reply{"fields": map[string]any{
				"info":    infoFields(gr.g.Info),
				"members": membersFields(gr.g.Members),
			}}, nil
		}
		o := gr.conf(conf)
		if o == nil {
			return nil, errTextConf
		}
		switch {
		case op == "push" && len(o.opts.Keys) == 0:
			return nil, errTextNoEncKey
		case op == "explain" && q.Has("wrapped"):
			// Group configs have no wrapper: the oracle answers an
			// unwrapping explain with nothing.
			if w, err := jsonBoolOr(q, "wrapped", false); err != nil || w {
				return Reply{}, err
			}
		case op == "merge" && len(o.opts.Keys) == 0:
			// The oracle reads the messages before it fails.
			msgs, err := q.List("messages")
			if err != nil {
				return nil, err
			}
			for _, m := range msgs {
				if _, err := textField(m, "hash"); err != nil {
					return nil, err
				}
				if _, err := stepNeedBytes(m, "data"); err != nil {
					return nil, err
				}
			}
			return nil, errTextNoDecKey
		}
		rep, _, err := o.common(op, q)
		return rep, err
	}
	rep, err := gr.groupStep(op, q)
	if err == errUnknownOp {
		return nil, errors.New("unknown op " + op)
	}
	return rep, groupErr(err)
}

// conf returns a scenario object over the info or members config, with
// the keys the config holds now; nil for another name.
func (gr *groupObject) conf(name string) *object {
	var cfg *config.Config
	var kind config.Kind
	var fields func() map[string]any
	switch name {
	case "info":
		cfg, kind = gr.g.Info.Config, groups.InfoKind
		fields = func() map[string]any { return infoFields(gr.g.Info) }
	case "members":
		cfg, kind = gr.g.Members.Config, groups.MembersKind
		fields = func() map[string]any { return membersFields(gr.g.Members) }
	default:
		return nil
	}
	return &object{typ: "group", cfg: cfg, opts: config.Options{Kind: kind, Keys: cfg.Keys()}, fields: fields, noInner: true}
}

// groupSteps are the steps only a group object takes (spec §2.2).
var groupSteps = map[string]func(gr *groupObject, q *Request) (Reply, error){
	"info_set":              (*groupObject).stepInfoSet,
	"member_set":            (*groupObject).stepMemberSet,
	"member_erase":          (*groupObject).stepMemberErase,
	"rekey":                 (*groupObject).stepRekey,
	"key_supplement":        (*groupObject).stepKeySupplement,
	"load_key_message":      (*groupObject).stepLoadKeyMessage,
	"load_admin_key":        (*groupObject).stepLoadAdminKey,
	"keys_state":            (*groupObject).stepKeysState,
	"keys_dump":             (*groupObject).stepKeysDump,
	"encrypt_message":       (*groupObject).stepEncryptMessage,
	"decrypt_message":       (*groupObject).stepDecryptMessage,
	"swarm_make_subaccount": func(gr *groupObject, q *Request) (Reply, error) { return gr.stepSubaccount("swarm_make_subaccount", q) },
	"swarm_subaccount_token": func(gr *groupObject, q *Request) (Reply, error) {
		return gr.stepSubaccount("swarm_subaccount_token", q)
	},
	"swarm_subaccount_sign":   (*groupObject).stepSwarmSubaccountSign,
	"swarm_verify_subaccount": (*groupObject).stepSwarmVerifySubaccount,
}

func (gr *groupObject) groupStep(op string, q *Request) (Reply, error) {
	if step, ok := groupSteps[op]; ok {
		return step(gr, q)
	}
	return nil, errUnknownOp
}

// stepInfoSet is the scenario step info_set.
func (gr *groupObject) stepInfoSet(q *Request) (Reply, error) {
	g := gr.g
	if err := infoSet(g.Info, q); err != nil {
		return nil, err
	}
	return Reply{"fields": infoFields(g.Info)}, nil
}

// stepMemberSet is the scenario step member_set.
func (gr *groupObject) stepMemberSet(q *Request) (Reply, error) {
	g := gr.g
	if err := memberSetStep(g.Members, q); err != nil {
		return nil, err
	}
	return Reply{"count": g.Members.Len()}, nil
}

// stepMemberErase is the scenario step member_erase.
func (gr *groupObject) stepMemberErase(q *Request) (Reply, error) {
	g := gr.g
	id, err := idField(q, "session_id", "05")
	if err != nil {
		return nil, err
	}
	erased, err := g.Members.Erase(id)
	if err != nil {
		return nil, err
	}
	return Reply{"erased": erased}, nil
}

// stepRekey is the scenario step rekey.
func (gr *groupObject) stepRekey(q *Request) (Reply, error) {
	g := gr.g
	msg, err := g.Rekey()
	if err != nil {
		return nil, err
	}
	if err := saveAs(q, msg); err != nil {
		return nil, err
	}
	return Reply{
		"key_message":      Hex(msg),
		"key_message_len":  len(msg),
		"key_message_json": btJSON(msg),
		"keys":             keysState(g.Keys),
	}, nil
}

// stepKeySupplement is the scenario step key_supplement.
func (gr *groupObject) stepKeySupplement(q *Request) (Reply, error) {
	g := gr.g
	ss, err := stringList(q, "session_ids")
	if err != nil {
		return nil, err
	}
	ids, err := parseSessionIDs(ss)
	if err != nil {
		// libsession checks that it can issue keys before it reads
		// the IDs.
		if _, kerr := g.Keys.Supplement(nil); errors.Is(kerr, groups.ErrNotAdmin) || errors.Is(kerr, groups.ErrNoKeys) {
			return nil, kerr
		}
		return nil, err
	}
	msg, err := g.Keys.Supplement(ids)
	if err != nil {
		return nil, err
	}
	if err := saveAs(q, msg); err != nil {
		return nil, err
	}
	return Reply{"supplement_message": Hex(msg), "supplement_message_json": btJSON(msg)}, nil
}

// stepLoadKeyMessage is the scenario step load_key_message.
func (gr *groupObject) stepLoadKeyMessage(q *Request) (Reply, error) {
	g := gr.g
	hash, err := textField(q, "hash")
	if err != nil {
		return nil, err
	}
	data, err := stepNeedBytes(q, "data")
	if err != nil {
		return nil, err
	}
	ts, ok, err := jsonInt(q, "timestamp_ms", false)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNotFound("timestamp_ms")
	}
	found, err := g.LoadKeyMessage(hash, data, ts)
	if err != nil {
		return nil, err
	}
	return Reply{"found_key": found, "keys": keysState(g.Keys)}, nil
}

// stepLoadAdminKey is the scenario step load_admin_key.
func (gr *groupObject) stepLoadAdminKey(q *Request) (Reply, error) {
	g := gr.g
	seed, err := stepNeedBytes(q, "group_seed")
	if err != nil {
		return nil, err
	}
	if err := g.LoadAdminKey(seed); err != nil {
		return nil, err
	}
	return Reply{"keys": keysState(g.Keys)}, nil
}

// stepKeysState is the scenario step keys_state.
func (gr *groupObject) stepKeysState(q *Request) (Reply, error) {
	g := gr.g
	return Reply{"keys": keysState(g.Keys)}, nil
}

// stepKeysDump is the scenario step keys_dump.
func (gr *groupObject) stepKeysDump(q *Request) (Reply, error) {
	g := gr.g
	d := g.Keys.Dump()
	if err := saveAs(q, d); err != nil {
		return nil, err
	}
	return Reply{"dump": Hex(d), "dump_json": btJSON(d)}, nil
}

// stepEncryptMessage is the scenario step encrypt_message.
func (gr *groupObject) stepEncryptMessage(q *Request) (Reply, error) {
	g := gr.g
	pt, err := stepNeedBytes(q, "plaintext")
	if err != nil {
		return nil, err
	}
	compress, err := jsonBoolOr(q, "compress", true)
	if err != nil {
		return nil, err
	}
	padding, ok, err := jsonInt(q, "padding", false)
	if err != nil {
		return nil, err
	}
	if !ok {
		padding = 256
	}
	ct, err := g.Keys.EncryptMessage(pt, compress, int(padding))
	if err != nil {
		return nil, err
	}
	if err := saveAs(q, ct); err != nil {
		return nil, err
	}
	return Reply{"ciphertext": Hex(ct), "ciphertext_len": len(ct), "nonce": Hex(ct[:min(len(ct), 24)])}, nil
}

// stepDecryptMessage is the scenario step decrypt_message.
func (gr *groupObject) stepDecryptMessage(q *Request) (Reply, error) {
	g := gr.g
	data, err := stepNeedBytes(q, "data")
	if err != nil {
		return nil, err
	}
	sender, pt, err := g.Keys.DecryptMessage(data)
	if err != nil {
		return nil, err
	}
	return Reply{"session_id": sender.String(), "plaintext": Hex(pt)}, nil
}

// stepSubaccount is the scenario step swarm_make_subaccount, swarm_subaccount_token.
func (gr *groupObject) stepSubaccount(op string, q *Request) (Reply, error) {
	g := gr.g
	id, err := idField(q, "session_id", "05")
	if err != nil {
		return nil, err
	}
	write, err := jsonBoolOr(q, "write", true)
	if err != nil {
		return nil, err
	}
	del, err := jsonBoolOr(q, "del", false)
	if err != nil {
		return nil, err
	}
	if op == "swarm_subaccount_token" {
		tok, err := g.Keys.SubaccountToken(id, write, del)
		if err != nil {
			return nil, err
		}
		return Reply{"token": Hex(tok)}, nil
	}
	sv, err := g.Keys.MakeSubaccount(id, write, del)
	if err != nil {
		return nil, err
	}
	if err := saveAs(q, sv); err != nil {
		return nil, err
	}
	return Reply{"sign_value": Hex(sv)}, nil
}

// stepSwarmSubaccountSign is the scenario step swarm_subaccount_sign.
func (gr *groupObject) stepSwarmSubaccountSign(q *Request) (Reply, error) {
	msg, err := stepNeedBytes(q, "msg")
	if err != nil {
		return nil, err
	}
	sv, err := stepNeedBytes(q, "sign_value")
	if err != nil {
		return nil, err
	}
	sig, err := groups.SubaccountSign(gr.user, sv, msg)
	if err != nil {
		return nil, err
	}
	return Reply{
		"subaccount":     Hex(sig.Token[:]),
		"subaccount_sig": Hex(sig.TokenSig[:]),
		"signature":      Hex(sig.Signature[:]),
	}, nil
}

// stepSwarmVerifySubaccount is the scenario step swarm_verify_subaccount.
func (gr *groupObject) stepSwarmVerifySubaccount(q *Request) (Reply, error) {
	g := gr.g
	sv, err := stepNeedBytes(q, "sign_value")
	if err != nil {
		return nil, err
	}
	write, del, err := writeDel(q)
	if err != nil {
		return nil, err
	}
	pub := g.ID().Key()
	return Reply{"valid": groups.VerifySubaccount(pub[:], gr.user, sv, write, del)}, nil
}

// writeDel reads the write and del flags of a verification (both default
// to false).
func writeDel(q *Request) (write, del bool, err error) {
	if write, err = jsonBoolOr(q, "write", false); err != nil {
		return false, false, err
	}
	del, err = jsonBoolOr(q, "del", false)
	return write, del, err
}

// saveAs saves b under the step's "save" name, if it has one.
func saveAs(q *Request, b []byte) error {
	save, ok, err := q.TextOK("save")
	if err != nil {
		return err
	}
	if ok {
		q.Save(save, b)
	}
	return nil
}

// stringList reads a list of strings.
func stringList(q *Request, name string) ([]string, error) {
	raw, ok := q.Raw(name)
	if !ok {
		return nil, errNotFound(name)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, errType("array", raw)
	}
	ss := make([]string, len(elems))
	for i, e := range elems {
		if err := json.Unmarshal(e, &ss[i]); err != nil {
			return nil, errType("string", e)
		}
	}
	return ss, nil
}

// parseSessionIDs parses hex 05 Session IDs.
func parseSessionIDs(ss []string) ([]key.SessionID, error) {
	ids := make([]key.SessionID, 0, len(ss))
	for _, s := range ss {
		b, err := sessionID(s, "05")
		if err != nil {
			return nil, err
		}
		id, err := key.SessionIDFromBytes(b)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// infoSet is the oracle's info_set: each field given is set, in this
// order.
func infoSet(in *groups.Info, q *Request) error {
	for _, f := range []struct {
		name string
		set  func(string) error
	}{
		{"name", in.SetName},
		{"name_truncated", in.SetNameTruncated},
		{"description", in.SetDescription},
		{"description_truncated", in.SetDescriptionTruncated},
	} {
		if q.IsNull(f.name) {
			continue // the oracle skips a null text
		}
		s, ok, err := optText(q, f.name)
		if err != nil {
			return err
		}
		if ok {
			if err := f.set(s); err != nil {
				return err
			}
		}
	}
	if pic, ok, err := groupPic(q); err != nil {
		return err
	} else if ok {
		if err := in.SetPic(pic); err != nil {
			return err
		}
	}
	if v, ok, err := jsonInt(q, "expiry_timer", false); err != nil {
		return err
	} else if ok {
		if err := in.SetExpirySeconds(v); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		set  func(int64) error
	}{
		{"created", in.SetCreated},
		{"delete_before", in.SetDeleteBefore},
		{"delete_attach_before", in.SetDeleteAttachBefore},
	} {
		v, ok, err := jsonInt(q, f.name, false)
		if err != nil {
			return err
		}
		if ok {
			if err := f.set(v); err != nil {
				return err
			}
		}
	}
	if d, ok, err := jsonBool(q, "destroy"); err != nil {
		return err
	} else if ok && d {
		return in.Destroy()
	}
	return nil
}

// groupPic reads pic_url and pic_key as the oracle's info_set and
// member_set do: when either is given, the picture is the two of them, an
// omitted one empty (not the current value). A key must be empty or 32
// bytes.
func groupPic(q *Request) (config.ProfilePic, bool, error) {
	url, urlOK, err := optText(q, "pic_url")
	if err != nil {
		return config.ProfilePic{}, false, err
	}
	key, keyOK, err := stepBytes(q, "pic_key")
	if err != nil {
		return config.ProfilePic{}, false, err
	}
	if !urlOK && !keyOK {
		return config.ProfilePic{}, false, nil
	}
	if len(key) != 0 && len(key) != config.PicKeySize {
		return config.ProfilePic{}, false, groups.ErrPicKey
	}
	return config.ProfilePic{URL: url, Key: key}, true, nil
}

// memberSetStep sets each member of "members" (a list, or the values of
// an object in document order), or else the member under "member", as the
// oracle does.
func memberSetStep(ms *groups.Members, q *Request) error {
	name := "members"
	if !q.Has(name) {
		name = "member"
	}
	raw, ok := q.Raw(name)
	if !ok {
		return errNotFound(name)
	}
	var elems []json.RawMessage
	switch t := jsonType(raw); {
	case name == "members" && t == "array":
		if err := json.Unmarshal(raw, &elems); err != nil {
			return err
		}
	case name == "members" && t == "object":
		var err error
		if elems, err = objectValues(raw); err != nil {
			return err
		}
	default:
		elems = []json.RawMessage{raw}
	}
	for _, e := range elems {
		if t := jsonType(e); t != "object" {
			return fmt.Errorf("[json.exception.type_error.304] cannot use at() with %s", t)
		}
		m, err := q.sub(e)
		if err != nil {
			return err
		}
		if err := setMember(ms, m); err != nil {
			return err
		}
	}
	return nil
}

// objectValues returns the values of a JSON object in document order (the
// order the oracle iterates them in).
func objectValues(raw json.RawMessage) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var out []json.RawMessage
	for dec.More() {
		if _, err := dec.Token(); err != nil { // the key
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// setMember is the oracle's member_set: get_or_construct, change the
// fields given, set. A null name is skipped; other nulls are type errors.
func setMember(ms *groups.Members, q *Request) error {
	id, err := idField(q, "session_id", "05")
	if err != nil {
		return err
	}
	m := ms.GetOrNew(id)
	if !q.IsNull("name") {
		if s, ok, err := optText(q, "name"); err != nil {
			return err
		} else if ok {
			m.SetNameTruncated(s)
		}
	}
	if pic, ok, err := groupPic(q); err != nil {
		return err
	} else if ok {
		m.PicURL, m.PicKey = pic.URL, pic.Key
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"admin", &m.Admin}, {"supplement", &m.Supplement}} {
		if v, ok, err := jsonBool(q, f.name); err != nil {
			return err
		} else if ok {
			*f.dst = v
		}
	}
	invite, promotion, removed := int64(m.Invite), int64(m.Promotion), int64(m.Removed)
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"invite_status", &invite}, {"promotion_status", &promotion}, {"removed_status", &removed}} {
		if v, ok, err := jsonInt(q, f.name, true); err != nil {
			return err
		} else if ok {
			*f.dst = int64(int32(v))
		}
	}
	m.Invite, m.Promotion, m.Removed = groups.InviteStatus(invite), groups.PromotionStatus(promotion), groups.RemovedStatus(removed)
	return ms.Set(m)
}

// jsonInt reads an integer as nlohmann's get<int64_t> (or, with
// boolOK, get<int>) does: a number, its fraction cut; a boolean only for
// int; null and other types are type errors.
func jsonInt(q *Request, name string, boolOK bool) (int64, bool, error) {
	raw, ok := q.Raw(name)
	if !ok {
		return 0, false, nil
	}
	switch jsonType(raw) {
	case "number":
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, false, err
		}
		if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			return i, true, nil
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil {
			return 0, false, err
		}
		return int64(f), true, nil
	case "boolean":
		if boolOK {
			var b bool
			err := json.Unmarshal(raw, &b)
			if b {
				return 1, true, err
			}
			return 0, true, err
		}
	}
	return 0, false, errType("number", raw)
}

// jsonBoolOr reads a boolean, def when it is absent; null and other types
// are type errors.
func jsonBoolOr(q *Request, name string, def bool) (bool, error) {
	v, ok, err := jsonBool(q, name)
	if !ok {
		return def, err
	}
	return v, err
}

// jsonBool reads a boolean; null and other types are type errors.
func jsonBool(q *Request, name string) (bool, bool, error) {
	raw, ok := q.Raw(name)
	if !ok {
		return false, false, nil
	}
	if jsonType(raw) != "boolean" {
		return false, false, errType("boolean", raw)
	}
	var b bool
	err := json.Unmarshal(raw, &b)
	return b, err == nil, err
}

// infoFields is the oracle's view of the info config.
func infoFields(in *groups.Info) map[string]any {
	pic := in.Pic()
	f := map[string]any{
		"name":                 nil,
		"description":          nil,
		"pic":                  map[string]any{"url": pic.URL, "key": Hex(pic.Key)},
		"expiry_timer":         nil,
		"created":              nil,
		"delete_before":        nil,
		"delete_attach_before": nil,
		"destroyed":            in.Destroyed(),
	}
	if n := in.Name(); n != "" {
		f["name"] = n
	}
	if d := in.Description(); d != "" {
		f["description"] = d
	}
	if e, ok := in.ExpirySeconds(); ok {
		f["expiry_timer"] = e
	}
	for _, t := range []struct {
		name string
		get  func() (int64, bool)
	}{{"created", in.Created}, {"delete_before", in.DeleteBefore}, {"delete_attach_before", in.DeleteAttachBefore}} {
		if v, ok := t.get(); ok {
			f[t.name] = v
		}
	}
	return f
}

// membersFields is the oracle's view of the members config.
func membersFields(ms *groups.Members) map[string]any {
	list := []any{}
	for _, m := range ms.All() {
		list = append(list, map[string]any{
			"session_id":       m.ID.String(),
			"name":             m.Name,
			"name_hex":         Hex([]byte(m.Name)),
			"pic":              picFields(config.ProfilePic{URL: m.PicURL, Key: m.PicKey}),
			"admin":            m.Admin,
			"invite_status":    int64(m.Invite),
			"promotion_status": int64(m.Promotion),
			"removed_status":   int64(m.Removed),
			"supplement":       m.Supplement,
		})
	}
	return map[string]any{"count": ms.Len(), "members": list}
}

// keysState is the oracle's "keys" object.
func keysState(k *groups.Keys) map[string]any {
	enc := k.EncryptionKeys()
	list := make([]any, len(enc))
	for i, e := range enc {
		list[i] = Hex(e[:])
	}
	gen, _ := k.Generation()
	hashes := k.CurrentHashes()
	slices.Sort(hashes)
	st := map[string]any{
		"group_keys":         list,
		"current_generation": gen,
		"admin":              k.Admin(),
		"needs_rekey":        k.NeedsRekey(),
		"current_hashes":     nonNil(hashes),
	}
	if pk, msg, ok := k.Pending(); ok {
		st["pending_key"] = Hex(pk[:])
		st["pending_config"] = Hex(msg)
	}
	return st
}

package lsu

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"sotto.dev/config"
	"sotto.dev/identity"
	"sotto.dev/key"
)

// registerScenario registers the scenario command (docs/config.md, "The
// command language", scenario): named config objects driven step by step.
func (r *Runner) registerScenario() {
	r.handlers["scenario"] = runScenario
}

// A scenario holds the named objects of one scenario command; byte
// variables ("save", "X_ref") live in the command's Request.
type scenario struct {
	objs map[string]*object
}

// object is one named config object and what the generic steps need to
// know about its type.
type object struct {
	typ  string
	cfg  *config.Config
	opts config.Options
	// prePush runs before a push (conversation info prunes).
	prePush func()
	// fields answers "get" and follows setters and merges.
	fields func() map[string]any
	// step runs a type-specific op; ok is false for an unknown op.
	step func(op string, q *Request) (rep Reply, ok bool, err error)
	// group is set for a closed group, which dispatches its steps itself
	// (scenario_closedgroup.go).
	group *groupObject
	// noInner leaves "inner" out of push replies (group configs, which
	// have no wrapper).
	noInner bool
}

func runScenario(q *Request) (Reply, error) {
	if _, ok := q.Raw("steps"); !ok {
		return nil, errNotFound("steps")
	}
	steps, err := q.List("steps")
	if err != nil {
		return nil, err
	}
	sc := &scenario{objs: map[string]*object{}}
	results := []any{}
	for i, st := range steps {
		label := "?"
		rep, err := func() (Reply, error) {
			op, err := textField(st, "op")
			if err != nil {
				return nil, err
			}
			label = op
			return sc.step(op, st)
		}()
		if err != nil {
			results = append(results, map[string]any{"ok": false, "error": err.Error()})
			if mayFail, _ := st.Bool("may_fail", false); mayFail {
				continue
			}
			return Reply{"results": results, "failed_step": i}, fmt.Errorf("step %d (%s) failed: %s", i, label, err)
		}
		out := map[string]any{"ok": true}
		for k, v := range rep {
			out[k] = jsonTexts(v)
		}
		results = append(results, out)
	}
	return Reply{"results": results}, nil
}

func (sc *scenario) step(op string, q *Request) (Reply, error) {
	if op == "new" {
		return sc.newObject(q)
	}
	name, err := textField(q, "obj")
	if err != nil {
		return nil, err
	}
	o, ok := sc.objs[name]
	if !ok {
		return nil, fmt.Errorf("unknown object %s", name)
	}
	if o.group != nil {
		return o.group.step(op, q)
	}
	if rep, ok, err := o.common(op, q); ok {
		return rep, err
	}
	rep, ok, err := o.step(op, q)
	if !ok {
		return nil, fmt.Errorf("unknown %s op %s", o.typ, op)
	}
	return rep, err
}

// common runs the steps every config object has; ok is false for another
// op.
func (o *object) common(op string, q *Request) (rep Reply, ok bool, err error) {
	rep, err = o.commonStep(op, q)
	if err == errUnknownOp {
		return nil, false, nil
	}
	return rep, true, err
}

func (o *object) commonStep(op string, q *Request) (Reply, error) {
	switch op {
	case "push":
		return o.push(q)
	case "merge":
		return o.merge(q)
	case "get":
		return Reply{"fields": o.fields(), "needs_push": o.cfg.NeedsPush()}, nil
	case "dump":
		d := o.cfg.Dump()
		if save, ok, err := q.TextOK("save"); err != nil {
			return nil, err
		} else if ok {
			q.Save(save, d)
		}
		return Reply{"dump": Hex(d), "dump_json": btJSON(d)}, nil
	case "confirm_pushed":
		hash, err := textField(q, "hash")
		if err != nil {
			return nil, err
		}
		seqno, err := intField(q, "seqno")
		if err != nil {
			return nil, err
		}
		o.cfg.ConfirmPushed(seqno, hash)
		return Reply{"needs_push": o.cfg.NeedsPush()}, nil
	case "current_hashes":
		return Reply{"hashes": nonNil(o.cfg.CurrentHashes())}, nil
	case "explain":
		data, err := stepNeedBytes(q, "data")
		if err != nil {
			return nil, err
		}
		wrapped, err := boolField(q, "wrapped", false)
		if err != nil {
			return nil, err
		}
		layers, err := o.explain(data, wrapped)
		if err != nil {
			return nil, err
		}
		return Reply{"layers": layers}, nil
	}
	return nil, errUnknownOp
}

// newObject creates a named object: one of the four user configs, from a
// 32-byte seed or 64-byte secret key and an optional dump.
func (sc *scenario) newObject(q *Request) (Reply, error) {
	name, err := textField(q, "name")
	if err != nil {
		return nil, err
	}
	typ, err := textField(q, "type")
	if err != nil {
		return nil, err
	}
	if typ == "group" {
		return sc.newGroup(name, q)
	}
	build, ok := objectTypes[typ]
	if !ok {
		return nil, fmt.Errorf("unknown object type %s", typ)
	}
	seed, err := stepNeedBytes(q, "seed")
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize && len(seed) != ed25519.PrivateKeySize {
		return nil, errors.New("seed must be 32 (seed) or 64 (secret key) bytes")
	}
	keys, err := identity.KeysFromSeed(seed[:ed25519.SeedSize])
	if err != nil {
		return nil, err
	}
	defer keys.Wipe()
	sessionID := keys.SessionID()
	if len(seed) == ed25519.PrivateKeySize {
		// The reference takes the account ID from the key's public half as
		// given, and the encryption key from the seed half.
		x, err := identity.Ed25519ToX25519(key.AccountPublic(seed[ed25519.SeedSize:]))
		if err != nil {
			return nil, refError("ed->x25519 conversion failed")
		}
		sessionID = key.AccountID(x)
	}
	dump, _, err := stepBytes(q, "dump")
	if err != nil {
		return nil, err
	}
	opts := config.Options{
		Keys:    [][32]byte{keys.Seed32()},
		Account: keys.Ed25519Private(),
		Dump:    dump,
		Now:     q.Now,
	}
	o, err := build(opts)
	if err != nil {
		return nil, err
	}
	o.typ = typ
	sc.objs[name] = o
	return Reply{"session_id": sessionID.String(), "enc_key": Hex(seed[:ed25519.SeedSize])}, nil
}

// objectTypes builds each scenario object type.
var objectTypes = map[string]func(config.Options) (*object, error){
	"user_profile":        newProfileObject,
	"contacts":            newContactsObject,
	"convo_info_volatile": newConvoObject,
	"user_groups":         newGroupsObject,
}

// push pushes the object, as libsession 1.2.0 does: a config over one
// message is refused ("Config data is too large") and the object stays as
// it was, unless the step asks for multipart (a Sotto extension: the reply
// then lists every part in "messages", "save" also saves part i as
// "<save>.<i>", and "confirm" confirms part i as stored under hash
// "<confirm>.<i>").
func (o *object) push(q *Request) (Reply, error) {
	multipart, err := boolField(q, "multipart", false)
	if err != nil {
		return nil, err
	}
	if o.prePush != nil {
		o.prePush()
	}
	// libsession 1.2.0 (the oracle) has no multipart and always wraps user
	// configs: a push that needs parts, or that newer clients store
	// unwrapped to stay under the limit, is too large for it.
	sealed, err := config.Seal(o.cfg.Serialized(), o.opts.Kind, o.opts.Keys[0], o.opts.Account, o.cfg.Seqno())
	if err != nil {
		return nil, refErr(err)
	}
	single := len(sealed.Messages) == 1
	if !multipart && (!single || o.opts.Kind.Protobuf && bytes.Equal(sealed.Messages[0], sealed.Inner)) {
		return nil, errTooLarge
	}
	p, err := o.cfg.Push()
	if err != nil {
		return nil, refErr(err)
	}
	if len(p.Messages) == 0 {
		return nil, errors.New("push returned no message")
	}
	data := p.Messages[0]
	wrapped := o.opts.Kind.Protobuf && len(p.Messages) == 1 && !bytes.Equal(data, sealed.Inner)
	rep := Reply{
		"seqno":            p.Seqno,
		"data":             Hex(data),
		"data_len":         len(data),
		"obsolete":         nonNil(p.Obsolete),
		"protobuf_wrapped": wrapped,
	}
	inner := data
	if wrapped {
		inner, err = config.UnwrapConfig(o.opts.Account, data, o.opts.Kind.Namespace)
		if err != nil {
			return nil, fmt.Errorf("unwrap own push: %w", err)
		}
	}
	if !o.noInner {
		rep["inner"] = Hex(inner)
		rep["inner_len"] = len(inner)
	}
	layers, err := o.explain(inner, false)
	if err != nil {
		return nil, err
	}
	rep["layers"] = layers
	if len(p.Messages) > 1 {
		parts := make([]string, len(p.Messages))
		for i, m := range p.Messages {
			parts[i] = Hex(m)
		}
		rep["messages"] = parts
	}
	if save, ok, err := q.TextOK("save"); err != nil {
		return nil, err
	} else if ok {
		q.Save(save, data)
		if len(p.Messages) > 1 {
			for i, m := range p.Messages {
				q.Save(fmt.Sprintf("%s.%d", save, i), m)
			}
		}
	}
	if save, ok, err := q.TextOK("save_inner"); err != nil {
		return nil, err
	} else if ok {
		q.Save(save, inner)
	}
	if hash, ok, err := q.TextOK("confirm"); err != nil {
		return nil, err
	} else if ok {
		hashes := []string{hash}
		if len(p.Messages) > 1 {
			hashes = hashes[:0]
			for i := range p.Messages {
				hashes = append(hashes, fmt.Sprintf("%s.%d", hash, i))
			}
		}
		o.cfg.ConfirmPushed(p.Seqno, hashes...)
		rep["confirmed"] = hash
	}
	rep["needs_push_after"] = o.cfg.NeedsPush()
	return rep, nil
}

// merge merges {hash, data|data_ref} messages.
func (o *object) merge(q *Request) (Reply, error) {
	msgs, err := q.List("messages")
	if err != nil {
		return nil, err
	}
	if _, ok := q.Raw("messages"); !ok {
		return nil, errNotFound("messages")
	}
	in := make([]config.Incoming, len(msgs))
	for i, m := range msgs {
		hash, err := textField(m, "hash")
		if err != nil {
			return nil, err
		}
		data, err := stepNeedBytes(m, "data")
		if err != nil {
			return nil, err
		}
		in[i] = config.Incoming{Hash: hash, Data: data}
	}
	accepted, err := o.cfg.Merge(in)
	if err != nil {
		return nil, refErr(err)
	}
	return Reply{"accepted": nonNil(accepted), "needs_push": o.cfg.NeedsPush(), "fields": o.fields()}, nil
}

// explain decrypts data (unwrapping it first when wrapped) with the
// object's keys and describes its layers. A ciphertext no key opens is
// answered, not failed, as the reference does.
func (o *object) explain(data []byte, wrapped bool) (map[string]any, error) {
	if wrapped {
		var err error
		data, err = config.UnwrapConfig(o.opts.Account, data, o.opts.Kind.Namespace)
		if err != nil {
			return nil, refErr(err)
		}
	}
	for i, k := range o.opts.Keys {
		padded, err := config.Decrypt(data, k, o.opts.Kind.Domain)
		if err != nil {
			continue
		}
		body := bytes.TrimLeft(padded, "\x00")
		layers := map[string]any{
			"key_index":            i,
			"padded_plaintext_len": len(padded),
			"pad_len":              len(padded) - len(body),
			"body":                 Hex(body),
			"compressed":           len(body) > 0 && body[0] == 'z',
		}
		opened, err := config.Open(data, o.opts.Kind, o.opts.Keys[i:i+1], o.opts.Account)
		switch {
		case err != nil:
			layers["bt_parse_error"] = err.Error()
		case opened.Plain != nil:
			layers["bt"] = Hex(opened.Plain)
			layers["bt_len"] = len(opened.Plain)
			layers["bt_json"] = btJSON(opened.Plain)
		}
		return layers, nil
	}
	return map[string]any{"error": "could not decrypt with any current key"}, nil
}

// refError is an error whose text is the reference library's, word for
// word (so it starts with a capital, as the C++ exception texts do).
type refError string

func (e refError) Error() string { return string(e) }

const errTooLarge = refError("Config data is too large")

// refErr gives the engine's errors the texts libsession throws,
// where a vector compares them.
func refErr(err error) error {
	var we *config.WrapperError
	if errors.As(err, &we) {
		return refError(we.Reason)
	}
	switch {
	case errors.Is(err, config.ErrTooLarge):
		return errTooLarge
	case errors.Is(err, config.ErrNameTooLong):
		return refError("Invalid profile name: exceeds maximum length")
	case errors.Is(err, config.ErrPicKey):
		return refError("Invalid profile pic key: 32 bytes required")
	}
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// The helpers below read step fields with the reference oracle's error
// texts (it reads JSON with nlohmann::json).

func errNotFound(name string) error {
	return fmt.Errorf("[json.exception.out_of_range.403] key '%s' not found", name)
}

func errType(want string, raw json.RawMessage) error {
	return fmt.Errorf("[json.exception.type_error.302] type must be %s, but is %s", want, jsonType(raw))
}

// textField reads a required text input (name or name_hex).
func textField(q *Request, name string) (string, error) {
	if _, ok := q.Raw(name + "_hex"); ok {
		return q.Text(name)
	}
	raw, ok := q.Raw(name)
	if !ok {
		return "", errNotFound(name)
	}
	if jsonType(raw) != "string" {
		return "", errType("string", raw)
	}
	return q.Text(name)
}

// optText reads an optional text input.
func optText(q *Request, name string) (string, bool, error) {
	if !q.Has(name) {
		return "", false, nil
	}
	s, err := textField(q, name)
	return s, err == nil, err
}

// intField reads a required integer.
func intField(q *Request, name string) (int64, error) {
	raw, ok := q.Raw(name)
	if !ok {
		return 0, errNotFound(name)
	}
	if jsonType(raw) != "number" {
		return 0, errType("number", raw)
	}
	return q.Int(name, 0)
}

// optInt reads an optional integer; null counts as absent.
func optInt(q *Request, name string) (int64, bool, error) {
	raw, ok := q.Raw(name)
	if !ok || q.IsNull(name) {
		return 0, false, nil
	}
	if jsonType(raw) != "number" {
		return 0, false, errType("number", raw)
	}
	v, err := q.Int(name, 0)
	return v, err == nil, err
}

// optCInt reads an optional integer into a C int, as the oracle does for
// int fields (so 2^32+1 reads as 1).
func optCInt(q *Request, name string) (int64, bool, error) {
	v, ok, err := optInt(q, name)
	return int64(int32(v)), ok, err
}

// optBool reads an optional boolean; null counts as absent.
func optBool(q *Request, name string) (bool, bool, error) {
	raw, ok := q.Raw(name)
	if !ok || q.IsNull(name) {
		return false, false, nil
	}
	if jsonType(raw) != "boolean" {
		return false, false, errType("boolean", raw)
	}
	v, err := q.Bool(name, false)
	return v, err == nil, err
}

func boolField(q *Request, name string, def bool) (bool, error) {
	v, ok, err := optBool(q, name)
	if !ok {
		return def, err
	}
	return v, err
}

// stepBytes reads an optional byte input (hex, _text or _ref).
func stepBytes(q *Request, name string) ([]byte, bool, error) {
	b, ok, err := q.BytesOK(name)
	if err != nil {
		return nil, false, bytesError(q, name, err)
	}
	return b, ok, nil
}

// stepNeedBytes reads a required byte input.
func stepNeedBytes(q *Request, name string) ([]byte, error) {
	b, ok, err := stepBytes(q, name)
	if err == nil && !ok {
		err = fmt.Errorf("missing required byte field '%s' (or '%s_text')", name, name)
	}
	return b, err
}

// bytesError words a bad byte input as the oracle does.
func bytesError(q *Request, name string, err error) error {
	var s string
	if raw, ok := q.Raw(name + "_ref"); ok && json.Unmarshal(raw, &s) == nil {
		if _, saved := q.Ref(s); !saved {
			return fmt.Errorf("unknown variable '%s'", s)
		}
	}
	if raw, ok := q.Raw(name); ok && json.Unmarshal(raw, &s) == nil {
		return fmt.Errorf("not valid hex: %s", s)
	}
	return err
}

// setOpt reads the optional input name with read and, when it is given,
// stores it in dst.
func setOpt[T any](q *Request, name string, read func(*Request, string) (T, bool, error), dst *T) error {
	v, ok, err := read(q, name)
	if err != nil {
		return err
	}
	if ok {
		*dst = v
	}
	return nil
}

// setOneOrEach is a set_<one> step (the object under one, given to set)
// or a set_<many> step (each object of the list under many), as op says.
// The errors are the oracle's: set's refErr-worded, a bad object too, a
// bad list as it is.
func setOneOrEach(q *Request, op, one, many string, set func(*Request) error) error {
	if op == "set_"+one {
		o, err := requireObject(q, one)
		if err == nil {
			err = set(o)
		}
		if err != nil {
			return refErr(err)
		}
		return nil
	}
	list, err := requireList(q, many)
	if err != nil {
		return err
	}
	for _, o := range list {
		if err := set(o); err != nil {
			return refErr(err)
		}
	}
	return nil
}

// requireObject returns the nested object name.
func requireObject(q *Request, name string) (*Request, error) {
	raw, ok := q.Raw(name)
	if !ok {
		return nil, errNotFound(name)
	}
	if jsonType(raw) != "object" {
		return nil, errType("object", raw)
	}
	sub, _, err := q.Object(name)
	return sub, err
}

// requireList returns the nested list of objects name.
func requireList(q *Request, name string) ([]*Request, error) {
	raw, ok := q.Raw(name)
	if !ok {
		return nil, errNotFound(name)
	}
	if jsonType(raw) != "array" {
		return nil, errType("array", raw)
	}
	return q.List(name)
}

// sessionID parses a hex ID as libsession's check_session_id does: 66 hex
// digits starting with prefix ("05" or "03"), upper case allowed after it.
func sessionID(s, prefix string) ([]byte, error) {
	if len(s) != 66 || !strings.HasPrefix(s, prefix) || !isHex(s) {
		return nil, refError(fmt.Sprintf("Invalid session ID: expected 66 hex digits starting with %s; got %s", prefix, s))
	}
	b := make([]byte, 33)
	for i := range b {
		b[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return b, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if unhex(s[i]) == 0xff {
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0xff
}

// errUnknownOp is returned by a type's step function for an op it does not
// know.
var errUnknownOp = errors.New("unknown op")

func jsonUnmarshal(raw json.RawMessage, v any) error { return json.Unmarshal(raw, v) }

// jsonKind names the JSON type of a decoded value, as nlohmann does.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "number"
}

func sortedStrings[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func keyFromBytes(b []byte) (key.SessionID, error) { return key.SessionIDFromBytes(b) }

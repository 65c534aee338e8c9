package config

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"
)

// State is the push state of a config object (libsession base.hpp:40-52).
type State int

// The states, with the numbers a dump stores in "!".
const (
	StateClean   State = 0 // nothing to push
	StateDirty   State = 1 // changed since the last push
	StateWaiting State = 2 // pushed, waiting for ConfirmPushed
)

// Kind says what an object is: its namespace, encryption domain and
// whether pushes are protobuf-wrapped.
type Kind struct {
	Name      string // "user_profile", "contacts", …
	Namespace int    // swarm namespace (2 user profile, 3 contacts, …)
	Domain    string // encryption domain ("UserProfile", …), 1–24 bytes
	Protobuf  bool   // user configs: pushes are wrapped (§4.4)
}

// Options configure a new config object.
type Options struct {
	Kind Kind
	// Keys are the 32-byte key bases, newest first; pushes encrypt with
	// Keys[0] and merges try them all. User configs: the account's Ed25519
	// seed.
	Keys [][32]byte
	// Account is the user's Ed25519 private key, needed to protobuf-wrap
	// (and unwrap) user config pushes. Nil for group configs.
	Account ed25519.PrivateKey
	// Signer signs messages (a group admin's group key); Verifier checks
	// them (the group public key). Both nil for user configs.
	Signer   ed25519.PrivateKey
	Verifier ed25519.PublicKey
	// Dump, when not empty, restores the object saved by Dump.
	Dump []byte
	// Now is the clock (pruning in conversation info); nil means time.Now.
	Now func() time.Time
}

// Incoming is one message fetched from the swarm, to merge.
type Incoming struct {
	Hash string // the swarm message hash
	Data []byte // exactly the stored bytes
}

// Push is what an object has to store on its swarm.
type Push struct {
	Seqno int64
	// Messages are the bytes to store, one message normally, several
	// parts when the config is over the single-message limit (§4.12).
	Messages [][]byte
	// Obsolete are swarm hashes this push supersedes, to delete once the
	// push is stored.
	Obsolete []string
}

// ErrNoKeys is returned by Push and Merge on an object without keys.
var ErrNoKeys = errors.New("config: no encryption keys")

// Errors of a dump without its state or its data (New wraps them).
var (
	ErrDumpState = errors.New(`config: dump has no valid "!" state`)
	ErrDumpData  = errors.New(`config: dump has no "$" data`)
)

// maxPendingParts bounds the multi-part messages an object keeps while it
// waits for their other parts.
const maxPendingParts = 16

// Config is one config object: its data, seqno and push state, following
// libsession's ConfigBase (src/config/base.cpp). It is not safe for
// concurrent use.
type Config struct {
	opts      Options
	lag       int
	state     State
	msg       *message
	curr      []string            // swarm hashes of the current message; several for parts
	old       map[string]struct{} // swarm hashes made obsolete, for the next push
	needsDump bool
	extra     []byte // the "+" dict of a dump, kept as is
	// extraFn, when set, gives the "+" dict at each Dump.
	extraFn func() []byte

	// spare is a copy of msg.data that a Mutate in a clean or waiting
	// state made and did not change; the next Mutate reuses it.
	spare Dict
	// gen counts the replacements of msg (Generation).
	gen uint64

	// parts holds the parts of multi-part messages seen so far, by the
	// hash of the whole message.
	parts map[[32]byte]*pendingParts
}

type pendingParts struct {
	count  int
	parts  map[int]Part
	hashes map[int]string
}

// New creates a config object, empty or restored from opts.Dump.
func New(opts Options) (*Config, error) {
	if n := len(opts.Kind.Domain); n < 1 || n > 24 {
		return nil, fmt.Errorf("config: encryption domain must be 1-24 bytes, not %d", n)
	}
	if opts.Signer != nil {
		if len(opts.Signer) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("config: signing key must be %d bytes", ed25519.PrivateKeySize)
		}
		pub := opts.Signer.Public().(ed25519.PublicKey)
		if opts.Verifier != nil && !bytes.Equal(opts.Verifier, pub) {
			return nil, errors.New("config: signing key and verifying key do not match")
		}
		opts.Verifier = pub
	}
	if opts.Verifier != nil && len(opts.Verifier) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("config: verifying key must be %d bytes", ed25519.PublicKeySize)
	}
	c := &Config{opts: opts, lag: DefaultLag, old: map[string]struct{}{}}
	if len(opts.Dump) == 0 {
		c.msg = emptyMessage(c.lag, opts.Verifier, opts.Signer)
		return c, nil
	}
	if err := c.loadDump(opts.Dump); err != nil {
		return nil, fmt.Errorf("config: load dump: %w", err)
	}
	return c, nil
}

func (c *Config) readonly() bool { return c.opts.Verifier != nil && c.opts.Signer == nil }

// setState changes the state; leaving Clean makes the current hashes
// obsolete (base.cpp:26-36).
func (c *Config) setState(s State) {
	if c.state == StateClean && len(c.curr) > 0 {
		for _, h := range c.curr {
			c.old[h] = struct{}{}
		}
		c.curr = nil
	}
	c.state = s
	c.needsDump = true
	c.spare = nil
}

// setMessage replaces the current message.
func (c *Config) setMessage(m *message) {
	m.verifier, m.signer = c.opts.Verifier, c.opts.Signer
	c.msg = m
	c.gen++
	c.spare = nil
}

// Data returns the current data. Callers must not modify it; use Mutate.
func (c *Config) Data() Dict { return c.msg.data }

// Mutate runs fn on the data. fn edits d in place and returns whether it
// changed anything; when it did, the object becomes dirty (the first change
// after a push starts the next seqno, as libsession does).
//
// The first change after a push keeps the data of the pushed seqno as the
// original that the next diff is computed against (base.cpp:38-49); that
// is one copy of the data per seqno. A read-only object (a group member
// who cannot sign) does not change; Change reports that.
func (c *Config) Mutate(fn func(d Dict) bool) { _ = c.Change(fn) }

// ErrReadOnly is returned by Change for a change to a read-only object: a
// group config of a member who cannot sign.
var ErrReadOnly = errors.New("config: read-only object (group member without the group key)")

// Change is Mutate, reporting ErrReadOnly when fn would change a read-only
// object. As in libsession (base.cpp:26-36), only leaving the clean or
// waiting state is refused: a read-only object restored from a dirty dump
// still takes changes.
func (c *Config) Change(fn func(d Dict) bool) error {
	if c.state == StateDirty {
		if fn(c.msg.data) {
			c.needsDump = true
		}
		return nil
	}
	if c.spare == nil {
		c.spare = c.msg.data.Clone()
	}
	if !fn(c.spare) {
		return nil
	}
	if c.readonly() {
		c.spare = nil
		return ErrReadOnly
	}
	data := c.spare
	c.setState(StateDirty)
	c.setMessage(c.msg.increment(data))
	return nil
}

// ReadOnly reports whether the object can verify but not sign: a group
// config of a member who is not an admin.
func (c *Config) ReadOnly() bool { return c.readonly() }

// Seqno is the current seqno.
func (c *Config) Seqno() int64 { return c.msg.seqno }

// Generation counts the times the current message was replaced: by a
// merge that changed the object, or by the first change after a push. A
// caller compares it around Merge to learn whether the merge changed
// anything without serializing the object. A merge never edits the Dict
// an earlier Data returned; it replaces it, so that Dict stays a view of
// the state before the merge.
func (c *Config) Generation() uint64 { return c.gen }

// State is the current push state.
func (c *Config) State() State { return c.state }

// NeedsPush reports whether the object has changes to push.
func (c *Config) NeedsPush() bool { return c.state != StateClean }

// NeedsDump reports whether the object changed since the last Dump.
func (c *Config) NeedsDump() bool { return c.needsDump }

// Push serializes, compresses, pads, encrypts and (for user configs) wraps
// the current message, moving a dirty object to Waiting. It returns an error
// wrapping ErrTooLarge when the config is over the limit.
//
// A clean object pushes its current message again (base.cpp:291-325);
// Obsolete takes the hashes collected since the last push.
func (c *Config) Push() (Push, error) {
	if len(c.opts.Keys) == 0 {
		return Push{}, ErrNoKeys
	}
	seqno := c.msg.seqno
	sealed, err := Seal(c.msg.serialize(true), c.opts.Kind, c.opts.Keys[0], c.opts.Account, seqno)
	if err != nil {
		return Push{}, fmt.Errorf("config: push %s: %w", c.opts.Kind.Name, err)
	}
	return Push{Seqno: seqno, Messages: sealed.Messages, Obsolete: c.pushed()}, nil
}

// pushed moves a dirty object to Waiting once its message is sealed and
// returns the obsolete hashes to delete.
func (c *Config) pushed() []string {
	if c.state == StateDirty {
		c.setState(StateWaiting)
	}
	var obsolete []string
	if !c.readonly() {
		obsolete = c.obsolete()
	}
	clear(c.old)
	return obsolete
}

func (c *Config) obsolete() []string {
	out := make([]string, 0, len(c.old))
	for h := range c.old {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// ConfirmPushed records that the push of seqno was stored under the swarm
// hashes given (one per part); it moves a Waiting object to Clean. A
// confirmation for an older seqno (the object changed since) is ignored.
func (c *Config) ConfirmPushed(seqno int64, hashes ...string) {
	if c.state == StateWaiting && seqno == c.msg.seqno {
		c.setState(StateClean)
		c.curr = slices.Clone(hashes)
	}
}

// Merge merges messages fetched from the swarm and returns the hashes of
// those it accepted (parsed, even if superseded). It fails only when the
// object is still at seqno 0 and no message is valid, as libsession does.
//
// It follows ConfigBase::_merge (base.cpp:104-266): the current message
// takes part as one more input, messages that cannot be opened are
// skipped, parts of a multi-part message wait until all of them are there,
// and every input that is not the result becomes obsolete.
func (c *Config) Merge(msgs []Incoming) ([]string, error) {
	good, _, err := c.merge(msgs)
	return good, err
}

// MergeOutcome is what a merge made of one incoming message
// (MergeReport).
type MergeOutcome int8

// The outcomes.
const (
	// MergeAccepted: the message opened and parsed, and took part in the
	// merge (even if it was superseded).
	MergeAccepted MergeOutcome = iota
	// MergeNoKey: none of the object's keys decrypts the message (a key
	// the object may get later, such as a group's next key).
	MergeNoKey
	// MergePart: a part of a multi-part message whose other parts have
	// not all arrived; the object keeps it until they do.
	MergePart
	// MergeRejected: the message is not a valid config message (it
	// decrypted but did not unpad, decompress, parse or verify, or it is
	// too short to be a ciphertext): no key can make it valid.
	MergeRejected
)

var mergeOutcomeNames = [...]string{"accepted", "no key", "part", "rejected"}

func (o MergeOutcome) String() string {
	if o >= 0 && int(o) < len(mergeOutcomeNames) {
		return mergeOutcomeNames[o]
	}
	return fmt.Sprintf("MergeOutcome(%d)", int8(o))
}

// MergeReport merges as Merge does and also reports, for each message of
// msgs, what became of it, so that a caller can keep the messages no key
// opens for a later retry. On an object without keys every outcome is
// MergeNoKey (and the error ErrNoKeys); when the merge fails, the
// outcomes are still set.
func (c *Config) MergeReport(msgs []Incoming) ([]string, []MergeOutcome, error) {
	return c.merge(msgs)
}

func (c *Config) merge(msgs []Incoming) ([]string, []MergeOutcome, error) {
	outcomes := make([]MergeOutcome, len(msgs))
	if len(c.opts.Keys) == 0 {
		for i := range outcomes {
			outcomes[i] = MergeNoKey
		}
		return nil, outcomes, ErrNoKeys
	}
	var hashes [][]string
	var confs [][]byte
	var from [][]int // per conf: the indexes in msgs of its messages
	var complete [][32]byte
	partAt := map[string]int{} // a part's hash → its index in msgs
	waiting := false           // a part arrived
	for i, in := range msgs {
		o, err := Open(in.Data, c.opts.Kind, c.opts.Keys, c.opts.Account)
		switch {
		case errors.Is(err, ErrDecrypt):
			outcomes[i] = MergeNoKey
			continue
		case err != nil:
			outcomes[i] = MergeRejected
			continue
		}
		if o.Part == nil {
			hashes = append(hashes, []string{in.Hash})
			confs = append(confs, o.Plain)
			from = append(from, []int{i})
			continue
		}
		waiting = true
		outcomes[i] = MergePart
		partAt[in.Hash] = i
		if c.addPart(*o.Part, in.Hash) {
			complete = append(complete, o.Part.Hash)
		}
	}
	slices.SortFunc(complete, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	for _, h := range complete {
		pp := c.parts[h]
		if pp == nil {
			continue // listed twice
		}
		delete(c.parts, h)
		parts := make([]Part, 0, pp.count)
		var hs []string
		var idx []int
		for i := range pp.count {
			parts = append(parts, pp.parts[i])
			hs = append(hs, pp.hashes[i])
			if j, ok := partAt[pp.hashes[i]]; ok {
				idx = append(idx, j)
			}
		}
		plain, err := JoinParts(parts)
		if err != nil {
			for _, j := range idx {
				outcomes[j] = MergeRejected
			}
			continue
		}
		hashes = append(hashes, hs)
		confs = append(confs, plain)
		from = append(from, idx)
	}
	if len(confs) == 0 && waiting {
		// Only parts of messages still incomplete: nothing to merge yet,
		// and nothing wrong.
		return nil, outcomes, nil
	}
	good, bad, err := c.mergeOpenedBad(hashes, confs)
	for i, idx := range from {
		for _, j := range idx {
			if err != nil || bad[i] {
				outcomes[j] = MergeRejected
			} else {
				outcomes[j] = MergeAccepted
			}
		}
	}
	return good, outcomes, err
}

// mergeOpened merges serialized config messages, each stored under the
// swarm hashes given (several for a multi-part message).
func (c *Config) mergeOpened(hashes [][]string, confs [][]byte) ([]string, error) {
	good, _, err := c.mergeOpenedBad(hashes, confs)
	return good, err
}

// mergeOpenedBad is mergeOpened that also reports, per input, whether it
// failed to parse.
func (c *Config) mergeOpenedBad(hashes [][]string, confs [][]byte) ([]string, []bool, error) {
	oldSeqno := c.msg.seqno
	mine := oldSeqno != 0 || c.state == StateDirty
	if mine {
		hashes = append([][]string{c.curr}, hashes...)
		confs = append([][]byte{c.msg.serialize(true)}, confs...)
	}
	m, bad, err := mergeMessages(confs, c.opts.Verifier, c.opts.Signer, c.lag)
	if err != nil {
		return nil, nil, err
	}
	super := m.unmerged
	for i, hs := range hashes {
		if i != super && !bad[i] {
			for _, h := range hs {
				if h != "" {
					c.old[h] = struct{}{}
				}
			}
		}
	}

	dirty := c.state == StateDirty
	newSeqno := m.seqno
	if dirty && super != -1 {
		// libsession builds the result as a mutable message, which starts
		// the next seqno unless it is a merge (config.cpp:696-710).
		newSeqno++
	}
	switch {
	case newSeqno == oldSeqno:
		// Nothing changed (our own message includes everything).
	case super == -1:
		if dirty {
			// MutableConfigMessage(vector<…>): the merge result is the
			// original of the next diff.
			m.mutable = true
			m.orig = m.data.Clone()
		} else {
			m.retainMutable()
		}
		c.setMessage(m)
		c.setState(StateDirty)
	case dirty && super == 0 && newSeqno == oldSeqno+1:
		// Our own unpushed message includes everything: keep it.
	default:
		if dirty {
			// The mutable copy of the adopted message, one seqno on,
			// recorded as clean (base.cpp:246-251).
			m = m.increment(m.data.Clone())
		}
		c.setMessage(m)
		c.setState(StateClean)
		c.curr = slices.Clone(hashes[super])
	}

	var good []string
	start := 0
	if mine {
		start = 1
	}
	for i := start; i < len(hashes); i++ {
		if !bad[i] {
			good = append(good, hashes[i]...)
		}
	}
	return good, bad[start:], nil
}

// addPart stores one part and reports whether its message is complete.
func (c *Config) addPart(p Part, hash string) bool {
	if p.Count < 1 || p.Index < 0 || p.Index >= p.Count {
		return false
	}
	if c.parts == nil {
		c.parts = map[[32]byte]*pendingParts{}
	}
	pp := c.parts[p.Hash]
	if pp == nil || pp.count != p.Count {
		if pp == nil && len(c.parts) >= maxPendingParts {
			for h := range c.parts { // drop any one
				delete(c.parts, h)
				break
			}
		}
		pp = &pendingParts{count: p.Count, parts: map[int]Part{}, hashes: map[int]string{}}
		c.parts[p.Hash] = pp
	}
	pp.parts[p.Index] = p
	pp.hashes[p.Index] = hash
	return len(pp.parts) == pp.count
}

// CurrentHashes are the swarm hashes of the messages the current state is
// built from; every other stored message of this object is obsolete.
func (c *Config) CurrentHashes() []string { return slices.Clone(c.curr) }

// Dump serializes the object for local persistence (§4.6) and clears
// NeedsDump.
//
// The dump is libsession's (base.cpp:335-360): {"!": state, "$": the
// unsigned message, "(": current hash, ")": [obsolete hashes], "+":
// extra}. The obsolete hashes are sorted (libsession writes them in hash
// set order). A multi-part current message also lists all its part
// hashes under "*", which libsession does not read.
func (c *Config) Dump() []byte {
	if c.readonly() {
		clear(c.old)
	}
	b := []byte{'d'}
	b = appendBTString(b, "!")
	b = appendBTInt(b, int64(c.state))
	b = appendBTString(b, "$")
	b = appendBTBytes(b, c.msg.serialize(false))
	b = appendBTString(b, "(")
	if len(c.curr) > 0 {
		b = appendBTString(b, c.curr[0])
	} else {
		b = appendBTString(b, "")
	}
	b = appendBTString(b, ")")
	b = append(b, 'l')
	for _, h := range c.obsolete() {
		b = appendBTString(b, h)
	}
	b = append(b, 'e')
	if len(c.curr) > 1 {
		b = appendBTString(b, "*")
		b = append(b, 'l')
		for _, h := range c.curr {
			b = appendBTString(b, h)
		}
		b = append(b, 'e')
	}
	b = appendBTString(b, "+")
	if c.extraFn != nil {
		c.extra = c.extraFn()
	}
	if c.extra != nil {
		b = append(b, c.extra...)
	} else {
		b = append(b, 'd', 'e')
	}
	b = append(b, 'e')
	c.needsDump = false
	return b
}

// loadDump restores a dump (base.cpp:386-436). A dirty dump reloads as the
// next seqno, since its message may or may not have been pushed.
func (c *Config) loadDump(dump []byte) error {
	v, err := DecodeBT(dump)
	if err != nil {
		return err
	}
	d, ok := v.(map[string]any)
	if !ok {
		return errors.New("not a dict")
	}
	st, ok := d["!"].(int64)
	if !ok || st < int64(StateClean) || st > int64(StateWaiting) {
		return ErrDumpState
	}
	data, ok := d["$"].(string)
	if !ok {
		return ErrDumpData
	}
	c.state = State(st)
	if c.state == StateDirty {
		m, err := parseMessage([]byte(data), nil, nil, c.lag, false)
		if err != nil {
			return err
		}
		c.setMessage(m.increment(m.data.Clone()))
	} else {
		m, err := parseMessage([]byte(data), nil, nil, c.lag, true)
		if err != nil {
			return err
		}
		c.setMessage(m)
	}
	if h, ok := d["("]; ok {
		hs, ok := h.(string)
		if !ok {
			return errors.New(`bad "(" hash`)
		}
		if hs != "" {
			c.curr = []string{hs}
		}
		old, ok := d[")"].([]any)
		if !ok {
			return errors.New(`"(" without ")"`)
		}
		for _, o := range old {
			s, ok := o.(string)
			if !ok {
				return errors.New(`bad ")" hash`)
			}
			c.old[s] = struct{}{}
		}
	}
	if parts, ok := d["*"].([]any); ok && len(c.curr) == 1 {
		c.curr = c.curr[:0]
		for _, p := range parts {
			if s, ok := p.(string); ok {
				c.curr = append(c.curr, s)
			}
		}
	}
	if x, ok := d["+"].(map[string]any); ok {
		if c.extra, err = EncodeBT(x); err != nil {
			return err
		}
	}
	return nil
}

// Serialized returns the serialized config message (the bt dict that a push
// encrypts, signed when there is a signer) of the current state.
func (c *Config) Serialized() []byte { return c.msg.serialize(true) }

// SetKeys replaces the encryption keys, newest first: Keys[0] encrypts
// pushes and merges try them all (libsession ConfigBase::replace_keys,
// base.cpp:502-525). A key listed twice is kept once. With dirty set, an
// object that can change (not a group member who cannot sign) becomes dirty
// when the encrypting key is new, so that its next push re-encrypts its data
// under that key at the next seqno: a group rekey does this for the group's
// info and members, while loading a key message does not.
func (c *Config) SetKeys(keys [][32]byte, dirty bool) {
	changed := len(keys) > 0 && (len(c.opts.Keys) == 0 || c.opts.Keys[0] != keys[0]) ||
		len(keys) == 0 && len(c.opts.Keys) > 0
	out := make([][32]byte, 0, len(keys))
	for _, k := range keys {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	c.opts.Keys = out
	if dirty && changed && !c.readonly() {
		c.touch()
	}
}

// Keys returns the encryption keys, newest first.
func (c *Config) Keys() [][32]byte { return slices.Clone(c.opts.Keys) }

// touch makes the object dirty without changing its data, as libsession's
// ConfigBase::dirty does (base.cpp:38-49): a clean or waiting object starts
// its next seqno.
func (c *Config) touch() {
	if c.state == StateDirty {
		c.needsDump = true
		return
	}
	c.setState(StateDirty)
	c.setMessage(c.msg.increment(c.msg.data.Clone()))
}

// SetSigner makes the object sign its messages with sk from now on (a
// group member promoted to admin; libsession ConfigSig::set_sig_keys). sk
// must match the verifying key the object was created with, if any.
func (c *Config) SetSigner(sk ed25519.PrivateKey) error {
	if len(sk) != ed25519.PrivateKeySize {
		return fmt.Errorf("config: signing key must be %d bytes", ed25519.PrivateKeySize)
	}
	pub := sk.Public().(ed25519.PublicKey)
	if c.opts.Verifier != nil && !bytes.Equal(c.opts.Verifier, pub) {
		return errors.New("config: signing key and verifying key do not match")
	}
	c.opts.Signer, c.opts.Verifier = sk, pub
	c.msg.signer, c.msg.verifier = sk, pub
	return nil
}

// Extra returns the bt-encoded "+" dict of the dump the object was
// restored from (data an object keeps locally besides its config, such as
// the group members whose invitation is not sent yet), or nil.
func (c *Config) Extra() []byte { return bytes.Clone(c.extra) }

// SetExtraSource makes Dump write fn's result as the "+" dict: a
// bt-encoded dict, or nil for an empty one. The object calls ExtraChanged
// when what fn returns changes.
func (c *Config) SetExtraSource(fn func() []byte) { c.extraFn = fn }

// ExtraChanged records that the "+" dict changed: the object needs a dump.
func (c *Config) ExtraChanged() { c.needsDump = true }

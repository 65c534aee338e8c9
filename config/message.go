package config

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/blake2b"
)

// The config message (libsession src/config.cpp) is a bt dict with, in
// key order: "#" seqno, "&" data, "<" the lagged diffs of the previous
// seqnos [[seqno, hash, diff]…], "=" the diff of this message against the
// previous seqno, and "~" an optional Ed25519 signature. Unknown top-level
// keys between "#" and "~" are kept and written back. See docs/config.md.

// ErrMessage is wrapped by every error parsing a config message.
var ErrMessage = errors.New("config: invalid config message")

// ErrSignature is wrapped when a message's signature is missing (and one is
// required) or does not verify.
var ErrSignature = errors.New("config: bad config signature")

// DefaultLag is how many seqnos of diffs a message carries: the previous
// lag-1 in "<" and its own in "=" (libsession base.hpp config_lags()).
const DefaultLag = 5

// seqHash identifies a message: its seqno and the BLAKE2b-256 hash of its
// serialized bytes. Messages are ordered by seqno, then hash bytewise.
type seqHash struct {
	seqno int64
	hash  [32]byte
}

func (a seqHash) compare(b seqHash) int {
	if c := cmp.Compare(a.seqno, b.seqno); c != 0 {
		return c
	}
	return bytes.Compare(a.hash[:], b.hash[:])
}

// laggedDiff is one entry of "<".
type laggedDiff struct {
	seqHash
	diff diff
}

// unknownKey is a top-level key this version does not know, kept as its
// encoded value.
type unknownKey struct {
	key string
	val []byte
}

// message is one config message: parsed from bytes, the result of a
// merge, or mutable (being edited for the next push). It mirrors
// libsession's ConfigMessage and MutableConfigMessage.
type message struct {
	seqHash
	data    Dict
	diff    diff         // "=": parsed, or computed from orig at serialize time when mutable
	lagged  []laggedDiff // "<", ascending by (seqno, hash)
	unknown []unknownKey // ascending by key
	sig     []byte       // a verified (or trusted) signature, written back as is

	lag      int
	verifier ed25519.PublicKey
	signer   ed25519.PrivateKey

	// mutable messages compute their diff as orig → data when serialized
	// (config.cpp:725-730); orig is the data of the previous seqno.
	mutable bool
	orig    Dict

	// unmerged is, after mergeMessages, the index of the input adopted as
	// is, or -1 when the result is a merge of several.
	unmerged int
}

// emptyMessage is the seqno-0 message of a new object (config.cpp:525-527).
// libsession hashes it before the object has its signing keys
// (base.cpp:386-439), so unsigned, whatever the object.
func emptyMessage(lag int, verifier ed25519.PublicKey, signer ed25519.PrivateKey) *message {
	m := &message{data: Dict{}, lag: lag, verifier: verifier, signer: signer, unmerged: -1}
	m.hash = blake2b.Sum256(m.serialize(false))
	return m
}

func hashBytes(b []byte) [32]byte { return blake2b.Sum256(b) }

// parseMessage parses a serialized config message exactly as libsession's
// ConfigMessage constructor accepts it (config.cpp:529-565), except that
// nothing may follow the outer dict. With a verifier the signature is
// required and checked; trustSig keeps an unverified signature (dumps).
func parseMessage(b []byte, verifier ed25519.PublicKey, signer ed25519.PrivateKey, lag int, trustSig bool) (*message, error) {
	m := &message{lag: lag, verifier: verifier, signer: signer, unmerged: -1}
	if err := m.parse(b, trustSig); err != nil {
		if errors.Is(err, ErrSignature) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrMessage, err)
	}
	m.hash = hashBytes(b)
	return m, nil
}

func (m *message) parse(b []byte, trustSig bool) error {
	r := &btReader{b: b}
	if err := r.open('d'); err != nil {
		return err
	}
	if r.isEnd() {
		return r.errf(`first key must be "#"`)
	}
	k, err := r.key(nil)
	if err != nil {
		return err
	}
	if string(k) != "#" || !r.isInt() {
		return r.errf(`first key must be "#"`)
	}
	if m.seqno, err = r.int(); err != nil {
		return err
	}
	prev := k

	// nextKey reads the next key and returns it with the position to go
	// back to; at the end of the dict it returns ok false.
	nextKey := func() (key []byte, at int, ok bool, err error) {
		at = r.i
		if r.done() {
			return nil, at, false, r.errf("unexpected end of data")
		}
		if r.isEnd() {
			return nil, at, false, nil
		}
		key, err = r.key(prev)
		return key, at, err == nil, err
	}
	// unknowns keeps the keys before until (load_unknowns,
	// internal.cpp:154-176) and leaves r at the next key.
	unknowns := func(until string) error {
		for {
			k, at, ok, err := nextKey()
			if err != nil || !ok {
				return err
			}
			if string(k) >= until {
				r.i = at
				return nil
			}
			v, err := r.skip(0)
			if err != nil {
				return err
			}
			m.unknown = append(m.unknown, unknownKey{string(k), bytes.Clone(v)})
			prev = k
		}
	}
	// expect consumes the key want if it comes next; at the end of the
	// dict it fails, as libsession's key() throws there.
	expect := func(want string) (bool, error) {
		k, at, ok, err := nextKey()
		if err != nil {
			return false, err
		}
		if !ok {
			return false, r.errf("unexpected end of dict before %q", want)
		}
		if string(k) != want {
			r.i = at
			return false, nil
		}
		prev = k
		return true, nil
	}

	if err := unknowns("&"); err != nil {
		return err
	}
	if ok, err := expect("&"); err != nil {
		return err
	} else if !ok || !r.isDict() {
		return r.errf(`"&" data dict not found`)
	}
	if m.data, err = readData(r, 0); err != nil {
		return err
	}
	if err := unknowns("<"); err != nil {
		return err
	}
	if ok, err := expect("<"); err != nil {
		return err
	} else if ok {
		if err := m.readLagged(r); err != nil {
			return err
		}
	}
	if err := unknowns("="); err != nil {
		return err
	}
	if ok, err := expect("="); err != nil {
		return err
	} else if ok {
		if m.diff, err = readDiff(r, 0); err != nil {
			return err
		}
		if len(m.diff) == 0 {
			m.diff = nil
		}
	}
	if err := unknowns("~"); err != nil {
		return err
	}

	// The signature (verify_config_sig, config.cpp:432-457): it signs
	// everything before its key.
	k, at, ok, err := nextKey()
	if err != nil {
		return err
	}
	if ok && string(k) == "~" {
		if !r.isString() {
			return r.errf("signature is not a string")
		}
		sig, err := r.str()
		if err != nil {
			return err
		}
		if len(sig) != ed25519.SignatureSize {
			return fmt.Errorf("%w: not 64 bytes", ErrSignature)
		}
		if m.verifier != nil && !ed25519.Verify(m.verifier, b[:at], sig) {
			return fmt.Errorf("%w: verification failed", ErrSignature)
		}
		if m.verifier != nil || trustSig {
			m.sig = bytes.Clone(sig)
		}
	} else {
		if m.verifier != nil {
			return fmt.Errorf("%w: missing", ErrSignature)
		}
		r.i = at
	}
	if end, err := r.end(); err != nil || !end {
		return r.errf(`keys after "~"`)
	}
	if !r.done() {
		return r.errf("%d bytes after the message", len(b)-r.i)
	}
	return nil
}

// readLagged reads "<" (parse_lagged_diffs, config.cpp:314-345). Entries
// lag or more seqnos old are dropped after a structural check only.
func (m *message) readLagged(r *btReader) error {
	if !r.isList() {
		return r.errf(`"<" is not a list`)
	}
	r.i++
	for {
		end, err := r.end()
		if err != nil {
			return err
		}
		if end {
			return nil
		}
		if !r.isList() {
			return r.errf("lagged diff is not a list")
		}
		raw, err := r.skip(0)
		if err != nil {
			return err
		}
		sub := &btReader{b: raw, i: 1}
		s, err := sub.int()
		if err != nil {
			return err
		}
		if s >= m.seqno {
			return sub.errf("lagged seqno %d >= current seqno %d", s, m.seqno)
		}
		if s <= m.seqno-int64(m.lag) {
			continue
		}
		h, err := sub.str()
		if err != nil {
			return err
		}
		if len(h) != 32 {
			return sub.errf("lagged diff hash must be 32 bytes")
		}
		ld := laggedDiff{seqHash: seqHash{seqno: s}}
		copy(ld.hash[:], h)
		if n := len(m.lagged); n > 0 && ld.compare(m.lagged[n-1].seqHash) <= 0 {
			return sub.errf("lagged diffs unsorted or duplicated")
		}
		if !sub.isDict() {
			return sub.errf("lagged diff is not a dict")
		}
		if ld.diff, err = readDiff(sub, 0); err != nil {
			return err
		}
		if !sub.isEnd() {
			return sub.errf("lagged diff: expected 3 elements")
		}
		m.lagged = append(m.lagged, ld)
	}
}

// hasLagged reports whether m carries the diff of sh in "<".
func (m *message) hasLagged(sh seqHash) bool {
	_, ok := slices.BinarySearchFunc(m.lagged, sh, func(l laggedDiff, t seqHash) int {
		return l.compare(t)
	})
	return ok
}

// currentDiff returns the diff to serialize: a mutable message prunes its
// data and computes it from orig (MutableConfigMessage::diff,
// config.cpp:725-730), dropping any signature it had.
func (m *message) currentDiff() diff {
	if m.mutable {
		m.sig = nil
		m.data.Prune()
		m.diff = diffDicts(m.orig, m.data)
	}
	return m.diff
}

// serialize writes the message (config.cpp:732-787), signed when it has
// a signer and sign is set, or with the signature it was loaded with.
func (m *message) serialize(sign bool) []byte {
	return m.serializeWith(m.currentDiff(), sign)
}

func (m *message) serializeWith(df diff, sign bool) []byte {
	b := make([]byte, 0, 256)
	b = append(b, 'd')
	b = appendBTString(b, "#")
	b = appendBTInt(b, m.seqno)
	u := m.unknown
	u, b = appendUnknown(b, u, "&")
	b = appendBTString(b, "&")
	b = appendData(b, m.data)
	u, b = appendUnknown(b, u, "<")
	b = appendBTString(b, "<")
	b = append(b, 'l')
	for _, l := range m.lagged {
		if l.seqno <= m.seqno-int64(m.lag) || l.seqno >= m.seqno {
			continue
		}
		b = append(b, 'l')
		b = appendBTInt(b, l.seqno)
		b = appendBTBytes(b, l.hash[:])
		b = appendDiff(b, l.diff)
		b = append(b, 'e')
	}
	b = append(b, 'e')
	u, b = appendUnknown(b, u, "=")
	b = appendBTString(b, "=")
	b = appendDiff(b, df)
	_, b = appendUnknown(b, u, "~")
	switch {
	case m.sig != nil:
		b = appendBTString(b, "~")
		b = appendBTBytes(b, m.sig)
	case m.signer != nil && sign:
		sig := ed25519.Sign(m.signer, b)
		b = appendBTString(b, "~")
		b = appendBTBytes(b, sig)
	}
	return append(b, 'e')
}

// appendUnknown writes the unknown keys before until and returns the rest.
func appendUnknown(b []byte, u []unknownKey, until string) ([]unknownKey, []byte) {
	for len(u) > 0 && u[0].key < until {
		b = appendBTString(b, u[0].key)
		b = append(b, u[0].val...)
		u = u[1:]
	}
	return u, b
}

// increment returns the mutable message of the next seqno built on m
// (MutableConfigMessage(m, increment_seqno) and increment_impl,
// config.cpp:465-515): m's data becomes the original the new diff is
// computed against, m's diff joins the lagged diffs, and the ones too old
// for the new seqno are dropped. data is the data of the new message: a
// copy of m's, the one copy made per seqno.
func (m *message) increment(data Dict) *message {
	n := *m
	if m.mutable {
		// A mutable message's hash is of its current serialization.
		n.hash = hashBytes(n.serialize(true))
	}
	n.orig = n.data
	n.data = data
	n.lagged = make([]laggedDiff, 0, len(m.lagged)+1)
	for _, l := range m.lagged {
		if l.seqno <= m.seqno-int64(m.lag) || l.seqno >= m.seqno {
			continue
		}
		n.lagged = append(n.lagged, l)
	}
	n.lagged = append(n.lagged, laggedDiff{seqHash: n.seqHash, diff: n.diff})
	n.seqno++
	n.hash = [32]byte{}
	n.diff = nil
	n.mutable = true
	n.unmerged = m.unmerged
	return &n
}

// retainMutable makes m mutable at its own seqno, as libsession's
// MutableConfigMessage(ConfigMessage&&, retain_seqno) does for a merge
// result (config.cpp:493-502). That constructor leaves the original data
// empty, so the next serialization's "=" lists every value as set; the
// vectors (user_profile.two_device_merge) show exactly that.
func (m *message) retainMutable() {
	if m.mutable {
		return
	}
	m.mutable = true
	m.orig = nil
}

package groups

import (
	"fmt"
	"slices"
)

// Dump returns k's state in libsession's keys dump format (§4.6;
// keys.cpp:76-112): {"A": [[gen, hash…]…], "L": [{g, k, t}…], "P": {c, g,
// k}}, "P" being the pending key message, generation and key if there is
// one. It holds the group keys: store it as a secret. NewKeys restores it
// through KeysOptions.Dump.
func (k *Keys) Dump() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	b := []byte{'d'}
	b = appendKey(b, "A")
	b = append(b, 'l')
	gens := make([]int64, 0, len(k.active))
	for g := range k.active {
		gens = append(gens, g)
	}
	slices.Sort(gens)
	for _, g := range gens {
		b = append(b, 'l')
		b = appendInt(b, g)
		for _, h := range k.active[g].ordered() {
			b = appendBytes(b, []byte(h))
		}
		b = append(b, 'e')
	}
	b = append(b, 'e')
	b = appendKey(b, "L")
	b = append(b, 'l')
	for i := range k.keys {
		b = appendKeyInfo(b, &k.keys[i])
	}
	b = append(b, 'e')
	if k.pendingMsg != nil {
		b = appendKey(b, "P")
		b = append(b, 'd')
		b = appendStr(b, "c", k.pendingMsg)
		b = appendKey(b, "g")
		b = appendInt(b, k.pendingGen)
		b = appendStr(b, "k", k.pendingKey[:])
		b = append(b, 'e')
	}
	b = append(b, 'e')
	k.needsDump = false
	return b
}

// dumpError reports a bad dump, with libsession's text.
func dumpError(text string) error { return errText(ErrKeyMessage, text) }

func dumpBTError(err error) error { return dumpError("Invalid Keys dump: " + err.Error()) }

// loadDump restores a Dump into an empty k (keys.cpp load_dump).
func (k *Keys) loadDump(dump []byte) error {
	d, err := newBTDict(dump)
	if err != nil {
		return dumpBTError(err)
	}
	ok, err := d.skipUntil("A")
	if err != nil {
		return dumpBTError(err)
	}
	if !ok {
		return dumpError("Invalid Keys dump: `active` not found")
	}
	if err := d.list(); err != nil {
		return dumpBTError(err)
	}
	for {
		more, err := d.r.next()
		if err != nil {
			return dumpBTError(err)
		}
		if !more {
			break
		}
		if err := d.r.open('l'); err != nil {
			return dumpBTError(err)
		}
		gen, err := d.r.int()
		if err != nil {
			return dumpBTError(err)
		}
		hs := k.active[gen]
		if hs == nil {
			hs = newHashSet()
			k.active[gen] = hs
		}
		for {
			more, err := d.r.next()
			if err != nil {
				return dumpBTError(err)
			}
			if !more {
				break
			}
			h, err := d.r.str()
			if err != nil {
				return dumpBTError(err)
			}
			hs.add(string(h))
		}
	}

	ok, err = d.skipUntil("L")
	if err != nil {
		return dumpBTError(err)
	}
	if !ok {
		return dumpError("Invalid Keys dump: `keys` not found")
	}
	if err := d.list(); err != nil {
		return dumpBTError(err)
	}
	for {
		more, err := d.r.next()
		if err != nil {
			return dumpBTError(err)
		}
		if !more {
			break
		}
		ki, err := readKeyInfo(&d.r, "Invalid Keys dump: found key without generation (g)",
			"Invalid Keys dump: found key without key bytes (k)",
			"Invalid Keys dump: found key with invalid size (%d)",
			"Invalid Keys dump: found key without timestamp (t)")
		if err != nil {
			return err
		}
		if n := len(k.keys); n > 0 && k.keys[n-1].compare(&ki) >= 0 {
			return dumpError("Invalid Keys dump: keys are not in proper sorted order")
		}
		k.keys = append(k.keys, ki)
	}

	ok, err = d.skipUntil("P")
	if err != nil {
		return dumpBTError(err)
	}
	if !ok {
		return nil
	}
	start := d.r.i
	if d.r.peek() != 'd' {
		return dumpBTError(errBT)
	}
	if err := d.r.skip(0); err != nil {
		return dumpBTError(err)
	}
	p, err := newBTDict(d.r.b[start:d.r.i])
	if err != nil {
		return dumpBTError(err)
	}
	if ok, err = p.skipUntil("c"); err != nil {
		return dumpBTError(err)
	}
	if !ok {
		return dumpError("Invalid Keys dump: found pending without config (c)")
	}
	c, err := p.str()
	if err != nil {
		return dumpBTError(err)
	}
	if ok, err = p.skipUntil("g"); err != nil {
		return dumpBTError(err)
	}
	if !ok {
		return dumpError("Invalid Keys dump: found pending without generation (g)")
	}
	gen, err := p.int()
	if err != nil {
		return dumpBTError(err)
	}
	if ok, err = p.skipUntil("k"); err != nil {
		return dumpBTError(err)
	}
	if !ok {
		return dumpError("Invalid Keys dump: found pending without key (k)")
	}
	pk, err := p.str()
	if err != nil {
		return dumpBTError(err)
	}
	if len(pk) != 32 {
		return dumpError(fmt.Sprintf("Invalid Keys dump: found pending key (k) with invalid size (%d)", len(pk)))
	}
	if len(c) > 0 {
		k.pendingMsg = slices.Clone(c)
		k.pendingGen = gen
		copy(k.pendingKey[:], pk)
	}
	return nil
}

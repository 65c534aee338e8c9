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
	// Sized once: a regrown buffer would leave copies of the keys.
	b := make([]byte, 0, k.dumpSize())
	b = append(b, 'd')
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

// dumpSize bounds the size of Dump. k.mu is held.
func (k *Keys) dumpSize() int {
	n := 1 + 3 + 2 + 3 + 2 + 1 // d 1:A l…e 1:L l…e e
	for _, hs := range k.active {
		n += 2 + maxBTIntSize
		for _, h := range hs.items {
			n += maxBTStringHeader + len(h)
		}
	}
	n += len(k.keys) * maxKeyInfoSize
	if k.pendingMsg != nil {
		// 1:P d 1:c <msg> 1:g i<gen>e 1:k 32:<key> e
		n += 3 + 1 + 3 + maxBTStringHeader + len(k.pendingMsg) + 3 + maxBTIntSize + 3 + 3 + 32 + 1
	}
	return n
}

// dumpError reports a bad dump, with libsession's text.
func dumpError(text string) error { return errText(ErrKeyMessage, text) }

func dumpBTError(err error) error { return dumpError("Invalid Keys dump: " + err.Error()) }

// loadDump restores a Dump into an empty k (keys.cpp load_dump). On an
// error it wipes k, which NewKeys drops.
func (k *Keys) loadDump(dump []byte) (err error) {
	defer func() {
		if err != nil {
			k.Wipe()
		}
	}()
	d, err := newBTDict(dump)
	if err != nil {
		return dumpBTError(err)
	}
	if err := k.loadActive(d); err != nil {
		return err
	}
	if err := k.loadKeyList(d); err != nil {
		return err
	}
	return k.loadPending(d)
}

// loadActive reads the "A" list of [gen, hash…] lists.
func (k *Keys) loadActive(d *btDict) error {
	if err := needKey(d, "A", dumpBTError, "Invalid Keys dump: `active` not found"); err != nil {
		return err
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
			return nil
		}
		if err := k.loadGeneration(&d.r); err != nil {
			return err
		}
	}
}

// loadGeneration reads one [gen, hash…] list of "A".
func (k *Keys) loadGeneration(r *btReader) error {
	if err := r.open('l'); err != nil {
		return dumpBTError(err)
	}
	gen, err := r.int()
	if err != nil {
		return dumpBTError(err)
	}
	hs := k.active[gen]
	if hs == nil {
		hs = newHashSet()
		k.active[gen] = hs
	}
	for {
		more, err := r.next()
		if err != nil {
			return dumpBTError(err)
		}
		if !more {
			return nil
		}
		h, err := r.str()
		if err != nil {
			return dumpBTError(err)
		}
		hs.add(string(h))
	}
}

// loadKeyList reads the "L" list of {g, k, t} keys, which must be in
// order.
func (k *Keys) loadKeyList(d *btDict) error {
	if err := needKey(d, "L", dumpBTError, "Invalid Keys dump: `keys` not found"); err != nil {
		return err
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
			return nil
		}
		ki, err := readKeyInfo(&d.r, "Invalid Keys dump: found key without generation (g)",
			"Invalid Keys dump: found key without key bytes (k)",
			"Invalid Keys dump: found key with invalid size (%d)",
			"Invalid Keys dump: found key without timestamp (t)")
		if err != nil {
			return err
		}
		if n := len(k.keys); n > 0 && k.keys[n-1].compare(&ki) >= 0 {
			clear(ki.key[:])
			return dumpError("Invalid Keys dump: keys are not in proper sorted order")
		}
		k.keys = insertKeyInfo(k.keys, len(k.keys), &ki)
		clear(ki.key[:])
	}
}

// loadPending reads the optional "P" {c, g, k} of the pending key
// message.
func (k *Keys) loadPending(d *btDict) error {
	ok, err := d.skipUntil("P")
	if err != nil {
		return dumpBTError(err)
	}
	if !ok {
		return nil
	}
	p, err := readDict(&d.r)
	if err != nil {
		return dumpBTError(err)
	}
	if err := needKey(p, "c", dumpBTError, "Invalid Keys dump: found pending without config (c)"); err != nil {
		return err
	}
	c, err := p.str()
	if err != nil {
		return dumpBTError(err)
	}
	if err := needKey(p, "g", dumpBTError, "Invalid Keys dump: found pending without generation (g)"); err != nil {
		return err
	}
	gen, err := p.int()
	if err != nil {
		return dumpBTError(err)
	}
	if err := needKey(p, "k", dumpBTError, "Invalid Keys dump: found pending without key (k)"); err != nil {
		return err
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

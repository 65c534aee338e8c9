package config

import (
	"crypto/ed25519"
	"errors"
	"math"
	"slices"
)

// ErrNoValidConfig is returned when a merge into an object still at seqno
// 0 finds no message it can parse (config.cpp:588-589). The text is
// libsession's exception text.
var ErrNoValidConfig = errors.New("Config initialization failed: no valid config messages given")

// mergeMessages combines serialized config messages into one, as
// libsession's ConfigMessage(vector<…>) does (config.cpp:567-694). bad
// reports, per input, whether it failed to parse (those are skipped).
//
// A message is redundant when another one carries its (seqno, hash) in
// "<", when an earlier input is the same message, or when it is lag or
// more seqnos behind the newest. One survivor is adopted as is (its input
// index in unmerged). Several survivors are merged: the seqno is the
// newest + 1, the data starts from the highest (seqno, hash) survivor,
// and every diff the survivors carry (their own and their lagged ones) is
// replayed once, in ascending (seqno, hash) order, taking its values from
// the highest survivor that carries it. A reader that can verify but not
// sign cannot publish a merge: it adopts the highest survivor instead.
func mergeMessages(inputs [][]byte, verifier ed25519.PublicKey, signer ed25519.PrivateKey, lag int) (m *message, bad []bool, err error) {
	type candidate struct {
		m         *message
		index     int
		redundant bool
	}
	bad = make([]bool, len(inputs))
	var confs []candidate
	for i, in := range inputs {
		pm, err := parseMessage(in, verifier, signer, lag, false)
		if err != nil {
			bad[i] = true
			continue
		}
		confs = append(confs, candidate{m: pm, index: i})
	}
	if len(confs) == 0 {
		return nil, bad, ErrNoValidConfig
	}

	maxSeqno := int64(math.MinInt64)
	for i := range confs {
		c := &confs[i]
		maxSeqno = max(maxSeqno, c.m.seqno)
		for j := range confs {
			if c.redundant {
				break
			}
			if i == j {
				continue
			}
			if confs[j].m.hasLagged(c.m.seqHash) {
				c.redundant = true // j includes i
			} else if j < i && confs[j].m.seqHash == c.m.seqHash {
				c.redundant = true // a duplicate of j
			}
		}
	}
	survivors := 0
	for i := range confs {
		if confs[i].m.seqno+int64(lag) <= maxSeqno {
			confs[i].redundant = true // too old
		}
		if !confs[i].redundant {
			survivors++
		}
	}

	// libsession records the survivor's index among the messages that
	// parsed, and its caller uses it as an index among all inputs
	// (base.cpp:220-251): when an input before it failed to parse, the
	// wrong message would be kept. We record the input index.
	if survivors == 1 {
		for _, c := range confs {
			if !c.redundant {
				c.m.unmerged = c.index
				return c.m, bad, nil
			}
		}
	}
	if verifier != nil && signer == nil {
		best := confs[0]
		for _, c := range confs[1:] {
			if best.redundant != c.redundant {
				if best.redundant {
					best = c
				}
				continue
			}
			if c.m.compare(best.m.seqHash) > 0 {
				best = c
			}
		}
		best.m.unmerged = best.index
		return best.m, bad, nil
	}

	var live []*message
	for _, c := range confs {
		if !c.redundant {
			live = append(live, c.m)
		}
	}
	// Descending, so that the highest message's copy of a diff wins.
	slices.SortFunc(live, func(a, b *message) int { return b.compare(a.seqHash) })

	m = &message{
		seqHash:  seqHash{seqno: maxSeqno + 1},
		data:     live[0].data.Clone(),
		lag:      lag,
		verifier: verifier,
		signer:   signer,
		unmerged: -1,
	}
	type replayed struct {
		seqHash
		diff   diff
		source Dict
	}
	var replay []replayed
	seen := map[seqHash]bool{}
	add := func(sh seqHash, df diff, source Dict) {
		if !seen[sh] {
			seen[sh] = true
			replay = append(replay, replayed{sh, df, source})
		}
	}
	for _, c := range live {
		add(c.seqHash, c.diff, c.data)
		for _, l := range c.lagged {
			add(l.seqHash, l.diff, c.data)
		}
	}
	slices.SortFunc(replay, func(a, b replayed) int { return a.compare(b.seqHash) })
	for _, r := range replay {
		applyDiff(m.data, r.diff, r.source)
		m.lagged = append(m.lagged, laggedDiff{r.seqHash, r.diff})
	}
	m.data.Prune()
	m.hash = hashBytes(m.serializeWith(nil, true))
	return m, bad, nil
}

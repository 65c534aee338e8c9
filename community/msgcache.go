package community

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
)

// msgCache keeps messages' JSON as the API serves them (messageJSON's
// encoding, with the data re-padded and in base64), so that a message
// polled by many readers is encoded once. A message's id and seqno name
// its content: every edit, deletion and reaction change gives it the
// room's next seqno (also when the operator CLI makes it), and message ids
// are never reused (AUTOINCREMENT), so a changed message is a new key and
// the old entry is no longer asked for. The reactions, which depend on the
// reader, are not cached: the entry holds "reactions":{} and where it is.
type msgCache struct {
	mu    sync.Mutex
	m     map[msgKey]msgEntry
	size  int // bytes held
	limit int
}

type msgKey struct{ id, seqno int64 }

type msgEntry struct {
	json []byte // the message with "reactions":{}
	at   int    // offset of that {}
}

// newMsgCache holds up to limit bytes of JSON; when full it starts over.
func newMsgCache(limit int) *msgCache {
	return &msgCache{m: map[msgKey]msgEntry{}, limit: limit}
}

var reactionsKey = []byte(`"reactions":{}`)

// entry returns m's cached JSON, encoding and keeping it first if needed.
func (c *msgCache) entry(m *Message) (msgEntry, error) {
	k := msgKey{m.ID, m.Seqno}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return e, nil
	}
	plain := *m
	plain.Reactions = nil
	b, err := json.Marshal(messageJSON(&plain))
	if err != nil {
		return msgEntry{}, err
	}
	// "reactions" occurs once: the other keys' values are numbers,
	// booleans, hex and base64, which hold no quote.
	at := bytes.Index(b, reactionsKey)
	if at < 0 {
		return msgEntry{}, errors.New("message JSON without reactions")
	}
	e = msgEntry{json: b, at: at + len(reactionsKey) - 2}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size+len(b) > c.limit {
		clear(c.m)
		c.size = 0
	}
	if _, ok := c.m[k]; !ok {
		c.m[k] = e
		c.size += len(b)
	}
	return e, nil
}

// appendMessage appends m's JSON (messageJSON(m) encoded) to buf.
func (c *msgCache) appendMessage(buf []byte, m *Message) ([]byte, error) {
	if m.ReactionOnly {
		b, err := json.Marshal(messageJSON(m))
		return append(buf, b...), err
	}
	e, err := c.entry(m)
	if err != nil {
		return buf, err
	}
	if len(m.Reactions) == 0 {
		return append(buf, e.json...), nil
	}
	r, err := json.Marshal(m.Reactions)
	if err != nil {
		return buf, err
	}
	buf = append(buf, e.json[:e.at]...)
	buf = append(buf, r...)
	return append(buf, e.json[e.at+2:]...), nil
}

// appendMessages appends msgs as a JSON array.
func (c *msgCache) appendMessages(buf []byte, msgs []*Message) ([]byte, error) {
	buf = append(buf, '[')
	for i, m := range msgs {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = c.appendMessage(buf, m); err != nil {
			return buf, err
		}
	}
	return append(buf, ']'), nil
}

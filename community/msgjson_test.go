package community

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// mapMessageJSON is the message object as a map, the form messageJSON
// had before msgOut: the reference msgOut must encode byte for byte.
func mapMessageJSON(m *Message) map[string]any {
	reactions := m.Reactions
	if reactions == nil {
		reactions = map[string]*Reaction{}
	}
	if m.ReactionOnly {
		return map[string]any{"id": m.ID, "seqno": m.Seqno, "reactions": reactions}
	}
	out := map[string]any{"id": m.ID, "session_id": m.SessionID, "posted": m.Posted, "seqno": m.Seqno, "reactions": reactions}
	if m.Data == nil {
		out["data"] = nil
		out["deleted"] = true
	} else {
		out["data"] = base64.StdEncoding.EncodeToString(m.Data)
		out["signature"] = base64.StdEncoding.EncodeToString(m.Signature)
	}
	if m.Edited != nil {
		out["edited"] = *m.Edited
	}
	if m.WhisperTo != nil || m.WhisperMods {
		out["whisper"] = true
		out["whisper_mods"] = m.WhisperMods
		if m.WhisperTo != nil {
			out["whisper_to"] = *m.WhisperTo
		}
	}
	return out
}

// messageCases are messages of every shape messageJSON encodes; as in a
// database, an id and seqno name one content.
func messageCases() map[string]*Message {
	edited, to := 1760000123.456789, "15aa"
	sig := make([]byte, 64)
	return map[string]*Message{
		"post":            {ID: 7, SessionID: "15ab", Posted: 1760000000.25, Seqno: 9, Data: []byte("hello"), Signature: sig},
		"empty post":      {ID: 8, SessionID: "15ab", Posted: 1, Seqno: 10, Data: []byte{}, Signature: sig},
		"edited":          {ID: 7, SessionID: "15ab", Posted: 1, Seqno: 11, Data: []byte("x"), Signature: sig, Edited: &edited},
		"deleted":         {ID: 7, SessionID: "15ab", Posted: 1, Seqno: 12, Edited: &edited},
		"whisper to":      {ID: 9, SessionID: "15ab", Posted: 1, Seqno: 13, Data: []byte("w"), Signature: sig, WhisperTo: &to},
		"whisper mods":    {ID: 11, SessionID: "15ab", Posted: 1, Seqno: 17, Data: []byte("w"), Signature: sig, WhisperMods: true},
		"whisper both":    {ID: 12, SessionID: "15ab", Posted: 1, Seqno: 18, Data: []byte("w"), Signature: sig, WhisperMods: true, WhisperTo: &to},
		"reactions":       {ID: 7, SessionID: "15ab", Posted: 1, Seqno: 14, Data: []byte("x"), Signature: sig, Reactions: map[string]*Reaction{"👍": {Index: 0, Count: 2, Reactors: []string{"15ab"}, You: true}}},
		"reactions alone": {ID: 7, Seqno: 15, ReactionOnly: true, Reactions: map[string]*Reaction{"❤": {Count: 1}}},
		"html reaction":   {ID: 10, SessionID: "15ab", Posted: 2, Seqno: 16, Data: []byte{0xfb, 0xff}, Signature: sig, Reactions: map[string]*Reaction{"<&>": {Count: 1}, "a": {Index: 1, Count: 3}}},
	}
}

func TestMessageJSONBytes(t *testing.T) {
	for name, m := range messageCases() {
		want, err1 := json.Marshal(mapMessageJSON(m))
		got, err2 := json.Marshal(messageJSON(m))
		if err1 != nil || err2 != nil || string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestMessageCacheBytes checks that the cached encoding is the reference
// one, byte for byte, when encoded and when found, with other reactions
// (another reader) on the same cached message, and after the cache starts
// over.
func TestMessageCacheBytes(t *testing.T) {
	c := newMsgCache(600)
	all := []*Message{}
	want := []any{}
	for range 2 {
		for name, m := range messageCases() {
			for _, reactions := range []map[string]*Reaction{m.Reactions, nil, {"🙂": {Count: 1, You: true, Reactors: []string{"15cd"}}}} {
				m := *m
				m.Reactions = reactions
				ref, err1 := json.Marshal([]any{mapMessageJSON(&m)})
				got, err2 := c.appendMessages([]byte("x"), []*Message{&m})
				if err1 != nil || err2 != nil || string(got) != "x"+string(ref) {
					t.Errorf("%s with %v:\n got %s\nwant x%s", name, reactions, got, ref)
				}
				all, want = append(all, &m), append(want, mapMessageJSON(&m))
			}
		}
	}
	if c.size > c.limit {
		t.Errorf("cache holds %d bytes, limit %d", c.size, c.limit)
	}
	ref, _ := json.Marshal(want)
	if got, err := c.appendMessages(nil, all); err != nil || string(got) != string(ref) {
		t.Errorf("all together:\n got %s\nwant %s", got, ref)
	}
	if got, _ := c.appendMessages(nil, nil); string(got) != "[]" {
		t.Errorf("no messages: %s", got)
	}
}

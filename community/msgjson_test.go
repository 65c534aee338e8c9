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

func TestMessageJSONBytes(t *testing.T) {
	edited, to := 1760000123.456789, "15aa"
	sig := make([]byte, 64)
	cases := map[string]*Message{
		"post":            {ID: 7, SessionID: "15ab", Posted: 1760000000.25, Seqno: 9, Data: []byte("hello"), Signature: sig},
		"empty post":      {ID: 8, SessionID: "15ab", Posted: 1, Seqno: 10, Data: []byte{}, Signature: sig},
		"edited":          {ID: 7, SessionID: "15ab", Posted: 1, Seqno: 11, Data: []byte("x"), Signature: sig, Edited: &edited},
		"deleted":         {ID: 7, SessionID: "15ab", Posted: 1, Seqno: 12, Edited: &edited},
		"whisper to":      {ID: 9, SessionID: "15ab", Posted: 1, Seqno: 13, Data: []byte("w"), Signature: sig, WhisperTo: &to},
		"whisper mods":    {ID: 9, SessionID: "15ab", Posted: 1, Seqno: 13, Data: []byte("w"), Signature: sig, WhisperMods: true},
		"whisper both":    {ID: 9, SessionID: "15ab", Posted: 1, Seqno: 13, Data: []byte("w"), Signature: sig, WhisperMods: true, WhisperTo: &to},
		"reactions":       {ID: 7, SessionID: "15ab", Posted: 1, Seqno: 14, Data: []byte("x"), Signature: sig, Reactions: map[string]*Reaction{"👍": {Index: 0, Count: 2, Reactors: []string{"15ab"}, You: true}}},
		"reactions alone": {ID: 7, Seqno: 15, ReactionOnly: true, Reactions: map[string]*Reaction{"❤": {Count: 1}}},
	}
	for name, m := range cases {
		want, err1 := json.Marshal(mapMessageJSON(m))
		got, err2 := json.Marshal(messageJSON(m))
		if err1 != nil || err2 != nil || string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

package client

import (
	"sotto.dev/client/store"
	"sotto.dev/key"
)

// EventKind says what happened.
type EventKind uint8

// Event kinds.
const (
	// EventMessage: a new message in a conversation, incoming or one of
	// ours sent from another device. Message is set.
	EventMessage EventKind = iota + 1
	// EventState: the delivery state of one of our messages changed.
	// Message is set.
	EventState
	// EventTyping: the peer started (Typing true) or stopped typing.
	EventTyping
	// EventUnsent: a message was unsent by its author. Message is set.
	EventUnsent
	// EventExpired: a disappearing message's timer ran out and it was
	// deleted. Message is set (as it was).
	EventExpired
	// EventReaction: a reaction was added or removed. Message is set,
	// with its reactions after the change.
	EventReaction
	// EventRequest: someone we have not accepted wrote to us; the
	// conversation waits in the message requests.
	EventRequest
	// EventApproved: the peer accepted our message request.
	EventApproved
	// EventDisappearing: the conversation's disappearing-messages
	// setting changed (by the peer or another of our devices). Mode and
	// Timer are set.
	EventDisappearing
	// EventSynced: another device of the account changed the profile, a
	// contact or a conversation (config sync). Conversation is set when
	// one conversation or contact is concerned.
	EventSynced
	// EventAttachment: an attachment's download advanced, finished or
	// failed. Message and Attachment are set; Done and Total count bytes.
	EventAttachment
	// EventPicture: a contact's profile picture was downloaded and
	// cached (ContactPicture reads it). Conversation is the contact.
	EventPicture
	// EventGroup: a group changed: joined, left, removed from, disbanded,
	// its info or members. Conversation is the group.
	EventGroup
)

var eventNames = map[EventKind]string{
	EventMessage: "message", EventState: "state", EventTyping: "typing", EventUnsent: "unsent",
	EventExpired: "expired", EventReaction: "reaction", EventRequest: "request", EventApproved: "approved",
	EventDisappearing: "disappearing", EventSynced: "synced", EventAttachment: "attachment", EventPicture: "picture",
	EventGroup: "group",
}

// String returns the kind's name.
func (k EventKind) String() string {
	if n, ok := eventNames[k]; ok {
		return n
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is something the client learned or did that a user interface may
// show. The local database is the record; events only say what changed.
type Event struct {
	Kind         EventKind
	Conversation key.SessionID
	Message      *store.Message
	Typing       bool
	Mode         store.ExpiryMode
	Timer        uint32 // seconds
	// Attachment, Done and Total describe an EventAttachment.
	Attachment *store.Attachment
	Done       int64
	Total      int64
}

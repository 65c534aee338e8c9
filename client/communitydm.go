package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"sotto.dev/client/store"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
	"sotto.dev/wire"
)

// Blinded direct messages (session-protocol.md §5.6): a message to a room
// member known only by the blinded ID the room shows goes to the server's
// inbox for that ID, encrypted so that only the member opens it. The
// member learns the sender's Session ID from inside the message, so an
// incoming one lands in the sender's conversation as a message request,
// as in Session.

// settingInbox is the settings key of a server's inbox position.
func settingInbox(server string) string { return "community_inbox:" + server }

// SendCommunityDM sends body to the member with blinded ID to, through
// the server of the joined room.
func (c *Client) SendCommunityDM(ctx context.Context, room string, to key.BlindedID, body string) error {
	cm, err := c.room(ctx, room)
	if err != nil {
		return err
	}
	if p := to.Prefix(); p != key.PrefixBlind15 && p != key.PrefixBlind25 {
		return fmt.Errorf("%w: %s is not a blinded ID", ErrBadRecipient, to)
	}
	if strings.TrimSpace(body) == "" {
		return ErrEmptyMessage
	}
	if len(body) > MaxBodyLen {
		return ErrTooLong
	}
	if !utf8.ValidString(body) {
		return errors.New("client: message is not valid UTF-8")
	}
	sentAt := c.nextTimestamp()
	dm := &wire.DataMessage{Body: proto.String(body), Timestamp: proto.Uint64(uint64(sentAt))}
	if err := c.db.Update(ctx, func(tx *store.Tx) error { return c.decorate(ctx, tx, dm) }); err != nil {
		return err
	}
	raw, err := proto.Marshal(&wire.Content{DataMessage: dm, SigTimestamp: proto.Uint64(uint64(sentAt))})
	if err != nil {
		return err
	}
	ct, err := sessionproto.EncryptBlinded(c.keys, to, cm.PubKey, sessionproto.Pad(raw))
	if err != nil {
		return err
	}
	req, _ := json.Marshal(map[string]string{"message": base64.StdEncoding.EncodeToString(ct)})
	return c.sogs(ctx, cm.Server, cm.PubKey, http.MethodPost, "/inbox/"+to.String(), req, nil)
}

// inboxItem is an item of /inbox/since (§5.5).
type inboxItem struct {
	ID        int64   `json:"id"`
	PostedAt  float64 `json:"posted_at"`
	Sender    string  `json:"sender"`
	Recipient string  `json:"recipient"`
	Message   string  `json:"message"`
}

// inboxPath is the inbox poll of a server, from the stored position.
func (c *Client) inboxPath(ctx context.Context, server string) (string, error) {
	pos := int64(0)
	if s, ok, err := c.db.Setting(ctx, settingInbox(server)); err != nil {
		return "", err
	} else if ok {
		pos, _ = strconv.ParseInt(s, 10, 64)
	}
	return "/inbox/since/" + strconv.FormatInt(pos, 10), nil
}

// ingestInbox opens the items of an inbox answer (304 is "nothing new")
// and stores each as a message from its sender, who joins the message
// requests unless accepted already.
func (c *Client) ingestInbox(ctx context.Context, cm *store.Community, code int, body json.RawMessage) error {
	if code == http.StatusNotModified {
		return nil
	}
	if code != http.StatusOK {
		return &CommunityError{Op: "inbox", Status: code, Body: string(body)}
	}
	var items []inboxItem
	if err := json.Unmarshal(body, &items); err != nil {
		return fmt.Errorf("client: community: inbox: %w", err)
	}
	if len(items) == 0 {
		return nil
	}
	var events []Event
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		last := int64(0)
		for _, it := range items {
			last = max(last, it.ID)
			evs, err := c.openInboxItem(ctx, tx, cm, &it)
			if err != nil {
				c.log.Debug("community DM dropped", "id", it.ID, "error", err)
				continue
			}
			events = append(events, evs...)
		}
		return tx.SetSetting(ctx, settingInbox(cm.Server), strconv.FormatInt(last, 10))
	})
	if err != nil {
		return err
	}
	c.emit(events...)
	return nil
}

// openInboxItem decrypts one DM and applies it as a message from its
// sender.
func (c *Client) openInboxItem(ctx context.Context, tx *store.Tx, cm *store.Community, it *inboxItem) ([]Event, error) {
	from, err := key.ParseBlindedID(it.Sender)
	if err != nil {
		return nil, err
	}
	to, err := key.ParseBlindedID(it.Recipient)
	if err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(it.Message)
	if err != nil {
		return nil, err
	}
	pt, sender, err := sessionproto.DecryptBlinded(c.keys, cm.PubKey, from, to, ct)
	if err != nil {
		return nil, err
	}
	if sender == c.self {
		return nil, nil // our own, in another device's view of the inbox
	}
	var content wire.Content
	if err := proto.Unmarshal(sessionproto.Unpad(pt), &content); err != nil {
		return nil, err
	}
	if content.DataMessage == nil {
		return nil, nil
	}
	sentAt := int64(content.DataMessage.GetTimestamp())
	if sentAt == 0 {
		sentAt = int64(it.PostedAt * 1000)
	}
	hash := "sogs:" + cm.Server + ":inbox:" + strconv.FormatInt(it.ID, 10)
	return c.applyData(ctx, tx, sender, sender, &content, sentAt, hash)
}

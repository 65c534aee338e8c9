package client

import (
	"context"
	"net/http"
	"strconv"
)

// Room settings and pins (docs/client.md, "Communities"). Whispers are
// posts with PostOptions.WhisperTo or WhisperMods; bans and deletions are
// in community.go.

// RoomDetails asks the server for the joined room as the user sees it:
// its name, description, active users, the user's permissions, the
// visible moderators and admins (to a moderator also the hidden ones and
// the room's default permissions) and the pinned posts.
func (c *Client) RoomDetails(ctx context.Context, room string) (*RoomInfo, error) {
	cm, err := c.room(ctx, room)
	if err != nil {
		return nil, err
	}
	var info RoomInfo
	if err := c.sogs(ctx, cm.Server, cm.PubKey, http.MethodGet, "/room/"+cm.Room, nil, &info); err != nil {
		return nil, err
	}
	if err := c.db.SetCommunityInfo(ctx, cm.Server, cm.Room, info.Name, info.InfoUpdates); err != nil {
		return nil, err
	}
	return &info, nil
}

// PinPost pins a post of the room (admins; the server answers 403 to
// others, 404 for a post that is not there).
func (c *Client) PinPost(ctx context.Context, room string, id int64) error {
	return c.roomAction(ctx, room, "/pin/"+strconv.FormatInt(id, 10))
}

// UnpinPost unpins a post of the room (admins).
func (c *Client) UnpinPost(ctx context.Context, room string, id int64) error {
	return c.roomAction(ctx, room, "/unpin/"+strconv.FormatInt(id, 10))
}

// UnpinAll unpins every post of the room (admins).
func (c *Client) UnpinAll(ctx context.Context, room string) error {
	return c.roomAction(ctx, room, "/unpin/all")
}

// roomAction POSTs to /room/<token><suffix> without a body.
func (c *Client) roomAction(ctx context.Context, room, suffix string) error {
	cm, err := c.room(ctx, room)
	if err != nil {
		return err
	}
	return c.sogs(ctx, cm.Server, cm.PubKey, http.MethodPost, "/room/"+cm.Room+suffix, nil, nil)
}

package client

import (
	"context"
	"errors"
	"strings"

	"sotto.dev/client/store"
	"sotto.dev/config"
	"sotto.dev/storagerpc"
)

// Joined communities sync between the user's devices through the
// user-groups object's community entries (base URL, room, server key),
// as in Session.

// setUserCommunity records the room in the user-groups object, or erases
// it.
func (c *Client) setUserCommunity(ctx context.Context, cm *store.Community, erase bool) {
	err := c.UpdateConfig(ctx, int(storagerpc.NamespaceUserGroups), func(*config.Config) error {
		ug := c.cs.groups
		if erase {
			ug.EraseCommunity(cm.Server, cm.Room)
			return nil
		}
		comm, err := config.NewCommunity(cm.Server, cm.Room, cm.PubKey)
		if err != nil {
			return err
		}
		return ug.SetCommunity(ug.CommunityOrNew(comm))
	})
	c.configWarn(err)
}

// applyUserCommunities brings the joined rooms in line with the
// user-groups object another device changed: a room joined there is
// joined here (its posts come with the next poll), a room erased by the
// merge is left here. It runs with the config objects locked and changes
// none.
func (c *Client) applyUserCommunities(ctx context.Context, before config.Dict) error {
	ug := c.cs.groups
	var errs []error
	for url, v := range before.Dict("o") {
		server, ok := v.(config.Dict)
		if !ok {
			continue
		}
		for rk := range server.Dict("R") {
			if _, ok := ug.Community(url, rk); ok {
				continue
			}
			errs = append(errs, c.leaveLocal(ctx, url, rk))
		}
	}
	for _, e := range ug.Communities() {
		if _, err := c.db.Community(ctx, e.BaseURL, e.Room); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		cm := &store.Community{Server: e.BaseURL, Room: e.Room, PubKey: e.Pubkey, JoinedAt: c.nowMillis()}
		if err := c.db.SaveCommunity(ctx, cm); err != nil {
			errs = append(errs, err)
			continue
		}
		c.emit(Event{Kind: EventSynced})
	}
	return errors.Join(errs...)
}

// leaveLocal forgets the joined room of server whose token is rk in any
// case.
func (c *Client) leaveLocal(ctx context.Context, server, rk string) error {
	list, err := c.db.Communities(ctx)
	if err != nil {
		return err
	}
	for _, cm := range list {
		if cm.Server == server && strings.EqualFold(cm.Room, rk) {
			if err := c.db.DeleteCommunity(ctx, cm.Server, cm.Room); err != nil {
				return err
			}
			c.emit(Event{Kind: EventSynced})
		}
	}
	return nil
}

package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"sotto.dev/attachment"
)

// OwnPicture returns our profile picture, decrypted from the copy kept
// when it was uploaded here; ErrNoPicture when none is set or it was set
// by another device (whose upload this one has no copy of).
func (c *Client) OwnPicture(ctx context.Context) ([]byte, error) {
	cur, picKey, err := c.ProfilePicture(ctx)
	if err != nil {
		return nil, err
	}
	if cur == "" || len(picKey) == 0 {
		return nil, ErrNoPicture
	}
	if up, _, err := c.db.Setting(ctx, settingPicUploaded); err != nil || up != cur {
		return nil, errors.Join(ErrNoPicture, err)
	}
	sealed, err := os.ReadFile(filepath.Join(c.picturesDir(), ourPictureFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoPicture
	}
	if err != nil {
		return nil, err
	}
	u, err := attachment.ParseURL(cur)
	if err != nil {
		return nil, err
	}
	return openPicture(u, picKey, sealed)
}

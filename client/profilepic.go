package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"sotto.dev/attachment"
	"sotto.dev/client/store"
	"sotto.dev/key"
	"sotto.dev/wire"
)

// Profile pictures (session-protocol.md §8, §2.4): ours is encrypted in
// the deterministic form with the profile-picture domain, uploaded, and
// its URL and key set with SetProfilePicture (and so in the user profile
// config); every message we send carries LokiProfile.profilePicture and
// DataMessage.profileKey. Contacts' pictures, learned from their messages
// or from config sync, are downloaded by the attachment loop when their
// URL changes and cached encrypted in Home/pictures. File servers forget
// files after their TTL (three weeks on Session's): the loop uploads our
// picture again, from the encrypted copy kept in Home/pictures, when less
// than PictureRenewBefore is left.

// PicturesDir is where pictures are cached inside Home.
const PicturesDir = "pictures"

// PictureRenewBefore is how long before its expiry our picture is
// uploaded again.
const PictureRenewBefore = 5 * 24 * time.Hour

// pictureRetry is the pause before a failed picture download is tried
// again.
const pictureRetry = 5 * time.Minute

// Settings of our uploaded picture.
const (
	settingPicUploaded = "profile_pic_uploaded" // the URL we uploaded, whose copy is ourPictureFile
	settingPicExpires  = "profile_pic_expires"  // ms
)

// ourPictureFile is our picture, encrypted as uploaded.
const ourPictureFile = "self"

// MaxPictureSize bounds a profile picture.
const MaxPictureSize = 10 << 20

func (c *Client) picturesDir() string { return filepath.Join(c.cfg.Home, PicturesDir) }

// UploadProfilePicture encrypts the image at path, uploads it and makes it
// our profile picture.
func (c *Client) UploadProfilePicture(ctx context.Context, path string) error {
	seed := attachment.Seed(c.keys.Seed32())
	defer seed.Wipe()
	up, err := c.uploadPicture(ctx, path, &seed)
	if err != nil {
		return err
	}
	defer up.key.Wipe()
	if err := os.MkdirAll(c.picturesDir(), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.picturesDir(), ourPictureFile), up.sealed, 0o600); err != nil {
		return err
	}
	if err := c.recordUpload(ctx, up.url, up.expiry); err != nil {
		return err
	}
	return c.SetProfilePicture(ctx, up.url, up.key[:])
}

// pictureUpload is a picture sealed and on a file server.
type pictureUpload struct {
	sealed []byte
	url    string
	expiry time.Time
	key    attachment.Key
}

// uploadPicture reads the image at path, seals it as a profile picture
// (ours or a group's) from seed and uploads it. The caller wipes the key.
func (c *Client) uploadPicture(ctx context.Context, path string, seed *attachment.Seed) (pictureUpload, error) {
	if c.net == nil {
		return pictureUpload{}, ErrNoNetwork
	}
	data, err := readPicture(path)
	if err != nil {
		return pictureUpload{}, err
	}
	sealed, k, err := attachment.Seal(seed, attachment.DomainProfilePicture, data)
	if err != nil {
		return pictureUpload{}, err
	}
	fs, err := c.PickFileServer(ctx)
	if err == nil {
		var u *attachment.URL
		var exp time.Time
		if u, exp, err = c.net.upload(ctx, fs, sealed, true); err == nil {
			return pictureUpload{sealed: sealed, url: u.String(), expiry: exp, key: k}, nil
		}
	}
	k.Wipe()
	return pictureUpload{}, err
}

// readPicture reads the image at path: a PNG, JPEG or GIF of at most
// MaxPictureSize bytes.
func readPicture(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPictureSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxPictureSize {
		return nil, fmt.Errorf("client: a profile picture is at most %d bytes", MaxPictureSize)
	}
	if _, _, err := image.DecodeConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("client: %s is not a PNG, JPEG or GIF image: %w", path, err)
	}
	return data, nil
}

func (c *Client) recordUpload(ctx context.Context, url string, exp time.Time) error {
	return c.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetSetting(ctx, settingPicUploaded, url); err != nil {
			return err
		}
		return tx.SetSetting(ctx, settingPicExpires, strconv.FormatInt(exp.UnixMilli(), 10))
	})
}

// RemoveProfilePicture removes our profile picture.
func (c *Client) RemoveProfilePicture(ctx context.Context) error {
	if err := c.SetProfilePicture(ctx, "", nil); err != nil {
		return err
	}
	if err := c.db.SetSetting(ctx, settingPicUploaded, ""); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(c.picturesDir(), ourPictureFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// keepProfilePicture uploads our picture again when its expiry is near.
// The upload is the same bytes, so the server keeps its id and moves the
// expiry; a server that gives another URL makes it our new picture URL.
func (c *Client) keepProfilePicture(ctx context.Context) error {
	if c.net == nil {
		return nil
	}
	cur, _, err := c.ProfilePicture(ctx)
	if err != nil || cur == "" {
		return err
	}
	up, _, err := c.db.Setting(ctx, settingPicUploaded)
	if err != nil || up != cur {
		return err // set by another device: that one renews it
	}
	v, _, err := c.db.Setting(ctx, settingPicExpires)
	if err != nil {
		return err
	}
	exp, _ := strconv.ParseInt(v, 10, 64)
	if exp == 0 || exp-c.nowMillis() > PictureRenewBefore.Milliseconds() {
		return nil
	}
	sealed, err := os.ReadFile(filepath.Join(c.picturesDir(), ourPictureFile))
	if err != nil {
		return err
	}
	u, err := attachment.ParseURL(cur)
	if err != nil {
		return err
	}
	fs, err := c.fileServerOf(ctx, u)
	if err != nil {
		return err
	}
	nu, nexp, err := c.net.upload(ctx, fs, sealed, true)
	if err != nil {
		return err
	}
	if err := c.recordUpload(ctx, nu.String(), nexp); err != nil {
		return err
	}
	if nu.String() == cur {
		return nil
	}
	_, picKey, err := c.ProfilePicture(ctx)
	if err != nil {
		return err
	}
	return c.SetProfilePicture(ctx, nu.String(), picKey)
}

// fileServerOf returns the known file server that u names, or another
// one.
func (c *Client) fileServerOf(ctx context.Context, u *attachment.URL) (FileServer, error) {
	list, err := c.FileServers(ctx)
	if err != nil {
		return FileServer{}, err
	}
	for _, fs := range list {
		if bytes.Equal(fs.Ed25519[:], u.ServerKey) {
			return fs, nil
		}
	}
	return pickFileServer(list, c.net.intN)
}

// decoratePicture adds our picture to an outgoing DataMessage.
func (c *Client) decoratePicture(ctx context.Context, tx *store.Tx, dm *wire.DataMessage) error {
	url, _, err := tx.Setting(ctx, settingProfilePicURL)
	if err != nil || url == "" {
		return err
	}
	kh, _, err := tx.Setting(ctx, settingProfilePicKey)
	if err != nil {
		return err
	}
	k, err := hex.DecodeString(kh)
	if err != nil || len(k) != picKeySize {
		return nil
	}
	if dm.Profile == nil {
		dm.Profile = &wire.LokiProfile{}
	}
	dm.Profile.ProfilePicture = proto.String(url)
	dm.ProfileKey = k
	return nil
}

// notePicture records the picture an incoming message names for author.
func (c *Client) notePicture(ctx context.Context, tx *store.Tx, author key.SessionID, dm *wire.DataMessage, now int64) error {
	url := dm.GetProfile().GetProfilePicture()
	if url == "" || len(dm.ProfileKey) != picKeySize || len(url) > 512 {
		return nil
	}
	if _, err := attachment.ParseURL(url); err != nil {
		return nil
	}
	ct, err := tx.Contact(ctx, author)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if ct != nil && ct.PicURL == url && bytes.Equal(ct.PicKey, dm.ProfileKey) {
		return nil
	}
	return tx.SetContactPicture(ctx, author, url, dm.ProfileKey, now)
}

// refreshPictures downloads the contacts' pictures whose URL changed.
func (c *Client) refreshPictures(ctx context.Context) {
	if c.net == nil {
		return
	}
	stale, err := c.db.StalePictures(ctx)
	if err != nil {
		return
	}
	for _, ct := range stale {
		c.att.picMu.Lock()
		if c.att.picTried == nil {
			c.att.picTried = map[key.SessionID]time.Time{}
		}
		last, tried := c.att.picTried[ct.SessionID]
		now := c.clock.Now()
		if tried && now.Sub(last) < pictureRetry {
			c.att.picMu.Unlock()
			continue
		}
		c.att.picTried[ct.SessionID] = now
		c.att.picMu.Unlock()
		if err := c.fetchPicture(ctx, ct); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Debug("profile picture download failed", "error", err)
			continue
		}
		c.att.picMu.Lock()
		delete(c.att.picTried, ct.SessionID)
		c.att.picMu.Unlock()
		c.emit(Event{Kind: EventPicture, Conversation: ct.SessionID})
	}
}

func (c *Client) fetchPicture(ctx context.Context, ct *store.Contact) error {
	u, err := attachment.ParseURL(ct.PicURL)
	if err != nil {
		return err
	}
	blob, err := c.net.download(ctx, u, MaxPictureSize+attachment.EncryptedSize(MaxPictureSize))
	if err != nil {
		return err
	}
	if _, err := openPicture(u, ct.PicKey, blob); err != nil {
		return err
	}
	if err := os.MkdirAll(c.picturesDir(), 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(c.picturesDir(), ct.SessionID.String()+".tmp")
	if err := os.WriteFile(tmp, blob, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(c.picturesDir(), ct.SessionID.String())); err != nil {
		return err
	}
	return c.db.SetPictureCached(ctx, ct.SessionID, ct.PicURL)
}

// openPicture decrypts a picture in either form: deterministic ("d" in
// its URL) or desktop's AES-GCM.
func openPicture(u *attachment.URL, picKey, blob []byte) ([]byte, error) {
	if u.Deterministic {
		k, err := attachment.KeyFromBytes(picKey)
		if err != nil {
			return nil, err
		}
		defer k.Wipe()
		return attachment.Open(&k, blob)
	}
	k, err := attachment.ProfileKeyFromBytes(picKey)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	return attachment.OpenProfile(&k, blob)
}

// ErrNoPicture: no picture of that contact is cached (none set, or not
// downloaded yet).
var ErrNoPicture = errors.New("client: no cached profile picture")

// ContactPicture returns id's cached profile picture, decrypted.
func (c *Client) ContactPicture(ctx context.Context, id key.SessionID) ([]byte, error) {
	ct, err := c.db.Contact(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoPicture
	}
	if err != nil {
		return nil, err
	}
	cached, err := c.db.PictureCached(ctx, id)
	if err != nil {
		return nil, err
	}
	if ct.PicURL == "" || cached != ct.PicURL {
		return nil, ErrNoPicture
	}
	u, err := attachment.ParseURL(ct.PicURL)
	if err != nil {
		return nil, err
	}
	blob, err := os.ReadFile(filepath.Join(c.picturesDir(), id.String()))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoPicture
	}
	if err != nil {
		return nil, err
	}
	return openPicture(u, ct.PicKey, blob)
}

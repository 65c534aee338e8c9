package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"sotto.dev/config"
)

// The devices list (docs/devices.md): every device of the account keeps a
// record of itself in a config object of Sotto's own, and a device that
// finds its record removed erases its local data and stops.

// DeviceRefreshInterval is how often a device refreshes its last seen
// time at most: a refresh is a config push, so an idle account does not
// push every time a command runs.
const DeviceRefreshInterval = 6 * time.Hour

// settingDeviceID holds this device's ID in the local database.
const settingDeviceID = "device_id"

// Errors of the devices API.
var (
	// ErrDeviceRemoved: another device removed this one; its local data
	// was erased. Serve, Sync and Open return a *DeviceRemovedError that
	// matches it.
	ErrDeviceRemoved = errors.New("client: this device was removed from the account")
	// ErrThisDevice: a device cannot remove itself.
	ErrThisDevice = errors.New("client: this is the current device")
	// ErrNoDevice: no device with that ID in the list.
	ErrNoDevice = errors.New("client: no such device")
)

// DeviceRemovedError reports that this device found itself removed from
// the devices list, and what was erased.
type DeviceRemovedError struct {
	At     time.Time // when the removing device removed it
	Erased []string  // the files erased
	Err    error     // a failure to erase, if any
}

func (e *DeviceRemovedError) Error() string {
	s := fmt.Sprintf("client: this device was removed from the account at %s", e.At.UTC().Format(time.RFC3339))
	if e.Err != nil {
		return s + "; erasing its data failed: " + e.Err.Error()
	}
	return s + "; its local data was erased"
}

// Is makes errors.Is(err, ErrDeviceRemoved) hold.
func (e *DeviceRemovedError) Is(target error) bool { return target == ErrDeviceRemoved }

// Unwrap returns the erase failure.
func (e *DeviceRemovedError) Unwrap() error { return e.Err }

// devices is this device's place in the devices list. The list itself is
// a config object under config sync (configsync.go), reached through
// UpdateConfig, which locks it.
type devices struct {
	self config.DeviceID
	obj  *config.Devices // nil when the list is off
	err  error           // why it is off

	mu        sync.Mutex
	removedAt time.Time          // when another device removed this one; zero if not
	stopServe context.CancelFunc // stops a running Serve
	removed   *DeviceRemovedError
}

// errDevicesOff is wrapped when the devices list could not be loaded.
var errDevicesOff = errors.New("client: the devices list is off")

// openDevices loads the device ID (drawing it on the first start) and the
// devices list, registers the list with config sync and records this
// device. A failure leaves the list off (and is reported by the devices
// API); messaging works without it.
func (c *Client) openDevices(ctx context.Context) {
	d := &c.devs
	if err := c.loadDevices(ctx); err != nil {
		d.obj, d.err = nil, fmt.Errorf("%w: %w", errDevicesOff, err)
		c.log.Warn("the devices list is off", "error", err)
	}
}

func (c *Client) loadDevices(ctx context.Context) error {
	d := &c.devs
	idText, ok, err := c.db.Setting(ctx, settingDeviceID)
	if err != nil {
		return err
	}
	if ok {
		if d.self, err = config.ParseDeviceID(idText); err != nil {
			return fmt.Errorf("device id in the database: %w", err)
		}
	} else {
		if d.self, err = config.NewDeviceID(nil); err != nil {
			return err
		}
		if err := c.db.SetSetting(ctx, settingDeviceID, d.self.String()); err != nil {
			return err
		}
	}
	cfg, err := c.NewUserConfig(ctx, config.DevicesKind)
	if err != nil {
		return err
	}
	d.obj = &config.Devices{Config: cfg}
	if err := c.RegisterConfig(ctx, config.DevicesKind, cfg, c.devicesMerged); err != nil {
		return err
	}
	return c.withDevices(ctx, func(list *config.Devices) error {
		c.noteRemoved(list)
		return c.recordSelf(list, false)
	})
}

// withDevices runs fn on the devices list, locked; a change fn makes is
// saved and pushed.
func (c *Client) withDevices(ctx context.Context, fn func(list *config.Devices) error) error {
	d := &c.devs
	if d.obj == nil {
		return d.err
	}
	return c.UpdateConfig(ctx, config.DevicesKind.Namespace, func(*config.Config) error { return fn(d.obj) })
}

// recordSelf adds or refreshes this device's record: on the first start,
// when the record is missing (a merge brought a list without it), and
// when its last seen is older than DeviceRefreshInterval or force is set.
// A removed record is left alone.
func (c *Client) recordSelf(list *config.Devices, force bool) error {
	d := &c.devs
	now := c.now().Truncate(time.Second)
	rec, ok := list.Get(d.self)
	if ok && (rec.IsRemoved() || (!force && now.Sub(rec.LastSeen) < DeviceRefreshInterval)) {
		return nil
	}
	dev := config.Device{ID: d.self, Platform: c.cfg.Platform, LastSeen: now}
	if !ok {
		dev.Name, dev.FirstSeen = c.cfg.DeviceName, now
	}
	_, err := list.Upsert(dev)
	return err
}

// devicesMerged runs after other devices' messages were merged into the
// list: it notes a removal of this device, and puts back this device's
// record if the merge dropped it (a newer list that never had it).
func (c *Client) devicesMerged(_ context.Context, cfg *config.Config) error {
	list := &config.Devices{Config: cfg}
	if c.noteRemoved(list) {
		return nil
	}
	return c.recordSelf(list, false)
}

// noteRemoved reports whether list says this device was removed, and then
// stops Serve, whose end erases the local data.
func (c *Client) noteRemoved(list *config.Devices) bool {
	d := &c.devs
	rec, ok := list.Get(d.self)
	if !ok || !rec.IsRemoved() {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removedAt.IsZero() {
		d.removedAt = rec.Removed
		if d.stopServe != nil {
			d.stopServe()
		}
	}
	return true
}

// setStopServe records how to stop the running Serve (nil: none). It
// reports whether this device is already removed.
func (c *Client) setStopServe(stop context.CancelFunc) bool {
	d := &c.devs
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopServe = stop
	return !d.removedAt.IsZero()
}

// refreshDevice refreshes this device's last seen time when it is due.
func (c *Client) refreshDevice(ctx context.Context) error {
	return c.withDevices(ctx, func(list *config.Devices) error { return c.recordSelf(list, false) })
}

// devicesLoop refreshes this device's last seen time while Serve runs.
func (c *Client) devicesLoop(ctx context.Context) {
	for sleep(ctx, time.Hour) {
		if err := c.refreshDevice(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("refresh this device's record", "error", err)
		}
	}
}

// ThisDevice is the ID of the device the client runs on.
func (c *Client) ThisDevice() config.DeviceID { return c.devs.self }

// Devices returns the devices list, removed devices included, oldest
// first.
func (c *Client) Devices(ctx context.Context) ([]config.Device, error) {
	var out []config.Device
	err := c.withDevices(ctx, func(list *config.Devices) error {
		out = list.List()
		return nil
	})
	return out, err
}

// RemoveDevice marks device id removed: when it next connects it erases
// its local data and stops. The change is pushed as any config change
// (Serve pushes it at once; one-shot commands with Sync or PushConfigs).
// It fails with ErrThisDevice for the current device and ErrNoDevice for
// an unknown one; removing a removed device again changes nothing.
func (c *Client) RemoveDevice(ctx context.Context, id config.DeviceID) error {
	if id == c.devs.self {
		return ErrThisDevice
	}
	return c.withDevices(ctx, func(list *config.Devices) error {
		if _, ok := list.Get(id); !ok {
			return ErrNoDevice
		}
		list.Remove(id, c.now())
		return nil
	})
}

// SetDeviceName names this device in the devices list.
func (c *Client) SetDeviceName(ctx context.Context, name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return config.ErrDeviceName
	}
	return c.withDevices(ctx, func(list *config.Devices) error {
		_, err := list.Upsert(config.Device{ID: c.devs.self, Name: name, LastSeen: c.now().Truncate(time.Second)})
		return err
	})
}

// checkRemoved erases the local data and returns a *DeviceRemovedError
// when this device was found removed; nil otherwise. Call it with no loop
// of Serve running: it closes the database.
func (c *Client) checkRemoved() error {
	d := &c.devs
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removedAt.IsZero() {
		return nil
	}
	if d.removed == nil {
		d.removed = c.erase(d.removedAt)
		c.log.Warn("this device was removed from the account by another device; local data erased",
			"removed_at", d.removedAt.UTC().Format(time.RFC3339), "erase_error", d.removed.Err)
	}
	return d.removed
}

// erase closes the database and deletes it and the identity file.
func (c *Client) erase(at time.Time) *DeviceRemovedError {
	out := &DeviceRemovedError{At: at}
	if err := c.Close(); err != nil {
		c.log.Debug("close the database before erasing it", "error", err)
	}
	db := DatabasePath(c.cfg.Home)
	files := []string{db, db + "-wal", db + "-shm", db + "-journal"}
	if c.cfg.KeyFile != "" {
		files = append(files, c.cfg.KeyFile)
	}
	var errs []error
	for _, f := range files {
		switch err := eraseFile(f); {
		case err == nil:
			out.Erased = append(out.Erased, f)
		case !errors.Is(err, os.ErrNotExist):
			errs = append(errs, err)
		}
	}
	out.Err = errors.Join(errs...)
	return out
}

// eraseFile overwrites a file with zeros, then removes it. The overwrite
// helps on file systems that write in place; on copy-on-write file
// systems, SSDs and backups the old blocks may survive (docs/devices.md).
func eraseFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode().IsRegular() {
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			zeros := make([]byte, 64<<10)
			for left := fi.Size(); left > 0; left -= int64(len(zeros)) {
				if _, err := f.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
					break
				}
			}
			_ = f.Sync()
			_ = f.Close()
		}
	}
	return os.Remove(path)
}

// defaultDeviceName is the host name, cut to a valid device name.
func defaultDeviceName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "sotto device"
	}
	return printableCut(h, config.MaxDeviceNameLen)
}

// defaultPlatform names this program and system.
func defaultPlatform() string { return "sotto-cli " + runtime.GOOS + "/" + runtime.GOARCH }

// printableCut keeps the printable runes of s, at most n bytes of them.
func printableCut(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sotto.dev/config"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openLocal opens an offline client for a in home, with a key file there
// for the erase to find.
func openLocal(t *testing.T, a *account, home string, clock Clock) (*Client, error) {
	t.Helper()
	keyFile := filepath.Join(home, "identity.json")
	if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(home, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, []byte(`{"test": "identity"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return Open(Config{Home: home, Clock: clock, DeviceName: "laptop", Platform: "sotto-cli test/amd64", KeyFile: keyFile}, a.kf)
}

// devicesOf lists c's devices.
func devicesOf(t *testing.T, c *Client) []config.Device {
	t.Helper()
	list, err := c.Devices(context.Background())
	if err != nil {
		t.Fatalf("Devices: %v", err)
	}
	return list
}

func TestDevicesLocal(t *testing.T) {
	a := newAccount(t, "alice")
	home := t.TempDir()
	clock := &testClock{t: time.Unix(1_760_000_000, 0)}
	start := clock.Now()

	c, err := openLocal(t, a, home, clock)
	if err != nil {
		t.Fatal(err)
	}
	self := c.ThisDevice()
	if self == (config.DeviceID{}) {
		t.Fatal("no device ID")
	}
	want := config.Device{ID: self, Name: "laptop", Platform: "sotto-cli test/amd64", FirstSeen: start, LastSeen: start}
	if got := devicesOf(t, c); len(got) != 1 || got[0] != want {
		t.Fatalf("Devices() = %+v, want only %+v", got, want)
	}
	c.Close()

	// The ID stays; the last seen time is refreshed only every
	// DeviceRefreshInterval.
	clock.add(time.Hour)
	c, err = openLocal(t, a, home, clock)
	if err != nil {
		t.Fatal(err)
	}
	if c.ThisDevice() != self {
		t.Errorf("device ID changed on reopening: %s, was %s", c.ThisDevice(), self)
	}
	if got := devicesOf(t, c); len(got) != 1 || got[0] != want {
		t.Errorf("an hour later, Devices() = %+v, want %+v", got, want)
	}
	c.Close()
	clock.add(DeviceRefreshInterval)
	c, err = openLocal(t, a, home, clock)
	if err != nil {
		t.Fatal(err)
	}
	want.LastSeen = clock.Now()
	if got := devicesOf(t, c); len(got) != 1 || got[0] != want {
		t.Errorf("after the refresh interval, Devices() = %+v, want %+v", got, want)
	}

	ctx := context.Background()
	if err := c.SetDeviceName(ctx, "  desk  "); err != nil {
		t.Fatal(err)
	}
	if got := devicesOf(t, c); got[0].Name != "desk" {
		t.Errorf("after SetDeviceName, name = %q", got[0].Name)
	}
	for _, bad := range []string{"", "   ", "two\nlines"} {
		if err := c.SetDeviceName(ctx, bad); err == nil {
			t.Errorf("SetDeviceName(%q) accepted", bad)
		}
	}
	if err := c.RemoveDevice(ctx, self); !errors.Is(err, ErrThisDevice) {
		t.Errorf("RemoveDevice(self) = %v, want ErrThisDevice", err)
	}
	var other config.DeviceID
	other[0] = 1
	if err := c.RemoveDevice(ctx, other); !errors.Is(err, ErrNoDevice) {
		t.Errorf("RemoveDevice(unknown) = %v, want ErrNoDevice", err)
	}
	c.Close()
}

// TestDevicesEraseOnOpen: a device whose saved list says it was removed
// (it stopped before erasing) erases its data when it next opens.
func TestDevicesEraseOnOpen(t *testing.T) {
	a := newAccount(t, "alice")
	home := t.TempDir()
	clock := &testClock{t: time.Unix(1_760_000_000, 0)}
	c, err := openLocal(t, a, home, clock)
	if err != nil {
		t.Fatal(err)
	}
	// What a merge of another device's removal leaves.
	err = c.withDevices(context.Background(), func(list *config.Devices) error {
		list.Remove(c.ThisDevice(), clock.Now().Add(time.Minute))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	_, err = openLocal(t, a, home, clock)
	var re *DeviceRemovedError
	if !errors.As(err, &re) || !errors.Is(err, ErrDeviceRemoved) {
		t.Fatalf("Open of a removed device = %v, want a DeviceRemovedError", err)
	}
	if re.Err != nil || !re.At.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("DeviceRemovedError = %+v", re)
	}
	for _, f := range []string{DatabasePath(home), filepath.Join(home, "identity.json")} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after the erase (stat: %v)", f, err)
		}
	}
	if len(re.Erased) < 2 {
		t.Errorf("Erased = %v, want the database and the key file at least", re.Erased)
	}
}

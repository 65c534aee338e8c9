package client

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sotto.dev/config"
	"sotto.dev/identity"
)

// servedDevice is a device whose Serve result the test reads (the helpers'
// device fails the test when Serve returns an error, which a removed
// device must do).
type servedDevice struct {
	c       *Client
	home    string
	keyFile string
	served  chan error
	cancel  context.CancelFunc
}

func openServed(t *testing.T, a *account, nwFile, name string) *servedDevice {
	t.Helper()
	home := t.TempDir()
	keyFile := filepath.Join(home, "identity.json")
	if err := identity.SaveKeyFile(keyFile, a.kf.Keys, nil); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Home: home, NetworkFile: nwFile, RequestTimeout: 10 * time.Second, PollInterval: 200 * time.Millisecond,
		DeviceName: name, Platform: "sotto-cli test/amd64", KeyFile: keyFile, Logger: slog.New(slog.DiscardHandler),
	}
	if os.Getenv("SOTTO_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("dev", name)
	}
	c, err := Open(cfg, a.kf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &servedDevice{c: c, home: home, keyFile: keyFile, served: make(chan error, 1), cancel: cancel}
	go func() { d.served <- c.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-d.served
		c.Close()
	})
	return d
}

// eventually checks cond every 100 ms until it holds or limit passes.
func eventually(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		<-tick.C
	}
}

// listed reports whether d lists every device of want (by ID) with its
// name, and no other.
func listed(d *servedDevice, want map[config.DeviceID]string) bool {
	list, err := d.c.Devices(context.Background())
	if err != nil || len(list) != len(want) {
		return false
	}
	for _, dev := range list {
		if want[dev.ID] != dev.Name {
			return false
		}
	}
	return true
}

// TestDevicesRemoveErases runs two devices of one account on real nodes:
// both list both; A removes B; B merges its removal, erases its database
// and identity file, and stops.
func TestDevicesRemoveErases(t *testing.T) {
	nw := devnetTuned(t, 5, nil)
	acct := newAccount(t, "alice")
	a := openServed(t, acct, nw.NetworkFile(), "A laptop")
	b := openServed(t, acct, nw.NetworkFile(), "B desktop")
	want := map[config.DeviceID]string{a.c.ThisDevice(): "A laptop", b.c.ThisDevice(): "B desktop"}
	eventually(t, "A lists both devices", 30*time.Second, func() bool { return listed(a, want) })
	eventually(t, "B lists both devices", 30*time.Second, func() bool { return listed(b, want) })

	ctx := context.Background()
	if err := a.c.RemoveDevice(ctx, a.c.ThisDevice()); !errors.Is(err, ErrThisDevice) {
		t.Errorf("A removing itself: %v, want ErrThisDevice", err)
	}
	if err := a.c.RemoveDevice(ctx, b.c.ThisDevice()); err != nil {
		t.Fatalf("A removes B: %v", err)
	}

	var err error
	select {
	case err = <-b.served:
	case <-time.After(30 * time.Second):
		t.Fatal("B still serving 30 s after its removal")
	}
	var re *DeviceRemovedError
	if !errors.As(err, &re) || !errors.Is(err, ErrDeviceRemoved) {
		t.Fatalf("B's Serve returned %v, want a DeviceRemovedError", err)
	}
	if re.Err != nil {
		t.Errorf("B's erase failed: %v", re.Err)
	}
	b.served <- err // for the cleanup
	for _, f := range []string{DatabasePath(b.home), b.keyFile} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after B's erase (stat: %v)", f, err)
		}
	}

	list, err := a.c.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if removed := d.ID == b.c.ThisDevice(); d.IsRemoved() != removed {
			t.Errorf("A lists %s (%s) with removed %v", d.ID, d.Name, d.IsRemoved())
		}
	}
}

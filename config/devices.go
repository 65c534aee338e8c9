package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
	"unicode/utf8"
)

// The devices list is Sotto's own config object, which Session lacks: one
// record per device of the account, so that every device can list the
// others and remove one (docs/devices.md). It is an ordinary config
// object (same message, merge and encryption as the user configs, keyed
// with the account seed) in a namespace Session clients never read, and
// its pushes are not protobuf-wrapped.

// DevicesNamespace is the swarm namespace of the devices list: outside the
// range −30…30 that Session reserves (session-protocol.md §3.2), positive
// (negative namespaces have outbox and revocation rules), and not a
// multiple of 10 (those are public inboxes anyone may store to). A store
// there needs the account's signature and may live 30 days.
const DevicesNamespace = 41

// DevicesDomain is the encryption domain of the devices list.
const DevicesDomain = "SottoDevices"

// DevicesKind describes the devices list.
var DevicesKind = Kind{Name: "devices", Namespace: DevicesNamespace, Domain: DevicesDomain, Protobuf: false}

// Keys of the devices list's data: "d" → {device id (16 bytes) → record}.
const (
	devicesKey      = "d"
	deviceName      = "n" // name (string)
	devicePlatform  = "p" // platform (string)
	deviceFirstSeen = "f" // first seen, unix seconds
	deviceLastSeen  = "l" // last seen, unix seconds
	deviceRemoved   = "r" // removed at, unix seconds; absent while not removed
)

// Limits of a device record.
const (
	MaxDeviceNameLen     = 100 // bytes
	MaxDevicePlatformLen = 64  // bytes
)

// DeviceIDSize is the size of a device ID.
const DeviceIDSize = 16

// DeviceID names one device of an account: 16 random bytes a device draws
// on its first start.
type DeviceID [DeviceIDSize]byte

// NewDeviceID draws a device ID from r, or from crypto/rand when r is nil.
func NewDeviceID(r io.Reader) (DeviceID, error) {
	var id DeviceID
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return DeviceID{}, fmt.Errorf("config: new device id: %w", err)
	}
	return id, nil
}

// ErrDeviceID is wrapped by ParseDeviceID's errors.
var ErrDeviceID = errors.New("config: invalid device id")

// ParseDeviceID reads a device ID written by DeviceID.String: 32 lower- or
// upper-case hexadecimal digits.
func ParseDeviceID(s string) (DeviceID, error) {
	if len(s) != 2*DeviceIDSize {
		return DeviceID{}, fmt.Errorf("%w: %d characters, want %d hexadecimal digits", ErrDeviceID, len(s), 2*DeviceIDSize)
	}
	var id DeviceID
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return DeviceID{}, fmt.Errorf("%w: not hexadecimal", ErrDeviceID)
	}
	return id, nil
}

// String returns the ID in lower-case hex.
func (id DeviceID) String() string { return hex.EncodeToString(id[:]) }

// Device is one device's record. Times are whole seconds; a zero time is
// absent.
type Device struct {
	ID        DeviceID
	Name      string
	Platform  string
	FirstSeen time.Time
	LastSeen  time.Time
	// Removed is when another device removed this one; zero while it is
	// not removed.
	Removed time.Time
}

// IsRemoved reports whether the device was removed.
func (d Device) IsRemoved() bool { return !d.Removed.IsZero() }

// Errors of Upsert.
var (
	ErrDeviceName     = fmt.Errorf("config: a device name is at most %d bytes of UTF-8 on one line", MaxDeviceNameLen)
	ErrDevicePlatform = fmt.Errorf("config: a device platform is at most %d bytes of UTF-8 on one line", MaxDevicePlatformLen)
	ErrDeviceTime     = errors.New("config: a new device record needs a first or last seen time")
)

// Devices is the devices list. Like Config, it is not safe for concurrent
// use.
type Devices struct {
	*Config
}

// NewDevices creates the devices list, empty or restored from opts.Dump.
// opts.Kind is set to DevicesKind.
func NewDevices(opts Options) (*Devices, error) {
	opts.Kind = DevicesKind
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	return &Devices{Config: c}, nil
}

// List returns every device record, removed ones included, oldest first
// (by first seen, then ID). Entries that are not records (a key that is not
// 16 bytes, a value that is not a dict) are skipped; a field of the wrong
// type reads as absent.
func (d *Devices) List() []Device {
	var out []Device
	for k, v := range d.Data().Dict(devicesKey) {
		rec, ok := v.(Dict)
		if !ok || len(k) != DeviceIDSize {
			continue
		}
		out = append(out, deviceFrom(DeviceID([]byte(k)), rec))
	}
	slices.SortFunc(out, func(a, b Device) int {
		if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return out
}

// Get returns the record of id and whether there is one.
func (d *Devices) Get(id DeviceID) (Device, bool) {
	rec, ok := d.Data().Dict(devicesKey)[string(id[:])].(Dict)
	if !ok {
		return Device{}, false
	}
	return deviceFrom(id, rec), true
}

func deviceFrom(id DeviceID, rec Dict) Device {
	return Device{
		ID:        id,
		Name:      rec.String(deviceName),
		Platform:  rec.String(devicePlatform),
		FirstSeen: unixTime(rec.Int(deviceFirstSeen)),
		LastSeen:  unixTime(rec.Int(deviceLastSeen)),
		Removed:   unixTime(rec.Int(deviceRemoved)),
	}
}

func unixTime(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// Upsert adds dev's record or updates it: a non-empty Name or Platform
// replaces the stored one, the first seen time only moves earlier and the
// last seen time only later. Removed is ignored: only Remove sets it, and
// nothing clears it. It reports whether the record changed.
func (d *Devices) Upsert(dev Device) (bool, error) {
	if !validText(dev.Name, MaxDeviceNameLen) {
		return false, ErrDeviceName
	}
	if !validText(dev.Platform, MaxDevicePlatformLen) {
		return false, ErrDevicePlatform
	}
	first, last := unixSeconds(dev.FirstSeen), unixSeconds(dev.LastSeen)
	var err error
	changed := false
	d.Mutate(func(data Dict) bool {
		all := data.SubDict(devicesKey)
		rec, exists := all[string(dev.ID[:])].(Dict)
		if !exists {
			if first == 0 && last == 0 {
				err = ErrDeviceTime
				return false
			}
			rec = Dict{}
			all[string(dev.ID[:])] = rec
		}
		if dev.Name != "" {
			changed = rec.SetString(deviceName, dev.Name) || changed
		}
		if dev.Platform != "" {
			changed = rec.SetString(devicePlatform, dev.Platform) || changed
		}
		// The first seen time given, else the last seen one.
		want := first
		if want == 0 {
			want = last
		}
		if f := rec.Int(deviceFirstSeen); want > 0 && (f <= 0 || want < f) {
			changed = rec.SetInt(deviceFirstSeen, want) || changed
		}
		if l := rec.Int(deviceLastSeen); last > l {
			changed = rec.SetInt(deviceLastSeen, last) || changed
		}
		return changed
	})
	return changed, err
}

// Remove marks id removed at the time given. The record stays, so that
// the device itself learns of it when it next connects. It reports whether
// anything changed: false when there is no such record or it was already
// removed.
func (d *Devices) Remove(id DeviceID, at time.Time) bool {
	s := unixSeconds(at)
	if s <= 0 {
		s = 1
	}
	changed := false
	d.Mutate(func(data Dict) bool {
		rec, ok := data.Dict(devicesKey)[string(id[:])].(Dict)
		if !ok || rec.Int(deviceRemoved) > 0 {
			return false
		}
		changed = rec.SetInt(deviceRemoved, s)
		return changed
	})
	return changed
}

func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// validText accepts UTF-8 of at most n bytes with no control characters.
func validText(s string, n int) bool {
	if len(s) > n || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

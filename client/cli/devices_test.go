package cli

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"sotto.dev/config"
)

// cmdStdoutVar: stdoutvar VAR REGEXP — sets $VAR to the first group of
// REGEXP's first match (multi-line mode) in the last command's stdout.
func cmdStdoutVar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: stdoutvar VAR REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("stdout has no match for %q", args[1])
	}
	ts.Setenv(args[0], m[1])
}

func TestDeviceLine(t *testing.T) {
	id := config.DeviceID{0xab, 0xcd}
	first := time.Date(2026, 12, 1, 9, 30, 0, 0, time.Local)
	last := time.Date(2026, 12, 4, 22, 5, 0, 0, time.Local)
	for _, tc := range []struct {
		dev  config.Device
		this bool
		want string
	}{
		{config.Device{ID: id, Name: "laptop", Platform: "sotto-cli linux/amd64", FirstSeen: first, LastSeen: last}, true,
			"abcd0000000000000000000000000000 laptop | sotto-cli linux/amd64 | first seen 2026-12-01 09:30 | last seen 2026-12-04 22:05 | this device"},
		{config.Device{ID: id, Name: "old phone", Platform: "sotto-cli android/arm64", FirstSeen: first, LastSeen: first, Removed: last}, false,
			"abcd0000000000000000000000000000 old phone | sotto-cli android/arm64 | first seen 2026-12-01 09:30 | last seen 2026-12-01 09:30 | removed 2026-12-04 22:05"},
		{config.Device{ID: id}, false,
			"abcd0000000000000000000000000000 - | - | first seen - | last seen -"},
	} {
		if got := deviceLine(tc.dev, tc.this); got != tc.want {
			t.Errorf("deviceLine =\n%q\nwant\n%q", got, tc.want)
		}
	}
}

func TestFindDevice(t *testing.T) {
	mk := func(s string) config.Device {
		id, err := config.ParseDeviceID(s)
		if err != nil {
			t.Fatal(err)
		}
		return config.Device{ID: id}
	}
	list := []config.Device{
		mk("aaaa1111000000000000000000000000"),
		mk("aaaa2222000000000000000000000000"),
		mk("bbbb0000000000000000000000000000"),
	}
	for _, tc := range []struct {
		arg  string
		want string // the ID found, or the start of the error
	}{
		{"aaaa1111000000000000000000000000", "aaaa1111000000000000000000000000"},
		{"AAAA1111000000000000000000000000", "aaaa1111000000000000000000000000"},
		{" bbbb ", "bbbb0000000000000000000000000000"},
		{"aaaa2", "aaaa2222000000000000000000000000"},
		{"aaaa", "error: 2 devices have IDs starting with aaaa"},
		{"cccc", "error: no device ID starts with cccc"},
		{"cccc0000000000000000000000000000", "error: no device cccc0000000000000000000000000000 in this account's list"},
		{"aaa", `error: invalid device ID "aaa"`},
		{"zzzz", `error: invalid device ID "zzzz"`},
		{"aaaa11110000000000000000000000000", `error: invalid device ID`},
	} {
		d, err := findDevice(list, tc.arg)
		got := d.ID.String()
		if err != nil {
			var ue *Error
			if !errors.As(err, &ue) || ue.Hint == "" {
				t.Errorf("findDevice(%q): %v is not an error with a hint", tc.arg, err)
			}
			got = "error: " + err.Error()
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("findDevice(%q) = %s, want %s", tc.arg, got, tc.want)
		}
	}
}

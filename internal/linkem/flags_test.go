package linkem

import (
	"testing"
	"time"
)

func TestParseLoss(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		bad  bool
	}{
		{"", 0, false}, {"0.5%", 0.005, false}, {"0.01", 0.01, false}, {"100%", 1, false},
		{"2", 0, true}, {"-1%", 0, true}, {"x", 0, true}, {"%", 0, true},
	} {
		got, err := ParseLoss(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseLoss(%q) = %v, %v; want %v, bad %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseBandwidth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"", 0, false}, {"125000", 125000, false}, {"10Mbit", 1_250_000, false}, {"1MB/s", 1_000_000, false},
		{"8kbit", 1000, false}, {"1GB", 1_000_000_000, false}, {"64B", 64, false},
		{"fast", 0, true}, {"-1MB", 0, true}, {"1bit", 0, true},
	} {
		got, err := ParseBandwidth(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v, bad %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestFlagsNetwork(t *testing.T) {
	if n, err := (&Flags{}).Network(); n != nil || err != nil {
		t.Errorf("no flags: %v, %v; want no emulation", n, err)
	}
	n, err := (&Flags{Latency: 25 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: "0.5%", Seed: 9}).Network()
	if err != nil {
		t.Fatal(err)
	}
	if want := (Profile{Delay: 25 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.005}); n.Default() != want || n.Seed() != 9 {
		t.Errorf("got %+v seed %d, want %+v seed 9", n.Default(), n.Seed(), want)
	}
	if n, err := (&Flags{Latency: time.Millisecond}).Network(); err != nil || n.Seed() == 0 {
		t.Errorf("seed 0 is not replaced by a random one: %v, %v", n, err)
	}
	if _, err := (&Flags{Latency: -time.Millisecond}).Network(); err == nil {
		t.Error("negative latency accepted")
	}
}

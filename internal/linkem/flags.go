package linkem

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Flags are the command-line knobs of `sottod devnet` and `sotto-bench`:
// --latency, --jitter, --loss, --bandwidth and --seed.
type Flags struct {
	Latency, Jitter time.Duration
	Loss            string // "0.5%" or "0.005"
	Bandwidth       string // bytes per second: "1000000", "125kB", "10Mbit"
	Seed            uint64 // 0: drawn at random (and printed by the caller)
}

// Add registers the knobs on fs.
func (f *Flags) Add(fs *pflag.FlagSet) {
	fs.DurationVar(&f.Latency, "latency", 0, "emulated one-way delay of every link (e.g. 25ms)")
	fs.DurationVar(&f.Jitter, "jitter", 0, "emulated jitter: each delay uniform in latency ± jitter")
	fs.StringVar(&f.Loss, "loss", "", "emulated fraction of connections that fail (reset or stall), e.g. 0.5%")
	fs.StringVar(&f.Bandwidth, "bandwidth", "", "emulated bandwidth of every link in each direction, e.g. 10Mbit or 1MB (per second)")
	fs.Uint64Var(&f.Seed, "seed", 0, "seed of the emulated links' randomness, to replay a run (0: random)")
}

// Network is the emulation the flags ask for, or nil when they ask for
// none.
func (f *Flags) Network() (*Network, error) {
	var p Profile
	p.Delay, p.Jitter = f.Latency, f.Jitter
	if p.Delay < 0 || p.Jitter < 0 {
		return nil, fmt.Errorf("--latency and --jitter must not be negative")
	}
	var err error
	if p.Loss, err = ParseLoss(f.Loss); err != nil {
		return nil, fmt.Errorf("--loss: %w", err)
	}
	if p.Bandwidth, err = ParseBandwidth(f.Bandwidth); err != nil {
		return nil, fmt.Errorf("--bandwidth: %w", err)
	}
	if p == (Profile{}) {
		return nil, nil
	}
	seed := f.Seed
	for seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = binary.BigEndian.Uint64(b[:])
	}
	return New(seed, p), nil
}

// ParseLoss reads a fraction, "0.005", or a percentage, "0.5%".
func ParseLoss(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	scale := 1.0
	if t, ok := strings.CutSuffix(s, "%"); ok {
		s, scale = t, 100
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a fraction or a percentage", s)
	}
	v /= scale
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("%g is not between 0 and 1 (0%% and 100%%)", v)
	}
	return v, nil
}

// bandwidthUnits are the suffixes ParseBandwidth knows, in bytes per
// second (bits are an eighth of a byte).
var bandwidthUnits = []struct {
	suffix string
	bytes  float64
}{
	{"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8},
	{"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"b", 1},
}

// ParseBandwidth reads a rate per second: bytes ("125000"), or with a unit
// (B, kB, MB, GB, bit, kbit, Mbit, Gbit; an optional "/s").
func ParseBandwidth(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	t := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/s")
	mult := 1.0
	for _, u := range bandwidthUnits {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = v, u.bytes
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a rate such as 10Mbit or 1MB", s)
	}
	b := int64(v * mult)
	if v > 0 && b == 0 {
		return 0, fmt.Errorf("%q is less than a byte per second", s)
	}
	return b, nil
}

package snode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("10s", "1m30s").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String implements pflag.Value.
func (d *Duration) String() string { return time.Duration(*d).String() }

// Set implements pflag.Value.
func (d *Duration) Set(s string) error { return d.UnmarshalText([]byte(s)) }

// Type implements pflag.Value.
func (d *Duration) Type() string { return "duration" }

// Limits are the node's resource limits. Defaults are Session's
// (service-node-network.md §5.3–§5.6).
type Limits struct {
	// MaxBodyBytes bounds request bodies (Session: 10 MiB; 413 above).
	MaxBodyBytes int64 `json:"max_body_bytes"`
	// MaxStoreBytes caps the database (Session: 3.5 GiB); stores fail when
	// it is full. 0 means no cap.
	MaxStoreBytes int64 `json:"max_store_bytes"`
	// ClientRate and ClientBurst are the token bucket of each client IPv4
	// address on /storage_rpc/v1 (Session: 300/s, bucket 600). A rate of 0
	// turns client rate limiting off.
	ClientRate  float64 `json:"client_rate"`
	ClientBurst float64 `json:"client_burst"`
	// MaxClients bounds the client buckets kept (Session: 10,000); new
	// clients beyond it are refused until buckets refill.
	MaxClients int `json:"max_clients"`
	// PeerRate and PeerBurst are the bucket of each peer node on the
	// node-to-node endpoints (Session: 600/s, bucket 600). 0 turns it off,
	// and the limit on forwarded operations with it. Forwarded operations
	// are metered per operation by a limit derived from the node's
	// measured write capacity instead (limits.go, fwdLimit).
	PeerRate  float64 `json:"peer_rate"`
	PeerBurst float64 `json:"peer_burst"`
	// RequestTimeout bounds the handling of one request.
	RequestTimeout Duration `json:"request_timeout"`
	// ReadTimeout and WriteTimeout bound reading a request and writing a
	// response; IdleTimeout closes idle keep-alive connections.
	ReadTimeout  Duration `json:"read_timeout"`
	WriteTimeout Duration `json:"write_timeout"`
	IdleTimeout  Duration `json:"idle_timeout"`
	// ForwardTimeout bounds a recursive request forwarded to a swarm peer
	// (Session: 5 s).
	ForwardTimeout Duration `json:"forward_timeout"`
	// MaxConcurrentRequests bounds requests handled at once; beyond it
	// clients get 503. 0 means no bound.
	MaxConcurrentRequests int `json:"max_concurrent_requests"`
	// MaxHeldRetrieves bounds long-poll retrieves held at once
	// (docs/longpoll.md); beyond it they are answered at once. Held
	// requests count against MaxConcurrentRequests too.
	MaxHeldRetrieves int `json:"max_held_retrieves"`
	// MaxConnsPerIP bounds the connections one client address holds open;
	// more are closed as they arrive. MaxInFlightPerIP bounds its requests
	// being read or handled at once (storage RPC and /json_rpc); more get
	// 429. The network's own nodes are exempt: they carry many clients'
	// traffic. 0 means no bound.
	MaxConnsPerIP    int `json:"max_conns_per_ip"`
	MaxInFlightPerIP int `json:"max_in_flight_per_ip"`
}

// Intervals are the node's periodic tasks.
type Intervals struct {
	// Sweep removes expired messages and tombstones (Session: 10 s).
	Sweep Duration `json:"sweep"`
	// AntiEntropy is the period of reconciliation rounds with swarm peers.
	AntiEntropy Duration `json:"anti_entropy"`
	// Handoff is how often data of accounts that left our swarm is handed
	// to their new swarm.
	Handoff Duration `json:"handoff"`
	// SyncTimeout is the longest a node that joined a swarm refuses reads
	// while it pulls the swarm's data.
	SyncTimeout Duration `json:"sync_timeout"`
	// Metrics refreshes the gauges (store size, message count).
	Metrics Duration `json:"metrics"`
}

// Config configures a Node.
type Config struct {
	// ListenAddr is the HTTPS address (client RPC, onion requests,
	// node-to-node). Port 0 picks a free port (see Node.Addr).
	ListenAddr string `json:"listen_addr"`
	// PublicIP and PublicPort are what the node announces; PublicPort 0
	// means the bound listen port.
	PublicIP   string `json:"public_ip"`
	PublicPort uint16 `json:"public_port"`
	// AdminAddr serves Prometheus metrics at /metrics; "" disables it.
	// Keep it off the public interface.
	AdminAddr string `json:"admin_addr"`
	// DataDir holds the node key (key.json, 0600) and the database.
	DataDir   string    `json:"data_dir"`
	Limits    Limits    `json:"limits"`
	Intervals Intervals `json:"intervals"`
	// SyncHoldsP: the store's log sync at each commit keeps its Go
	// scheduler slot (store.Options.SyncHoldsP). Right for a process that
	// runs this node alone (sottod run turns it on); an in-process network
	// leaves it off.
	SyncHoldsP bool `json:"sync_holds_p,omitempty"`
}

// Default ports (Session's storage server HTTPS port 22021).
const (
	DefaultPort      = 22021
	DefaultAdminAddr = "127.0.0.1:22029"
)

// DefaultConfig returns a configuration with Session's defaults; DataDir
// and PublicIP must still be set.
func DefaultConfig() Config {
	return Config{
		ListenAddr: ":" + strconv.Itoa(DefaultPort),
		AdminAddr:  DefaultAdminAddr,
		Limits: Limits{
			MaxBodyBytes:          10 << 20,
			MaxStoreBytes:         3584 << 20,
			ClientRate:            300,
			ClientBurst:           600,
			MaxClients:            10_000,
			PeerRate:              600,
			PeerBurst:             600,
			RequestTimeout:        Duration(30 * time.Second),
			ReadTimeout:           Duration(30 * time.Second),
			WriteTimeout:          Duration(60 * time.Second),
			IdleTimeout:           Duration(2 * time.Minute),
			ForwardTimeout:        Duration(5 * time.Second),
			MaxConcurrentRequests: 4096,
			MaxHeldRetrieves:      2048,
			MaxConnsPerIP:         64,
			MaxInFlightPerIP:      32,
		},
		Intervals: Intervals{
			Sweep:       Duration(10 * time.Second),
			AntiEntropy: Duration(2 * time.Second),
			Handoff:     Duration(30 * time.Second),
			SyncTimeout: Duration(60 * time.Second),
			Metrics:     Duration(10 * time.Second),
		},
	}
}

// ConfigError names the invalid field and why.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return "config: " + e.Field + ": " + e.Msg }

// Validate checks the configuration and returns every problem found
// (joined *ConfigError values).
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		bad("listen_addr", "%v", err)
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			bad("admin_addr", "%v", err)
		}
	}
	if ip, err := netip.ParseAddr(c.PublicIP); err != nil || !ip.Is4() || ip.IsUnspecified() {
		bad("public_ip", "%q is not an IPv4 address", c.PublicIP)
	}
	if c.DataDir == "" {
		bad("data_dir", "must be set")
	}
	l := &c.Limits
	if l.MaxBodyBytes < 64<<10 {
		bad("limits.max_body_bytes", "%d is below 64 KiB", l.MaxBodyBytes)
	}
	if l.MaxStoreBytes != 0 && l.MaxStoreBytes < 1<<20 {
		bad("limits.max_store_bytes", "%d is below 1 MiB (0 means no cap)", l.MaxStoreBytes)
	}
	for _, r := range []struct {
		name        string
		rate, burst float64
	}{{"client", l.ClientRate, l.ClientBurst}, {"peer", l.PeerRate, l.PeerBurst}} {
		if r.rate < 0 {
			bad("limits."+r.name+"_rate", "negative")
		}
		if r.rate > 0 && r.burst < 1 {
			bad("limits."+r.name+"_burst", "must be at least 1 when the rate is set")
		}
	}
	if l.ClientRate > 0 && l.MaxClients < 1 {
		bad("limits.max_clients", "must be at least 1")
	}
	if l.MaxConcurrentRequests < 0 {
		bad("limits.max_concurrent_requests", "negative")
	}
	if l.MaxHeldRetrieves < 0 {
		bad("limits.max_held_retrieves", "negative")
	}
	if l.MaxConnsPerIP < 0 {
		bad("limits.max_conns_per_ip", "negative")
	}
	if l.MaxInFlightPerIP < 0 {
		bad("limits.max_in_flight_per_ip", "negative")
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{
		{"limits.request_timeout", l.RequestTimeout}, {"limits.read_timeout", l.ReadTimeout},
		{"limits.write_timeout", l.WriteTimeout}, {"limits.idle_timeout", l.IdleTimeout},
		{"limits.forward_timeout", l.ForwardTimeout},
		{"intervals.sweep", c.Intervals.Sweep}, {"intervals.anti_entropy", c.Intervals.AntiEntropy},
		{"intervals.handoff", c.Intervals.Handoff}, {"intervals.sync_timeout", c.Intervals.SyncTimeout},
		{"intervals.metrics", c.Intervals.Metrics},
	} {
		if d.v <= 0 {
			bad(d.name, "must be positive")
		}
	}
	return errors.Join(errs...)
}

// DecodeConfig reads a JSON configuration over the defaults: fields the
// file leaves out keep their default. Unknown fields are errors.
func DecodeConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if dec.More() {
		return Config{}, errors.New("config: trailing data after the JSON object")
	}
	return c, nil
}

// LoadConfig reads a JSON configuration file (see DecodeConfig).
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return DecodeConfig(data)
}

// RegisterFlags binds the configuration to command-line flags; parse the
// flags after loading a file to let flags override it.
func (c *Config) RegisterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.ListenAddr, "listen", c.ListenAddr, "HTTPS listen address (client RPC, onion requests, node-to-node)")
	fs.StringVar(&c.PublicIP, "public-ip", c.PublicIP, "public IPv4 address announced to the network")
	fs.Uint16Var(&c.PublicPort, "public-port", c.PublicPort, "public HTTPS port (0: the listen port)")
	fs.StringVar(&c.AdminAddr, "admin", c.AdminAddr, "metrics listen address (empty: off)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the node key and the database")
	fs.Int64Var(&c.Limits.MaxStoreBytes, "max-store-bytes", c.Limits.MaxStoreBytes, "database size cap in bytes (0: none)")
	fs.Int64Var(&c.Limits.MaxBodyBytes, "max-body-bytes", c.Limits.MaxBodyBytes, "largest request body in bytes")
	fs.Float64Var(&c.Limits.ClientRate, "client-rate", c.Limits.ClientRate, "requests per second per client IP (0: unlimited)")
	fs.Float64Var(&c.Limits.ClientBurst, "client-burst", c.Limits.ClientBurst, "burst per client IP")
	fs.IntVar(&c.Limits.MaxClients, "max-clients", c.Limits.MaxClients, "most client IPs tracked by the rate limiter")
	fs.Float64Var(&c.Limits.PeerRate, "peer-rate", c.Limits.PeerRate, "requests per second per peer node (0: unlimited)")
	fs.Float64Var(&c.Limits.PeerBurst, "peer-burst", c.Limits.PeerBurst, "burst per peer node")
	fs.IntVar(&c.Limits.MaxConcurrentRequests, "max-concurrent", c.Limits.MaxConcurrentRequests, "requests handled at once (0: unbounded)")
	fs.IntVar(&c.Limits.MaxHeldRetrieves, "max-held-retrieves", c.Limits.MaxHeldRetrieves, "long-poll retrieves held at once (0: none)")
	fs.IntVar(&c.Limits.MaxConnsPerIP, "max-conns-per-ip", c.Limits.MaxConnsPerIP, "open connections per client IP (0: unbounded)")
	fs.IntVar(&c.Limits.MaxInFlightPerIP, "max-in-flight-per-ip", c.Limits.MaxInFlightPerIP, "requests at once per client IP (0: unbounded)")
	fs.Var(&c.Limits.ForwardTimeout, "forward-timeout", "timeout of requests forwarded to swarm peers")
	fs.Var(&c.Intervals.Sweep, "sweep-interval", "expiry sweep period")
	fs.Var(&c.Intervals.AntiEntropy, "anti-entropy-interval", "swarm reconciliation period")
	fs.Var(&c.Intervals.Handoff, "handoff-interval", "period of handing data to new swarms")
	fs.Var(&c.Intervals.SyncTimeout, "sync-timeout", "longest refusal of reads while joining a swarm")
}

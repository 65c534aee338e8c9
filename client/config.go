package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sotto.dev/nodeproof"
)

// Clock tells the time; tests substitute one.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config configures a Client. Zero durations take the defaults below.
type Config struct {
	// Home is the directory of the local database (client.db).
	Home string
	// NetworkFile is the network file: seed node URLs (see ParseNetwork).
	// Without it the client works offline: local reads and writes only.
	NetworkFile string
	// Network, when set, is used instead of reading NetworkFile.
	Network *Network
	// Logger receives the client's logs; nil discards them.
	Logger *slog.Logger
	// Clock defaults to the system clock.
	Clock Clock
	// Dial, if set, opens the client's connections to nodes in place of a
	// net.Dialer: test networks emulate links with it (internal/linkem).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// RequestTimeout bounds one request through an onion path
	// (default 15 s).
	RequestTimeout time.Duration
	// LongPollWait is the wait_ms the client asks a node to hold an
	// empty retrieve (default 20 s, at most MaxLongPollWait; 0 keeps the
	// default, a negative value turns long polling off).
	LongPollWait time.Duration
	// PollInterval is the pause between retrieves when the node does not
	// hold requests (default 2 s).
	PollInterval time.Duration
	// CoverTraffic, when positive, turns on cover-traffic polling
	// (presence.go): no long polls; our swarm and each group's are polled
	// every CoverTraffic ± 25 %, whether messages arrive or not, so that
	// the requests' timing does not tell a node when messages come or
	// the user acts. Messages then wait up to one period. 0: off.
	CoverTraffic time.Duration
	// SwarmCacheTTL is how long a looked-up swarm is trusted before it is
	// asked again (default 10 min; a 421 refreshes it at once).
	SwarmCacheTTL time.Duration
	// Paths is the number of hops per onion path (default 3).
	PathLength int

	// DeviceName names this device in the devices list when it first
	// records itself (default: the host name).
	DeviceName string
	// Platform is this device's platform in the devices list (default
	// "sotto-cli GOOS/GOARCH").
	Platform string
	// KeyFile is the identity file, erased with the database when another
	// device removes this one from the devices list. Empty: only the
	// database is erased.
	KeyFile string

	// DelayMin and DelayMax bound the random delay (uniform, drawn anew
	// for each) after which receipts and the copies of sent messages for
	// our own swarm leave, so that two swarms cannot match them by time
	// with the message they concern (docs/PRIVACY.md). Both
	// zero: the defaults (2 s to 10 s); a negative DelayMax sends them at
	// once. The delay is kept in the outbox and survives a restart.
	DelayMin, DelayMax time.Duration
}

// Defaults.
const (
	DefaultRequestTimeout = 15 * time.Second
	DefaultLongPollWait   = 20 * time.Second
	DefaultPollInterval   = 2 * time.Second
	DefaultSwarmCacheTTL  = 10 * time.Minute
	DefaultDelayMin       = 2 * time.Second
	DefaultDelayMax       = 10 * time.Second
	// MaxLongPollWait is the largest wait_ms a node accepts
	// (docs/longpoll.md).
	MaxLongPollWait = 25 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.LongPollWait == 0 {
		c.LongPollWait = DefaultLongPollWait
	}
	c.LongPollWait = min(c.LongPollWait, MaxLongPollWait)
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.SwarmCacheTTL <= 0 {
		c.SwarmCacheTTL = DefaultSwarmCacheTTL
	}
	if c.PathLength <= 0 {
		c.PathLength = 3
	}
	if c.DeviceName == "" {
		c.DeviceName = defaultDeviceName()
	}
	if c.Platform == "" {
		c.Platform = defaultPlatform()
	}
	switch {
	case c.DelayMax < 0:
		c.DelayMin, c.DelayMax = 0, 0
	case c.DelayMin == 0 && c.DelayMax == 0:
		c.DelayMin, c.DelayMax = DefaultDelayMin, DefaultDelayMax
	}
	c.DelayMin = max(c.DelayMin, 0)
	c.DelayMax = max(c.DelayMax, c.DelayMin)
	return c
}

// ParseDelay reads a delay range as the CLI takes it: "2s-10s" (from,
// to), "5s" (exactly), or "0" / "off" (none: DelayMax < 0).
func ParseDelay(s string) (lo, hi time.Duration, err error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "off" {
		return 0, -1, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	if lo, err = time.ParseDuration(strings.TrimSpace(a)); err == nil {
		hi, err = time.ParseDuration(strings.TrimSpace(b))
	}
	switch {
	case err != nil:
		return 0, 0, fmt.Errorf("delay %q: want MIN-MAX like 2s-10s, one duration, or off", s)
	case lo < 0 || hi < lo:
		return 0, 0, fmt.Errorf("delay %q: want 0 <= MIN <= MAX", s)
	case hi > time.Hour:
		return 0, 0, fmt.Errorf("delay %q: at most 1h", s)
	case hi == 0:
		return 0, -1, nil
	}
	return lo, hi, nil
}

// DatabaseFile is the name of the local database inside Home.
const DatabaseFile = "client.db"

// DatabasePath is where the local database of home lives.
func DatabasePath(home string) string { return filepath.Join(home, DatabaseFile) }

// Network is the content of a network file: how to reach the network the
// first time. Nodes are then learned from the seeds.
//
//	{"seed_nodes": [{"url": "https://127.0.0.1:22021", "cert_sha256": "9f86d0…"}, ...],
//	 "allow_same_subnet": true,
//	 "ledger": {"chain_id": "sotto-devnet", "validators": [{"pub_key_ed25519": "…", "power": 10}]},
//	 "file_servers": [{"url": "http://127.0.0.1:22100", "pubkey_x25519": "…", "pubkey_ed25519": "…"}]}
type Network struct {
	// SeedNodes are the nodes that answer get_n_service_nodes at
	// /json_rpc, each pinned to its certificate.
	SeedNodes []Seed `json:"seed_nodes"`
	// AllowSameSubnet lets one onion path use several nodes of one /24,
	// which a loopback devnet needs.
	AllowSameSubnet bool `json:"allow_same_subnet"`
	// Ledger, when present, is the CometBFT ledger's chain id and
	// validator set: the client then believes a node list only with a
	// proof that these validators committed it (docs/nodeproof.md).
	// Without it (a genesis-file network) lists are taken on the seeds'
	// and nodes' word, as Session's clients do.
	Ledger *LedgerTrust `json:"ledger,omitempty"`
	// FileServers, when present, are the attachment file servers to use
	// (a devnet's; fileservers.go), instead of the ledger's list.
	FileServers []NetworkFileServer `json:"file_servers,omitempty"`
}

// LedgerTrust is the ledger part of a network file.
type LedgerTrust struct {
	ChainID    string             `json:"chain_id"`
	Validators []TrustedValidator `json:"validators"`
}

// TrustedValidator is a validator of a network file's ledger.
type TrustedValidator struct {
	// PubKeyEd25519 is the validator's consensus key, in hex.
	PubKeyEd25519 string `json:"pub_key_ed25519"`
	// Power is its voting power.
	Power int64 `json:"power"`
}

// trust converts l for the verifier.
func (l *LedgerTrust) trust() (*nodeproof.Trust, error) {
	if l.ChainID == "" || len(l.ChainID) > 50 {
		return nil, errors.New("ledger.chain_id must be 1 to 50 bytes")
	}
	if len(l.Validators) == 0 {
		return nil, errors.New("ledger.validators is empty")
	}
	t := &nodeproof.Trust{ChainID: l.ChainID}
	seen := map[[32]byte]bool{}
	var total int64
	for i, v := range l.Validators {
		b, err := hex.DecodeString(v.PubKeyEd25519)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("ledger.validators[%d]: pub_key_ed25519 must be 64 hex digits", i)
		}
		if seen[[32]byte(b)] {
			return nil, fmt.Errorf("ledger.validators[%d]: listed twice", i)
		}
		seen[[32]byte(b)] = true
		if v.Power <= 0 || v.Power > 1<<50 || total+v.Power > 1<<60 {
			return nil, fmt.Errorf("ledger.validators[%d]: power %d", i, v.Power)
		}
		total += v.Power
		t.Validators = append(t.Validators, nodeproof.Validator{PubKey: [32]byte(b), Power: v.Power})
	}
	return t, nil
}

// Seed is a seed node of a network file. Like Session's clients
// (session-protocol.md §3.7), the client talks to a seed only when it
// presents exactly the pinned certificate: the seeds are the one place a
// client takes a node list on nothing but the connection's word.
type Seed struct {
	// URL is the seed's base URL, https://host:port.
	URL string `json:"url"`
	// CertSHA256 is the SHA-256 of the seed's DER certificate, in hex
	// (docs/operator.md says how an operator publishes it).
	CertSHA256 string `json:"cert_sha256"`
}

// pin returns the decoded certificate fingerprint.
func (s Seed) pin() [32]byte {
	var p [32]byte
	_, _ = hex.Decode(p[:], []byte(s.CertSHA256))
	return p
}

// NetworkError reports a network file that cannot be used.
type NetworkError struct {
	Path   string
	Reason string
}

func (e *NetworkError) Error() string {
	if e.Path == "" {
		return "client: bad network file: " + e.Reason
	}
	return fmt.Sprintf("client: bad network file %s: %s", e.Path, e.Reason)
}

// ErrNoNetwork is returned by network operations of a client opened
// without a network file.
var ErrNoNetwork = errors.New("client: no network configured")

// LoadNetwork reads and parses a network file.
func LoadNetwork(path string) (*Network, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &NetworkError{Path: path, Reason: err.Error()}
	}
	n, err := ParseNetwork(b)
	if err != nil {
		var ne *NetworkError
		if errors.As(err, &ne) {
			ne.Path = path
		}
		return nil, err
	}
	return n, nil
}

// ParseNetwork parses a network file. It needs at least one seed, each an
// https URL with a host and a port and nothing else (no path beyond "/",
// no query, no user), and its certificate's SHA-256. Keys other than those of Network are ignored, so
// that newer network files stay readable.
func ParseNetwork(b []byte) (*Network, error) {
	var n Network
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&n); err != nil {
		return nil, &NetworkError{Reason: "not a JSON object with seed_nodes [{url, cert_sha256}]: " + err.Error()}
	}
	if dec.More() {
		return nil, &NetworkError{Reason: "data after the JSON object"}
	}
	if len(n.SeedNodes) == 0 {
		return nil, &NetworkError{Reason: "no seed_nodes"}
	}
	for i, s := range n.SeedNodes {
		if err := checkSeedURL(s.URL); err != nil {
			return nil, &NetworkError{Reason: fmt.Sprintf("seed_nodes[%d]: %v", i, err)}
		}
		if len(s.CertSHA256) != 64 || !isLowerHex(s.CertSHA256) {
			return nil, &NetworkError{Reason: fmt.Sprintf("seed_nodes[%d]: cert_sha256 must be the certificate's SHA-256 in 64 lowercase hex digits, got %q", i, s.CertSHA256)}
		}
	}
	if n.Ledger != nil {
		if _, err := n.Ledger.trust(); err != nil {
			return nil, &NetworkError{Reason: err.Error()}
		}
	}
	if err := checkNetworkFileServers(&n); err != nil {
		return nil, &NetworkError{Reason: err.Error()}
	}
	return &n, nil
}

func isLowerHex(s string) bool {
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkSeedURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	switch {
	case u.Scheme != "https":
		return fmt.Errorf("%q is not an https URL", s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q has no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return fmt.Errorf("%q must be only https://host:port", s)
	}
	p, err := strconv.ParseUint(u.Port(), 10, 16)
	if err != nil || p == 0 {
		return fmt.Errorf("%q has no valid port", s)
	}
	return nil
}

package config

import (
	"crypto/ed25519"
	"errors"
	"time"
)

// NOTE(skeleton): the API of the config engine. Helper "engine" fills in
// every body; the signatures are the contract the objects, the client and
// `sotto debug libsession` are written against. Change them only together.

var errSkeleton = errors.New("config: not built yet")

// State is the push state of a config object (libsession base.hpp:40-52).
type State int

// The states, with the numbers a dump stores in "!".
const (
	StateClean   State = 0 // nothing to push
	StateDirty   State = 1 // changed since the last push
	StateWaiting State = 2 // pushed, waiting for ConfirmPushed
)

// Kind says what an object is: its namespace, encryption domain and
// whether pushes are protobuf-wrapped.
type Kind struct {
	Name      string // "user_profile", "contacts", …
	Namespace int    // swarm namespace (2 user profile, 3 contacts, …)
	Domain    string // encryption domain ("UserProfile", …), 1–24 bytes
	Protobuf  bool   // user configs: pushes are wrapped (§4.4)
}

// Options configure a new config object.
type Options struct {
	Kind Kind
	// Keys are the 32-byte key bases, newest first; pushes encrypt with
	// Keys[0] and merges try them all. User configs: the account's Ed25519
	// seed.
	Keys [][32]byte
	// Account is the user's Ed25519 private key, needed to protobuf-wrap
	// (and unwrap) user config pushes. Nil for group configs.
	Account ed25519.PrivateKey
	// Signer signs messages (a group admin's group key); Verifier checks
	// them (the group public key). Both nil for user configs.
	Signer   ed25519.PrivateKey
	Verifier ed25519.PublicKey
	// Dump, when not empty, restores the object saved by Dump.
	Dump []byte
	// Now is the clock (pruning in conversation info); nil means time.Now.
	Now func() time.Time
}

// Incoming is one message fetched from the swarm, to merge.
type Incoming struct {
	Hash string // the swarm message hash
	Data []byte // exactly the stored bytes
}

// Push is what an object has to store on its swarm.
type Push struct {
	Seqno int64
	// Messages are the bytes to store, one message normally, several
	// parts when the config is over the single-message limit (§4.12).
	Messages [][]byte
	// Obsolete are swarm hashes this push supersedes, to delete once the
	// push is stored.
	Obsolete []string
}

// Config is one config object: its data, seqno and push state. It is not
// safe for concurrent use.
type Config struct {
	opts Options
}

// New creates a config object, empty or restored from opts.Dump.
func New(opts Options) (*Config, error) {
	return nil, errSkeleton
}

// Data returns the current data. Callers must not modify it; use Mutate.
func (c *Config) Data() Dict { return nil }

// Mutate runs fn on the data. fn edits d in place and returns whether it
// changed anything; when it did, the object becomes dirty (the first change
// after a push starts the next seqno, as libsession does).
func (c *Config) Mutate(fn func(d Dict) bool) {}

// Seqno is the current seqno.
func (c *Config) Seqno() int64 { return 0 }

// State is the current push state.
func (c *Config) State() State { return StateClean }

// NeedsPush reports whether the object has changes to push.
func (c *Config) NeedsPush() bool { return false }

// NeedsDump reports whether the object changed since the last Dump.
func (c *Config) NeedsDump() bool { return false }

// Push serializes, compresses, pads, encrypts and (for user configs) wraps
// the current message, moving a dirty object to Waiting. It returns an error
// wrapping ErrTooLarge when the config is over the limit.
func (c *Config) Push() (Push, error) { return Push{}, errSkeleton }

// ConfirmPushed records that the push of seqno was stored under the swarm
// hashes given (one per part); it moves a Waiting object to Clean.
func (c *Config) ConfirmPushed(seqno int64, hashes ...string) {}

// Merge merges messages fetched from the swarm and returns the hashes of
// those it accepted (parsed, even if superseded). It fails only when the
// object is still at seqno 0 and no message is valid, as libsession does.
func (c *Config) Merge(msgs []Incoming) ([]string, error) { return nil, errSkeleton }

// CurrentHashes are the swarm hashes of the messages the current state is
// built from; every other stored message of this object is obsolete.
func (c *Config) CurrentHashes() []string { return nil }

// Dump serializes the object for local persistence (§4.6) and clears
// NeedsDump.
func (c *Config) Dump() []byte { return nil }

// Serialized returns the serialized config message (the bt dict that a push
// encrypts, signed when there is a signer) of the current state.
func (c *Config) Serialized() []byte { return nil }

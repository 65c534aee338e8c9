package config

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The four user configs (libsession include/session/config/namespaces.hpp
// and each object's encryption_domain()).
var (
	UserProfileKind = Kind{Name: "user_profile", Namespace: 2, Domain: "UserProfile", Protobuf: true}
	ContactsKind    = Kind{Name: "contacts", Namespace: 3, Domain: "Contacts", Protobuf: true}
	ConvoInfoKind   = Kind{Name: "convo_info_volatile", Namespace: 4, Domain: "ConvoInfoVolatile", Protobuf: true}
	UserGroupsKind  = Kind{Name: "user_groups", Namespace: 5, Domain: "UserGroups", Protobuf: true}
)

// MaxNameLength is the longest name, in bytes, of a profile, a contact
// (name and nickname) or a group (libsession contacts.hpp,
// contact_info::MAX_NAME_LENGTH; user_groups.hpp, NAME_MAX_LENGTH).
const MaxNameLength = 100

// PicKeySize is the length of a profile picture's decryption key.
const PicKeySize = 32

// Errors of the user objects' setters (libsession throws
// std::invalid_argument in the same cases).
var (
	ErrNameTooLong = errors.New("config: name exceeds 100 bytes")
	ErrPicKey      = errors.New("config: profile picture key is not 32 bytes")
)

// ProfilePic is a profile picture: the URL of the encrypted file and its
// 32-byte key. It counts as set only when both are (libsession
// profile_pic.hpp, empty()).
type ProfilePic struct {
	URL string
	Key []byte
}

// IsSet reports whether the URL is not empty and the key has 32 bytes.
func (p ProfilePic) IsSet() bool { return p.URL != "" && len(p.Key) == PicKeySize }

// check is libsession's profile_pic::check_key: a key is empty or 32 bytes.
func (p ProfilePic) check() error {
	if len(p.Key) != 0 && len(p.Key) != PicKeySize {
		return ErrPicKey
	}
	return nil
}

// loadPic reads the p/q pair of d; both must be valid for the picture to
// be set (user_profile.cpp:59-66, contacts.cpp:77-84).
func loadPic(d Dict) ProfilePic {
	url, key := d.String("p"), d.String("q")
	if url == "" || len(key) != PicKeySize {
		return ProfilePic{}
	}
	return ProfilePic{URL: url, Key: []byte(key)}
}

// storePic writes p and q when the picture is set, and removes both
// otherwise (set_pair_if, internal.hpp:182-196).
func storePic(d Dict, p ProfilePic) bool {
	if !p.IsSet() {
		a := d.Delete("p")
		return d.Delete("q") || a
	}
	a := d.SetString("p", p.URL)
	return d.SetString("q", string(p.Key)) || a
}

// TruncateName cuts s to at most n bytes without splitting a UTF-8
// sequence (libsession util.hpp, utf8_truncate): a cut that would leave a
// continuation byte next moves back to the start of that sequence.
func TruncateName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cut is the raw byte cut libsession applies when it stores a name
// (std::string::substr), which may split a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// cInt narrows v to a C int, as libsession does when it reads a stored
// integer into an int field (priorities, notify and expiry modes).
func cInt(v int64) int64 { return int64(int32(v)) }

// setFlag stores 1 at k when v, and removes k otherwise (set_flag).
func setFlag(d Dict, k string, v bool) bool {
	if v {
		return d.SetInt(k, 1)
	}
	return d.Delete(k)
}

// setPositive stores v at k when v > 0, and removes k otherwise
// (set_positive_int).
func setPositive(d Dict, k string, v int64) bool {
	if v > 0 {
		return d.SetInt(k, v)
	}
	return d.Delete(k)
}

// userOptions fills in the kind and, when the caller gave only the
// account key, the key base of a user config: the account's Ed25519 seed
// (§4.1; libsession base.cpp:550-556).
func userOptions(opts Options, kind Kind) (Options, error) {
	opts.Kind = kind
	if len(opts.Keys) == 0 {
		if len(opts.Account) != ed25519.PrivateKeySize {
			return opts, fmt.Errorf("config: %s needs the account key", kind.Name)
		}
		opts.Keys = [][32]byte{[32]byte(opts.Account.Seed())}
	}
	return opts, nil
}

// UserProfile is the user's own profile (namespace 2): display name,
// picture, and the settings of the Note to Self conversation. The data keys
// are libsession's (user_profile.hpp:16-26).
type UserProfile struct {
	*Config
}

// NewUserProfile creates the profile object, empty or from opts.Dump. The
// kind is set for the caller; Keys default to the account's seed.
func NewUserProfile(opts Options) (*UserProfile, error) {
	opts, err := userOptions(opts, UserProfileKind)
	if err != nil {
		return nil, err
	}
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	return &UserProfile{c}, nil
}

// Name is the display name, "" when none is set.
func (p *UserProfile) Name() string { return p.Data().String("n") }

// SetName sets the display name; "" removes it. A name over MaxNameLength
// bytes is refused with ErrNameTooLong (user_profile.cpp:42-46).
func (p *UserProfile) SetName(name string) error {
	if len(name) > MaxNameLength {
		return ErrNameTooLong
	}
	p.Mutate(func(d Dict) bool { return d.SetStringOrDelete("n", name) })
	return nil
}

// SetNameTruncated sets the display name, cut to MaxNameLength bytes on a
// UTF-8 boundary (user_profile.cpp:47-49).
func (p *UserProfile) SetNameTruncated(name string) {
	_ = p.SetName(TruncateName(name, MaxNameLength))
}

// Pic is the profile picture; IsSet is false when there is none.
func (p *UserProfile) Pic() ProfilePic { return loadPic(p.Data()) }

// SetPic sets the profile picture, or clears it when the URL is empty or
// the key is not 32 bytes (user_profile.cpp:79-81). A key of another
// length than 0 or 32 is refused with ErrPicKey, as libsession's
// profile_pic constructor does.
func (p *UserProfile) SetPic(pic ProfilePic) error {
	if err := pic.check(); err != nil {
		return err
	}
	p.Mutate(func(d Dict) bool { return storePic(d, pic) })
	return nil
}

// NoteToSelfPriority is the Note to Self conversation's priority: 0
// normal, -1 hidden, above 0 pinned (higher first).
func (p *UserProfile) NoteToSelfPriority() int64 { return cInt(p.Data().Int("+")) }

// SetNoteToSelfPriority sets the Note to Self priority (0 removes the key).
func (p *UserProfile) SetNoteToSelfPriority(priority int64) {
	p.Mutate(func(d Dict) bool { return d.SetIntOrDelete("+", priority) })
}

// NoteToSelfExpiry is the disappearing-messages timer of Note to Self in
// seconds, 0 when off.
func (p *UserProfile) NoteToSelfExpiry() int64 {
	if e := p.Data().Int("e"); e > 0 {
		return e
	}
	return 0
}

// SetNoteToSelfExpiry sets the Note to Self timer in seconds; 0 or less
// turns it off.
func (p *UserProfile) SetNoteToSelfExpiry(seconds int64) {
	p.Mutate(func(d Dict) bool { return setPositive(d, "e", seconds) })
}

// BlindedMsgReqs is whether message requests from community (blinded)
// senders are accepted; ok is false when the user never chose.
func (p *UserProfile) BlindedMsgReqs() (enabled, ok bool) {
	v, ok := p.Data().IntOK("M")
	return v != 0, ok
}

// SetBlindedMsgReqs records the user's choice about blinded message
// requests.
func (p *UserProfile) SetBlindedMsgReqs(enabled bool) {
	var v int64
	if enabled {
		v = 1
	}
	p.Mutate(func(d Dict) bool { return d.SetInt("M", v) })
}

// ClearBlindedMsgReqs forgets the choice, back to the client's default.
func (p *UserProfile) ClearBlindedMsgReqs() {
	p.Mutate(func(d Dict) bool { return d.Delete("M") })
}

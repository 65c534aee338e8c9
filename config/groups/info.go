package groups

import (
	"crypto/ed25519"
	"errors"
	"time"

	"sotto.dev/config"
)

// The group configs (libsession include/session/config/namespaces.hpp and
// each object's encryption_domain(); spec/libsession-configs.md §4.1).
var (
	InfoKind    = config.Kind{Name: "groups_info", Namespace: 13, Domain: "groups::Info"}
	MembersKind = config.Kind{Name: "groups_members", Namespace: 14, Domain: "groups::Members"}
)

// Limits of the group info strings, in bytes (libsession groups/info.hpp,
// NAME_MAX_LENGTH and DESCRIPTION_MAX_LENGTH).
const (
	MaxNameLength        = 100
	MaxDescriptionLength = 2000
)

// Errors of the Info setters (libsession throws std::invalid_argument in
// the same cases).
var (
	ErrNameTooLong        = errors.New("groups: group name exceeds 100 bytes")
	ErrDescriptionTooLong = errors.New("groups: group description exceeds 2000 bytes")
	ErrPicKey             = errors.New("groups: picture key is not 32 bytes")
	ErrNoGroupKey         = errors.New("groups: a group config needs the group's public or secret key")
)

// groupOptions completes the options of a group config: its kind, and a
// verifier (the group's public key) that every message must be signed
// for. Admins also give the Signer.
func groupOptions(opts config.Options, kind config.Kind) (config.Options, error) {
	opts.Kind = kind
	if opts.Verifier == nil && opts.Signer == nil {
		return opts, ErrNoGroupKey
	}
	if opts.Verifier == nil {
		opts.Verifier = opts.Signer.Public().(ed25519.PublicKey)
	}
	opts.Account = nil
	return opts, nil
}

// InfoFields are the fields of the group info, as Fields returns them.
type InfoFields struct {
	Name        string // "" when none is set
	Description string // "" when none is set
	PicURL      string // "" when no picture is set
	PicKey      []byte // 32 bytes when PicURL is set
	// ExpiryTimer is the disappearing-messages timer (delete after send);
	// 0 when off.
	ExpiryTimer time.Duration
	// Created, DeleteBefore and DeleteAttachBefore are unix times in
	// seconds, 0 when not set.
	Created            int64
	DeleteBefore       int64
	DeleteAttachBefore int64
	Destroyed          bool
}

// Info is a group's info config (namespace 13): name, description,
// picture, disappearing-messages timer, creation time, the delete-before
// times and the destroyed flag. It is signed with the group key: admins
// change it, members only read it. The data keys are libsession's
// (groups/info.hpp:15-27, info.cpp).
type Info struct {
	*config.Config
}

// NewInfo creates the info object, empty or from opts.Dump. opts.Verifier
// is the group's public key; opts.Signer the group's secret key for an
// admin (nil for a member, whose object is read-only). opts.Keys are the
// group's encryption keys (Keys.EncryptionKeys), which may be set later
// with SetKeys.
func NewInfo(opts config.Options) (*Info, error) {
	opts, err := groupOptions(opts, InfoKind)
	if err != nil {
		return nil, err
	}
	c, err := config.New(opts)
	if err != nil {
		return nil, err
	}
	return &Info{c}, nil
}

// Name is the group's name, "" when none is set.
func (i *Info) Name() string { return i.Data().String("n") }

// SetName sets the name; "" removes it. A name over MaxNameLength bytes is
// refused with ErrNameTooLong (info.cpp, Info::set_name).
func (i *Info) SetName(name string) error {
	if len(name) > MaxNameLength {
		return ErrNameTooLong
	}
	return i.Change(func(d config.Dict) bool { return d.SetStringOrDelete("n", name) })
}

// SetNameTruncated sets the name cut to MaxNameLength bytes on a UTF-8
// boundary.
func (i *Info) SetNameTruncated(name string) error {
	return i.SetName(config.TruncateName(name, MaxNameLength))
}

// Description is the group's description, "" when none is set.
func (i *Info) Description() string { return i.Data().String("o") }

// SetDescription sets the description; "" removes it. One over
// MaxDescriptionLength bytes is refused with ErrDescriptionTooLong.
func (i *Info) SetDescription(desc string) error {
	if len(desc) > MaxDescriptionLength {
		return ErrDescriptionTooLong
	}
	return i.Change(func(d config.Dict) bool { return d.SetStringOrDelete("o", desc) })
}

// SetDescriptionTruncated sets the description cut to
// MaxDescriptionLength bytes on a UTF-8 boundary.
func (i *Info) SetDescriptionTruncated(desc string) error {
	return i.SetDescription(config.TruncateName(desc, MaxDescriptionLength))
}

// Pic is the group's picture. As libsession's get_profile_pic, the URL
// and the key are read independently: either may be empty.
func (i *Info) Pic() config.ProfilePic {
	var p config.ProfilePic
	d := i.Data()
	if u := d.String("p"); u != "" {
		p.URL = u
	}
	if k := d.String("q"); len(k) == config.PicKeySize {
		p.Key = []byte(k)
	}
	return p
}

// SetPic sets the picture, or removes it when the URL is empty or the key
// is not 32 bytes (info.cpp, set_profile_pic). A key of another length
// than 0 or 32 is refused with ErrPicKey.
func (i *Info) SetPic(pic config.ProfilePic) error {
	if len(pic.Key) != 0 && len(pic.Key) != config.PicKeySize {
		return ErrPicKey
	}
	return i.Change(func(d config.Dict) bool { return storePic(d, pic) })
}

// ExpiryTimer is the disappearing-messages timer, and whether one is
// stored.
func (i *Info) ExpiryTimer() (time.Duration, bool) {
	v, ok := i.ExpirySeconds()
	return time.Duration(v) * time.Second, ok
}

// ExpirySeconds is the disappearing-messages timer in seconds as stored,
// and whether one is.
func (i *Info) ExpirySeconds() (int64, bool) { return i.Data().IntOK("E") }

// SetExpiryTimer sets the disappearing-messages timer, in whole seconds;
// 0 or less turns it off.
func (i *Info) SetExpiryTimer(d time.Duration) error {
	return i.SetExpirySeconds(int64(d / time.Second))
}

// SetExpirySeconds sets the disappearing-messages timer in seconds; 0 or
// less turns it off.
func (i *Info) SetExpirySeconds(s int64) error {
	return i.Change(func(d config.Dict) bool { return setPositive(d, "E", s) })
}

// Created is the group's creation time (unix seconds), and whether it is
// set.
func (i *Info) Created() (int64, bool) { return i.Data().IntOK("c") }

// SetCreated sets the creation time; 0 or less removes it.
func (i *Info) SetCreated(unix int64) error {
	return i.Change(func(d config.Dict) bool { return setPositive(d, "c", unix) })
}

// DeleteBefore is the time (unix seconds) before which members delete
// every message of the group, and whether it is set.
func (i *Info) DeleteBefore() (int64, bool) { return i.Data().IntOK("d") }

// SetDeleteBefore sets the delete-before time; 0 or less removes it.
func (i *Info) SetDeleteBefore(unix int64) error {
	return i.Change(func(d config.Dict) bool { return setPositive(d, "d", unix) })
}

// DeleteAttachBefore is the time (unix seconds) before which members drop
// every attachment of the group, and whether it is set.
func (i *Info) DeleteAttachBefore() (int64, bool) { return i.Data().IntOK("D") }

// SetDeleteAttachBefore sets the attachments' delete-before time; 0 or
// less removes it.
func (i *Info) SetDeleteAttachBefore(unix int64) error {
	return i.Change(func(d config.Dict) bool { return setPositive(d, "D", unix) })
}

// Destroyed reports whether an admin destroyed the group: members then
// remove it.
func (i *Info) Destroyed() bool { return i.Data().Int("!") > 0 }

// Destroy marks the group destroyed, for good.
func (i *Info) Destroy() error {
	return i.Change(func(d config.Dict) bool { return d.SetInt("!", 1) })
}

// Fields returns every field at once.
func (i *Info) Fields() InfoFields {
	pic := i.Pic()
	exp, _ := i.ExpiryTimer()
	created, _ := i.Created()
	before, _ := i.DeleteBefore()
	attach, _ := i.DeleteAttachBefore()
	f := InfoFields{
		Name:               i.Name(),
		Description:        i.Description(),
		ExpiryTimer:        exp,
		Created:            created,
		DeleteBefore:       before,
		DeleteAttachBefore: attach,
		Destroyed:          i.Destroyed(),
	}
	if pic.IsSet() {
		f.PicURL, f.PicKey = pic.URL, pic.Key
	}
	return f
}

// storePic writes p and q when the picture is set, and removes both
// otherwise (libsession set_pair_if, internal.hpp:182-196).
func storePic(d config.Dict, p config.ProfilePic) bool {
	if !p.IsSet() {
		a := d.Delete("p")
		return d.Delete("q") || a
	}
	a := d.SetString("p", p.URL)
	return d.SetString("q", string(p.Key)) || a
}

// setPositive stores v at k when v > 0, and removes k otherwise
// (set_positive_int).
func setPositive(d config.Dict, k string, v int64) bool {
	if v > 0 {
		return d.SetInt(k, v)
	}
	return d.Delete(k)
}

// setFlag stores 1 at k when v, and removes k otherwise (set_flag).
func setFlag(d config.Dict, k string, v bool) bool {
	if v {
		return d.SetInt(k, 1)
	}
	return d.Delete(k)
}

package storagerpc

import (
	"strconv"
	"time"
)

// Namespace is a storage namespace: an account's messages are kept in
// separate boxes per namespace (session-protocol.md §3.2, Session's
// oxenss/common/namespace.h). The zero value is the default namespace.
type Namespace int16

// Namespaces Session clients use.
const (
	NamespaceDefault           Namespace = 0  // 1:1 messages (public inbox)
	NamespaceUserProfile       Namespace = 2  // config: user profile
	NamespaceContacts          Namespace = 3  // config: contacts
	NamespaceConvoInfoVolatile Namespace = 4  // config: conversation info
	NamespaceUserGroups        Namespace = 5  // config: user groups
	NamespaceGroupMessages     Namespace = 11 // closed group v2 messages
	NamespaceGroupKeys         Namespace = 12 // closed group v2 keys
	NamespaceGroupInfo         Namespace = 13 // closed group v2 info config
	NamespaceGroupMembers      Namespace = 14 // closed group v2 members config
	// NamespaceLegacyClosed is the deprecated legacy closed group box:
	// anyone may store to it and retrieve from it.
	NamespaceLegacyClosed Namespace = -10
	// NamespaceRevokedRetrievable holds group messages (kick notices) that
	// a revoked subaccount may still read.
	NamespaceRevokedRetrievable Namespace = -11
)

// IsPublicInbox reports whether anyone may store to ns without
// authentication: namespaces divisible by 10 (0, 10, -30, ...).
func (ns Namespace) IsPublicInbox() bool { return int(ns)%10 == 0 }

// IsPublicOutbox reports whether ns is a public outbox: negative
// namespaces -(20n+1) (-1, -21, ...). It holds a single message, anyone
// may retrieve it, and storing needs the owner's authentication (with
// write and delete rights for subaccounts, since a store replaces the
// previous message).
func (ns Namespace) IsPublicOutbox() bool {
	n := int(ns)
	return n < 0 && -n%20 == 1
}

// IsUnrevocable reports whether a revoked subaccount may still retrieve
// from ns: negative namespaces ending in 11 (-11, -211, ...).
func (ns Namespace) IsUnrevocable() bool {
	n := int(ns)
	return n < 0 && -n%100 == 11
}

// IsNoAuthRetrieve reports whether retrieving from ns needs no
// authentication: public outboxes and the legacy closed group namespace.
func (ns Namespace) IsNoAuthRetrieve() bool {
	return ns == NamespaceLegacyClosed || ns.IsPublicOutbox()
}

// StoreNeedsAuth reports whether storing to ns needs a signature: every
// namespace that is not a public inbox.
func (ns Namespace) StoreNeedsAuth() bool { return !ns.IsPublicInbox() }

// MaxTTL is the longest lifetime a new message in ns may have: 14 days in
// public inboxes, 30 days elsewhere.
func (ns Namespace) MaxTTL() time.Duration {
	if ns.IsPublicInbox() {
		return MaxTTLPublic
	}
	return MaxTTLPrivate
}

// String returns the decimal namespace.
func (ns Namespace) String() string { return strconv.Itoa(int(ns)) }

// SigString is the namespace as it appears in signed messages and in the
// message hash: empty for the default namespace, decimal otherwise.
func (ns Namespace) SigString() string {
	if ns == NamespaceDefault {
		return ""
	}
	return ns.String()
}

// NamespaceSel selects the namespaces of delete_all, delete_before and
// expire_all: one namespace, or all of them (JSON "all"). The zero value
// selects the default namespace.
type NamespaceSel struct {
	All bool      // every namespace
	NS  Namespace // the namespace, when !All
}

// AllNamespaces selects every namespace.
var AllNamespaces = NamespaceSel{All: true}

// OneNamespace selects ns.
func OneNamespace(ns Namespace) NamespaceSel { return NamespaceSel{NS: ns} }

// SigString is the selection as signed: "" for the default namespace,
// "all", or the decimal namespace (Session's signature_value).
func (s NamespaceSel) SigString() string {
	if s.All {
		return sigNamespaceAll
	}
	return s.NS.SigString()
}

// String returns "all" or the decimal namespace.
func (s NamespaceSel) String() string {
	if s.All {
		return sigNamespaceAll
	}
	return s.NS.String()
}

// MarshalJSON encodes the selection as Session expects it: "all" or an
// integer.
func (s NamespaceSel) MarshalJSON() ([]byte, error) {
	if s.All {
		return []byte(`"all"`), nil
	}
	return []byte(s.NS.String()), nil
}

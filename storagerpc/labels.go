package storagerpc

// Method names of the storage RPC (session-protocol.md §3.4; Session's
// oxenss/rpc/client_rpc_endpoints.h).
const (
	MethodStore              = "store"
	MethodRetrieve           = "retrieve"
	MethodDelete             = "delete"
	MethodDeleteAll          = "delete_all"
	MethodDeleteBefore       = "delete_before"
	MethodExpire             = "expire"
	MethodExpireAll          = "expire_all"
	MethodGetExpiries        = "get_expiries"
	MethodGetSwarm           = "get_swarm"
	MethodInfo               = "info"
	MethodRevokeSubaccount   = "revoke_subaccount"
	MethodUnrevokeSubaccount = "unrevoke_subaccount"
	MethodBatch              = "batch"
	MethodSequence           = "sequence"
	MethodIfElse             = "ifelse"
	MethodOxendRequest       = "oxend_request"

	// MethodGetSnodesForPubkey is the legacy alias of get_swarm.
	MethodGetSnodesForPubkey = "get_snodes_for_pubkey"
)

// Prefixes of the messages that clients sign (session-protocol.md §3.3).
// Each signed message is the prefix followed by the pieces listed at its
// builder in auth.go. They equal the method names but are kept apart: a
// signature context must never change because a method was renamed.
const (
	sigStore              = "store"
	sigRetrieve           = "retrieve"
	sigDelete             = "delete"
	sigDeleteAll          = "delete_all"
	sigDeleteBefore       = "delete_before"
	sigExpire             = "expire"
	sigExpireAll          = "expire_all"
	sigGetExpiries        = "get_expiries"
	sigRevokeSubaccount   = "revoke_subaccount"
	sigUnrevokeSubaccount = "unrevoke_subaccount"
)

// Words inside signed messages (session-protocol.md §3.3).
const (
	// sigNamespaceAll stands for "every namespace" in delete_all,
	// delete_before and expire_all.
	sigNamespaceAll = "all"
	// sigShorten and sigExtend are the expire mode words.
	sigShorten = "shorten"
	sigExtend  = "extend"
)

// OxendEndpoints are the oxend endpoints that oxend_request may reach
// (Session's allowed_oxend_endpoints in client_rpc_endpoints.cpp).
const (
	OxendGetServiceNodes = "get_service_nodes"
	OxendONSResolve      = "ons_resolve"
	// OxendNodeListProof is Sotto's own: the node list with the ledger's
	// signed header that commits it (docs/nodeproof.md; nodeproof.Endpoint).
	OxendNodeListProof = "sotto_service_nodes_proof"
)

// snodeAddressSuffix ends the deprecated "address" field of get_swarm
// entries: base32z(pubkey_legacy) + ".snode" (session-protocol.md §3.4).
const snodeAddressSuffix = ".snode"

// base32zAlphabet is z-base-32 as oxenc encodes it (session-foundation/
// oxen-encoding oxenc/base32z.h: MSB-first, unpadded).
const base32zAlphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"

package state

// Domain labels of the ledger protocol. The ledger is Sotto's own protocol
// (it has no Session wire counterpart), described in docs/ledger.md; these
// labels separate its signatures and random streams from every other use of
// the same keys (a node's Ed25519 key also signs storage results).
const (
	// TxSignLabel prefixes the bytes a transaction's signer signs
	// (docs/ledger.md "Transactions").
	TxSignLabel = "sotto-ledger-tx-v1"
	// RegisterLabel prefixes what a node key signs to accept being
	// registered by an operator (docs/ledger.md "Registration").
	RegisterLabel = "sotto-ledger-register-v1"
	// FileServerLabel prefixes what a file server's Ed25519 key signs to
	// accept being registered or updated by an operator (docs/ledger.md
	// "File servers").
	FileServerLabel = "sotto-ledger-fileserver-v1"
	// CommunityLabel prefixes what a community server's Ed25519 key signs
	// to accept being registered or updated by an operator (docs/ledger.md
	// "Communities").
	CommunityLabel = "sotto-ledger-community-v1"
	// QuorumLabel seeds the random stream that draws obligation quorums
	// from a block hash (docs/ledger.md "Health"; Session's quorum_rng,
	// service-node-network.md §3.1).
	QuorumLabel = "sotto-ledger-quorum-v1"
	// SwarmLabel seeds the random stream of swarm assignment from a block
	// hash (docs/ledger.md "Swarms"; service-node-network.md §4.2).
	SwarmLabel = "sotto-ledger-swarm-v1"
	// StateHashLabel prefixes the canonical state encoding in the state
	// hash (docs/ledger.md "State and app hash").
	StateHashLabel = "sotto-ledger-state-v1"
	// AppHashLabel prefixes the state hash and the node-list hash in the
	// app hash (docs/ledger.md "State and app hash", docs/nodeproof.md).
	// Package nodeproof repeats it for clients.
	AppHashLabel = "sotto-ledger-app-v2"
	// NodeListLabel prefixes the canonical encoding of the serving node
	// list in the node-list hash (docs/nodeproof.md). Package nodeproof
	// repeats it for clients. Version 2 added each node's operator and
	// capability bits.
	NodeListLabel = "sotto-ledger-nodes-v2"
	// GenesisSeedLabel derives the swarm seed of the genesis block from the
	// chain id (docs/ledger.md "Swarms").
	GenesisSeedLabel = "sotto-ledger-genesis-v1"
)

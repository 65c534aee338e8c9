package nodeproof

// Domain labels of the node-list commitment. They are the ledger's
// (ledger/state/labels.go AppHashLabel, NodeListLabel; docs/ledger.md
// "State and app hash"), repeated here so that the client does not import
// the ledger; ledger/state's tests check that both sides hash alike.
const (
	// AppHashLabel prefixes the state hash and the node-list hash in the
	// app hash.
	AppHashLabel = "sotto-ledger-app-v2"
	// NodeListLabel prefixes the canonical node-list encoding. Version 2
	// added each node's operator and capability bits (AppendNode).
	NodeListLabel = "sotto-ledger-nodes-v2"
)

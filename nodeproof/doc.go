// Package nodeproof is the codec and verifier of the ledger's node-list
// proofs (docs/nodeproof.md): a service node serves, with the node list at
// ledger height H, the state hash at H, the CometBFT signed header of block
// H+1 (whose app hash commits the state after H) and the validator set that
// signed it; a client checks the header's commit against the validators in
// its network file and the app hash against the list, and so believes the
// list only if the ledger's validators agreed on it.
//
// The package is what a client needs of CometBFT's light client and no more:
// it decodes CometBFT's JSON of a SignedHeader and a validator set,
// recomputes the header hash (a Merkle root over protobuf-encoded fields)
// and the validator-set hash, and verifies the commit's Ed25519 signatures
// over CometBFT's canonical vote sign bytes, with the light client's voting
// power rules. It imports only the standard library and the protobuf
// runtime, so the client binary carries no blockchain; its tests compare it
// with CometBFT's own types package.
package nodeproof

// Package snode is Sotto's service node storage server: the swarm member
// that holds the encrypted messages of the accounts its swarm is
// responsible for, wire-compatible with Session's storage server
// (session-protocol.md §3, service-node-network.md §4–§5).
//
// A Node serves, on one HTTPS port with a certificate self-signed by the
// node's Ed25519 key:
//
//   - POST /storage_rpc/v1: every client method of Session's storage RPC
//     (decoded and checked by sotto.dev/storagerpc), with 421 answers for
//     accounts of other swarms and node-signed per-member results for
//     recursive methods;
//   - POST /json_rpc: get_n_service_nodes for seed bootstrap, answered from
//     the ledger view;
//   - /sotto/v1/...: Sotto's node-to-node protocol (forwarding of recursive
//     requests, anti-entropy, handoff), over mutual TLS where each side's
//     certificate key must be its ledger key;
//   - whatever is mounted with Mount (the onion relay's /onion_req/v2,
//     which calls HandleRPC for requests whose final hop is this node).
//
// Messages live in an SQLite store (package snode/store) that
// acknowledges writes only after they are committed with synchronous=FULL.
// Deletes leave tombstones until the message's expiry and every row
// carries the time of the operation that produced it, so swarm members
// converge by last-writer-wins: forwarding gives every member each
// operation with the same operation time, and periodic anti-entropy
// rounds repair what a member missed while it was down. When the ledger
// view moves accounts to another swarm the node hands their data over and
// purges it; a node that joins a swarm pulls the swarm's data before it
// serves reads. docs/snode.md describes the protocols.
//
// Logs never put a client address next to an account ID; metrics are
// served on a separate admin listener.
//
// Secrets: the node key is kept in an identity.Keys (wiped by Keys.Wipe);
// Go cannot wipe the copies made by crypto/ed25519 and crypto/tls inside
// the certificate's private key, nor strings built while reading the key
// file.
package snode

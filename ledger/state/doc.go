// Package state is the ledger's deterministic state machine: accounts and
// balances, the reward pool, service-node registrations and stakes, health
// (uptime proofs, obligation quorums, decommission credits), rewards,
// swarms and ONS-compatible names.
//
// It imports no CometBFT code: the ABCI application in package ledger feeds
// it blocks (Begin, Deliver for each transaction, End) and commits the
// canonical encoding whose hash is the app hash. Every transaction is
// signed by an Ed25519 key, carries the signer's next nonce and is checked
// completely before anything changes, so a rejected transaction leaves the
// state exactly as it was and returns a Code and a message.
//
// Rules and constants follow Session's network (service-node-network.md
// §1–§4, §6) with the differences listed in docs/ledger.md. Amounts are in
// atomic units (Coin = 10^9). Durations are counted in blocks.
package state

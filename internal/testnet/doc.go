// Package testnet runs a whole Sotto network on one machine: N service
// nodes, each with its own HTTPS port on a loopback address, its own key
// and SQLite store in a data directory, the onion relay mounted at
// /onion_req/v2, and a ledger that lists them in swarms. Integration and
// end-to-end tests start one with StartT; `sottod devnet` runs one until it
// is interrupted (see internal/devnet).
//
// A network lives in a directory:
//
//	DIR/devnet.json      layout: listen address, node ports and swarms (kept across restarts)
//	DIR/genesis.json     the node list the ledger serves (ledger.GenesisFile; genesis-file ledger)
//	DIR/ledger/          the embedded CometBFT ledger's home (CometBFT networks), DIR/ledger.log its log
//	DIR/network.json     the client's network file: {"seed_nodes": [...], "allow_same_subnet": true}, plus "ledger" (chain id, validators) on a CometBFT network and "file_servers" and "communities" once set (SetFileServers, SetCommunities)
//	DIR/node-NN/         one node: key.json, operator.json (CometBFT), store.db, node.log, child.json (subprocess mode)
//
// Starting again in the same directory keeps every node's identity, port and
// data. Ports are chosen free on first start and reused afterwards.
//
// Nodes share Options.Listen by default; Options.Addresses gives each its
// own address, a loopback one (127.1.S.H) or one inside a network namespace
// of its own (Linux, root), so that per-address rules can be tested
// (addrs.go, netns_linux.go). Nodes dial their peers from their address;
// Network.ClientDial gives test clients addresses of their own.
//
// Nodes run in-process (the default: fast, one process, Stop/Restart) or as
// child processes (Subprocess: Kill with SIGKILL, Pause with SIGSTOP). A
// child is the test binary itself, re-executed; its TestMain must call
// ChildMain first (see ChildMain), or Options.Command names another
// program that does.
//
// The ledger is a parameter (Options.Ledger): the default is a genesis file
// read through ledger.GenesisView (fast, editable by hand); with
// Options.CometBFT it is the embedded CometBFT ledger (CometLedger), in
// which every node registers itself with its operator key, proves its
// uptime and tests its peers, so nodes that stop are decommissioned as on
// a real network.
package testnet

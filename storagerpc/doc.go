// Package storagerpc is the codec of Session's storage RPC ("POST
// /storage_rpc/v1"), shared by the service node and the client: request
// decoding with Session's exact aliases, defaults, limits and error
// statuses; the signed strings of every authenticated method and their
// verification (account keys, pubkey_ed25519 for 05 accounts, subaccount
// tokens); namespace rules; the message hash; and the JSON shapes of the
// responses, including the node-signed per-node results of recursive
// methods. The reference is session-protocol.md §3 and
// service-node-network.md §5, which describe Session's storage server
// (session-foundation/session-storage-server, oxenss/rpc/*); the details
// that the spec leaves open were read there and are cited where used.
//
// A node handles a request in this order:
//
//	method, params, err := storagerpc.DecodeRequest(body)   // 400/413 *Error
//	req, err := storagerpc.ParseParams(method, params)       // 400 *Error
//	// the node checks that the account belongs to its swarm (421)
//	err = req.Check(now, storagerpc.CheckOptions{...})      // 401/403/406 *Error
//	                                                         // (Keys: a KeyCache kept by the node)
//	// the node executes the request and builds a response from the
//	// typed structs in response.go, signing per-node results with the
//	// *ResultSigMessage builders.
//
// Every failure that reaches a client is an *Error carrying Session's HTTP
// status and text; StatusOf maps any error to the status and body a server
// should send. Parsers never panic on any input (see the Fuzz targets).
//
// The package performs no I/O and never logs; its only state is the
// KeyCache a node may create and pass to Check. Request
// parameters hold only public data (keys, signatures, ciphertexts); there
// are no secrets to wipe.
package storagerpc

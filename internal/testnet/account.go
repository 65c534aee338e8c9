package testnet

import (
	"fmt"
	"time"

	"sotto.dev/identity"
	"sotto.dev/storagerpc"
)

// Account is a throwaway Session account for driving nodes' storage RPC
// directly (tests and load tools): it builds signed store and retrieve
// requests for its own inbox, namespace 0.
type Account struct {
	keys *identity.Keys
	acct storagerpc.Account
}

// NewAccount makes an account with a random seed.
func NewAccount() (*Account, error) {
	k, seed, err := identity.NewKeys()
	clear(seed)
	if err != nil {
		return nil, fmt.Errorf("testnet: new account: %w", err)
	}
	return &Account{keys: k, acct: storagerpc.AccountFromSessionID(k.SessionID())}, nil
}

// Key is the account key (the Session ID without its 05 prefix), which
// decides the account's swarm.
func (a *Account) Key() [32]byte { return a.acct.Key() }

// ID is the account's Session ID in hex.
func (a *Account) ID() string { return a.acct.String() }

// StoreRequest is a store request body of data in the account's inbox.
func (a *Account) StoreRequest(data []byte, ttl time.Duration, now time.Time) ([]byte, error) {
	ts := now.UnixMilli()
	return storagerpc.EncodeRequest(&storagerpc.StoreParams{
		Account:   a.acct,
		Namespace: storagerpc.NamespaceDefault,
		Timestamp: ts,
		Expiry:    ts + ttl.Milliseconds(),
		Data:      data,
	})
}

// RetrieveRequest is a signed retrieve request body for the account's
// inbox, after lastHash ("" for everything).
func (a *Account) RetrieveRequest(lastHash string, now time.Time) ([]byte, error) {
	ts := now.UnixMilli()
	sig := storagerpc.Signature(a.keys.Sign(storagerpc.RetrieveSigMessage(storagerpc.NamespaceDefault, ts)))
	ed := a.keys.Ed25519Public()
	return storagerpc.EncodeRequest(&storagerpc.RetrieveParams{
		Account:   a.acct,
		Namespace: storagerpc.NamespaceDefault,
		LastHash:  lastHash,
		Timestamp: ts,
		Auth:      storagerpc.Auth{Signature: &sig, PubkeyEd25519: &ed},
	})
}

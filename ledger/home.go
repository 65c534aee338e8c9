package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"

	"sotto.dev/internal/atomicfile"
	"sotto.dev/ledger/state"
)

// A ledger home directory holds everything one CometBFT node needs:
//
//	config/ledger.json               HomeConfig (Sotto's; CometBFT's config.toml is not used)
//	config/genesis.json              the network's CometBFT genesis, app_state = state.Genesis
//	config/node_key.json             p2p identity
//	config/priv_validator_key.json   consensus key (a validator if its key is in the genesis)
//	data/priv_validator_state.json   double-sign protection
//	data/…                           CometBFT block store and state, ledger-state.bin
const (
	homeConfigFile   = "config/ledger.json"
	genesisFile      = "config/genesis.json"
	nodeKeyFile      = "config/node_key.json"
	validatorKeyFile = "config/priv_validator_key.json"
	validatorState   = "data/priv_validator_state.json"
	dataDir          = "data"
)

// HomeConfig is the node-local part of a ledger home: where it listens and
// whom it connects to. The rules come from the genesis.
type HomeConfig struct {
	Moniker string `json:"moniker"`
	// P2PListen is CometBFT's p2p address, e.g. "tcp://0.0.0.0:26656".
	P2PListen string `json:"p2p_listen"`
	// ExternalAddress is announced to peers ("host:port"); empty: none.
	ExternalAddress string `json:"external_address,omitempty"`
	// Peers are persistent peers, "nodeid@host:port".
	Peers []string `json:"persistent_peers"`
	// RPCListen is CometBFT's RPC address ("tcp://127.0.0.1:26657"); empty:
	// no RPC server.
	RPCListen string `json:"rpc_listen,omitempty"`
	// Loopback allows peers on private and loopback addresses (test and
	// devnet networks on one machine).
	Loopback bool `json:"loopback,omitempty"`
	// NoPEX turns peer exchange off: the node talks only to its
	// persistent peers, at the addresses given (a test that routes them
	// through link-emulating proxies).
	NoPEX bool `json:"no_pex,omitempty"`
}

// HomeInfo describes a home's keys, for assembling a network genesis.
type HomeInfo struct {
	Dir string
	// NodeID is the p2p id: peers reach this node at NodeID@host:port.
	NodeID string
	// ValidatorKey is the consensus public key (32 bytes, Ed25519).
	ValidatorKey []byte
}

// InitHome creates (or completes) a ledger home: keys that are missing are
// generated, existing ones are kept; cfg replaces config/ledger.json.
func InitHome(dir string, cfg HomeConfig) (*HomeInfo, error) {
	for _, d := range []string{"config", dataDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("ledger home: %w", err)
		}
	}
	nk, err := p2p.LoadOrGenNodeKey(filepath.Join(dir, nodeKeyFile))
	if err != nil {
		return nil, fmt.Errorf("ledger home: node key: %w", err)
	}
	pv, err := loadOrGenValidator(dir)
	if err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, homeConfigFile), cfg); err != nil {
		return nil, err
	}
	pub, _ := pv.GetPubKey()
	return &HomeInfo{Dir: dir, NodeID: string(nk.ID()), ValidatorKey: pub.Bytes()}, nil
}

// ReadHome returns the identity of an existing home.
func ReadHome(dir string) (*HomeInfo, error) {
	nk, err := p2p.LoadNodeKey(filepath.Join(dir, nodeKeyFile))
	if err != nil {
		return nil, fmt.Errorf("ledger home: node key: %w", err)
	}
	pv, err := loadValidator(dir)
	if err != nil {
		return nil, err
	}
	pub, _ := pv.GetPubKey()
	return &HomeInfo{Dir: dir, NodeID: string(nk.ID()), ValidatorKey: pub.Bytes()}, nil
}

func readHomeConfig(dir string) (*HomeConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, homeConfigFile))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c HomeConfig
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("ledger home: %s: %w", homeConfigFile, err)
	}
	return &c, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("ledger home: %w", err)
	}
	return nil
}

// catch turns a CometBFT panic (its file helpers panic on I/O errors) into
// an error.
func catch(what string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("ledger home: %s: %v", what, r)
		}
	}()
	f()
	return nil
}

// loadValidator loads the consensus key and sign state. CometBFT's loader
// exits the process on a bad file, so both files are parsed here first.
func loadValidator(dir string) (*privval.FilePV, error) {
	kf, sf := filepath.Join(dir, validatorKeyFile), filepath.Join(dir, validatorState)
	kb, err := os.ReadFile(kf)
	if err != nil {
		return nil, fmt.Errorf("ledger home: validator key: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(kb, &key); err != nil || key.PrivKey == nil {
		return nil, fmt.Errorf("ledger home: validator key %s: unreadable (%v)", kf, err)
	}
	sb, err := os.ReadFile(sf)
	if errors.Is(err, fs.ErrNotExist) {
		// A copied key without its sign state: start a fresh one.
		pv := privval.NewFilePV(key.PrivKey, kf, sf)
		if err := catch("validator state", pv.LastSignState.Save); err != nil {
			return nil, err
		}
		return privval.LoadFilePV(kf, sf), nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger home: validator state: %w", err)
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(sb, &st); err != nil {
		return nil, fmt.Errorf("ledger home: validator state %s: %w", sf, err)
	}
	return privval.LoadFilePV(kf, sf), nil
}

func loadOrGenValidator(dir string) (*privval.FilePV, error) {
	kf, sf := filepath.Join(dir, validatorKeyFile), filepath.Join(dir, validatorState)
	if _, err := os.Stat(kf); err == nil {
		return loadValidator(dir)
	}
	pv := privval.NewFilePV(cmted25519.GenPrivKey(), kf, sf)
	if err := catch("save validator key", pv.Save); err != nil {
		return nil, err
	}
	return pv, nil
}

// NetworkValidator is one consensus validator of a network genesis.
type NetworkValidator struct {
	Name  string
	Key   []byte // 32-byte Ed25519 consensus key (HomeInfo.ValidatorKey)
	Power int64
}

// NewNetworkGenesis builds a CometBFT genesis whose app_state is app.
func NewNetworkGenesis(chainID string, validators []NetworkValidator, app *state.Genesis) (*types.GenesisDoc, error) {
	raw, err := json.Marshal(app)
	if err != nil {
		return nil, err
	}
	doc := &types.GenesisDoc{
		ChainID:         chainID,
		GenesisTime:     time.Now().UTC().Truncate(time.Second),
		InitialHeight:   1,
		ConsensusParams: types.DefaultConsensusParams(),
		AppState:        raw,
	}
	// No CometBFT block limit: with one, CometBFT hands PrepareProposal
	// only the oldest transactions of the mempool, and a flood of user
	// transactions would keep the node duties out. The ledger enforces its
	// own MaxBlockBytes in PrepareProposal and ProcessProposal instead
	// (docs/ledger.md "Fees and limits").
	doc.ConsensusParams.Block.MaxBytes = -1
	for _, v := range validators {
		if len(v.Key) != cmted25519.PubKeySize {
			return nil, fmt.Errorf("ledger genesis: validator %q key of %d bytes", v.Name, len(v.Key))
		}
		pk := cmted25519.PubKey(v.Key)
		doc.Validators = append(doc.Validators, types.GenesisValidator{Address: pk.Address(), PubKey: pk, Power: v.Power, Name: v.Name})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("ledger genesis: %w", err)
	}
	if _, err := state.New(chainID, app, 1); err != nil {
		return nil, err
	}
	return doc, nil
}

// MarshalNetworkGenesis returns a genesis file's bytes.
func MarshalNetworkGenesis(doc *types.GenesisDoc) ([]byte, error) {
	b, err := cmtjson.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteNetworkGenesis writes a genesis into a home's config directory.
func WriteNetworkGenesis(dir string, doc *types.GenesisDoc) error {
	b, err := MarshalNetworkGenesis(doc)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, genesisFile), b, 0o644); err != nil {
		return fmt.Errorf("ledger home: %w", err)
	}
	return nil
}

// InstallNetworkGenesis installs a genesis file received from the network.
func InstallNetworkGenesis(dir string, raw []byte) (*types.GenesisDoc, error) {
	doc, err := types.GenesisDocFromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("ledger genesis: %w", err)
	}
	g, err := state.ParseGenesis(doc.AppState)
	if err != nil {
		return nil, err
	}
	if _, err := state.New(doc.ChainID, g, uint64(doc.InitialHeight)); err != nil {
		return nil, err
	}
	return doc, WriteNetworkGenesis(dir, doc)
}

func loadNetworkGenesis(dir string) (*types.GenesisDoc, *state.Genesis, error) {
	doc, err := types.GenesisDocFromFile(filepath.Join(dir, genesisFile))
	if err != nil {
		return nil, nil, err
	}
	g, err := state.ParseGenesis(doc.AppState)
	if err != nil {
		return nil, nil, err
	}
	return doc, g, nil
}

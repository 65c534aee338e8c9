package ledger

import (
	"context"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
	"sotto.dev/storagerpc"
)

// FileServerInfo is a listed file server as the ledger reports it
// (docs/ledger.md "File servers").
type FileServerInfo struct {
	storagerpc.FileServer
	Operator           string `json:"operator_address"`
	RegistrationHeight uint64 `json:"registration_height"`
	UpdateHeight       uint64 `json:"update_height"`
}

// FileServerList is the answer of QueryFileServers: the file servers
// listed at Height, sorted by Ed25519 key.
type FileServerList struct {
	Height      uint64           `json:"height"`
	FileServers []FileServerInfo `json:"file_servers"`
}

// RPC returns the list as nodes serve it (sotto_file_servers).
func (l *FileServerList) RPC() *storagerpc.FileServerList {
	out := &storagerpc.FileServerList{Height: l.Height, FileServers: make([]storagerpc.FileServer, len(l.FileServers))}
	for i, fs := range l.FileServers {
		out.FileServers[i] = fs.FileServer
	}
	return out
}

func fileServerList(height uint64, st *state.State) FileServerList {
	out := FileServerList{Height: height, FileServers: []FileServerInfo{}}
	for _, fs := range st.FileServers() {
		out.FileServers = append(out.FileServers, FileServerInfo{
			FileServer: storagerpc.FileServer{
				URL:           fs.URL,
				PubkeyX25519:  fs.X25519.String(),
				PubkeyEd25519: fs.Ed25519.String(),
			},
			Operator:           fs.Operator.String(),
			RegistrationHeight: fs.RegisteredHeight,
			UpdateHeight:       fs.UpdatedHeight,
		})
	}
	return out
}

// FileServers returns the listed file servers at the last committed
// block.
func (c *Client) FileServers(ctx context.Context) (*FileServerList, error) {
	var l FileServerList
	if err := c.query(ctx, QueryFileServers, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// SubmitFileServer registers (t state.TypeFileServerRegister) or updates
// (state.TypeFileServerUpdate) the file server whose Ed25519 key server
// holds, at url with X25519 key x, for operator: the operator signs the
// transaction and server signs state.FileServerMessage for the nonce the
// transaction carries. It waits for the block, as Submit does.
func (c *Client) SubmitFileServer(ctx context.Context, operator, server state.Signer, t state.TxType, x key.OnionPublic, url string) (*Result, error) {
	ed := key.FileServerPublic(server.PublicKey())
	var body state.Body
	var sig *[64]byte
	switch t {
	case state.TypeFileServerRegister:
		b := &state.FileServerRegister{Ed25519: ed, X25519: x, URL: url}
		body, sig = b, &b.ServerSig
	case state.TypeFileServerUpdate:
		b := &state.FileServerUpdate{Ed25519: ed, X25519: x, URL: url}
		body, sig = b, &b.ServerSig
	default:
		return nil, &state.TxError{Code: state.CodeInvalid, Msg: "not a file server registration or update: " + t.String()}
	}
	return c.submitServiceSigned(ctx, operator, body, func(chainID string, op state.Address, nonce uint64) {
		*sig = state.SignFileServer(server, chainID, t, op, nonce, x, url)
	})
}

// submitServiceSigned prepares body for operator, lets serverSign fill in
// the service key's signature once the nonce is known, signs, broadcasts
// and waits for the block, as Submit does. The body has its final size
// before Prepare prices it.
func (c *Client) submitServiceSigned(ctx context.Context, operator state.Signer, body state.Body, serverSign func(chainID string, op state.Address, nonce uint64)) (*Result, error) {
	op := state.Address(operator.PublicKey())
	lock := c.signerLock(op)
	lock.Lock()
	defer lock.Unlock()

	tx, fee, err := c.Prepare(ctx, op, body)
	if err != nil {
		return nil, err
	}
	serverSign(tx.ChainID, op, tx.Nonce)
	tx.SignWith(operator)
	res, err := c.broadcast(ctx, tx, tx.Encode())
	if res != nil {
		res.Fee, res.LastValid = fee, tx.LastValid
	}
	return res, err
}

package ledger

import (
	"context"
	"slices"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
	"sotto.dev/storagerpc"
)

// CommunityInfo is a listed community server as the ledger reports it
// (docs/ledger.md "Communities").
type CommunityInfo struct {
	storagerpc.Community
	Operator           string `json:"operator_address"`
	RegistrationHeight uint64 `json:"registration_height"`
	UpdateHeight       uint64 `json:"update_height"`
}

// CommunityList is the answer of QueryCommunities: the community servers
// listed at Height, sorted by Ed25519 key.
type CommunityList struct {
	Height      uint64          `json:"height"`
	Communities []CommunityInfo `json:"communities"`
}

// RPC returns the list as nodes serve it (sotto_communities).
func (l *CommunityList) RPC() *storagerpc.CommunityList {
	out := &storagerpc.CommunityList{Height: l.Height, Communities: make([]storagerpc.Community, len(l.Communities))}
	for i, c := range l.Communities {
		out.Communities[i] = c.Community
	}
	return out
}

func communityList(height uint64, st *state.State) CommunityList {
	out := CommunityList{Height: height, Communities: []CommunityInfo{}}
	for _, c := range st.Communities() {
		out.Communities = append(out.Communities, CommunityInfo{
			Community: storagerpc.Community{
				URL:           c.URL,
				Pubkey:        c.X25519.String(),
				PubkeyEd25519: c.Ed25519.String(),
				Rooms:         slices.Clone(c.Rooms),
			},
			Operator:           c.Operator.String(),
			RegistrationHeight: c.RegisteredHeight,
			UpdateHeight:       c.UpdatedHeight,
		})
	}
	return out
}

// Communities returns the listed community servers at the last committed
// block.
func (c *Client) Communities(ctx context.Context) (*CommunityList, error) {
	var l CommunityList
	if err := c.query(ctx, QueryCommunities, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// SubmitCommunity registers (t state.TypeCommunityRegister) or updates
// (state.TypeCommunityUpdate) the community server whose Ed25519 key
// server holds, at url with X25519 key x and rooms, for operator, as
// SubmitFileServer does for a file server.
func (c *Client) SubmitCommunity(ctx context.Context, operator, server state.Signer, t state.TxType, x key.OnionPublic, url string, rooms []string) (*Result, error) {
	ed := key.FileServerPublic(server.PublicKey())
	var body state.Body
	var sig *[64]byte
	switch t {
	case state.TypeCommunityRegister:
		b := &state.CommunityRegister{Ed25519: ed, X25519: x, URL: url, Rooms: rooms}
		body, sig = b, &b.ServerSig
	case state.TypeCommunityUpdate:
		b := &state.CommunityUpdate{Ed25519: ed, X25519: x, URL: url, Rooms: rooms}
		body, sig = b, &b.ServerSig
	default:
		return nil, &state.TxError{Code: state.CodeInvalid, Msg: "not a community registration or update: " + t.String()}
	}
	return c.submitServiceSigned(ctx, operator, body, func(chainID string, op state.Address, nonce uint64) {
		*sig = state.SignCommunity(server, chainID, t, op, nonce, x, url, rooms)
	})
}

package state

import (
	"slices"

	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// Communities (docs/ledger.md "Communities"): an operator registers the
// community servers (SOGS) it runs with the public rooms each lists, so
// that clients find communities in the ledger instead of at a central
// directory. A registration is a file server's (fileserver.go) plus a
// room list: the server's URL, its X25519 key (the join URL's public_key
// and the onion v4 key), its Ed25519 key (the same seed's, which names
// the registration and signs it) and 1–storagerpc.MaxCommunityRooms room
// tokens. The rules are the file server's, counted separately: a funded
// node per registration, the usual fee, a listing that follows stake.

// CommunityRegister registers a community server run by the signer (its
// operator). ServerSig is the server's Ed25519 signature over
// CommunityMessage.
type CommunityRegister struct {
	Ed25519   key.FileServerPublic
	X25519    key.OnionPublic
	URL       string
	Rooms     []string
	ServerSig [64]byte
}

// CommunityUpdate changes the URL, X25519 key and rooms of a community
// server the signer registered, signed again by the server's Ed25519 key.
type CommunityUpdate struct {
	Ed25519   key.FileServerPublic
	X25519    key.OnionPublic
	URL       string
	Rooms     []string
	ServerSig [64]byte
}

// CommunityRemove removes a community server the signer registered.
type CommunityRemove struct {
	Ed25519 key.FileServerPublic
}

func (*CommunityRegister) Type() TxType { return TypeCommunityRegister }
func (*CommunityUpdate) Type() TxType   { return TypeCommunityUpdate }
func (*CommunityRemove) Type() TxType   { return TypeCommunityRemove }

func (b *CommunityRegister) encode(w *writer) {
	encodeFileServer(w, b.Ed25519, b.X25519, b.URL, b.ServerSig)
	encodeRooms(w, b.Rooms)
}

func (b *CommunityRegister) decode(r *reader) {
	decodeFileServer(r, &b.Ed25519, &b.X25519, &b.URL, &b.ServerSig)
	b.Rooms = decodeRooms(r, "rooms")
}

func (b *CommunityUpdate) encode(w *writer) {
	encodeFileServer(w, b.Ed25519, b.X25519, b.URL, b.ServerSig)
	encodeRooms(w, b.Rooms)
}

func (b *CommunityUpdate) decode(r *reader) {
	decodeFileServer(r, &b.Ed25519, &b.X25519, &b.URL, &b.ServerSig)
	b.Rooms = decodeRooms(r, "rooms")
}

func (b *CommunityRemove) encode(w *writer) { w.raw(b.Ed25519[:]) }
func (b *CommunityRemove) decode(r *reader) { r.array("ed25519", b.Ed25519[:]) }

// encodeRooms writes a room list: u8 count, each token u8 length + bytes.
func encodeRooms(w *writer, rooms []string) {
	w.u8(uint8(len(rooms)))
	for _, t := range rooms {
		w.str8(t)
	}
}

// decodeRooms reads a room list; CheckRooms is the apply rule, the codec
// bounds only the sizes.
func decodeRooms(r *reader, field string) []string {
	n := int(r.u8(field))
	if r.err != nil {
		return nil
	}
	if n > storagerpc.MaxCommunityRooms {
		r.fail(field, "too many rooms")
		return nil
	}
	rooms := make([]string, 0, n)
	for range n {
		rooms = append(rooms, r.str8(field, storagerpc.MaxRoomToken))
	}
	return rooms
}

// CommunityMessage is what a community server's Ed25519 key signs to
// accept a registration or update by operator: the file server's message
// (FileServerMessage) under CommunityLabel, followed by the rooms (u8
// count, each u8 length + bytes).
func CommunityMessage(chainID string, t TxType, operator Address, nonce uint64, ed key.FileServerPublic, x key.OnionPublic, url string, rooms []string) []byte {
	w := serviceMessage(CommunityLabel, chainID, t, operator, nonce, ed, x, url)
	encodeRooms(w, rooms)
	return w.b
}

// SignCommunity returns the server key's signature for a registration
// (t TypeCommunityRegister) or an update (TypeCommunityUpdate) that
// operator sends with nonce.
func SignCommunity(server Signer, chainID string, t TxType, operator Address, nonce uint64, x key.OnionPublic, url string, rooms []string) [64]byte {
	return server.Sign(CommunityMessage(chainID, t, operator, nonce, key.FileServerPublic(server.PublicKey()), x, url, rooms))
}

// Community is a community server registration.
type Community struct {
	Ed25519  key.FileServerPublic
	X25519   key.OnionPublic
	URL      string
	Rooms    []string
	Operator Address
	// RegisteredHeight is when it was registered; UpdatedHeight when it
	// last changed.
	RegisteredHeight uint64
	UpdatedHeight    uint64
}

func (c *Community) endpoint() (key.FileServerPublic, key.OnionPublic, string) {
	return c.Ed25519, c.X25519, c.URL
}
func (c *Community) operator() Address { return c.Operator }

func (c *Community) clone() *Community {
	d := *c
	d.Rooms = slices.Clone(c.Rooms)
	return &d
}

const communityWhat = "community server"

// checkCommunity applies the file server's field rules and the room rule.
func (s *State) checkCommunity(tx *Tx, ed key.FileServerPublic, x key.OnionPublic, url string, rooms []string, sig [64]byte) error {
	if err := storagerpc.CheckRooms(rooms); err != nil {
		return reject(CodeInvalid, "%v", err)
	}
	msg := CommunityMessage(s.chainID, tx.Body.Type(), tx.Signer, tx.Nonce, ed, x, url, rooms)
	return checkServiceFields(s, communityWhat, s.communities, ed, x, url, msg, sig)
}

func (s *State) communityRegister(tx *Tx, b *CommunityRegister) error {
	if s.communities[b.Ed25519] != nil {
		return reject(CodeDuplicate, "community server %s is already registered", b.Ed25519)
	}
	if err := checkRoomForService(s, communityWhat, s.communities, tx.Signer); err != nil {
		return err
	}
	if err := s.checkCommunity(tx, b.Ed25519, b.X25519, b.URL, b.Rooms, b.ServerSig); err != nil {
		return err
	}
	s.communities[b.Ed25519] = &Community{
		Ed25519:          b.Ed25519,
		X25519:           b.X25519,
		URL:              b.URL,
		Rooms:            slices.Clone(b.Rooms),
		Operator:         tx.Signer,
		RegisteredHeight: s.height,
		UpdatedHeight:    s.height,
	}
	return nil
}

func (s *State) communityUpdate(tx *Tx, b *CommunityUpdate) error {
	c, err := ownService(s.communities, communityWhat, CodeUnknownCommunity, tx.Signer, b.Ed25519)
	if err != nil {
		return err
	}
	if err := s.checkCommunity(tx, b.Ed25519, b.X25519, b.URL, b.Rooms, b.ServerSig); err != nil {
		return err
	}
	c.X25519, c.URL, c.Rooms, c.UpdatedHeight = b.X25519, b.URL, slices.Clone(b.Rooms), s.height
	return nil
}

func (s *State) communityRemove(tx *Tx, b *CommunityRemove) error {
	if _, err := ownService(s.communities, communityWhat, CodeUnknownCommunity, tx.Signer, b.Ed25519); err != nil {
		return err
	}
	delete(s.communities, b.Ed25519)
	return nil
}

// Community returns a copy of a community server registration, listed or
// not.
func (s *State) Community(ed key.FileServerPublic) (Community, bool) {
	c := s.communities[ed]
	if c == nil {
		return Community{}, false
	}
	return *c.clone(), true
}

// Communities returns the listed community servers, sorted by Ed25519
// key, by the file servers' rule (FileServers).
func (s *State) Communities() []Community {
	var out []Community
	for _, c := range listedServices(s, s.communities) {
		out = append(out, *c.clone())
	}
	return out
}

// communitySection marks the optional community section of a state
// encoding, after the file server section.
const communitySection = 2

// encodeCommunities appends the community section: nothing when there is
// none, else communitySection, a u32 count and each registration in key
// order.
func (s *State) encodeCommunities(w *writer) {
	if len(s.communities) == 0 {
		return
	}
	w.u8(communitySection)
	w.u32(uint32(len(s.communities)))
	for _, k := range sortedKeys(s.communities) {
		c := s.communities[k]
		w.raw(c.Ed25519[:])
		w.raw(c.X25519[:])
		w.str8(c.URL)
		encodeRooms(w, c.Rooms)
		w.raw(c.Operator[:])
		w.u64(c.RegisteredHeight)
		w.u64(c.UpdatedHeight)
	}
}

// decodeCommunities reads the community section after its marker: at
// least one registration in strictly ascending key order.
func (s *State) decodeCommunities(r *reader) {
	n := r.count("communities", 1<<24, 32+32+1+1+32+16)
	if r.err == nil && n == 0 {
		r.fail("communities", "an empty section is not canonical")
		return
	}
	var prev *key.FileServerPublic
	for range n {
		c := new(Community)
		r.array("community.ed25519", c.Ed25519[:])
		r.array("community.x25519", c.X25519[:])
		c.URL = r.str8("community.url", MaxFileServerURL)
		c.Rooms = decodeRooms(r, "community.rooms")
		r.array("community.operator", c.Operator[:])
		c.RegisteredHeight = r.u64("community.registered")
		c.UpdatedHeight = r.u64("community.updated")
		if r.err != nil {
			return
		}
		if prev != nil && compareKeys(*prev, c.Ed25519) >= 0 {
			r.fail("communities", "keys not in strictly ascending order")
			return
		}
		prev = &c.Ed25519
		s.communities[c.Ed25519] = c
	}
}

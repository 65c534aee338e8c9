package state

import (
	"fmt"

	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// File servers (docs/ledger.md "File servers"): an operator registers the
// attachment file servers it runs, so that clients find one in the ledger
// instead of at a foundation's address. A registration holds the server's
// URL, its X25519 key (the onion v4 destination key) and its Ed25519 key
// (its identity, which names the registration and signs it).
//
// Spam is bounded by stake: the signer must operate at least one funded
// service node (active or decommissioned), and holds at most one file
// server per funded node it operates; every transaction pays the usual
// fee. The listing (FileServers) shows an operator's servers only while it
// still has that many funded nodes, so a stake that leaves the network
// takes its servers out of the list.

// MaxFileServerURL bounds a file server's URL, in bytes.
const MaxFileServerURL = storagerpc.MaxFileServerURL

// FileServerRegister registers a file server run by the signer (its
// operator). ServerSig is the server's Ed25519 signature over
// FileServerMessage, proving that the operator holds the server's key and
// binding the registration to this one transaction.
type FileServerRegister struct {
	Ed25519   key.FileServerPublic
	X25519    key.OnionPublic
	URL       string
	ServerSig [64]byte
}

// FileServerUpdate changes the URL and X25519 key of a file server the
// signer registered, signed again by the server's Ed25519 key.
type FileServerUpdate struct {
	Ed25519   key.FileServerPublic
	X25519    key.OnionPublic
	URL       string
	ServerSig [64]byte
}

// FileServerRemove removes a file server the signer registered.
type FileServerRemove struct {
	Ed25519 key.FileServerPublic
}

func (*FileServerRegister) Type() TxType { return TypeFileServerRegister }
func (*FileServerUpdate) Type() TxType   { return TypeFileServerUpdate }
func (*FileServerRemove) Type() TxType   { return TypeFileServerRemove }

func (b *FileServerRegister) encode(w *writer) {
	encodeFileServer(w, b.Ed25519, b.X25519, b.URL, b.ServerSig)
}

func (b *FileServerRegister) decode(r *reader) {
	decodeFileServer(r, &b.Ed25519, &b.X25519, &b.URL, &b.ServerSig)
}

func (b *FileServerUpdate) encode(w *writer) {
	encodeFileServer(w, b.Ed25519, b.X25519, b.URL, b.ServerSig)
}

func (b *FileServerUpdate) decode(r *reader) {
	decodeFileServer(r, &b.Ed25519, &b.X25519, &b.URL, &b.ServerSig)
}

func (b *FileServerRemove) encode(w *writer) { w.raw(b.Ed25519[:]) }
func (b *FileServerRemove) decode(r *reader) { r.array("ed25519", b.Ed25519[:]) }

func encodeFileServer(w *writer, ed key.FileServerPublic, x key.OnionPublic, url string, sig [64]byte) {
	w.raw(ed[:])
	w.raw(x[:])
	w.str8(url)
	w.raw(sig[:])
}

func decodeFileServer(r *reader, ed *key.FileServerPublic, x *key.OnionPublic, url *string, sig *[64]byte) {
	r.array("ed25519", ed[:])
	r.array("x25519", x[:])
	*url = r.str8("url", MaxFileServerURL)
	r.array("server_sig", sig[:])
}

// FileServerMessage is what a file server's Ed25519 key signs to accept a
// registration or update by operator: FileServerLabel ‖ 0x00 ‖ chain id
// (u8 length + bytes) ‖ transaction type u8 ‖ operator ‖ operator's nonce
// u64 ‖ Ed25519 key ‖ X25519 key ‖ URL (u8 length + bytes). The type and
// nonce tie the signature to one transaction: it cannot register the
// server again after a removal, nor bring back an old URL.
func FileServerMessage(chainID string, t TxType, operator Address, nonce uint64, ed key.FileServerPublic, x key.OnionPublic, url string) []byte {
	return serviceMessage(FileServerLabel, chainID, t, operator, nonce, ed, x, url).b
}

// serviceMessage is the start of what a service's Ed25519 key signs (a
// file server's or a community server's): label ‖ 0x00 ‖ chain id (u8
// length + bytes) ‖ transaction type u8 ‖ operator ‖ operator's nonce u64
// ‖ Ed25519 key ‖ X25519 key ‖ URL (u8 length + bytes).
func serviceMessage(label, chainID string, t TxType, operator Address, nonce uint64, ed key.FileServerPublic, x key.OnionPublic, url string) *writer {
	w := &writer{}
	w.raw([]byte(label))
	w.u8(0)
	w.str8(chainID)
	w.u8(uint8(t))
	w.raw(operator[:])
	w.u64(nonce)
	w.raw(ed[:])
	w.raw(x[:])
	w.str8(url)
	return w
}

// SignFileServer returns the server key's signature for a registration
// (t TypeFileServerRegister) or an update (TypeFileServerUpdate) that
// operator sends with nonce.
func SignFileServer(server Signer, chainID string, t TxType, operator Address, nonce uint64, x key.OnionPublic, url string) [64]byte {
	return server.Sign(FileServerMessage(chainID, t, operator, nonce, key.FileServerPublic(server.PublicKey()), x, url))
}

// FileServer is a file server registration.
type FileServer struct {
	Ed25519  key.FileServerPublic
	X25519   key.OnionPublic
	URL      string
	Operator Address
	// RegisteredHeight is when it was registered; UpdatedHeight when its
	// URL or key last changed (equal to RegisteredHeight until then).
	RegisteredHeight uint64
	UpdatedHeight    uint64
}

// service is a registration of a service an operator runs (a file
// server or a community server), as the shared rules see it.
type service interface {
	endpoint() (ed key.FileServerPublic, x key.OnionPublic, url string)
	operator() Address
}

func (fs *FileServer) endpoint() (key.FileServerPublic, key.OnionPublic, string) {
	return fs.Ed25519, fs.X25519, fs.URL
}
func (fs *FileServer) operator() Address { return fs.Operator }

// fundedNodes counts the funded nodes (active or decommissioned) op
// operates.
func (s *State) fundedNodes(op Address) int {
	n := 0
	for _, nd := range s.nodes {
		if nd.Operator == op && (nd.Status == StatusActive || nd.Status == StatusDecommissioned) {
			n++
		}
	}
	return n
}

// checkRoomForService applies the registration limit of a kind of service
// (what names it in messages): the operator runs a funded node and holds
// fewer registrations of regs than funded nodes.
func checkRoomForService[S service](s *State, what string, regs map[key.FileServerPublic]S, op Address) error {
	funded := s.fundedNodes(op)
	if funded == 0 {
		return reject(CodeNotAllowed, "only the operator of a funded service node may register a %s", what)
	}
	held := 0
	for _, r := range regs {
		if r.operator() == op {
			held++
		}
	}
	if held >= funded {
		return reject(CodeFull, "operator holds %d %ss for %d funded nodes", held, what, funded)
	}
	return nil
}

// checkServiceFields applies the rules shared by registrations and
// updates of a kind of service: a usable URL, a non-zero X25519 key,
// neither used by another registration of regs, and the server's
// signature over msg.
func checkServiceFields[S service](s *State, what string, regs map[key.FileServerPublic]S, ed key.FileServerPublic, x key.OnionPublic, url string, msg []byte, sig [64]byte) error {
	if err := storagerpc.CheckFileServerURL(url, s.params.AllowPrivateIPs); err != nil {
		return reject(CodeInvalid, "%v", err)
	}
	if x == (key.OnionPublic{}) {
		return reject(CodeInvalid, "x25519 key is zero")
	}
	for _, k := range sortedKeys(regs) { // the same message on every node
		if k == ed {
			continue
		}
		_, rx, rurl := regs[k].endpoint()
		if rx == x {
			return reject(CodeDuplicate, "x25519 key is already used by %s %s", what, k)
		}
		if rurl == url {
			return reject(CodeDuplicate, "URL is already used by %s %s", what, k)
		}
	}
	if !verify(ed, msg, sig) {
		return reject(CodeBadSignature, "%s signature does not verify for %s", what, ed)
	}
	return nil
}

// ownService returns the registration of ed in regs if op registered it;
// unknown is the code for no such registration.
func ownService[S service](regs map[key.FileServerPublic]S, what string, unknown Code, op Address, ed key.FileServerPublic) (S, error) {
	r, ok := regs[ed]
	if !ok {
		var zero S
		return zero, reject(unknown, "%s %s is not registered", what, ed)
	}
	if r.operator() != op {
		var zero S
		return zero, reject(CodeNotAllowed, "only the operator that registered %s %s may change it", what, ed)
	}
	return r, nil
}

// listedServices returns the listed registrations of regs, sorted by
// Ed25519 key: of each operator's registrations, the first (by key) as
// many as it operates funded nodes now.
func listedServices[S service](s *State, regs map[key.FileServerPublic]S) []S {
	funded := map[Address]int{}
	for _, n := range s.nodes {
		if n.Status == StatusActive || n.Status == StatusDecommissioned {
			funded[n.Operator]++
		}
	}
	var out []S
	for _, k := range sortedKeys(regs) {
		r := regs[k]
		if funded[r.operator()] > 0 {
			funded[r.operator()]--
			out = append(out, r)
		}
	}
	return out
}

const fileServerWhat = "file server"

func (s *State) fileServerMsg(tx *Tx, ed key.FileServerPublic, x key.OnionPublic, url string) []byte {
	return FileServerMessage(s.chainID, tx.Body.Type(), tx.Signer, tx.Nonce, ed, x, url)
}

func (s *State) fileServerRegister(tx *Tx, b *FileServerRegister) error {
	op := tx.Signer
	if s.fileServers[b.Ed25519] != nil {
		return reject(CodeDuplicate, "file server %s is already registered", b.Ed25519)
	}
	if err := checkRoomForService(s, fileServerWhat, s.fileServers, op); err != nil {
		return err
	}
	if err := checkServiceFields(s, fileServerWhat, s.fileServers, b.Ed25519, b.X25519, b.URL, s.fileServerMsg(tx, b.Ed25519, b.X25519, b.URL), b.ServerSig); err != nil {
		return err
	}
	s.fileServers[b.Ed25519] = &FileServer{
		Ed25519:          b.Ed25519,
		X25519:           b.X25519,
		URL:              b.URL,
		Operator:         op,
		RegisteredHeight: s.height,
		UpdatedHeight:    s.height,
	}
	return nil
}

func (s *State) fileServerUpdate(tx *Tx, b *FileServerUpdate) error {
	fs, err := ownService(s.fileServers, fileServerWhat, CodeUnknownFileServer, tx.Signer, b.Ed25519)
	if err != nil {
		return err
	}
	if err := checkServiceFields(s, fileServerWhat, s.fileServers, b.Ed25519, b.X25519, b.URL, s.fileServerMsg(tx, b.Ed25519, b.X25519, b.URL), b.ServerSig); err != nil {
		return err
	}
	fs.X25519, fs.URL, fs.UpdatedHeight = b.X25519, b.URL, s.height
	return nil
}

func (s *State) fileServerRemove(tx *Tx, b *FileServerRemove) error {
	if _, err := ownService(s.fileServers, fileServerWhat, CodeUnknownFileServer, tx.Signer, b.Ed25519); err != nil {
		return err
	}
	delete(s.fileServers, b.Ed25519)
	return nil
}

// FileServer returns a copy of a file server registration, listed or not.
func (s *State) FileServer(ed key.FileServerPublic) (FileServer, bool) {
	fs := s.fileServers[ed]
	if fs == nil {
		return FileServer{}, false
	}
	return *fs, true
}

// FileServers returns the listed file servers, sorted by Ed25519 key: of
// each operator's registrations, the first (by key) as many as it
// operates funded nodes now.
func (s *State) FileServers() []FileServer {
	var out []FileServer
	for _, fs := range listedServices(s, s.fileServers) {
		out = append(out, *fs)
	}
	return out
}

// encodeFileServers appends the file server section of the state
// encoding: nothing when there is none (so that the encoding, and the
// hash, of a state without file servers is that of the ledger before
// they existed), else fileServerSection, a u32 count and each
// registration in key order.
func (s *State) encodeFileServers(w *writer) {
	if len(s.fileServers) == 0 {
		return
	}
	w.u8(fileServerSection)
	w.u32(uint32(len(s.fileServers)))
	for _, k := range sortedKeys(s.fileServers) {
		fs := s.fileServers[k]
		w.raw(fs.Ed25519[:])
		w.raw(fs.X25519[:])
		w.str8(fs.URL)
		w.raw(fs.Operator[:])
		w.u64(fs.RegisteredHeight)
		w.u64(fs.UpdatedHeight)
	}
}

// fileServerSection marks the optional file server section of a state
// encoding.
const fileServerSection = 1

// decodeSections reads the optional sections at the end of a state
// encoding: none, or each present one once, by ascending marker
// (fileServerSection, then communitySection).
func (s *State) decodeSections(r *reader) {
	last := uint8(0)
	for r.err == nil && len(r.b) > 0 {
		m := r.u8("section")
		if r.err != nil {
			return
		}
		if m <= last {
			r.fail("sections", fmt.Sprintf("section %d after section %d", m, last))
			return
		}
		last = m
		switch m {
		case fileServerSection:
			s.decodeFileServers(r)
		case communitySection:
			s.decodeCommunities(r)
		default:
			r.fail("sections", fmt.Sprintf("unknown section %d", m))
			return
		}
	}
}

// decodeFileServers reads the file server section after its marker: at
// least one registration in strictly ascending key order.
func (s *State) decodeFileServers(r *reader) {
	n := r.count("file_servers", 1<<24, 32+32+1+32+16)
	if r.err == nil && n == 0 {
		r.fail("file_servers", "an empty section is not canonical")
		return
	}
	var prev *key.FileServerPublic
	for range n {
		fs := new(FileServer)
		r.array("file_server.ed25519", fs.Ed25519[:])
		r.array("file_server.x25519", fs.X25519[:])
		fs.URL = r.str8("file_server.url", MaxFileServerURL)
		r.array("file_server.operator", fs.Operator[:])
		fs.RegisteredHeight = r.u64("file_server.registered")
		fs.UpdatedHeight = r.u64("file_server.updated")
		if r.err != nil {
			return
		}
		if prev != nil && compareKeys(*prev, fs.Ed25519) >= 0 {
			r.fail("file_servers", "keys not in strictly ascending order")
			return
		}
		prev = &fs.Ed25519
		s.fileServers[fs.Ed25519] = fs
	}
}

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
	Ed25519   key.NodePublic
	X25519    key.OnionPublic
	URL       string
	ServerSig [64]byte
}

// FileServerUpdate changes the URL and X25519 key of a file server the
// signer registered, signed again by the server's Ed25519 key.
type FileServerUpdate struct {
	Ed25519   key.NodePublic
	X25519    key.OnionPublic
	URL       string
	ServerSig [64]byte
}

// FileServerRemove removes a file server the signer registered.
type FileServerRemove struct {
	Ed25519 key.NodePublic
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

func encodeFileServer(w *writer, ed key.NodePublic, x key.OnionPublic, url string, sig [64]byte) {
	w.raw(ed[:])
	w.raw(x[:])
	w.str8(url)
	w.raw(sig[:])
}

func decodeFileServer(r *reader, ed *key.NodePublic, x *key.OnionPublic, url *string, sig *[64]byte) {
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
func FileServerMessage(chainID string, t TxType, operator Address, nonce uint64, ed key.NodePublic, x key.OnionPublic, url string) []byte {
	w := &writer{}
	w.raw([]byte(FileServerLabel))
	w.u8(0)
	w.str8(chainID)
	w.u8(uint8(t))
	w.raw(operator[:])
	w.u64(nonce)
	w.raw(ed[:])
	w.raw(x[:])
	w.str8(url)
	return w.b
}

// SignFileServer returns the server key's signature for a registration
// (t TypeFileServerRegister) or an update (TypeFileServerUpdate) that
// operator sends with nonce.
func SignFileServer(server Signer, chainID string, t TxType, operator Address, nonce uint64, x key.OnionPublic, url string) [64]byte {
	return server.Sign(FileServerMessage(chainID, t, operator, nonce, key.NodePublic(server.PublicKey()), x, url))
}

// FileServer is a file server registration.
type FileServer struct {
	Ed25519  key.NodePublic
	X25519   key.OnionPublic
	URL      string
	Operator Address
	// RegisteredHeight is when it was registered; UpdatedHeight when its
	// URL or key last changed (equal to RegisteredHeight until then).
	RegisteredHeight uint64
	UpdatedHeight    uint64
}

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

// checkFileServerFields applies the rules shared by registration and
// update: a usable URL, a non-zero X25519 key, neither used by another
// registration, and the server's signature.
func (s *State) checkFileServerFields(tx *Tx, ed key.NodePublic, x key.OnionPublic, url string, sig [64]byte) error {
	if err := storagerpc.CheckFileServerURL(url, s.params.AllowPrivateIPs); err != nil {
		return reject(CodeInvalid, "%v", err)
	}
	if x == (key.OnionPublic{}) {
		return reject(CodeInvalid, "x25519 key is zero")
	}
	for _, k := range sortedKeys(s.fileServers) { // the same message on every node
		fs := s.fileServers[k]
		if k == ed {
			continue
		}
		if fs.X25519 == x {
			return reject(CodeDuplicate, "x25519 key is already used by file server %s", k)
		}
		if fs.URL == url {
			return reject(CodeDuplicate, "URL is already used by file server %s", k)
		}
	}
	if !verify(ed, FileServerMessage(s.chainID, tx.Body.Type(), tx.Signer, tx.Nonce, ed, x, url), sig) {
		return reject(CodeBadSignature, "file server signature does not verify for %s", ed)
	}
	return nil
}

func (s *State) fileServerRegister(tx *Tx, b *FileServerRegister) error {
	op := tx.Signer
	if s.fileServers[b.Ed25519] != nil {
		return reject(CodeDuplicate, "file server %s is already registered", b.Ed25519)
	}
	funded := s.fundedNodes(op)
	if funded == 0 {
		return reject(CodeNotAllowed, "only the operator of a funded service node may register a file server")
	}
	held := 0
	for _, fs := range s.fileServers {
		if fs.Operator == op {
			held++
		}
	}
	if held >= funded {
		return reject(CodeFull, "operator holds %d file servers for %d funded nodes", held, funded)
	}
	if err := s.checkFileServerFields(tx, b.Ed25519, b.X25519, b.URL, b.ServerSig); err != nil {
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

// ownFileServer returns the registration of ed if op registered it.
func (s *State) ownFileServer(op Address, ed key.NodePublic) (*FileServer, error) {
	fs := s.fileServers[ed]
	if fs == nil {
		return nil, reject(CodeUnknownFileServer, "file server %s is not registered", ed)
	}
	if fs.Operator != op {
		return nil, reject(CodeNotAllowed, "only the operator that registered file server %s may change it", ed)
	}
	return fs, nil
}

func (s *State) fileServerUpdate(tx *Tx, b *FileServerUpdate) error {
	fs, err := s.ownFileServer(tx.Signer, b.Ed25519)
	if err != nil {
		return err
	}
	if err := s.checkFileServerFields(tx, b.Ed25519, b.X25519, b.URL, b.ServerSig); err != nil {
		return err
	}
	fs.X25519, fs.URL, fs.UpdatedHeight = b.X25519, b.URL, s.height
	return nil
}

func (s *State) fileServerRemove(tx *Tx, b *FileServerRemove) error {
	if _, err := s.ownFileServer(tx.Signer, b.Ed25519); err != nil {
		return err
	}
	delete(s.fileServers, b.Ed25519)
	return nil
}

// FileServer returns a copy of a file server registration, listed or not.
func (s *State) FileServer(ed key.NodePublic) (FileServer, bool) {
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
	funded := map[Address]int{}
	for _, n := range s.nodes {
		if n.Status == StatusActive || n.Status == StatusDecommissioned {
			funded[n.Operator]++
		}
	}
	var out []FileServer
	for _, k := range sortedKeys(s.fileServers) {
		fs := s.fileServers[k]
		if funded[fs.Operator] > 0 {
			funded[fs.Operator]--
			out = append(out, *fs)
		}
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

// decodeFileServers reads the optional section: absent, or the marker and
// at least one registration in strictly ascending key order.
func (s *State) decodeFileServers(r *reader) {
	if r.err != nil || len(r.b) == 0 {
		return
	}
	if m := r.u8("file_servers"); m != fileServerSection {
		r.fail("file_servers", fmt.Sprintf("unknown section %d", m))
		return
	}
	n := r.count("file_servers", 1<<24, 32+32+1+32+16)
	if r.err == nil && n == 0 {
		r.fail("file_servers", "an empty section is not canonical")
		return
	}
	var prev *key.NodePublic
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

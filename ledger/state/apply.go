package state

import (
	"bytes"
	"errors"
	"math/bits"

	"sotto.dev/key"
	"sotto.dev/swarm"
)

// MaxPendingNonces is how far ahead of its account's nonce a transaction
// may be to enter the mempool.
const MaxPendingNonces = 16

// Check is the mempool's admission test (CheckTx). The transaction
// decodes, is for this chain, is correctly signed, its last valid height
// is not past and at most MaxTxLifetime ahead, and its nonce is unused and
// at most MaxPendingNonces ahead. A user transaction's signer must hold its
// fee; a node duty (uptime proof, vote) pays none, so it must instead pass
// its own rules against the committed state now (a registered node, one
// proof per half interval, a vote by a member of an open quorum that has
// not voted) and carry exactly the signer's next nonce. Keys that can pay
// nothing cannot fill blocks. The full rules run in Deliver. Check does not
// change the state.
func (s *State) Check(raw []byte) (*Tx, error) { return s.check(raw, true) }

// Recheck is Check for a transaction that passed Check before (CometBFT's
// recheck of the mempool after every block): its signature, which no block
// can change, is not verified again.
func (s *State) Recheck(raw []byte) (*Tx, error) { return s.check(raw, false) }

func (s *State) check(raw []byte, verifySig bool) (*Tx, error) {
	tx, err := s.decode(raw, verifySig)
	if err != nil {
		return nil, err
	}
	if err := s.checkLifetime(tx, s.height+1); err != nil {
		return nil, err
	}
	acc := s.Account(tx.Signer)
	switch {
	case tx.Nonce < acc.Nonce:
		return nil, reject(CodeBadNonce, "nonce %d already used (next is %d)", tx.Nonce, acc.Nonce)
	case tx.Nonce-acc.Nonce > MaxPendingNonces:
		return nil, reject(CodeBadNonce, "nonce %d is more than %d ahead of %d", tx.Nonce, MaxPendingNonces, acc.Nonce)
	}
	t := tx.Body.Type()
	if !t.Duty() {
		if fee := s.params.TxFee(t, len(raw)); acc.Balance < fee {
			return nil, reject(CodeInsufficientFunds, "balance %d cannot pay the fee %d", acc.Balance, fee)
		}
		return tx, nil
	}
	if tx.Nonce != acc.Nonce {
		return nil, reject(CodeBadNonce, "a node duty must carry the next nonce %d, not %d", acc.Nonce, tx.Nonce)
	}
	switch b := tx.Body.(type) {
	case *UptimeProof:
		_, err = s.checkUptimeProof(key.NodePublic(tx.Signer), b)
	case *Vote:
		_, _, err = s.checkVote(key.NodePublic(tx.Signer), b)
	}
	if err != nil {
		return nil, err
	}
	return tx, nil
}

// checkLifetime refuses a transaction whose last valid height is before
// height (the block it would enter) or more than MaxTxLifetime after it.
func (s *State) checkLifetime(tx *Tx, height uint64) error {
	switch {
	case tx.LastValid < height:
		return reject(CodeExpired, "last valid height %d has passed (block %d)", tx.LastValid, height)
	case tx.LastValid-height > s.params.MaxTxLifetime:
		return reject(CodeInvalid, "last valid height %d is more than %d blocks after %d", tx.LastValid, s.params.MaxTxLifetime, height)
	}
	return nil
}

func (s *State) authenticate(raw []byte) (*Tx, error) { return s.decode(raw, true) }

func (s *State) decode(raw []byte, verifySig bool) (*Tx, error) {
	tx, err := DecodeTx(raw)
	if err != nil {
		return nil, reject(CodeMalformed, "%v", err)
	}
	if tx.ChainID != s.chainID {
		return nil, reject(CodeWrongChain, "transaction is for chain %q, this is %q", tx.ChainID, s.chainID)
	}
	if verifySig && !tx.VerifySignature() {
		return nil, reject(CodeBadSignature, "transaction signature does not verify")
	}
	return tx, nil
}

// ErrNoBlock is returned by Deliver and End outside Begin … End.
var ErrNoBlock = errors.New("ledger state: no block in progress")

// Deliver applies one transaction of the block in progress.
//
// A transaction that fails the envelope rules (decoding, chain, signature,
// lifetime, nonce) or cannot pay its fee is rejected and leaves the state
// unchanged: it cannot be charged, and its bytes expire at its last valid
// height. Any other transaction uses its nonce and pays its fee into the
// reward pool first; if its body is then rejected (a *TxError), only the
// body's effects are absent, so the same signed bytes can never run again
// (as in Ethereum and Cosmos).
func (s *State) Deliver(raw []byte) (*Tx, error) {
	if !s.inBlock {
		return nil, ErrNoBlock
	}
	tx, err := s.authenticate(raw)
	if err != nil {
		return nil, err
	}
	if err := s.checkLifetime(tx, s.height); err != nil {
		return tx, err
	}
	if acc := s.Account(tx.Signer); tx.Nonce != acc.Nonce {
		return tx, reject(CodeBadNonce, "nonce %d, expected %d", tx.Nonce, acc.Nonce)
	}
	fee := s.params.TxFee(tx.Body.Type(), len(raw))
	if err := s.needFunds(tx.Signer, fee); err != nil {
		return tx, reject(CodeInsufficientFunds, "cannot pay the fee: %s", err.(*TxError).Msg)
	}
	acc := s.account(tx.Signer)
	acc.Balance -= fee
	s.pool += fee
	acc.Nonce++
	// Every apply function checks all of its rules before it changes
	// anything, so a rejected body leaves only the fee and nonce behind.
	switch b := tx.Body.(type) {
	case *Transfer:
		err = s.transfer(tx.Signer, b)
	case *Register:
		err = s.register(tx.Signer, b)
	case *Contribute:
		err = s.contribute(tx.Signer, b)
	case *Unlock:
		err = s.unlock(tx.Signer, b)
	case *UptimeProof:
		err = s.uptimeProof(key.NodePublic(tx.Signer), b)
	case *Vote:
		err = s.vote(key.NodePublic(tx.Signer), b)
	case *NameRegister:
		err = s.nameRegister(tx.Signer, b)
	case *NameRenew:
		err = s.nameRenew(tx.Signer, b)
	case *NameUpdate:
		err = s.nameUpdate(tx.Signer, b)
	case *PoolDeposit:
		err = s.poolDeposit(tx.Signer, b)
	case *FileServerRegister:
		err = s.fileServerRegister(tx, b)
	case *FileServerUpdate:
		err = s.fileServerUpdate(tx, b)
	case *FileServerRemove:
		err = s.fileServerRemove(tx, b)
	case *CommunityRegister:
		err = s.communityRegister(tx, b)
	case *CommunityUpdate:
		err = s.communityUpdate(tx, b)
	case *CommunityRemove:
		err = s.communityRemove(tx, b)
	default:
		err = reject(CodeMalformed, "unsupported body %T", b)
	}
	return tx, err
}

// account returns a, creating it.
func (s *State) account(a Address) *Account {
	acc := s.accounts[a]
	if acc == nil {
		acc = new(Account)
		s.accounts[a] = acc
	}
	return acc
}

func (s *State) needFunds(a Address, amount uint64) error {
	if bal := s.Account(a).Balance; bal < amount {
		return reject(CodeInsufficientFunds, "balance %d, need %d", bal, amount)
	}
	return nil
}

// credit adds amount to a's balance.
func (s *State) credit(a Address, amount uint64) {
	if amount > 0 {
		s.account(a).Balance += amount
	}
}

func (s *State) transfer(from Address, b *Transfer) error {
	if b.Amount == 0 {
		return reject(CodeInvalid, "amount is zero")
	}
	if err := s.needFunds(from, b.Amount); err != nil {
		return err
	}
	s.account(from).Balance -= b.Amount
	s.credit(b.To, b.Amount)
	return nil
}

func (s *State) poolDeposit(from Address, b *PoolDeposit) error {
	if b.Amount == 0 {
		return reject(CodeInvalid, "amount is zero")
	}
	if err := s.needFunds(from, b.Amount); err != nil {
		return err
	}
	s.account(from).Balance -= b.Amount
	s.pool += b.Amount
	return nil
}

// endpointUser returns the live node other than self announcing ip:port (a
// deregistered node's address is free for a new registration).
func (s *State) endpointUser(ip IPv4, port uint16, self key.NodePublic) (key.NodePublic, bool) {
	for k, n := range s.nodes {
		if k != self && n.IP == ip && n.Port == port && n.Status != StatusDeregistered {
			return k, true
		}
	}
	return key.NodePublic{}, false
}

func (s *State) checkEndpoint(ip IPv4, port uint16, self key.NodePublic) error {
	if !usableIP(ip, s.params.AllowPrivateIPs) {
		return reject(CodeInvalid, "address %s cannot be announced", ip)
	}
	if port == 0 {
		return reject(CodeInvalid, "storage port is zero")
	}
	if other, ok := s.endpointUser(ip, port, self); ok {
		return reject(CodeDuplicate, "%s:%d is already announced by node %s", ip, port, other)
	}
	return nil
}

// operatorMinimum is the least the operator must stake (a quarter of the
// requirement with Session's divisor, rounded up).
func (s *State) operatorMinimum() uint64 {
	req, d := s.params.StakingRequirement, s.params.OperatorMinDivisor
	return req/d + min(req%d, 1)
}

func (s *State) register(op Address, b *Register) error {
	p := &s.params
	req := p.StakingRequirement
	switch {
	case b.FeeBps > FeeBasis:
		return reject(CodeInvalid, "fee %d over %d basis points", b.FeeBps, FeeBasis)
	case s.nodes[b.Node] != nil:
		return reject(CodeDuplicate, "node key %s is already registered", b.Node)
	case b.X25519 == key.OnionPublic{}:
		return reject(CodeInvalid, "x25519 key is zero")
	case len(b.Reserved)+1 > p.MaxContributors:
		return reject(CodeInvalid, "%d reserved spots, at most %d", len(b.Reserved), p.MaxContributors-1)
	}
	for k, n := range s.nodes {
		if n.X25519 == b.X25519 {
			return reject(CodeDuplicate, "x25519 key is already used by node %s", k)
		}
	}
	if err := s.checkEndpoint(b.IP, b.Port, b.Node); err != nil {
		return err
	}
	if !verify(b.Node, RegisterMessage(s.chainID, op, b.Node, b.X25519), b.NodeSig) {
		return reject(CodeBadSignature, "node signature does not verify for node %s", b.Node)
	}
	if min := s.operatorMinimum(); b.Stake < min {
		return reject(CodeStakeTooSmall, "operator stake %d under the minimum %d", b.Stake, min)
	}
	total := b.Stake
	seen := map[Address]bool{op: true}
	for _, rs := range b.Reserved {
		if seen[rs.Addr] {
			return reject(CodeDuplicate, "account %s holds two spots", rs.Addr)
		}
		seen[rs.Addr] = true
		if rs.Amount == 0 {
			return reject(CodeInvalid, "reserved amount for %s is zero", rs.Addr)
		}
		var carry uint64
		total, carry = bits.Add64(total, rs.Amount, 0)
		if carry != 0 {
			return reject(CodeStakeTooLarge, "reserved amounts overflow")
		}
	}
	if total > req {
		return reject(CodeStakeTooLarge, "operator stake and reservations %d exceed the requirement %d", total, req)
	}
	if err := s.needFunds(op, b.Stake); err != nil {
		return err
	}

	s.account(op).Balance -= b.Stake
	n := &Node{
		Key:              b.Node,
		X25519:           b.X25519,
		IP:               b.IP,
		Port:             b.Port,
		Operator:         op,
		FeeBps:           b.FeeBps,
		Contributors:     []Contributor{{Addr: op, Amount: b.Stake, Height: s.height}},
		Status:           StatusAwaiting,
		RegisteredHeight: s.height,
		SwarmID:          swarm.UnassignedID,
	}
	for _, rs := range b.Reserved {
		n.Contributors = append(n.Contributors, Contributor{Addr: rs.Addr, Reserved: rs.Amount})
	}
	s.nodes[b.Node] = n
	if b.Stake == req {
		s.activate(n)
	}
	return nil
}

func (s *State) contribute(from Address, b *Contribute) error {
	n := s.nodes[b.Node]
	if n == nil {
		return reject(CodeUnknownNode, "node %s is not registered", b.Node)
	}
	if n.Status != StatusAwaiting {
		return reject(CodeWrongState, "node %s is %s, not awaiting contributions", b.Node, n.Status)
	}
	if b.Amount == 0 {
		return reject(CodeInvalid, "amount is zero")
	}
	req := s.params.StakingRequirement
	var staked, unpaid uint64
	for _, c := range n.Contributors {
		staked += c.Amount
		unpaid += c.Reserved
	}
	open := req - staked - unpaid // room not held for anyone
	i := n.contributor(from)
	switch {
	case i >= 0 && n.Contributors[i].Reserved > 0:
		// A reserved contributor pays at least its reservation and may
		// also take open room.
		own := n.Contributors[i].Reserved
		if b.Amount < own {
			return reject(CodeStakeTooSmall, "reserved spot needs %d, got %d", own, b.Amount)
		}
		if b.Amount > own+open {
			return reject(CodeStakeTooLarge, "%d over the room %d", b.Amount, own+open)
		}
	case i >= 0:
		// A top-up takes no new spot, so no minimum applies.
		if b.Amount > open {
			return reject(CodeStakeTooLarge, "%d over the open room %d", b.Amount, open)
		}
	default:
		slots := s.params.MaxContributors - len(n.Contributors)
		if slots <= 0 || open == 0 {
			return reject(CodeFull, "node %s has no open contributor spot", b.Node)
		}
		// Session's minimum for a new contributor (§1.2, HF11+): the open
		// room divided by the spots left, rounded up.
		minimum := open/uint64(slots) + min(open%uint64(slots), 1)
		if b.Amount < minimum {
			return reject(CodeStakeTooSmall, "contribution %d under the minimum %d", b.Amount, minimum)
		}
		if b.Amount > open {
			return reject(CodeStakeTooLarge, "%d over the open room %d", b.Amount, open)
		}
	}
	if err := s.needFunds(from, b.Amount); err != nil {
		return err
	}

	s.account(from).Balance -= b.Amount
	if i < 0 {
		n.Contributors = append(n.Contributors, Contributor{Addr: from})
		i = len(n.Contributors) - 1
	}
	c := &n.Contributors[i]
	c.Amount += b.Amount
	c.Reserved = 0
	c.Height = s.height
	if staked+b.Amount == req {
		s.activate(n)
	}
	return nil
}

func (s *State) unlock(from Address, b *Unlock) error {
	n := s.nodes[b.Node]
	if n == nil {
		return reject(CodeUnknownNode, "node %s is not registered", b.Node)
	}
	i := n.contributor(from)
	if i < 0 || n.Contributors[i].Amount == 0 {
		return reject(CodeNotAllowed, "%s has no stake in node %s", from, b.Node)
	}
	switch n.Status {
	case StatusAwaiting:
		if i != 0 {
			return reject(CodeNotAllowed, "only the operator can cancel a registration awaiting contributions")
		}
		s.refund(n, 0)
		delete(s.nodes, n.Key)
		s.changes = append(s.changes, Change{Node: n.Key, Kind: ChangeExpired})
		return nil
	case StatusDeregistered:
		return reject(CodeWrongState, "node %s is deregistered; its stake returns at height %d", b.Node, n.ReturnHeight)
	}
	if n.UnlockHeight != 0 {
		return reject(CodeDuplicate, "unlock already requested, at height %d", n.UnlockHeight)
	}
	c := n.Contributors[i]
	small := c.Amount < s.operatorMinimum()
	if small && s.height < c.Height+s.params.SmallContributorUnlockDelay {
		return reject(CodeTooSoon, "a contributor under a quarter of the stake may unlock from height %d", c.Height+s.params.SmallContributorUnlockDelay)
	}
	n.UnlockHeight = s.height + s.params.UnlockDelay
	return nil
}

func versionLess(a, b [3]uint16) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// checkUptimeProof applies the rules of an uptime proof without changing
// anything and returns the node.
func (s *State) checkUptimeProof(k key.NodePublic, b *UptimeProof) (*Node, error) {
	n := s.nodes[k]
	if n == nil {
		return nil, reject(CodeUnknownNode, "%s is not a registered node", k)
	}
	if n.Status != StatusActive && n.Status != StatusDecommissioned {
		return nil, reject(CodeWrongState, "node %s is %s", k, n.Status)
	}
	if versionLess(b.Version, s.params.MinVersion) {
		v := s.params.MinVersion
		return nil, reject(CodeInvalid, "version %d.%d.%d under the minimum %d.%d.%d", b.Version[0], b.Version[1], b.Version[2], v[0], v[1], v[2])
	}
	if err := s.checkEndpoint(b.IP, b.Port, k); err != nil {
		return nil, err
	}
	// In CheckTx s.height is the last committed block; the proof enters
	// the next one at the earliest.
	h := s.height
	if !s.inBlock {
		h++
	}
	if half := s.params.ProofInterval / 2; n.LastProof != 0 && h < n.LastProof+half {
		return nil, reject(CodeTooSoon, "last proof at height %d; next accepted from %d", n.LastProof, n.LastProof+half)
	}
	return n, nil
}

func (s *State) uptimeProof(k key.NodePublic, b *UptimeProof) error {
	n, err := s.checkUptimeProof(k, b)
	if err != nil {
		return err
	}
	n.IP, n.Port, n.Version, n.Caps, n.LastProof = b.IP, b.Port, b.Version, b.Caps, s.height
	return nil
}

// quorum returns the open quorum drawn at height h.
func (s *State) quorum(h uint64) *Quorum {
	for _, q := range s.quorums {
		if q.Height == h {
			return q
		}
	}
	return nil
}

// checkVote applies the rules of a vote without changing anything and
// returns the quorum and the voter's place in it.
func (s *State) checkVote(k key.NodePublic, b *Vote) (*Quorum, int, error) {
	q := s.quorum(b.Height)
	if q == nil {
		return nil, 0, reject(CodeUnknownQuorum, "no open quorum at height %d", b.Height)
	}
	vi := -1
	for i, v := range q.Validators {
		if v == k {
			vi = i
			break
		}
	}
	if vi < 0 {
		return nil, 0, reject(CodeNotAllowed, "%s is not a member of the quorum at height %d", k, b.Height)
	}
	if q.Voted[vi] {
		return nil, 0, reject(CodeDuplicate, "%s already voted in the quorum at height %d", k, b.Height)
	}
	if len(b.Results) != len(q.Workers) {
		return nil, 0, reject(CodeInvalid, "%d results for %d tested nodes", len(b.Results), len(q.Workers))
	}
	return q, vi, nil
}

func (s *State) vote(k key.NodePublic, b *Vote) error {
	q, vi, err := s.checkVote(k, b)
	if err != nil {
		return err
	}
	q.Voted[vi] = true
	need := q.Needed(&s.params)
	for i, r := range b.Results {
		switch {
		case r&ResultAbstain != 0:
			continue
		case r&resultKnownFlags != 0:
			q.Fail[i]++
			q.Reasons[i] |= r & resultKnownFlags
		default:
			q.Pass[i]++
		}
		if q.Decided[i] {
			continue
		}
		switch {
		case int(q.Fail[i]) >= need:
			q.Decided[i] = true
			s.failed(q.Workers[i], q.Reasons[i])
		case int(q.Pass[i]) >= need:
			q.Decided[i] = true
			s.passed(q.Workers[i])
		}
	}
	return nil
}

// failed applies a quorum's failing verdict (Session's table, §3.3): an
// active node is decommissioned if it has enough credit, otherwise
// deregistered; a decommissioned node out of credit is deregistered.
func (s *State) failed(k key.NodePublic, reason uint8) {
	n := s.nodes[k]
	if n == nil {
		return
	}
	switch n.Status {
	case StatusActive:
		if s.Credit(n) >= int64(s.params.DecommissionMinimum) {
			s.decommission(n, reason)
		} else {
			s.deregister(n, reason)
		}
	case StatusDecommissioned:
		if s.Credit(n) < 0 {
			s.deregister(n, reason)
		}
	}
}

// passed applies a passing verdict: a decommissioned node with a valid
// uptime proof is recommissioned.
func (s *State) passed(k key.NodePublic) {
	n := s.nodes[k]
	if n != nil && n.Status == StatusDecommissioned && n.LastProof != 0 && s.height <= n.LastProof+s.params.ProofValidity {
		s.recommission(n)
	}
}

func (s *State) nameFee(terms uint8) (uint64, error) {
	if terms == 0 || uint64(terms) > s.params.MaxNameTerms {
		return 0, reject(CodeInvalid, "%d terms, allowed 1..%d", terms, s.params.MaxNameTerms)
	}
	hi, fee := bits.Mul64(s.params.NameFee, uint64(terms))
	if hi != 0 {
		return 0, reject(CodeInvalid, "fee overflows")
	}
	return fee, nil
}

func (s *State) checkValue(v []byte) error {
	if len(v) == 0 || len(v) > s.params.MaxNameValue {
		return reject(CodeInvalid, "value of %d bytes, allowed 1..%d", len(v), s.params.MaxNameValue)
	}
	return nil
}

func (s *State) nameRegister(owner Address, b *NameRegister) error {
	fee, err := s.nameFee(b.Terms)
	if err != nil {
		return err
	}
	if err := s.checkValue(b.Value); err != nil {
		return err
	}
	if cur, ok := s.Name(b.Name); ok {
		return reject(CodeDuplicate, "name is registered until height %d", cur.Expiry)
	}
	if err := s.needFunds(owner, fee); err != nil {
		return err
	}
	s.account(owner).Balance -= fee
	s.pool += fee
	s.names[b.Name] = &Name{
		Owner:      owner,
		Value:      bytes.Clone(b.Value),
		ValueNonce: b.ValueNonce,
		Expiry:     s.height + uint64(b.Terms)*s.params.NameTerm,
	}
	return nil
}

func (s *State) nameRenew(payer Address, b *NameRenew) error {
	fee, err := s.nameFee(b.Terms)
	if err != nil {
		return err
	}
	cur, ok := s.Name(b.Name)
	if !ok {
		return reject(CodeUnknownName, "name is not registered")
	}
	expiry := cur.Expiry + uint64(b.Terms)*s.params.NameTerm
	if limit := s.height + s.params.MaxNameTerms*s.params.NameTerm; expiry > limit {
		return reject(CodeInvalid, "renewal to height %d is beyond the limit %d", expiry, limit)
	}
	if err := s.needFunds(payer, fee); err != nil {
		return err
	}
	s.account(payer).Balance -= fee
	s.pool += fee
	s.names[b.Name].Expiry = expiry
	return nil
}

func (s *State) nameUpdate(owner Address, b *NameUpdate) error {
	cur, ok := s.Name(b.Name)
	if !ok {
		return reject(CodeUnknownName, "name is not registered")
	}
	if cur.Owner != owner {
		return reject(CodeNotAllowed, "only the owner may update the name")
	}
	if err := s.checkValue(b.Value); err != nil {
		return err
	}
	n := s.names[b.Name]
	n.Value = bytes.Clone(b.Value)
	n.ValueNonce = b.ValueNonce
	return nil
}

package snode

import (
	"encoding/binary"
	"errors"
	"fmt"

	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// The body of /sotto/v1/forward/stores (docs/snode.md, "Forwarding"): a
// batch of client stores an entry node forwards to one swarm peer, and the
// peer's per-store answers. Big-endian integers; every length is checked
// and nothing may follow the last item.
//
// Request:
//
//	u8  version (1)
//	u16 count (1..fwdMaxItems)
//	count × item:
//	  i64 op            operation time the entry node assigned (Unix ms)
//	  33  account       prefix byte and key
//	  i16 namespace
//	  i64 timestamp
//	  i64 expiry
//	  u8  auth flags    bit 0 signature, 1 pubkey_ed25519, 2 subaccount
//	  [64 signature, i64 sig_timestamp]       with bit 0
//	  [32 pubkey_ed25519]                      with bit 1
//	  [36 subaccount token, 64 its signature] with bit 2
//	  u32 data length (≤ storagerpc.MaxMessageSize), data
//
// Answer (status 200; any other status fails the whole batch):
//
//	u8  version (1)
//	u16 count (the request's)
//	count × answer:
//	  u8 kind: 0 stored, 1 failed
//	  stored: i64 expiry, u8 already (0 or 1), 64 node signature of the hash
//	  failed: u8 flags (bit 0 timeout, 1 bad_peer_response, 2 query_failure),
//	          u16 status code, u16 reason length (≤ maxPeerRespErr), reason
const (
	fwdVersion  = 1
	fwdMaxItems = 256

	fwdFlagSig    = 1 << 0
	fwdFlagPkEd   = 1 << 1
	fwdFlagSub    = 1 << 2
	fwdKnownFlags = fwdFlagSig | fwdFlagPkEd | fwdFlagSub

	fwdItemFixed = 8 + storagerpc.AccountSize + 2 + 8 + 8 + 1 + 4

	fwdKindStored = 0
	fwdKindFailed = 1

	fwdFailTimeout = 1 << 0
	fwdFailBadPeer = 1 << 1
	fwdFailQuery   = 1 << 2
	fwdFailKnown   = fwdFailTimeout | fwdFailBadPeer | fwdFailQuery
)

// fwdStore is one forwarded store: the client's params and the operation
// time the entry node assigned.
type fwdStore struct {
	Op     int64
	Params *storagerpc.StoreParams
}

// fwdAnswer is a peer's answer to one forwarded store: OK, or Failure.
type fwdAnswer struct {
	OK      *fwdStored
	Failure *storagerpc.NodeFailure
}

// fwdStored is the part of a peer's store result that the entry node does
// not know already (it knows the hash).
type fwdStored struct {
	Expiry    int64
	Already   bool
	Signature storagerpc.Signature
}

// errFwdBody is the error of every malformed batch body.
var errFwdBody = errors.New("snode: malformed forward batch")

func fwdBodyError(what string) error { return fmt.Errorf("%w: %s", errFwdBody, what) }

// appendFwdStores encodes a batch request.
func appendFwdStores(b []byte, items []fwdStore) []byte {
	b = append(b, fwdVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(items)))
	for _, it := range items {
		p := it.Params
		b = binary.BigEndian.AppendUint64(b, uint64(it.Op))
		b = append(b, p.Account.Bytes()...)
		b = binary.BigEndian.AppendUint16(b, uint16(p.Namespace))
		b = binary.BigEndian.AppendUint64(b, uint64(p.Timestamp))
		b = binary.BigEndian.AppendUint64(b, uint64(p.Expiry))
		var flags byte
		if p.Auth.Signature != nil {
			flags |= fwdFlagSig
		}
		if p.Auth.PubkeyEd25519 != nil {
			flags |= fwdFlagPkEd
		}
		if p.Auth.Subaccount != nil {
			flags |= fwdFlagSub
		}
		b = append(b, flags)
		if p.Auth.Signature != nil {
			b = append(b, p.Auth.Signature[:]...)
			b = binary.BigEndian.AppendUint64(b, uint64(p.SigTimestamp))
		}
		if p.Auth.PubkeyEd25519 != nil {
			b = append(b, p.Auth.PubkeyEd25519[:]...)
		}
		if s := p.Auth.Subaccount; s != nil {
			b = append(b, s.Token[:]...)
			b = append(b, s.Sig[:]...)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(p.Data)))
		b = append(b, p.Data...)
	}
	return b
}

// fwdReader reads a body front to back; the first short read sets err.
type fwdReader struct {
	b   []byte
	err error
}

func (r *fwdReader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = fwdBodyError("short " + what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *fwdReader) u8(what string) byte {
	if v := r.take(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (r *fwdReader) u16(what string) uint16 {
	if v := r.take(2, what); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *fwdReader) u32(what string) uint32 {
	if v := r.take(4, what); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *fwdReader) i64(what string) int64 {
	if v := r.take(8, what); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// header reads the version and the count and checks that the rest can
// hold count items of at least min bytes each.
func (r *fwdReader) header(max, min int) int {
	if v := r.u8("version"); r.err == nil && v != fwdVersion {
		r.err = fwdBodyError(fmt.Sprintf("version %d", v))
	}
	n := int(r.u16("count"))
	switch {
	case r.err != nil:
	case n == 0 || n > max:
		r.err = fwdBodyError(fmt.Sprintf("%d items", n))
	case len(r.b) < n*min:
		r.err = fwdBodyError("short items")
	}
	return n
}

// parseFwdStores decodes a batch request exactly; nothing it returns
// shares memory with b.
func parseFwdStores(b []byte) ([]fwdStore, error) {
	r := &fwdReader{b: b}
	n := r.header(fwdMaxItems, fwdItemFixed)
	if r.err != nil {
		return nil, r.err
	}
	items := make([]fwdStore, n)
	for i := range items {
		op := r.i64("op")
		acct := r.take(storagerpc.AccountSize, "account")
		p := &storagerpc.StoreParams{Namespace: storagerpc.Namespace(int16(r.u16("namespace")))}
		p.Timestamp = r.i64("timestamp")
		p.Expiry = r.i64("expiry")
		flags := r.u8("flags")
		if r.err != nil {
			return nil, r.err
		}
		if flags&^fwdKnownFlags != 0 || flags&fwdFlagSub != 0 && flags&fwdFlagSig == 0 || flags&fwdFlagPkEd != 0 && flags&fwdFlagSig == 0 {
			return nil, fwdBodyError(fmt.Sprintf("auth flags %#x", flags))
		}
		p.Account = storagerpc.NewAccount(key.Prefix(acct[0]), [32]byte(acct[1:]))
		if flags&fwdFlagSig != 0 {
			if v := r.take(storagerpc.SignatureSize, "signature"); v != nil {
				sig := storagerpc.Signature(v)
				p.Auth.Signature = &sig
			}
			p.SigTimestamp = r.i64("sig_timestamp")
		}
		if flags&fwdFlagPkEd != 0 {
			if v := r.take(key.Size, "pubkey_ed25519"); v != nil {
				pk := key.AccountPublic(v)
				p.Auth.PubkeyEd25519 = &pk
			}
		}
		if flags&fwdFlagSub != 0 {
			tok := r.take(storagerpc.SubaccountTokenSize, "subaccount")
			sig := r.take(storagerpc.SignatureSize, "subaccount_sig")
			if r.err == nil {
				p.Auth.Subaccount = &storagerpc.SignedSubaccount{Token: storagerpc.SubaccountToken(tok), Sig: storagerpc.Signature(sig)}
			}
		}
		dl := r.u32("data length")
		if r.err == nil && dl > storagerpc.MaxMessageSize {
			return nil, fwdBodyError(fmt.Sprintf("data of %d bytes", dl))
		}
		data := r.take(int(dl), "data")
		if r.err != nil {
			return nil, r.err
		}
		p.Data = append([]byte{}, data...)
		items[i] = fwdStore{Op: op, Params: p}
	}
	if len(r.b) != 0 {
		return nil, fwdBodyError("trailing bytes")
	}
	return items, nil
}

// appendFwdAnswers encodes a batch answer.
func appendFwdAnswers(b []byte, as []fwdAnswer) []byte {
	b = append(b, fwdVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(as)))
	for _, a := range as {
		if a.OK != nil && a.Failure == nil {
			b = append(b, fwdKindStored)
			b = binary.BigEndian.AppendUint64(b, uint64(a.OK.Expiry))
			already := byte(0)
			if a.OK.Already {
				already = 1
			}
			b = append(b, already)
			b = append(b, a.OK.Signature[:]...)
			continue
		}
		f := storagerpc.NodeFailure{}
		if a.Failure != nil {
			f = *a.Failure
		}
		var flags byte
		if f.Timeout {
			flags |= fwdFailTimeout
		}
		if f.BadPeerResponse {
			flags |= fwdFailBadPeer
		}
		if f.QueryFailure {
			flags |= fwdFailQuery
		}
		reason := f.Reason
		if len(reason) > maxPeerRespErr {
			reason = reason[:maxPeerRespErr]
		}
		b = append(b, fwdKindFailed, flags)
		b = binary.BigEndian.AppendUint16(b, uint16(f.Code))
		b = binary.BigEndian.AppendUint16(b, uint16(len(reason)))
		b = append(b, reason...)
	}
	return b
}

// parseFwdAnswers decodes a batch answer exactly; it must hold want
// answers. Failures come back with Failed set.
func parseFwdAnswers(b []byte, want int) ([]fwdAnswer, error) {
	r := &fwdReader{b: b}
	n := r.header(fwdMaxItems, 1+1+2+2)
	if r.err != nil {
		return nil, r.err
	}
	if n != want {
		return nil, fwdBodyError(fmt.Sprintf("%d answers for %d stores", n, want))
	}
	as := make([]fwdAnswer, n)
	for i := range as {
		switch kind := r.u8("kind"); {
		case r.err != nil:
		case kind == fwdKindStored:
			s := &fwdStored{Expiry: r.i64("expiry")}
			switch already := r.u8("already"); {
			case r.err != nil:
			case already > 1:
				r.err = fwdBodyError(fmt.Sprintf("already %d", already))
			default:
				s.Already = already == 1
			}
			if v := r.take(storagerpc.SignatureSize, "signature"); v != nil {
				s.Signature = storagerpc.Signature(v)
			}
			as[i].OK = s
		case kind == fwdKindFailed:
			flags := r.u8("failure flags")
			f := &storagerpc.NodeFailure{Failed: true, Code: int(r.u16("code"))}
			rl := int(r.u16("reason length"))
			if r.err == nil && (flags&^fwdFailKnown != 0 || rl > maxPeerRespErr) {
				r.err = fwdBodyError("bad failure")
			}
			f.Reason = string(r.take(rl, "reason"))
			f.Timeout, f.BadPeerResponse, f.QueryFailure = flags&fwdFailTimeout != 0, flags&fwdFailBadPeer != 0, flags&fwdFailQuery != 0
			as[i].Failure = f
		default:
			r.err = fwdBodyError(fmt.Sprintf("answer kind %d", kind))
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if len(r.b) != 0 {
		return nil, fwdBodyError("trailing bytes")
	}
	return as, nil
}

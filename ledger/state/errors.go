package state

import (
	"errors"
	"fmt"
)

// Code is the result code of a transaction (the ABCI code). 0 is success.
type Code uint32

// Result codes. Their numbers are part of the protocol: clients branch on
// them.
const (
	CodeOK                Code = 0
	CodeMalformed         Code = 1  // the bytes are not a transaction
	CodeWrongChain        Code = 2  // signed for another network
	CodeBadSignature      Code = 3  // transaction or node signature does not verify
	CodeBadNonce          Code = 4  // not the signer's next nonce (replay or gap)
	CodeInsufficientFunds Code = 5  // balance too low
	CodeInvalid           Code = 6  // a field is out of range
	CodeDuplicate         Code = 7  // key, endpoint, name or vote already exists
	CodeUnknownNode       Code = 8  // no such registered node
	CodeNotAllowed        Code = 9  // the signer may not do this
	CodeStakeTooSmall     Code = 10 // under the operator or contributor minimum
	CodeStakeTooLarge     Code = 11 // over the room left in the stake
	CodeWrongState        Code = 12 // the node or name is in a state that forbids it
	CodeTooSoon           Code = 13 // a delay has not passed yet
	CodeUnknownQuorum     Code = 14 // no open quorum at that height
	CodeUnknownName       Code = 15 // no such (unexpired) name
	CodeFull              Code = 16 // no contributor spot left
	CodeExpired           Code = 17 // past the transaction's last valid height
	CodeBusy              Code = 18 // the mempool's room left is kept for node duties
	CodeUnknownFileServer Code = 19 // no such registered file server
	CodeUnknownCommunity  Code = 20 // no such registered community server
)

func (c Code) String() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeMalformed:
		return "malformed"
	case CodeWrongChain:
		return "wrong_chain"
	case CodeBadSignature:
		return "bad_signature"
	case CodeBadNonce:
		return "bad_nonce"
	case CodeInsufficientFunds:
		return "insufficient_funds"
	case CodeInvalid:
		return "invalid"
	case CodeDuplicate:
		return "duplicate"
	case CodeUnknownNode:
		return "unknown_node"
	case CodeNotAllowed:
		return "not_allowed"
	case CodeStakeTooSmall:
		return "stake_too_small"
	case CodeStakeTooLarge:
		return "stake_too_large"
	case CodeWrongState:
		return "wrong_state"
	case CodeTooSoon:
		return "too_soon"
	case CodeUnknownQuorum:
		return "unknown_quorum"
	case CodeUnknownName:
		return "unknown_name"
	case CodeFull:
		return "full"
	case CodeExpired:
		return "expired"
	case CodeBusy:
		return "busy"
	case CodeUnknownFileServer:
		return "unknown_file_server"
	case CodeUnknownCommunity:
		return "unknown_community"
	}
	return fmt.Sprintf("code(%d)", uint32(c))
}

// TxError is why a transaction was rejected. Msg is the ABCI log: for
// people, never containing secrets.
type TxError struct {
	Code Code
	Msg  string
}

func (e *TxError) Error() string { return e.Code.String() + ": " + e.Msg }

func reject(c Code, format string, args ...any) *TxError {
	return &TxError{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of a transaction error: CodeOK for nil,
// CodeMalformed for an error that is not a *TxError.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var te *TxError
	if errors.As(err, &te) {
		return te.Code
	}
	return CodeMalformed
}

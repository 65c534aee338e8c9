// Package wire holds Session's protobuf schema (package SessionProtos) and
// the WebSocket framing messages around it, with the Go code generated from
// them. Field numbers follow spec/session-protocol.md §2.4; docs/wire.md
// explains the choices.
//
// The generated code is committed. To regenerate (needs protoc from Debian's
// protobuf-compiler; protoc-gen-go is the version pinned in go.mod):
//
//	go generate ./wire
package wire

//go:generate protoc --plugin=protoc-gen-go=./protoc-gen-go.sh --go_out=. --go_opt=paths=source_relative SessionProtos.proto WebSocketResources.proto

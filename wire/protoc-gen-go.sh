#!/bin/sh
# protoc plugin wrapper: runs the protoc-gen-go pinned in go.mod's tool block,
# so regenerating needs only protoc and the Go toolchain.
exec go tool protoc-gen-go "$@"

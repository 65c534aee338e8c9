//go:build !linux

package store

import "github.com/ncruces/go-sqlite3/vfs"

// sync is the default VFS's sync where walsync_linux.go's is not built.
func (f *walFile) sync(flags vfs.SyncFlag) error { return f.File.Sync(flags) }

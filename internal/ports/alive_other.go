//go:build !unix

package ports

import "io/fs"

// alive cannot tell on this system: every record counts as stale, so the
// registry does not keep ports from other processes.
func alive(int) bool { return false }

// ownedByMe cannot tell on this system either; its temporary directory is
// the user's own (Windows), so the directory's mode is the only check.
func ownedByMe(fs.FileInfo) bool { return true }

package cli

import "github.com/spf13/cobra"

// debugProtoCmds returns the Session Protocol debug commands (seal, open, sogs-sign).
func (a *app) debugProtoCmds() []*cobra.Command { return nil }

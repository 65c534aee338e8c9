package cli

import "github.com/spf13/cobra"

// debugIdentityCmds returns the identity debug commands (keys, mnemonic, blinding).
func (a *app) debugIdentityCmds() []*cobra.Command { return nil }

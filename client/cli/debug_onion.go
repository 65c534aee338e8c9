package cli

import "github.com/spf13/cobra"

// debugOnionCmds returns the onion debug commands.
func (a *app) debugOnionCmds() []*cobra.Command { return nil }

package cli

import "github.com/spf13/cobra"

// chatCmds returns the messaging commands (send, chat, inbox, ...).
func (a *app) chatCmds() []*cobra.Command { return nil }

package cli

import "github.com/spf13/cobra"

// idCmd returns `sotto id`: new, restore, show, export.
func (a *app) idCmd() *cobra.Command {
	return &cobra.Command{Use: "id", Short: "Manage your account identity"}
}

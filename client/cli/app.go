package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	webapp "sotto.dev/client/app"
)

// appCmd is `sotto app`: the local web app (docs/app.md).
func (a *app) appCmd() *cobra.Command {
	var listen string
	var noBrowser bool
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Open the Sotto app in your browser (a web app served on this computer only)",
		Long: `Start the client engine and serve the Sotto web app on a loopback address.

The line "app ready: URL" carries a one-time token: the first browser to
open it gets the session; anyone else, and any other web site, gets
nothing. Without --no-browser the URL is opened in the default browser.
Stop with Ctrl-C.

Without a network file (--network or $SOTTO_NETWORK) the app works on the
local data only and says how to start a devnet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params, err := a.kdfParams()
			if err != nil {
				return err
			}
			srv, err := webapp.New(webapp.Config{
				Listen:       listen,
				IdentityFile: a.identityPath(),
				Client:       client.Config{Home: a.home, NetworkFile: a.network},
				Passphrase:   []byte(a.env.Getenv("SOTTO_PASSPHRASE")),
				KDF:          params,
				Logger:       a.logger(),
			})
			if err != nil {
				return &Error{Msg: "cannot start the app", Err: err,
					Hint: "--listen takes a loopback address such as 127.0.0.1:0 (any free port) or 127.0.0.1:8384"}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx) }()
			if a.network == "" {
				fmt.Fprintf(a.env.Stderr, "hint: no network configured: %s\n", webapp.DefaultNoNetworkHint)
			}
			fmt.Fprintf(a.env.Stdout, "app ready: %s\n", srv.URL())
			if !noBrowser {
				if err := openBrowser(srv.URL()); err != nil {
					fmt.Fprintf(a.env.Stderr, "hint: open the URL above in your browser (%v)\n", err)
				}
			}
			if err := <-done; err != nil {
				return &Error{Msg: "the app stopped", Err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "loopback address to serve on (port 0: any free port)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the URL only; do not open a browser")
	return cmd
}

// openBrowser opens url in the desktop's default browser, if there is one.
func openBrowser(url string) error {
	var c *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		c = exec.Command("open", url)
	case "windows":
		c = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return fmt.Errorf("no graphical display")
		}
		c = exec.Command("xdg-open", url)
	}
	if err := c.Start(); err != nil {
		return err
	}
	go c.Wait() //nolint:errcheck // the browser outlives the opener
	return nil
}

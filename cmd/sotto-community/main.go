// Command sotto-community is the Sotto community server
// (sotto.dev/community): Session's community (SOGS v3) API, reached
// directly over HTTP or HTTPS and through onion v4 requests.
//
//	sotto-community init --dir /var/lib/sotto-community --url https://chat.example.org
//	sotto-community room add lobby --name "Lobby" --dir ...
//	sotto-community room list --dir ...
//	sotto-community room remove lobby --dir ...
//	sotto-community room set lobby --write=false --dir ...
//	sotto-community url lobby --dir ...
//	sotto-community mod add|remove ID --room lobby|--global [--admin] [--hidden] --dir ...
//	sotto-community ban|unban ID --room lobby|--global [--for 24h] --dir ...
//	sotto-community perm ID --room lobby [--read=B] [--write=B] [--upload=B] [--reset] --dir ...
//	sotto-community serve --dir ... --listen :8080 [--tls-listen :8443 --tls-cert F --tls-key F]
//
// SIGINT and SIGTERM shut the server down gracefully. docs/community.md
// describes the API subset, the storage and the authentication.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/community"
	"sotto.dev/internal/clierr"
)

func main() { os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

// Main runs sotto-community with args and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "sotto-community",
		Short:         "Sotto community server: Session communities (SOGS v3)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(initCmd(stdout), roomCmd(stdout), urlCmd(stdout), modCmd(stdout), banCmd(stdout, true), banCmd(stdout, false), permCmd(stdout), serveCmd(ctx, stderr))
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		clierr.Print(stderr, err)
		return 1
	}
	return 0
}

func needDir(dir, use string) error {
	if dir == "" {
		return &clierr.Error{Msg: "no data directory", Hint: "sotto-community " + use + " --dir /var/lib/sotto-community"}
	}
	return nil
}

// openDir opens the key and the store of an initialised directory.
func openDir(ctx context.Context, dir, use string) (*community.Keys, *community.Store, error) {
	if err := needDir(dir, use); err != nil {
		return nil, nil, err
	}
	keys, err := community.LoadKeys(filepath.Join(dir, community.KeyFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, &clierr.Error{Msg: "no community server in " + dir, Hint: "create one with 'sotto-community init --dir " + dir + "'"}
	}
	if err != nil {
		return nil, nil, &clierr.Error{Msg: "community server key", Err: err}
	}
	st, err := community.OpenStore(ctx, dir)
	if err != nil {
		keys.Wipe()
		return nil, nil, &clierr.Error{Msg: "open the database", Err: err}
	}
	return keys, st, nil
}

func initCmd(stdout io.Writer) *cobra.Command {
	var dir, base string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the server key (mode 0600) and database in the data directory",
		Long: `Create the community server's key (DIR/key.json, mode 0600) and its database,
or show the existing key. --url records the public base URL that 'url' prints
join URLs under.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needDir(dir, "init"); err != nil {
				return err
			}
			keys, created, err := community.LoadOrCreateKeys(filepath.Join(dir, community.KeyFileName))
			if err != nil {
				return &clierr.Error{Msg: "community server key", Err: err}
			}
			defer keys.Wipe()
			st, err := community.OpenStore(cmd.Context(), dir)
			if err != nil {
				return &clierr.Error{Msg: "create the database", Err: err}
			}
			defer st.Close()
			if base != "" {
				b, err := community.ParseBaseURL(base)
				if err != nil {
					return &clierr.Error{Msg: "bad --url " + base, Hint: "--url https://chat.example.org"}
				}
				if err := st.SetSetting(cmd.Context(), community.SettingURL, b); err != nil {
					return &clierr.Error{Msg: "record the URL", Err: err}
				}
			}
			if created {
				fmt.Fprintln(stdout, "created community server in", dir)
			} else {
				fmt.Fprintln(stdout, "community server already exists in", dir)
			}
			pk := keys.Public()
			fmt.Fprintln(stdout, "public_key:", hex.EncodeToString(pk[:]))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "data directory")
	cmd.Flags().StringVar(&base, "url", "", "public base URL, e.g. https://chat.example.org")
	return cmd
}

func roomCmd(stdout io.Writer) *cobra.Command {
	var dir string
	cmd := &cobra.Command{Use: "room", Short: "Add, list, change and remove rooms"}
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "data directory")

	var name, desc string
	add := &cobra.Command{
		Use:   "add TOKEN",
		Short: "Add a room (readable and writable by everyone)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, st, err := openDir(cmd.Context(), dir, "room add")
			if err != nil {
				return err
			}
			defer keys.Wipe()
			defer st.Close()
			var d *string
			if desc != "" {
				d = &desc
			}
			_, err = st.AddRoom(cmd.Context(), args[0], name, d, time.Now())
			switch {
			case errors.Is(err, community.ErrBadToken):
				return &clierr.Error{Msg: "bad room token " + args[0], Hint: "1 to 64 letters, digits, '-' and '_'"}
			case errors.Is(err, community.ErrRoomExists):
				return &clierr.Error{Msg: "room " + args[0] + " already exists"}
			case err != nil:
				return &clierr.Error{Msg: "add room", Err: err}
			}
			fmt.Fprintln(stdout, "added room", args[0])
			return nil
		},
	}
	add.Flags().StringVar(&name, "name", "", "display name (default: the token)")
	add.Flags().StringVar(&desc, "description", "", "description")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the rooms",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, st, err := openDir(cmd.Context(), dir, "room list")
			if err != nil {
				return err
			}
			defer keys.Wipe()
			defer st.Close()
			rooms, err := st.Rooms(cmd.Context())
			if err != nil {
				return &clierr.Error{Msg: "list rooms", Err: err}
			}
			if asJSON {
				out := []map[string]any{}
				for _, r := range rooms {
					out = append(out, map[string]any{"token": r.Token, "name": r.Name, "messages": r.MessageSequence})
				}
				return json.NewEncoder(stdout).Encode(out)
			}
			if len(rooms) == 0 {
				fmt.Fprintln(stdout, "no rooms")
			}
			for _, r := range rooms {
				fmt.Fprintf(stdout, "%s\t%s\n", r.Token, r.Name)
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	remove := &cobra.Command{
		Use:   "remove TOKEN",
		Short: "Remove a room and all its messages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, st, err := openDir(cmd.Context(), dir, "room remove")
			if err != nil {
				return err
			}
			defer keys.Wipe()
			defer st.Close()
			err = st.RemoveRoom(cmd.Context(), args[0])
			if errors.Is(err, community.ErrNoRoom) {
				return &clierr.Error{Msg: "no room " + args[0], Hint: "sotto-community room list --dir " + dir}
			}
			if err != nil {
				return &clierr.Error{Msg: "remove room", Err: err}
			}
			fmt.Fprintln(stdout, "removed room", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, remove, roomSetCmd(stdout, &dir))
	return cmd
}

func urlCmd(stdout io.Writer) *cobra.Command {
	var dir, base string
	cmd := &cobra.Command{
		Use:   "url ROOM",
		Short: "Print a room's join URL",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, st, err := openDir(cmd.Context(), dir, "url")
			if err != nil {
				return err
			}
			defer keys.Wipe()
			defer st.Close()
			if _, err := st.Room(cmd.Context(), args[0]); errors.Is(err, community.ErrNoRoom) {
				return &clierr.Error{Msg: "no room " + args[0], Hint: "sotto-community room list --dir " + dir}
			} else if err != nil {
				return &clierr.Error{Msg: "load room", Err: err}
			}
			if base == "" {
				if base, err = st.Setting(cmd.Context(), community.SettingURL); err != nil {
					return &clierr.Error{Msg: "load the URL", Err: err}
				}
			}
			if base == "" {
				return &clierr.Error{Msg: "no public URL recorded", Hint: "sotto-community init --dir " + dir + " --url https://HOST, or pass --url"}
			}
			u, err := community.JoinURL(base, args[0], keys.Public())
			if err != nil {
				return &clierr.Error{Msg: "bad URL " + base, Hint: "--url https://chat.example.org"}
			}
			fmt.Fprintln(stdout, u)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "data directory")
	cmd.Flags().StringVar(&base, "url", "", "public base URL (default: the one 'init --url' recorded)")
	return cmd
}

func serveCmd(ctx context.Context, logw io.Writer) *cobra.Command {
	def := community.DefaultConfig()
	var dir, listen, metrics, logLevel, tlsListen, tlsCert, tlsKey string
	var allowUnblinded, logJSON bool
	cfg := def
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: `Serve the community API on --listen, directly and inside onion v4 requests
(/oxen/v4/lsrpc). The data directory must have been created with 'init'.

With --tls-cert and --tls-key the same API is served over HTTPS on --tls-listen
as well (--listen "" for HTTPS alone); the files are read again when they change,
so a renewed certificate needs no restart. Behind a TLS proxy (nginx, Caddy)
leave them out and let the proxy forward to --listen (docs/community.md).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return &clierr.Error{Msg: "bad --log-level " + logLevel, Hint: "debug, info, warn or error"}
			}
			opts := &slog.HandlerOptions{Level: level}
			log := slog.New(slog.NewTextHandler(logw, opts))
			if logJSON {
				log = slog.New(slog.NewJSONHandler(logw, opts))
			}
			keys, st, err := openDir(ctx, dir, "serve")
			if err != nil {
				return err
			}
			st.Close()
			defer keys.Wipe()
			if (tlsCert == "") != (tlsKey == "") {
				return &clierr.Error{Msg: "HTTPS needs both --tls-cert and --tls-key"}
			}
			if listen == "" && tlsCert == "" {
				return &clierr.Error{Msg: "nothing to serve on", Hint: "--listen :8080, or --tls-cert and --tls-key"}
			}
			cfg.Dir, cfg.Listen, cfg.MetricsListen, cfg.RequireBlind = dir, listen, metrics, !allowUnblinded
			if tlsCert != "" {
				cfg.TLSListen, cfg.TLSCertFile, cfg.TLSKeyFile = tlsListen, tlsCert, tlsKey
			}
			srv, err := community.New(cfg, community.Deps{Keys: keys, Logger: log})
			if err != nil {
				return &clierr.Error{Msg: "start community server", Err: err}
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return srv.Serve(ctx)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "dir", "", "data directory")
	fl.StringVar(&listen, "listen", ":8080", "public address, plain HTTP (the API and /oxen/v4/lsrpc; \"\": none)")
	fl.StringVar(&tlsListen, "tls-listen", ":8443", "public address for HTTPS (with --tls-cert and --tls-key)")
	fl.StringVar(&tlsCert, "tls-cert", "", "PEM certificate chain file: serve HTTPS on --tls-listen too")
	fl.StringVar(&tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	fl.StringVar(&metrics, "metrics-listen", "", "loopback address for Prometheus /metrics (e.g. 127.0.0.1:9191)")
	fl.BoolVar(&allowUnblinded, "allow-unblinded", false, "accept unblinded (00) request keys and drop the \"blind\" capability")
	fl.IntVar(&cfg.PostLimit, "post-limit", def.PostLimit, "posts per --post-interval by one user in one room (0: no limit)")
	fl.DurationVar(&cfg.PostInterval, "post-interval", def.PostInterval, "the period of --post-limit")
	fl.Int64Var(&cfg.MaxBody, "max-body", def.MaxBody, "largest request body, bytes")
	fl.Int64Var(&cfg.MaxFileSize, "max-file-size", def.MaxFileSize, "largest room file, bytes")
	fl.Float64Var(&cfg.Rate, "rate", def.Rate, "requests per second in all (0: no limit)")
	fl.IntVar(&cfg.Burst, "burst", def.Burst, "request burst in all")
	fl.Float64Var(&cfg.AddrRate, "addr-rate", def.AddrRate, "requests per second from one address (an onion exit node carries many clients; 0: no limit)")
	fl.IntVar(&cfg.AddrBurst, "addr-burst", def.AddrBurst, "request burst from one address")
	fl.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fl.BoolVar(&logJSON, "log-json", false, "log JSON lines")
	return cmd
}

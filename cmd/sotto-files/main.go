// Command sotto-files is the Sotto attachment file server
// (sotto.dev/fileserver): Session's file server API, reached only through
// onion requests.
//
//	sotto-files --dir /var/lib/sotto-files --listen :8080 --metrics-listen 127.0.0.1:9190
//	sotto-files keygen --dir /var/lib/sotto-files   (create the key, or show the one there)
//	sotto-files show --dir /var/lib/sotto-files     (show the key)
//
// SIGINT and SIGTERM shut the server down gracefully. docs/fileserver.md
// describes the storage, the limits and the key.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/fileserver"
	"sotto.dev/internal/clierr"
)

func main() { os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

// Main runs sotto-files with args and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := rootCmd(ctx, stderr)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(keygenCmd(stdout, true), keygenCmd(stdout, false))
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		clierr.Print(stderr, err)
		return 1
	}
	return 0
}

type runFlags struct {
	dir, keyFile, listen, metrics, logLevel string
	maxFileSize, quota                      int64
	ttl, maxTTL, sweep                      time.Duration
	limits                                  fileserver.Limits
	releases                                []string
	logJSON                                 bool
}

func rootCmd(ctx context.Context, logw io.Writer) *cobra.Command {
	def := fileserver.DefaultConfig()
	var f runFlags
	cmd := &cobra.Command{
		Use:   "sotto-files",
		Short: "Sotto file server: attachments, reached through onion requests",
		Long: `Run the file server on --dir (created if needed), serving Session's file server
API only inside onion requests on --listen. The key file (--key-file, default
DIR/key.json, mode 0600) is created on first start; 'sotto-files show' prints
its public keys.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(*cobra.Command, []string) error {
			return run(ctx, f, logw)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", "", "data directory: database, files and key")
	fl.StringVar(&f.keyFile, "key-file", "", "key file (default DIR/key.json)")
	fl.StringVar(&f.listen, "listen", ":8080", "public address (onion request endpoints only)")
	fl.StringVar(&f.metrics, "metrics-listen", "", "loopback address for Prometheus /metrics (e.g. 127.0.0.1:9190)")
	fl.Int64Var(&f.maxFileSize, "max-file-size", def.MaxFileSize, "largest upload, bytes")
	fl.Int64Var(&f.quota, "quota", 0, "total bytes of stored files (0: no limit)")
	fl.DurationVar(&f.ttl, "ttl", def.FileTTL, "how long a file is kept")
	fl.DurationVar(&f.maxTTL, "max-ttl", def.MaxTTL, "largest X-FS-TTL a client may ask for (0: ignore the header)")
	fl.DurationVar(&f.sweep, "sweep-interval", def.SweepInterval, "how often expired files are deleted")
	fl.Float64Var(&f.limits.Rate, "rate", def.Limits.Rate, "requests per second in all (0: no limit)")
	fl.IntVar(&f.limits.Burst, "burst", def.Limits.Burst, "request burst in all")
	fl.Float64Var(&f.limits.ExitRate, "exit-rate", def.Limits.ExitRate, "requests per second from one exit node address (0: no limit)")
	fl.IntVar(&f.limits.ExitBurst, "exit-burst", def.Limits.ExitBurst, "request burst from one exit node address")
	fl.Int64Var(&f.limits.UploadBytesPerMinute, "upload-bytes-per-minute", def.Limits.UploadBytesPerMinute, "upload bytes a minute in all (0: no limit)")
	fl.Int64Var(&f.limits.ExitUploadBytesPerMinute, "exit-upload-bytes-per-minute", def.Limits.ExitUploadBytesPerMinute, "upload bytes a minute from one exit node address (0: no limit)")
	fl.StringArrayVar(&f.releases, "release", nil, "a Session release for /session_version: PLATFORM[/CHANNEL]=VERSION (repeatable)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.BoolVar(&f.logJSON, "log-json", false, "log JSON lines")
	return cmd
}

func run(ctx context.Context, f runFlags, logw io.Writer) error {
	if f.dir == "" {
		return &clierr.Error{Msg: "no data directory", Hint: "sotto-files --dir /var/lib/sotto-files"}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return &clierr.Error{Msg: "bad --log-level " + f.logLevel, Hint: "debug, info, warn or error"}
	}
	opts := &slog.HandlerOptions{Level: level}
	log := slog.New(slog.NewTextHandler(logw, opts))
	if f.logJSON {
		log = slog.New(slog.NewJSONHandler(logw, opts))
	}
	releases, err := parseReleases(f.releases)
	if err != nil {
		return err
	}
	keys, created, err := fileserver.LoadOrCreateKeys(keyPath(f.dir, f.keyFile))
	if err != nil {
		return &clierr.Error{Msg: "file server key", Err: err}
	}
	defer keys.Wipe()
	if created {
		log.Info("created file server key", "file", keyPath(f.dir, f.keyFile), "keys", keys)
	}
	cfg := fileserver.Config{
		Dir: f.dir, Listen: f.listen, MetricsListen: f.metrics,
		MaxFileSize: f.maxFileSize, Quota: f.quota, FileTTL: f.ttl, MaxTTL: f.maxTTL, SweepInterval: f.sweep,
		Limits: f.limits, Releases: releases, ReleasesUpdated: time.Now(),
	}
	srv, err := fileserver.New(cfg, fileserver.Deps{Keys: keys, Logger: log})
	if err != nil {
		return &clierr.Error{Msg: "start file server", Err: err}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("sotto-files starting", "listen", srv.Addr().String(), "pubkey_ed25519", keys.Ed25519Public().String(),
		"pubkey_x25519", keys.X25519Public().String())
	return srv.Serve(ctx)
}

// parseReleases reads --release PLATFORM[/CHANNEL]=VERSION values.
func parseReleases(vals []string) ([]fileserver.Release, error) {
	var out []fileserver.Release
	for _, v := range vals {
		target, version, ok := strings.Cut(v, "=")
		platform, channel, _ := strings.Cut(target, "/")
		if !ok || version == "" || platform == "" {
			return nil, &clierr.Error{Msg: fmt.Sprintf("bad --release %q", v), Hint: "--release desktop=v1.16.3 or --release android/prerelease=1.26.0"}
		}
		out = append(out, fileserver.Release{Platform: platform, Channel: channel, Version: version})
	}
	return out, nil
}

func keyPath(dir, file string) string {
	if file != "" {
		return file
	}
	return filepath.Join(dir, fileserver.KeyFileName)
}

// keygenCmd is "keygen" (create the key, or show the existing one) or,
// with create false, "show".
func keygenCmd(stdout io.Writer, create bool) *cobra.Command {
	var dir, keyFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create the file server key in the data directory (or show the existing one)",
		Long: `Create the file server's Ed25519 key (DIR/key.json, mode 0600), or show the one
already there. The X25519 key onion requests are encrypted to is derived from
it, as for Session's file servers. Publish both public keys with the server's
URL (the ledger registration, a network file).`,
		Args: cobra.NoArgs,
	}
	if !create {
		cmd.Use, cmd.Short = "show", "Show the file server's public keys"
		cmd.Long = "Print the public keys of the file server key in the data directory."
	}
	cmd.RunE = func(*cobra.Command, []string) error {
		if dir == "" && keyFile == "" {
			return &clierr.Error{Msg: "no data directory", Hint: "sotto-files " + cmd.Use + " --dir /var/lib/sotto-files"}
		}
		path := keyPath(dir, keyFile)
		var keys *fileserver.Keys
		var created bool
		var err error
		if create {
			keys, created, err = fileserver.LoadOrCreateKeys(path)
		} else {
			keys, err = fileserver.LoadKeys(path)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return &clierr.Error{Msg: "no file server key in " + path, Hint: "create one with 'sotto-files keygen --dir DIR'"}
		}
		if err != nil {
			return &clierr.Error{Msg: "file server key", Err: err}
		}
		defer keys.Wipe()
		ed, x := keys.Ed25519Public().String(), keys.X25519Public().String()
		if asJSON {
			m := map[string]any{"pubkey_ed25519": ed, "pubkey_x25519": x}
			if create {
				m["created"] = created
			}
			return json.NewEncoder(stdout).Encode(m)
		}
		switch {
		case created:
			fmt.Fprintln(stdout, "created file server key in", path)
		case create:
			fmt.Fprintln(stdout, "file server key already exists in", path)
		}
		fmt.Fprintln(stdout, "pubkey_ed25519:", ed)
		fmt.Fprintln(stdout, "pubkey_x25519: ", x)
		return nil
	}
	cmd.Flags().StringVar(&dir, "dir", "", "data directory")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "key file (default DIR/key.json)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

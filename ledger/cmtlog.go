package ledger

import (
	"context"
	"log/slog"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// cmtLogger passes CometBFT's logs to slog. CometBFT is chatty: its Info
// lines become Debug, its Error lines Warn (consensus timeouts and peer
// errors are routine and handled by CometBFT itself).
type cmtLogger struct{ l *slog.Logger }

var _ cmtlog.Logger = cmtLogger{}

func (c cmtLogger) Debug(msg string, kv ...any) { c.log(slog.LevelDebug-4, msg, kv) }
func (c cmtLogger) Info(msg string, kv ...any)  { c.log(slog.LevelDebug, msg, kv) }
func (c cmtLogger) Error(msg string, kv ...any) { c.log(slog.LevelWarn, msg, kv) }

func (c cmtLogger) log(level slog.Level, msg string, kv []any) {
	if c.l.Enabled(context.Background(), level) {
		c.l.Log(context.Background(), level, msg, kv...)
	}
}

func (c cmtLogger) With(kv ...any) cmtlog.Logger { return cmtLogger{c.l.With(kv...)} }

package state

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// badgerLogger adapts Badger's printf logger to slog. Badger reports routine
// work (compactions, replay, GC) at INFO; that goes to Debug here.
type badgerLogger struct{ log *slog.Logger }

func newBadgerLogger(l *slog.Logger) badgerLogger {
	return badgerLogger{log: l.With("component", "badger")}
}

func (b badgerLogger) emit(level slog.Level, format string, args []any) {
	if !b.log.Enabled(context.Background(), level) {
		return
	}
	b.log.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (b badgerLogger) Errorf(f string, a ...any)   { b.emit(slog.LevelError, f, a) }
func (b badgerLogger) Warningf(f string, a ...any) { b.emit(slog.LevelWarn, f, a) }
func (b badgerLogger) Infof(f string, a ...any)    { b.emit(slog.LevelDebug, f, a) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.emit(slog.LevelDebug-4, f, a) }

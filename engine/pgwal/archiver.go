package pgwal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Config configures an Archiver.
type Config struct {
	// SpoolDir receives pg_receivewal's files (created 0700).
	SpoolDir string
	// SpoolMax bounds the spool: above it, pg_receivewal is stopped until
	// uploads have drained the spool (the slot keeps the WAL on the server).
	SpoolMax int64
	// Receive runs pg_receivewal into dir until ctx ends or it fails.
	Receive func(ctx context.Context, dir string) error
	// Upload stores one completed file and returns only when its upload is
	// confirmed; the stored size is returned.
	Upload func(ctx context.Context, name, path string) (int64, error)
	// Observe receives what happens (metrics); may be nil.
	Observe func(Event)
	Log     *slog.Logger
	// Tool names what Receive runs, in log records (default pg_receivewal).
	Tool string
	// Ready, when set, replaces the WAL rule for which files of the spool
	// are complete (segments and history files, history first): it returns
	// them in upload order, and the spool's size in bytes. The binary log
	// archiver uses the archiver this way (every file but the newest).
	Ready func(dir string) (names []string, size int64)
	// Poll is how often the spool is scanned (default 500 ms); backoff
	// after a failure doubles from MinBackoff (1 s) to MaxBackoff (1 min).
	Poll, MinBackoff, MaxBackoff time.Duration
}

// Event kinds.
const (
	EventArchived = "archived" // Name, Bytes (raw size)
	EventError    = "error"    // Err; Name set for an upload failure
	EventSpool    = "spool"    // SpoolBytes
)

// Event is one thing the archiver reports.
type Event struct {
	Kind       string
	Name       string
	Bytes      int64
	SpoolBytes int64
	Err        error
}

// Archiver keeps pg_receivewal (or another streaming tool: Config.Tool,
// Config.Ready) running and uploads what it writes.
type Archiver struct{ c Config }

// New returns an archiver with defaults filled in.
func New(c Config) *Archiver {
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Minute
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Observe == nil {
		c.Observe = func(Event) {}
	}
	if c.Tool == "" {
		c.Tool = "pg_receivewal"
	}
	if c.Ready == nil {
		c.Ready = scanWAL
	}
	return &Archiver{c: c}
}

// Run archives until ctx ends. Files uploaded are removed from the spool;
// files not yet uploaded stay there for the next run.
func (a *Archiver) Run(ctx context.Context) error {
	if err := os.MkdirAll(a.c.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("wal spool: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.uploadLoop(ctx)
	}()
	a.receiveLoop(ctx)
	<-done
	return nil
}

// receiveLoop keeps pg_receivewal running while the spool has room.
func (a *Archiver) receiveLoop(ctx context.Context) {
	backoff := a.c.MinBackoff
	for ctx.Err() == nil {
		if a.spoolFull() {
			sleep(ctx, a.c.Poll)
			continue
		}
		a.dropTornPartials()
		rctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		started := time.Now()
		go func() { errc <- a.c.Receive(rctx, a.c.SpoolDir) }()
		var err error
		paused := false
	wait:
		for {
			select {
			case err = <-errc:
				break wait
			case <-time.After(a.c.Poll):
				if a.spoolFull() {
					a.c.Log.Warn("spool full: pausing "+a.c.Tool+" until uploads catch up", "spool", a.c.SpoolDir)
					paused = true
					cancel()
				}
			}
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		if paused {
			continue
		}
		if time.Since(started) > 2*a.c.MaxBackoff {
			backoff = a.c.MinBackoff
		}
		if err == nil {
			err = errors.New(a.c.Tool + " exited")
		}
		a.c.Log.Warn(a.c.Tool+" stopped; restarting", "err", err, "backoff", backoff)
		a.c.Observe(Event{Kind: EventError, Err: err})
		sleep(ctx, backoff)
		backoff = min(backoff*2, a.c.MaxBackoff)
	}
}

// uploadLoop uploads completed files in name order (WAL order), removing
// each only after its upload is confirmed.
func (a *Archiver) uploadLoop(ctx context.Context) {
	backoff := a.c.MinBackoff
	for ctx.Err() == nil {
		names, size := a.c.Ready(a.c.SpoolDir)
		a.c.Observe(Event{Kind: EventSpool, SpoolBytes: size})
		failed := false
		for _, name := range names {
			path := filepath.Join(a.c.SpoolDir, name)
			n, err := a.c.Upload(ctx, name, path)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				a.c.Log.Error("archive upload failed; retrying", "file", name, "err", err, "backoff", backoff)
				a.c.Observe(Event{Kind: EventError, Name: name, Err: err})
				failed = true
				break
			}
			if err := os.Remove(path); err != nil {
				a.c.Log.Error("remove archived file from the spool", "file", name, "err", err)
			}
			a.c.Observe(Event{Kind: EventArchived, Name: name, Bytes: n})
		}
		if failed {
			sleep(ctx, backoff)
			backoff = min(backoff*2, a.c.MaxBackoff)
			continue
		}
		backoff = a.c.MinBackoff
		sleep(ctx, a.c.Poll)
	}
}

// scanWAL returns the completed files of a WAL spool in WAL order and the
// spool's size.
func scanWAL(dir string) ([]string, int64) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0
	}
	var names []string
	var size int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			size += info.Size()
		}
		if e.Type().IsRegular() && IsArchivable(e.Name()) {
			names = append(names, e.Name())
		}
	}
	// History files first: a segment of a new timeline needs its history.
	slices.SortFunc(names, func(x, y string) int {
		hx, hy := strings.HasSuffix(x, ".history"), strings.HasSuffix(y, ".history")
		switch {
		case hx && !hy:
			return -1
		case hy && !hx:
			return 1
		}
		return strings.Compare(x, y)
	})
	return names, size
}

func (a *Archiver) spoolFull() bool {
	max := a.c.SpoolMax
	if max <= 0 {
		return false
	}
	_, size := a.c.Ready(a.c.SpoolDir)
	return size >= max
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// dropTornPartials removes a .partial segment whose size is neither 0 nor
// a whole segment: pg_receivewal zero-fills a new segment file before it
// writes into it, so such a file was cut off (a daemon killed) while being
// created, holds no WAL, and would stop pg_receivewal from starting
// ("has N bytes, should be 0 or 16777216"). The server still has the
// segment: the slot has not been confirmed past its start.
func (a *Archiver) dropTornPartials() {
	entries, err := os.ReadDir(a.c.SpoolDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".partial") || !IsSegment(strings.TrimSuffix(name, ".partial")) {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() == 0 || info.Size() == SegmentSize {
			continue
		}
		a.c.Log.Warn("removing a torn partial WAL segment (cut off while being created)", "file", name, "bytes", info.Size())
		_ = os.Remove(filepath.Join(a.c.SpoolDir, name))
	}
}

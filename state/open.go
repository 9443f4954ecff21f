package state

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// defaultGCInterval is how often the value log is garbage collected when
// Options.GCInterval is zero.
const defaultGCInterval = 10 * time.Minute

// badgerLockMessage is the text of Badger's error when another process holds
// the directory lock. Badger flattens the errno into the message (%+v), so
// the text is the only thing left to recognise it by.
const badgerLockMessage = "Cannot acquire directory lock"

// Open opens (or creates) the store. A data dir held by another process
// returns an error wrapping ErrLocked.
func Open(opts Options) (*Store, error) {
	return open(opts, defaultMigrations())
}

func open(opts Options, migrations []migration) (*Store, error) {
	seal, err := newSealer(opts.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	db, space, err := openBadger(opts, logger, now)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, log: logger, now: now, seal: seal, feed: newFeed(), space: space}
	if !opts.InMemory {
		s.badgerDir = filepath.Join(opts.Dir, "badger")
	}
	if err := s.prepare(migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	space.start()
	if interval := gcInterval(opts); interval > 0 {
		s.stopGC = make(chan struct{})
		s.gcDone = make(chan struct{})
		go s.gcLoop(interval)
	}
	return s, nil
}

func gcInterval(opts Options) time.Duration {
	switch {
	case opts.InMemory || opts.GCInterval < 0:
		return 0
	case opts.GCInterval == 0:
		return defaultGCInterval
	default:
		return opts.GCInterval
	}
}

// openBadger opens Badger and the free-space guard of its data dir (nil
// when in memory or turned off).
func openBadger(opts Options, logger *slog.Logger, now func() time.Time) (*badger.DB, *spaceGuard, error) {
	dir := ""
	if !opts.InMemory {
		if opts.Dir == "" {
			return nil, nil, fmt.Errorf("open store: no data dir given")
		}
		dir = filepath.Join(opts.Dir, "badger")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("open store: %w", err)
		}
	}
	bopts := badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(true).
		WithLogger(newBadgerLogger(logger)).
		WithMetricsEnabled(false).
		WithNumCompactors(2).
		WithBlockCacheSize(32 << 20)
	space := newSpaceGuard(opts, bopts, logger, now)
	if err := space.canOpen(dir); err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	db, err := badger.Open(bopts)
	if err != nil {
		if strings.Contains(err.Error(), badgerLockMessage) {
			return nil, nil, fmt.Errorf("open store: %w: %s (is another jagad running with this data dir?)", ErrLocked, dir)
		}
		return nil, nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return db, space, nil
}

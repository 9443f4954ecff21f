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
// Badger is sized for a store of records (configs, backup records, sessions:
// a few KB each, tens of MB in all), not for bulk data. Measured with
// engine/bench/rss.sh (daemon VmHWM over successive backups); Badger's defaults
// are tuned for stores of many GB.
const (
	// memTableSize (default 64 MiB): each memtable's skiplist arena is Go
	// heap of this size and its write-ahead .mem file is mmap'ed at 2× it.
	// It also caps one transaction: Badger refuses a batch above 15% of it
	// ("Txn is too big"). 32 MiB allows 4.8 MiB, enough for a reconcile of
	// 1,000 connections, schedules and backups in one transaction
	// (TestBigTransaction: 16 MiB fails it). Measured (rss.sh): 8 MiB cut
	// the peak over 10 backups from 313 to 185 MiB but caps a transaction
	// at 1.2 MiB; 32 MiB keeps the peak at ~259 MiB after 5 backups, like
	// the default. The free-space floor (space.go: defaultFloor) follows it.
	memTableSize = 32 << 20
	// numMemtables (default 5): memtables kept in memory, the active one
	// and those waiting to be flushed. 2 caps their arenas at 64 MiB instead
	// of 5 × 64 MiB; a write waits for a flush only if 32 MiB arrive before
	// the previous 32 MiB reach disk, which a record store never does.
	numMemtables = 2
	// blockCacheSize (was 32 MiB): the ristretto cache of decompressed table
	// blocks (tables are Snappy-compressed by default, so reads go through
	// it). 8 MiB holds the hot part of a record store; a miss costs one
	// decompression of a 4 KiB block from an mmap'ed table.
	blockCacheSize = 8 << 20
	// Measured again with the daemon's resident memory (PERF-NOTES.md,
	// Goal 2): block cache 0 without compression, an 8 MiB memtable or a
	// 64 MiB value log file change neither the idle RSS (34–35 MiB, mostly
	// the binary's own pages) nor the backups' peak (75–77 MiB) beyond
	// noise, so these stay.
)

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
	s := &Store{db: db, log: logger, now: now, seal: seal, feed: newFeed(), versions: newVersions(), space: space}
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
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(blockCacheSize)
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

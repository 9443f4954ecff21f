package state

// This file fixes the store's contract. Bodies are filled in by the store
// implementation; signatures are relied on by reconcile, api and engine.

import (
	"errors"
	"log/slog"
	"time"
)

// Errors returned by the store.
var (
	ErrNotFound = errors.New("not found")
	// ErrLocked means another process holds the data dir.
	ErrLocked = errors.New("data dir is locked by another jagad process")
)

// Options configure Open.
type Options struct {
	Dir        string       // data dir; Badger files live in Dir/badger
	MasterKey  []byte       // 32 bytes; seals secrets
	Logger     *slog.Logger // nil: discard
	InMemory   bool         // tests
	GCInterval time.Duration
	Now        func() time.Time // nil: time.Now

	// MinFreeBytes is the free space of Dir's file system below which
	// read-write transactions are refused (ErrNoSpace) and reads go on.
	// 0: max(64 MiB, 2 × Badger's memtable size), the room Badger needs to
	// flush a memtable; < 0: no guard (the store may then die of SIGBUS when
	// the disk fills).
	MinFreeBytes int64
	// SpaceCheckInterval is how often free space is read in the background
	// for metrics, logs and GC (0: 5 s). Every Update reads it as well.
	SpaceCheckInterval time.Duration

	// FreeSpace reads the free bytes of dir's file system (tests; nil: statfs).
	FreeSpace func(dir string) (uint64, error)
}

// BackupQuery selects backups through the secondary indexes, newest first.
type BackupQuery struct {
	ConnectionID string
	DatabaseID   string
	ScheduleID   string
	Status       string // StatusQueued, …; "": any
	BackupType   string // full | incremental; "": any
	Limit        int    // <= 0: no limit
	Offset       int
}

// BackupStats is the aggregate of GET /api/backups/stats, maintained on write.
type BackupStats struct {
	TotalBackups   int64            `json:"total_backups"`
	TotalSizeBytes int64            `json:"total_size_bytes"`
	ByType         map[string]int64 `json:"by_type"`
	ByStatus       map[string]int64 `json:"by_status"`
	SuccessRate    float64          `json:"success_rate"`
	// StoredByProvider sums the stored bytes of successful backups per
	// storage provider ID (not part of the API's stats).
	StoredByProvider map[string]int64 `json:"-"`
}

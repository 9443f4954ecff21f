package state

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/jagad/jagad/state/fault"
)

// ErrNoSpace is in the chain of the error of a read-write transaction that
// was refused because the data dir is below its free-space floor. The error
// is also an fault.Error with code insufficient_storage.
var ErrNoSpace = errors.New("data dir is below its free-space floor")

const (
	// defaultSpaceInterval is how often the background checker reads the
	// free space of the data dir when Options.SpaceCheckInterval is zero.
	defaultSpaceInterval = 5 * time.Second
	// minDefaultFloor is the smallest default floor.
	minDefaultFloor = 64 << 20
	// openSlack is what Badger writes when it opens besides replaying its
	// memtables: the header page of a new memtable file, manifest changes.
	openSlack = 2 << 20
)

// defaultFloor is the free space below which writes are refused when
// Options.MinFreeBytes is zero.
//
// Badger writes its write-ahead log (the memtable's .mem file) and its tables
// through mmap'ed files that are created sparse (the .mem file at
// 2 × MemTableSize): a write that needs a page the file system cannot
// allocate is not an error but SIGBUS, which kills the process. The floor must
// therefore hold what Badger may still write after the last admitted
// transaction: flushing a full memtable to a level-0 table (up to
// MemTableSize) and the compaction that follows, with room to spare. Values
// at or above ValueThreshold (1 MiB) go to the value log instead; Jagad's
// records are far smaller. With open.go's 32 MiB memtable the 64 MiB minimum
// and 2 × MemTableSize are equal.
func defaultFloor(bopts badger.Options) uint64 {
	return uint64(max(minDefaultFloor, 2*bopts.MemTableSize))
}

// SpaceStatus is the guard's last reading of the data dir's free space.
type SpaceStatus struct {
	Dir     string
	Free    uint64 // bytes available to Jagad at Checked
	Floor   uint64 // writes are refused below it; 0: no guard
	Low     bool   // writes are being refused
	Refused uint64 // read-write transactions refused since Open
	Checked time.Time
}

// spaceGuard refuses read-write transactions while the data dir has less than
// floor bytes free.
//
// Every Update reads the free space itself, just before it commits. A cached
// reading is not safe for writes: another process (a dump spooled to the same
// disk) can fill it between two readings, and the next write is then SIGBUS,
// not an error; TestFullDiskRefusesWrites fills a tmpfs right after a write
// and died that way with a reading cached for 5 s. statfs costs about 4 µs,
// against milliseconds for the synced commit that follows it. A background
// loop reads it every interval as well, for the metrics, the log line when
// space returns without any write, and value-log GC; those use its cached
// reading.
type spaceGuard struct {
	dir      string
	floor    uint64
	interval time.Duration
	statfs   func(string) (uint64, error)
	now      func() time.Time
	log      *slog.Logger
	refused  atomic.Uint64

	mu      sync.Mutex // guards the fields below
	free    uint64
	low     bool
	checked time.Time
	failing bool // the last statfs failed (logged once)

	stop chan struct{}
	done chan struct{}
}

func newSpaceGuard(opts Options, bopts badger.Options, log *slog.Logger, now func() time.Time) *spaceGuard {
	if opts.InMemory || opts.MinFreeBytes < 0 {
		return nil
	}
	g := &spaceGuard{
		dir: opts.Dir, floor: uint64(opts.MinFreeBytes), interval: opts.SpaceCheckInterval,
		statfs: opts.FreeSpace, now: now, log: log.With("component", "store", "dir", opts.Dir),
	}
	if g.floor == 0 {
		g.floor = defaultFloor(bopts)
	}
	if g.interval <= 0 {
		g.interval = defaultSpaceInterval
	}
	if g.statfs == nil {
		g.statfs = freeBytes
	}
	g.mu.Lock()
	g.refreshLocked()
	g.mu.Unlock()
	return g
}

// canOpen refuses to open Badger when it has not room to replay its
// memtables: Open flushes every non-empty one to a level-0 table, and a
// flush that runs out of space is SIGBUS. Below the floor with enough room
// for that, the store opens (reads work) and writes are refused.
func (g *spaceGuard) canOpen(badgerDir string) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.low {
		return nil
	}
	need := memtableBytes(badgerDir) + openSlack
	if g.free >= need {
		g.log.Warn("opening the store below its free-space floor: reads are served, writes are refused until space is freed",
			"free_bytes", g.free, "floor_bytes", g.floor)
		return nil
	}
	return fmt.Errorf("data dir %s has %s free, Badger needs %s to open it (replaying its write-ahead log): %w",
		g.dir, mib(g.free), mib(need), ErrNoSpace)
}

// canClose returns an error when Badger has no room to close: Close flushes
// the memtable to a level-0 table, and a flush that runs out of space is
// SIGBUS. The store is then left open; its write-ahead log was synced on
// every commit and is replayed at the next start.
func (g *spaceGuard) canClose(badgerDir string) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refreshLocked()
	if need := memtableBytes(badgerDir) + openSlack; g.free < need {
		return fmt.Errorf("data dir %s has %s free, Badger needs %s to flush its memtable on close; left unclosed, its write-ahead log is replayed at the next start: %w",
			g.dir, mib(g.free), mib(need), ErrNoSpace)
	}
	return nil
}

// memtableBytes is the space the .mem files of dir occupy on disk.
func memtableBytes(dir string) uint64 {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	var n uint64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			n += allocatedBytes(fi)
		}
	}
	return n
}

// start runs the background checker until close.
func (g *spaceGuard) start() {
	if g == nil {
		return
	}
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(g.done)
		t := time.NewTicker(g.interval)
		defer t.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-t.C:
				g.mu.Lock()
				g.refreshLocked()
				g.mu.Unlock()
			}
		}
	}()
}

func (g *spaceGuard) close() {
	if g == nil || g.stop == nil {
		return
	}
	close(g.stop)
	<-g.done
}

// admit returns an error when a read-write transaction must be refused.
func (g *spaceGuard) admit() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refreshLocked()
	if !g.low {
		return nil
	}
	g.refused.Add(1)
	return &fault.Error{
		Code: fault.CodeInsufficientStorage,
		Message: fmt.Sprintf("data dir %s has %s free, below the floor %s; writes are refused until space is freed",
			g.dir, mib(g.free), mib(g.floor)),
		Err: ErrNoSpace,
	}
}

// isLow reports whether writes are being refused (for background writers
// such as value-log GC).
func (g *spaceGuard) isLow() bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.low
}

// refreshLocked reads the free space and logs a change of state. When statfs
// fails the last reading stands: the guard neither starts nor stops refusing
// on a reading it does not have.
func (g *spaceGuard) refreshLocked() {
	free, err := g.statfs(g.dir)
	g.checked = g.now()
	if err != nil {
		if !g.failing {
			g.log.Warn("cannot read the free space of the data dir", "err", err)
		}
		g.failing = true
		return
	}
	g.failing = false
	g.free = free
	low := free < g.floor
	if low == g.low {
		return
	}
	g.low = low
	if low {
		g.log.Warn("data dir is below its free-space floor: refusing writes until space is freed",
			"free_bytes", free, "floor_bytes", g.floor)
	} else {
		g.log.Info("data dir has free space again: accepting writes",
			"free_bytes", free, "floor_bytes", g.floor, "refused_total", g.refused.Load())
	}
}

func (g *spaceGuard) status() SpaceStatus {
	if g == nil {
		return SpaceStatus{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return SpaceStatus{Dir: g.dir, Free: g.free, Floor: g.floor, Low: g.low, Refused: g.refused.Load(), Checked: g.checked}
}

// Space returns the last reading of the data dir's free space (zero for an
// in-memory store or with the guard off).
func (s *Store) Space() SpaceStatus { return s.space.status() }

// mib formats n bytes in MiB, rounded down.
func mib(n uint64) string { return fmt.Sprintf("%d MiB", n>>20) }

// Writable returns the error a read-write transaction would get now (nil
// when it would be admitted). A caller that changes something outside the
// store before recording it (deleting a stored object, then its record) asks
// first, so the two cannot disagree for lack of space.
func (s *Store) Writable() error { return s.space.admit() }

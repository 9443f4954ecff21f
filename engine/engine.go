// Package engine runs Jagad's long work: backups, verifications, restores,
// retention and notifications. It reads the store, learns about changes from
// its change feed, and runs every job on its own context, never on a
// request's.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/engine/schedule"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// KeySource returns the current backup-data keyring, or nil when no key is
// configured.
type KeySource func() (*crypt.Keyring, error)

// Options configure an Engine.
type Options struct {
	Store      *state.Store
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: a private registry
	Keys       KeySource             // nil: encryption unavailable
	Notifier   *notify.Notifier      // nil: a default notifier
	Now        func() time.Time
	// Tools overrides dump and restore tool paths (settings override these).
	Tools dump.Tools
	// DefaultTimeout bounds a job without its own timeout (default 6h).
	DefaultTimeout time.Duration
	// Version is recorded in manifests.
	Version string
	// Clock drives the scheduler (nil: the real clock).
	Clock clockwork.Clock
	// Gate decides, in a group of daemons, whether this one runs a due
	// slot (engine/cluster); nil: the daemon runs alone.
	Gate schedule.Gate
	// Storage is what every storage provider's Store shares: logger,
	// metrics and the outbound network guard (zero: storage's defaults).
	Storage storage.Runtime
	// OutcomeRetryEvery and OutcomeRetryFor: how often and how long a
	// finished backup retries recording its outcome while the store refuses
	// writes for lack of space (default 5 s for 10 min).
	OutcomeRetryEvery, OutcomeRetryFor time.Duration
	// RepairEvery is how often failed copies of backups are retried from a
	// healthy copy (repair.go; 0: RepairEvery, the default; <0: never).
	RepairEvery time.Duration
	// BinlogArchive tunes binary log archiving (binlog_archive.go).
	BinlogArchive BinlogArchiveOptions
	// SpoolDir holds the WAL spools of continuous archiving (walarchive.go);
	// it must survive restarts: "" = <tmp>/jagad-wal.
	SpoolDir string
}

// Engine runs jobs. Create it with New, then Start; Shutdown stops it.
type Engine struct {
	opts    Options
	store   *state.Store
	log     *slog.Logger
	now     func() time.Time
	metrics *Metrics
	notify  *notify.Notifier
	slots   *limiter
	stores  *storeCache
	// progress is the live progress of running jobs (progress.go).
	progress *progressBoard

	ctx    context.Context // the engine's context: jobs run on it
	cancel context.CancelFunc
	work   sync.WaitGroup // jobs (backups, verifications, restores, deletions)
	loops  sync.WaitGroup // background loops (change feed)

	mu      sync.Mutex
	running map[string]bool // schedule IDs with a run in progress
	retMu   sync.Mutex      // one retention pass at a time
	sched   *schedule.Scheduler
	binlogs *binlogArchivers // binlog_archive.go
	wal     *walArchivers    // continuous WAL archiving (walarchive.go)
	// archiveChecks meter the archive verifications (archive_verify.go).
	archiveChecks *archiveMetrics
	walList       walListing // cached WAL archive listings (walspan.go)
}

// New returns an engine; it does not start anything.
func New(o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, errors.New("engine: no store")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Keys == nil {
		o.Keys = func() (*crypt.Keyring, error) { return nil, nil }
	}
	if o.OutcomeRetryEvery <= 0 {
		o.OutcomeRetryEvery = 5 * time.Second
	}
	if o.OutcomeRetryFor <= 0 {
		o.OutcomeRetryFor = 10 * time.Minute
	}
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = 6 * time.Hour
	}
	log := o.Logger.With("component", "engine")
	if o.Notifier == nil {
		o.Notifier = notify.New(notify.Options{Logger: log})
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		opts:          o,
		store:         o.Store,
		log:           log,
		now:           o.Now,
		metrics:       newMetrics(o.Registerer),
		archiveChecks: newArchiveMetrics(o.Registerer),
		notify:        o.Notifier,
		slots:         newLimiter(state.Settings{}.ConcurrentBackups()),
		stores:        newStoreCache(o.Storage),
		progress:      newProgressBoard(o.Now),
		ctx:           ctx,
		cancel:        cancel,
		running:       map[string]bool{},
		wal:           &walArchivers{runs: newArchiveRuns(), m: newWalMetrics(o.Registerer)},
	}
	e.sched = e.newScheduler()
	e.binlogs = newBinlogArchivers(e, o.BinlogArchive, o.Registerer)
	return e, nil
}

// Start recovers jobs interrupted by a crash, applies the settings and starts
// following the store's change feed.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.recoverInterrupted(ctx); err != nil {
		return fmt.Errorf("recover interrupted jobs: %w", err)
	}
	if err := e.failInterruptedCopies(); err != nil {
		return fmt.Errorf("recover interrupted copies: %w", err)
	}
	e.applySettings()
	e.sched.Start()
	e.syncScheduler()
	e.syncArchivers()
	e.onChanges(func() {
		e.applySettings()
		e.syncScheduler()
		e.syncArchivers()
	}, state.KindSchedule, state.KindSettings, state.KindConnection,
		state.KindDatabase, state.KindProvider, state.KindNotification)
	e.binlogs.sync()
	e.onChanges(e.binlogs.sync, state.KindConnection, state.KindProvider)
	e.loops.Add(1)
	go func() { // retention of removed schedules' backups: at start, then hourly
		defer e.loops.Done()
		t := time.NewTicker(removedSweepEvery)
		defer t.Stop()
		for {
			e.sweepRemovedSchedules(e.ctx)
			select {
			case <-e.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	if every := e.opts.RepairEvery; every >= 0 {
		if every == 0 {
			every = RepairEvery
		}
		e.loops.Add(1)
		go func() {
			defer e.loops.Done()
			e.repairLoop(every)
		}()
	}
	e.metrics.refreshFromStore(e)
	return nil
}

// onChanges calls fn, in a loop of its own until the engine stops, after
// each commit that wrote one of kinds. It subscribes before returning, so
// no change made after the call is missed.
func (e *Engine) onChanges(fn func(), kinds ...state.Kind) {
	changes, stop := e.store.Subscribe(kinds...)
	e.loops.Add(1)
	go func() {
		defer e.loops.Done()
		defer stop()
		for {
			select {
			case <-e.ctx.Done():
				return
			case <-changes:
				fn()
			}
		}
	}()
}

// removedSweepEvery is how often retention runs over the backups of
// schedules that were removed.
const removedSweepEvery = time.Hour

// Shutdown stops the scheduler, lets running jobs finish until ctx ends,
// then cancels them and waits for them to record their outcome.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.sched.Stop()
	done := make(chan struct{})
	go func() {
		e.work.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		e.log.Warn("shutdown deadline reached; cancelling running jobs")
		err = ctx.Err()
	}
	e.cancel()
	<-done
	e.loops.Wait()
	return err
}

// goJob runs fn as a tracked job on the engine's context.
func (e *Engine) goJob(fn func(ctx context.Context)) {
	e.work.Add(1)
	go func() {
		defer e.work.Done()
		fn(e.ctx)
	}()
}

// applySettings reads the settings that the engine follows live.
func (e *Engine) applySettings() {
	s, err := e.settings()
	if err != nil {
		e.log.Error("read settings", "err", err)
		return
	}
	e.slots.resize(s.ConcurrentBackups())
}

func (e *Engine) settings() (state.Settings, error) {
	var out state.Settings
	err := e.store.View(func(tx *state.Tx) (err error) {
		out, err = tx.Settings()
		return err
	})
	return out, err
}

// tools returns dump tool paths: settings win over the process defaults.
func (e *Engine) tools(s state.Settings) dump.Tools {
	t, paths := e.opts.Tools, s.Tools()
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&t.PgDump, paths.PgDump)
	set(&t.PgRestore, paths.PgRestore)
	set(&t.Mysqldump, paths.Mysqldump)
	set(&t.Mysql, paths.Mysql)
	return t
}

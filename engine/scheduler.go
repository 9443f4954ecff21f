package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/jagad/jagad/api/apierr"
	"github.com/jagad/jagad/state"
)

// scheduler drives schedules with gocron. It is level-triggered: sync
// compares the enabled schedules in the store with the registered jobs and
// adds, replaces or removes only the jobs that changed.
type scheduler struct {
	mu   sync.Mutex
	s    gocron.Scheduler
	tz   string
	jobs map[string]schedJob // schedule ID → job
}

type schedJob struct {
	id   uuid.UUID
	cron string
	name string
}

// clock returns the gocron clock (a fake one in tests).
func (e *Engine) clock() clockwork.Clock {
	if e.opts.Clock != nil {
		return e.opts.Clock
	}
	return clockwork.NewRealClock()
}

func (e *Engine) startScheduler() error {
	e.mu.Lock()
	e.sched = &scheduler{jobs: map[string]schedJob{}}
	e.mu.Unlock()
	e.syncScheduler()
	return nil
}

func (e *Engine) stopScheduler() {
	e.mu.Lock()
	sc := e.sched
	e.mu.Unlock()
	if sc == nil {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.s != nil {
		if err := sc.s.Shutdown(); err != nil {
			e.log.Warn("stop scheduler", "err", err)
		}
		sc.s = nil
	}
	sc.jobs = map[string]schedJob{}
}

// syncScheduler brings the gocron jobs in line with the store.
func (e *Engine) syncScheduler() {
	e.mu.Lock()
	sc := e.sched
	e.mu.Unlock()
	if sc == nil {
		return
	}
	var schedules []state.Schedule
	var tz string
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		if schedules, err = state.List[state.Schedule](tx); err != nil {
			return err
		}
		s, err := tx.Settings()
		tz = s.Values["timezone"]
		return err
	})
	if err != nil {
		e.log.Error("scheduler: read schedules", "err", err)
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.s == nil || sc.tz != tz {
		if err := e.newGocron(sc, tz); err != nil {
			e.log.Error("scheduler: start", "timezone", tz, "err", err)
			return
		}
	}
	want := map[string]state.Schedule{}
	for _, s := range schedules {
		if s.EffectiveEnabled() {
			want[s.ID] = s
		}
		if e.metrics != nil {
			e.metrics.nextRun.WithLabelValues(scheduleLabel(s.Name)).Set(0)
		}
	}
	for id, j := range sc.jobs {
		if s, ok := want[id]; !ok || s.CronExpr != j.cron {
			if err := sc.s.RemoveJob(j.id); err != nil {
				e.log.Warn("scheduler: remove job", "schedule", j.name, "err", err)
			}
			delete(sc.jobs, id)
			e.log.Info("schedule unregistered", "schedule", j.name)
		}
	}
	for id, s := range want {
		if _, ok := sc.jobs[id]; ok {
			sc.jobs[id] = schedJob{id: sc.jobs[id].id, cron: s.CronExpr, name: s.Name}
			continue
		}
		id := id
		j, err := sc.s.NewJob(gocron.CronJob(s.CronExpr, false),
			gocron.NewTask(func() { e.tick(id) }),
			gocron.WithName(s.Name),
		)
		if err != nil {
			e.log.Error("scheduler: register schedule", "schedule", s.Name, "cron", s.CronExpr, "err", err)
			continue
		}
		sc.jobs[id] = schedJob{id: j.ID(), cron: s.CronExpr, name: s.Name}
		e.log.Info("schedule registered", "schedule", s.Name, "cron", s.CronExpr, "timezone", sc.tz)
	}
	e.refreshNextRuns(sc)
}

// newGocron (re)creates the gocron scheduler in the settings' time zone;
// every job is registered again.
func (e *Engine) newGocron(sc *scheduler, tz string) error {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return fmt.Errorf("time zone %q: %w", tz, err)
	}
	if sc.s != nil {
		_ = sc.s.Shutdown()
	}
	s, err := gocron.NewScheduler(gocron.WithLocation(loc), gocron.WithClock(e.clock()),
		gocron.WithStopTimeout(5*time.Second))
	if err != nil {
		return err
	}
	s.Start()
	sc.s, sc.tz, sc.jobs = s, tz, map[string]schedJob{}
	return nil
}

func (e *Engine) refreshNextRuns(sc *scheduler) {
	for _, j := range sc.s.Jobs() {
		if next, err := j.NextRun(); err == nil && !next.IsZero() {
			e.metrics.nextRun.WithLabelValues(scheduleLabel(j.Name())).Set(float64(next.Unix()))
		}
	}
}

// tick is a cron firing of a schedule.
func (e *Engine) tick(scheduleID string) {
	if err := e.runSchedule(scheduleID, "cron"); err != nil {
		e.log.Warn("scheduled run not started", "schedule", scheduleID, "err", err)
	}
	e.mu.Lock()
	sc := e.sched
	e.mu.Unlock()
	if sc != nil {
		sc.mu.Lock()
		if sc.s != nil {
			e.refreshNextRuns(sc)
		}
		sc.mu.Unlock()
	}
}

// RunSchedule runs a schedule now, with its retention and notifications.
func (e *Engine) RunSchedule(_ context.Context, scheduleID string) error {
	return e.runSchedule(scheduleID, "api")
}

// runSchedule starts one run of a schedule unless one is already going.
func (e *Engine) runSchedule(scheduleID, trigger string) error {
	var s state.Schedule
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		s, err = state.Get[state.Schedule](tx, scheduleID)
		return err
	})
	if err != nil {
		return apierr.Invalid("schedule not found")
	}
	if trigger == "cron" && !s.EffectiveEnabled() {
		return nil
	}
	e.mu.Lock()
	if e.running[s.ID] {
		e.mu.Unlock()
		e.metrics.skipped.WithLabelValues(scheduleLabel(s.Name)).Inc()
		e.log.Warn("schedule run skipped: the previous run is still going", "schedule", s.Name, "trigger", trigger)
		return apierr.Conflict(fmt.Sprintf("schedule %q is already running", s.Name))
	}
	e.running[s.ID] = true
	e.mu.Unlock()
	done := func() {
		e.mu.Lock()
		delete(e.running, s.ID)
		e.mu.Unlock()
	}
	enc := s.EncryptionEnabled
	j, err := e.prepare(BackupRequest{
		ConnectionID: s.ConnectionID, DatabaseID: s.DatabaseID, BackupType: s.BackupType,
		ScheduleID: s.ID, StorageProviderID: s.StorageProviderID, NotifTargetIDs: s.NotifTargetIDs,
		NotifyOnSuccess: s.NotifyOnSuccess, NotifyOnFailure: s.NotifyOnFailure,
		Encrypt: &enc, Timeout: time.Duration(s.Timeout),
	})
	if err != nil {
		done()
		e.recordScheduleFailure(s, err)
		return err
	}
	if err := e.store.Update(func(tx *state.Tx) error { return state.Put(tx, j.backup) }); err != nil {
		done()
		return fmt.Errorf("record backup: %w", err)
	}
	e.metrics.queued.Inc()
	e.log.Info("schedule run", "schedule", s.Name, "trigger", trigger, "backup", j.backup.ID)
	e.goJob(func(ctx context.Context) {
		defer done()
		e.runBackup(ctx, j)
	})
	return nil
}

// recordScheduleFailure records a failed backup for a schedule run that
// could not even start (its connection or provider is gone), so that the
// failure is visible, metered and notified.
func (e *Engine) recordScheduleFailure(s state.Schedule, cause error) {
	now := e.now().UTC()
	b := state.Backup{
		ID: state.NewID(state.KindBackup), ConnectionID: s.ConnectionID, DatabaseID: s.DatabaseID,
		ScheduleID: s.ID, ScheduleName: s.Name, BackupType: s.BackupType, Status: state.StatusFailed,
		VerifyStatus: state.VerifyPending, CreatedAt: now, QueuedAt: &now, CompletedAt: &now,
		NotifTargetIDs: s.NotifTargetIDs, NotifyOnSuccess: s.NotifyOnSuccess, NotifyOnFailure: s.NotifyOnFailure,
		LogOutput: "SCHEDULE ERROR: " + cause.Error() + "\n",
	}
	if err := e.store.Update(func(tx *state.Tx) error { return state.Put(tx, b) }); err != nil {
		e.log.Error("record schedule failure", "schedule", s.Name, "err", err)
		return
	}
	e.metrics.observeBackup(b)
	e.goJob(func(context.Context) { e.afterBackup(b) })
}

// ScheduleInfo reports a schedule's next run and its last run and status.
func (e *Engine) ScheduleInfo(scheduleID string) (next, last *time.Time, lastStatus string) {
	e.mu.Lock()
	sc := e.sched
	e.mu.Unlock()
	if sc != nil {
		sc.mu.Lock()
		if j, ok := sc.jobs[scheduleID]; ok && sc.s != nil {
			for _, gj := range sc.s.Jobs() {
				if gj.ID() == j.id {
					if t, err := gj.NextRun(); err == nil && !t.IsZero() {
						t = t.UTC()
						next = &t
					}
				}
			}
		}
		sc.mu.Unlock()
	}
	_ = e.store.View(func(tx *state.Tx) error {
		bs, err := tx.ListBackups(state.BackupQuery{ScheduleID: scheduleID, Limit: 1})
		if err == nil && len(bs) > 0 {
			t := bs[0].CreatedAt
			if bs[0].StartedAt != nil {
				t = *bs[0].StartedAt
			}
			last, lastStatus = &t, bs[0].Status
		}
		return nil
	})
	return next, last, lastStatus
}

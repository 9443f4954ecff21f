package engine

import (
	"fmt"
	"sort"
	"sync"
	"time"
	_ "time/tzdata" // settings.timezone must load on hosts without zoneinfo (the engine no longer gets it through config)

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/jagad/jagad/state"
)

// scheduler drives schedules with gocron. It is level-triggered: sync
// compares the enabled schedules in the store with the registered jobs and
// adds, replaces or removes only the jobs that changed. A change of
// settings.timezone re-registers every job in the new zone.
//
// Lock order: scheduler.mu, then slotBook.mu. A tick never takes
// scheduler.mu, so stopping gocron (which waits for running ticks) while
// holding it cannot deadlock.
type scheduler struct {
	mu      sync.Mutex
	s       gocron.Scheduler
	tz      string
	loc     *time.Location
	jobs    map[string]schedJob // schedule ID → job
	stopped bool
	// metricNames are the schedule labels of the next-run series set last.
	metricNames map[string]bool

	slots *slotBook
}

type schedJob struct {
	id   uuid.UUID
	cron string
	name string
}

// clock returns the scheduler's clock (a fake one in tests).
func (e *Engine) clock() clockwork.Clock {
	if e.opts.Clock != nil {
		return e.opts.Clock
	}
	return clockwork.NewRealClock()
}

func (e *Engine) scheduler() *scheduler {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sched
}

func (e *Engine) startScheduler() error {
	e.mu.Lock()
	e.sched = &scheduler{jobs: map[string]schedJob{}, slots: newSlotBook()}
	e.mu.Unlock()
	e.syncScheduler()
	return nil
}

// stopScheduler stops gocron for good: later syncs do nothing.
func (e *Engine) stopScheduler() {
	sc := e.scheduler()
	if sc == nil {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.stopped = true
	if sc.s != nil {
		if err := sc.s.Shutdown(); err != nil {
			e.log.Warn("stop scheduler", "err", err)
		}
		sc.s = nil
	}
	for id := range sc.jobs {
		sc.slots.unregister(id)
	}
	sc.jobs = map[string]schedJob{}
}

// syncScheduler brings the gocron jobs in line with the store.
func (e *Engine) syncScheduler() {
	sc := e.scheduler()
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
	if sc.stopped {
		return
	}
	if sc.s == nil || sc.tz != tz {
		if err := e.newGocron(sc, tz); err != nil {
			e.log.Error("scheduler: keeping the previous time zone", "timezone", tz, "err", err)
			if sc.s == nil {
				return
			}
		}
	}
	want := map[string]state.Schedule{}
	exists := map[string]bool{}
	for _, s := range schedules {
		exists[s.ID] = true
		if s.EffectiveEnabled() {
			want[s.ID] = s
		}
	}
	for id, j := range sc.jobs {
		if s, ok := want[id]; ok && s.CronExpr == j.cron && s.Name == j.name {
			continue
		}
		if err := sc.s.RemoveJob(j.id); err != nil {
			e.log.Warn("scheduler: remove job", "schedule", j.name, "err", err)
		}
		delete(sc.jobs, id)
		sc.slots.unregister(id)
		e.log.Info("schedule unregistered", "schedule", j.name, "reason", unregisterReason(exists[id], want[id].ID != ""))
	}
	sc.slots.forgetExcept(exists)
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := sc.jobs[id]; !ok {
			e.registerJob(sc, want[id])
		}
	}
	e.refreshNextRuns(sc, schedules)
}

func unregisterReason(exists, enabled bool) string {
	switch {
	case !exists:
		return "removed"
	case !enabled:
		return "disabled"
	default:
		return "changed"
	}
}

// registerJob adds one schedule's gocron job. Called with sc.mu held.
func (e *Engine) registerJob(sc *scheduler, s state.Schedule) {
	spec, err := parseCronSpec(s.CronExpr, sc.loc)
	if err != nil {
		e.log.Error("scheduler: register schedule", "schedule", s.Name, "cron", s.CronExpr, "err", err)
		return
	}
	id := s.ID
	sc.slots.register(id, spec, e.consumedThrough(s))
	j, err := sc.s.NewJob(gocron.CronJob(s.CronExpr, false),
		gocron.NewTask(func() { e.tick(id) }),
		gocron.WithName(s.Name),
		gocron.WithCronImplementation(spec),
	)
	if err != nil {
		sc.slots.unregister(id)
		e.log.Error("scheduler: register schedule", "schedule", s.Name, "cron", s.CronExpr, "err", err)
		return
	}
	sc.jobs[id] = schedJob{id: j.ID(), cron: s.CronExpr, name: s.Name}
	next := sc.slots.nextRun(id, e.clock().Now())
	e.log.Info("schedule registered", "schedule", s.Name, "cron", s.CronExpr, "timezone", sc.loc.String(),
		"next_run", next.Format(time.RFC3339))
}

// consumedThrough is the instant through which a schedule being
// registered has run: now, or, when the clock is behind it, the creation of
// the schedule's newest backup. The in-memory slot book does not survive a
// restart; the stored history does, so a restart on a clock that went back
// does not run the slots it already ran.
func (e *Engine) consumedThrough(s state.Schedule) time.Time {
	now := e.clock().Now()
	var last time.Time
	_ = e.store.View(func(tx *state.Tx) error {
		bs, err := tx.ListBackups(state.BackupQuery{ScheduleID: s.ID, Limit: 1})
		if err == nil && len(bs) > 0 {
			last = bs[0].CreatedAt
		}
		return err
	})
	switch {
	case !last.After(now):
		return now
	case last.Sub(now) > maxHistoryLead:
		// More likely a record written under a wrong clock than a clock set
		// back this far: honouring it would stop the schedule until then.
		e.log.Warn("scheduler: the schedule's last run is far in the future; ignoring it (was the clock wrong when it ran?)",
			"schedule", s.Name, "now", now.UTC().Format(time.RFC3339), "last_run", last.UTC().Format(time.RFC3339))
		return now
	}
	e.log.Warn("scheduler: the clock is behind the schedule's last run; its slots up to then will not run again",
		"schedule", s.Name, "now", now.UTC().Format(time.RFC3339), "last_run", last.UTC().Format(time.RFC3339))
	return last
}

// maxHistoryLead is how far ahead of the clock a schedule's last run may be
// and still count as run (a clock set back across a restart).
const maxHistoryLead = 48 * time.Hour

// newGocron (re)creates the gocron scheduler in the settings' time zone;
// every job is registered again. Called with sc.mu held.
func (e *Engine) newGocron(sc *scheduler, tz string) error {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return fmt.Errorf("time zone %q: %w", tz, err)
	}
	s, err := gocron.NewScheduler(gocron.WithLocation(loc), gocron.WithClock(e.clock()),
		gocron.WithStopTimeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("new gocron scheduler: %w", err)
	}
	if sc.s != nil {
		if err := sc.s.Shutdown(); err != nil {
			e.log.Warn("scheduler: stop previous scheduler", "err", err)
		}
		for id := range sc.jobs {
			sc.slots.unregister(id)
		}
		e.log.Info("scheduler: time zone changed; registering every schedule again", "from", sc.tz, "to", loc.String())
	}
	s.Start()
	sc.s, sc.tz, sc.loc, sc.jobs = s, tz, loc, map[string]schedJob{}
	return nil
}

// refreshNextRuns sets jagad_schedule_next_run_timestamp_seconds for every
// schedule (0 when it is not registered) and drops the series of names no
// schedule has any more. Called with sc.mu held.
func (e *Engine) refreshNextRuns(sc *scheduler, schedules []state.Schedule) {
	now := e.clock().Now()
	names := map[string]bool{}
	for _, s := range schedules {
		v := 0.0
		if next := sc.slots.nextRun(s.ID, now); !next.IsZero() {
			v = float64(next.Unix())
		}
		name := scheduleLabel(s.Name)
		names[name] = true
		e.metrics.nextRun.WithLabelValues(name).Set(v)
	}
	for name := range sc.metricNames {
		if !names[name] {
			e.metrics.nextRun.DeleteLabelValues(name)
		}
	}
	sc.metricNames = names
}

// tick is a cron firing of a schedule. The slot book decides whether the
// firing is due (see slotBook for the clock-jump rules).
func (e *Engine) tick(scheduleID string) {
	sc := e.scheduler()
	if sc == nil {
		return
	}
	now := e.clock().Now()
	slot, missed, ok := sc.slots.claim(scheduleID, now)
	if !ok {
		e.log.Warn("scheduler: tick ignored: its slot already ran (did the clock go back?)",
			"schedule_id", scheduleID, "now", now.UTC().Format(time.RFC3339), "next_slot", slot.UTC().Format(time.RFC3339))
		return
	}
	if now.Sub(slot) > catchUpAfter {
		e.log.Warn("scheduler: catch-up run for a missed slot (the clock jumped forward or the daemon was stalled)",
			"schedule_id", scheduleID, "slot", slot.UTC().Format(time.RFC3339), "also_missed", missed)
	}
	if err := e.runSchedule(scheduleID, "cron"); err != nil {
		e.log.Warn("scheduled run not started", "schedule_id", scheduleID, "err", err)
	}
	var name string
	_ = e.store.View(func(tx *state.Tx) error {
		s, err := state.Get[state.Schedule](tx, scheduleID)
		name = s.Name
		return err
	})
	if name != "" {
		v := 0.0
		if next := sc.slots.nextRun(scheduleID, e.clock().Now()); !next.IsZero() {
			v = float64(next.Unix())
		}
		e.metrics.nextRun.WithLabelValues(scheduleLabel(name)).Set(v)
	}
}

package engine

import (
	"fmt"
	"time"
	_ "time/tzdata" // settings.timezone must load on hosts without zoneinfo (the engine no longer gets it through config)

	"github.com/jonboulle/clockwork"

	"github.com/jagad/jagad/engine/schedule"
	"github.com/jagad/jagad/state"
)

// clock returns the scheduler's clock (a fake one in tests).
func (e *Engine) clock() clockwork.Clock {
	if e.opts.Clock != nil {
		return e.opts.Clock
	}
	return clockwork.NewRealClock()
}

// newScheduler builds the engine's scheduler. These callbacks are all it
// knows of the engine: it runs due schedules through runDue, reads the
// history through lastScheduledBackup and publishes next runs as
// jagad_schedule_next_run_timestamp_seconds.
func (e *Engine) newScheduler() *schedule.Scheduler {
	return schedule.New(schedule.Config{
		Log:     e.log,
		Clock:   e.clock(),
		Run:     e.runDue,
		Gate:    e.opts.Gate,
		LastRun: e.lastScheduledBackup,
		NextRun: func(name string, next time.Time) {
			v := 0.0
			if !next.IsZero() {
				v = float64(next.Unix())
			}
			e.metrics.nextRun.WithLabelValues(scheduleLabel(name)).Set(v)
		},
		ForgetNextRun: func(name string) { e.metrics.nextRun.DeleteLabelValues(scheduleLabel(name)) },
	})
}

// syncScheduler brings the scheduler's jobs in line with the store.
func (e *Engine) syncScheduler() {
	var schedules []state.Schedule
	var tz string
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		if schedules, err = state.List[state.Schedule](tx); err != nil {
			return err
		}
		s, err := tx.Settings()
		tz = s.TimezoneName()
		return err
	})
	if err != nil {
		e.log.Error("scheduler: read schedules", "err", err)
		return
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		e.log.Error("scheduler: keeping the previous time zone", "timezone", tz, "err", fmt.Errorf("time zone %q: %w", tz, err))
		loc = nil // Sync keeps the zone it has
	}
	e.sched.Sync(schedules, loc)
}

// lastScheduledBackup is when the schedule's newest backup was created,
// or zero when it has none.
func (e *Engine) lastScheduledBackup(scheduleID string) time.Time {
	var last time.Time
	_ = e.store.View(func(tx *state.Tx) error {
		bs, err := tx.ListBackups(state.BackupQuery{ScheduleID: scheduleID, Limit: 1})
		if err == nil && len(bs) > 0 {
			last = bs[0].CreatedAt
		}
		return err
	})
	return last
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jagad/jagad/engine/schedule"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// RunSchedule runs a schedule now (POST /api/schedules/{id}/run), with its
// retention and notifications. It is allowed on a disabled or suspended
// schedule; it answers conflict while a run of the schedule is going.
func (e *Engine) RunSchedule(_ context.Context, scheduleID string) error {
	s, err := e.loadSchedule(scheduleID)
	if err != nil {
		return err
	}
	return e.runSchedule(s, "api", schedule.Claim{})
}

// runDue is the scheduler's callback for a due cron slot: it loads the
// schedule (the one read of its record for this run; see afterBackup for
// the read after it) and runs it. It returns the name it loaded, or "" when
// the schedule is gone. The claim's release (the slot's claim in cluster
// mode) is called once the run has ended or did not start; the run is cut
// off when the claim is lost (schedule.ErrClaimLost).
func (e *Engine) runDue(scheduleID string, claim schedule.Claim) string {
	s, err := e.loadSchedule(scheduleID)
	if err == nil {
		err = e.runSchedule(s, "cron", claim)
	} else if claim.Release != nil {
		claim.Release()
	}
	if err != nil {
		e.log.Warn("scheduled run not started", "schedule_id", scheduleID, "err", err)
	}
	return s.Name
}

// loadSchedule reads a schedule record.
func (e *Engine) loadSchedule(scheduleID string) (state.Schedule, error) {
	var s state.Schedule
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		s, err = state.Get[state.Schedule](tx, scheduleID)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return state.Schedule{}, fault.NotFound("schedule not found")
	}
	if err != nil {
		return state.Schedule{}, fmt.Errorf("read schedule: %w", err)
	}
	return s, nil
}

// runSchedule starts one run of the loaded schedule s unless one is
// already going. The run, including its notifications, verification and
// retention, holds the schedule's running flag until it is done. The
// claim's Release, when not nil, is called once when the run has ended or
// did not start; when its Lost closes first, the run's context is cancelled
// with schedule.ErrClaimLost (cluster mode: the member lost its lease).
func (e *Engine) runSchedule(s state.Schedule, trigger string, claim schedule.Claim) error {
	release := claim.Release
	if release == nil {
		release = func() {}
	}
	if trigger == "cron" && !s.EffectiveEnabled() {
		release()
		return nil
	}
	if !e.markRunning(s.ID) {
		if claim.Abandon != nil { // a catch-up: the slot stays due
			claim.Abandon()
		} else {
			release()
		}
		if trigger == "cron" {
			e.metrics.skipped.WithLabelValues(scheduleLabel(s.Name)).Inc()
		}
		e.log.Warn("schedule run skipped: the previous run is still going", "schedule", s.Name, "trigger", trigger)
		return fault.Conflict(fmt.Sprintf("schedule %q is already running", s.Name))
	}
	done := func() {
		e.clearRunning(s.ID)
		release()
	}
	enc := s.EncryptionEnabled
	j, err := e.prepare(BackupRequest{
		ConnectionID: s.ConnectionID, DatabaseID: s.DatabaseID, BackupType: s.BackupType,
		ScheduleID: s.ID, StorageProviderID: s.StorageProviderID, NotifTargetIDs: s.NotifTargetIDs,
		NotifyOnSuccess: s.NotifyOnSuccess, NotifyOnFailure: s.NotifyOnFailure,
		Encrypt: &enc, Timeout: time.Duration(s.Timeout),
	}, &s)
	if err != nil {
		e.recordScheduleFailure(s, err, done)
		return err
	}
	if err := e.recordQueued(j); err != nil {
		done()
		return fmt.Errorf("record backup: %w", err)
	}
	e.metrics.queued.Inc()
	e.log.Info("schedule run", "schedule", s.Name, "trigger", trigger, "backup", j.backup.ID)
	e.goJob(func(ctx context.Context) {
		defer done()
		ctx, stop := cutOffOnLoss(ctx, claim.Lost)
		defer stop()
		e.runBackup(ctx, j)
	})
	return nil
}

// cutOffOnLoss returns a context cancelled with schedule.ErrClaimLost when
// lost closes (nil: never), and the function that releases it.
func cutOffOnLoss(ctx context.Context, lost <-chan struct{}) (context.Context, func()) {
	if lost == nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-lost:
			cancel(schedule.ErrClaimLost)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// CatchUp runs, in cluster mode, a missed slot of a schedule this member
// owns: interrupted (a slot whose run was cut off), else the newest slot
// after finished, the newest slot the group finished (see
// schedule.Scheduler.CatchUp).
func (e *Engine) CatchUp(scheduleID string, finished, interrupted time.Time) {
	e.sched.CatchUp(scheduleID, finished, interrupted)
}

// markRunning sets the schedule's running flag; false when it was set.
func (e *Engine) markRunning(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running[id] {
		return false
	}
	e.running[id] = true
	return true
}

func (e *Engine) clearRunning(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.running, id)
}

// recordScheduleFailure records a failed backup for a schedule run that
// could not even start (its connection or provider is gone), so that the
// failure is visible, metered and notified. done is called when the
// failure notification has been sent.
func (e *Engine) recordScheduleFailure(s state.Schedule, cause error, done func()) {
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
		done()
		return
	}
	e.metrics.observeBackup(b)
	e.goJob(func(context.Context) {
		defer done()
		e.afterBackup(b)
	})
}

// ScheduleInfo reports a schedule's next run (nil when it is disabled,
// suspended or not registered) and its last run and status.
func (e *Engine) ScheduleInfo(scheduleID string) (next, last *time.Time, lastStatus string) {
	if t := e.sched.NextRun(scheduleID); !t.IsZero() {
		t = t.UTC()
		next = &t
	}
	_ = e.store.View(func(tx *state.Tx) error {
		// One index entry of the schedule's newest backup, not its record
		// (with its log and replicas): a list of 1,000 schedules asks 1,000 times.
		t, st, ok, err := tx.LastScheduleRun(scheduleID)
		if err == nil && ok {
			last, lastStatus = &t, st
		}
		return nil
	})
	return next, last, lastStatus
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/retention"
	"github.com/jagad/jagad/state"
)

// applyRetention deletes the schedule's backups that its policy no longer
// keeps (engine/retention decides; it never picks the newest successful
// backup, a queued, running or verifying one, or a full that a kept
// incremental needs). Only backups owned by the schedule are considered, so
// one-shot backups stay. The object and manifest go first, then the record;
// a failed deletion is logged, counted and noted on the record
// (RetentionError), and retried at the next run because the record stays.
// Passes are serialised, so two runs never delete the same backup. The
// connection's continuous archive is pruned after (archive_retention.go).
func (e *Engine) applyRetention(ctx context.Context, sch state.Schedule) {
	e.retMu.Lock()
	defer e.retMu.Unlock()
	backups, loc, err := e.retentionInput(sch.ID)
	if err != nil {
		e.log.Error("retention: list backups", "schedule", sch.Name, "err", err)
		return
	}
	e.retain(ctx, sch.ID, sch.Name, schedulePolicies(sch), backups, loc)
	e.retainArchives(ctx, sch.ConnectionID)
}

// sweepRemovedSchedules applies retention to the backups of schedules that
// no longer exist, with the policy recorded on their newest backup (the
// schedule's last policy). Backups made before policies were recorded are
// kept. Without new backups a count policy deletes nothing more; time rules
// (keep_within) go on ageing backups out, never the newest successful one.
func (e *Engine) sweepRemovedSchedules(ctx context.Context) {
	e.retMu.Lock()
	defer e.retMu.Unlock()
	var all []state.Backup
	exists := map[string]bool{}
	loc := time.UTC
	err := e.store.View(func(tx *state.Tx) error {
		schedules, err := state.List[state.Schedule](tx)
		if err != nil {
			return err
		}
		for _, s := range schedules {
			exists[s.ID] = true
		}
		if all, err = tx.ListBackups(state.BackupQuery{}); err != nil {
			return err
		}
		s, err := tx.Settings()
		loc = s.Timezone()
		return err
	})
	if err != nil {
		e.log.Error("retention: list backups of removed schedules", "err", err)
		return
	}
	groups := map[string][]state.Backup{} // newest first, as listed
	for _, b := range all {
		if b.ScheduleID != "" && !exists[b.ScheduleID] {
			groups[b.ScheduleID] = append(groups[b.ScheduleID], b)
		}
	}
	conns := map[string]bool{} // whose archives follow their backups
	for id, bs := range groups {
		if ctx.Err() != nil {
			return
		}
		i := slices.IndexFunc(bs, func(b state.Backup) bool { return b.Retention != nil })
		if i < 0 {
			continue // no recorded policy: kept
		}
		e.retain(ctx, id, bs[i].ScheduleName+" (removed)", recordedPolicies(*bs[i].Retention), bs, loc)
		conns[bs[i].ConnectionID] = true
	}
	for id := range conns {
		e.retainArchives(ctx, id)
	}
}

// retain applies retention to one schedule's backups, on each destination
// separately (retention_copies.go): every destination holding copies of
// them keeps what its own policy keeps, and a backup's record goes when its
// last stored copy does. Called with retMu held.
func (e *Engine) retain(ctx context.Context, scheduleID, name string, policyOf policyFunc, backups []state.Backup, loc *time.Location) {
	byID := make(map[string]state.Backup, len(backups))
	for _, b := range backups {
		byID[b.ID] = b
	}
	failed := map[string]bool{}
	for _, dest := range destinationsOf(backups) {
		policy, ok := policyOf(dest, backups)
		if !ok {
			continue // no policy known for this destination: everything on it is kept
		}
		in := destinationInput(dest, backups)
		res := retention.Apply(scheduleID, in, retention.Policy{
			RetentionFull: policy.Full, RetentionIncr: policy.Incr,
			KeepDaily: policy.Daily, KeepWeekly: policy.Weekly, KeepMonthly: policy.Monthly, KeepYearly: policy.Yearly,
			KeepWithin: time.Duration(policy.Within), Location: loc,
		}, e.now())
		for _, d := range res.Delete {
			b := byID[d.ID]
			reason := strings.Join(d.Reasons, "; ")
			where := e.providerName(dest)
			err := e.deleteReplica(ctx, b.ID, dest)
			switch {
			case errors.Is(err, errCopyLocked):
				e.log.Info("retention: copy kept until its object lock expires", "schedule", name, "backup", b.ID,
					"provider", where, "reason", reason)
				continue
			case err != nil:
				failed[b.ID] = true
				e.metrics.retentionFail.Inc()
				e.log.Error("retention: delete failed; will retry at the next run", "schedule", name,
					"backup", b.ID, "provider", where, "created_at", b.CreatedAt, "reason", reason, "err", err)
				e.noteRetentionError(b.ID, err)
				continue
			}
			e.metrics.retentionDel.Inc()
			e.log.Info("retention: deleted backup copy", "schedule", name, "backup", b.ID, "provider", where,
				"created_at", b.CreatedAt, "reason", reason)
		}
	}
	for _, b := range backups {
		if b.RetentionError != "" && !failed[b.ID] {
			e.clearRetentionError(b.ID) // nothing failed this time
		}
	}
	e.refreshCopies()
}

func (e *Engine) retentionInput(scheduleID string) ([]state.Backup, *time.Location, error) {
	var backups []state.Backup
	loc := time.UTC
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		backups, err = tx.ListBackups(state.BackupQuery{ScheduleID: scheduleID})
		if err != nil {
			return err
		}
		s, err := tx.Settings()
		loc = s.Timezone()
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return backups, loc, nil
}

// retentionStatus is the status the policy sees: a backup being verified is
// "verifying" whatever its backup status.
func retentionStatus(b state.Backup) string {
	if b.VerifyStatus == state.VerifyVerifying {
		return retention.StatusVerifying
	}
	return b.Status
}

func (e *Engine) noteRetentionError(id string, cause error) {
	msg := fmt.Sprintf("%s: retention could not delete this backup (retried at the next run): %v",
		e.now().UTC().Format(time.RFC3339), cause)
	e.updateRetentionError(id, msg)
}

func (e *Engine) clearRetentionError(id string) { e.updateRetentionError(id, "") }

func (e *Engine) updateRetentionError(id, msg string) {
	err := e.store.Update(func(tx *state.Tx) error {
		b, err := state.Get[state.Backup](tx, id)
		if err != nil {
			return err
		}
		b.RetentionError = msg
		return state.Put(tx, b)
	})
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		e.log.Warn("retention: note error on backup", "backup", id, "err", err)
	}
}

// deleteBackup removes a backup's objects and manifests on every
// destination holding a copy, then its record. A missing object or record
// counts as deleted, so a retried deletion finishes what an earlier attempt
// started. When a copy's storage provider is gone, its object cannot be
// reached: with forgetUnreachable (an operator's explicit delete) the log
// names the object left behind and the deletion goes on; otherwise it is an
// error, retried.
func (e *Engine) deleteBackup(ctx context.Context, b state.Backup, forgetUnreachable bool) error {
	if err := e.store.Writable(); err != nil {
		// The record could not be removed after the object: keep both.
		return fmt.Errorf("backup %s kept: %w", b.ID, err)
	}
	if b.StoragePath != "" {
		for _, r := range b.Copies() {
			err := e.deleteObjects(ctx, b, r)
			switch {
			case errors.Is(err, state.ErrNotFound) && forgetUnreachable:
				e.log.Warn("backup deleted without its object: its storage provider no longer exists",
					"backup", b.ID, "provider_id", r.ProviderID, "object", r.StoragePath)
			case err != nil:
				return err
			}
		}
	}
	return e.deleteRecord(b)
}

func (e *Engine) deleteRecord(b state.Backup) error {
	err := e.store.Update(func(tx *state.Tx) error { return state.Delete[state.Backup](tx, b.ID) })
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("delete record: %w", err)
	}
	e.refreshStorageBytes()
	return nil
}

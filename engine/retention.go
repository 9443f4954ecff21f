package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/retention"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// applyRetention deletes the schedule's backups that its policy no longer
// keeps (engine/retention decides; it never picks the newest successful
// backup, a queued, running or verifying one, or a full that a kept
// incremental needs). Only backups owned by the schedule are considered, so
// one-shot backups stay. The object and manifest go first, then the record;
// a failed deletion is logged, counted and noted on the record
// (RetentionError), and retried at the next run because the record stays.
// Passes are serialised, so two runs never delete the same backup.
func (e *Engine) applyRetention(ctx context.Context, sch state.Schedule) {
	e.retMu.Lock()
	defer e.retMu.Unlock()
	backups, loc, err := e.retentionInput(sch.ID)
	if err != nil {
		e.log.Error("retention: list backups", "schedule", sch.Name, "err", err)
		return
	}
	e.retain(ctx, sch.ID, sch.Name, sch.Retention(), backups, loc)
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
	for id, bs := range groups {
		if ctx.Err() != nil {
			return
		}
		i := slices.IndexFunc(bs, func(b state.Backup) bool { return b.Retention != nil })
		if i < 0 {
			continue // no recorded policy: kept
		}
		e.retain(ctx, id, bs[i].ScheduleName+" (removed)", *bs[i].Retention, bs, loc)
	}
}

// retain deletes what policy does not keep of one schedule's backups.
// Called with retMu held.
func (e *Engine) retain(ctx context.Context, scheduleID, name string, policy state.RetentionPolicy, backups []state.Backup, loc *time.Location) {
	in := make([]retention.Backup, 0, len(backups))
	byID := make(map[string]state.Backup, len(backups))
	for _, b := range backups {
		in = append(in, retention.Backup{ID: b.ID, ScheduleID: b.ScheduleID, Type: b.BackupType,
			Status: retentionStatus(b), CreatedAt: b.CreatedAt, ParentID: b.ParentID})
		byID[b.ID] = b
	}
	res := retention.Apply(scheduleID, in, retention.Policy{
		RetentionFull: policy.Full, RetentionIncr: policy.Incr,
		KeepDaily: policy.Daily, KeepWeekly: policy.Weekly, KeepMonthly: policy.Monthly, KeepYearly: policy.Yearly,
		KeepWithin: time.Duration(policy.Within), Location: loc,
	}, e.now())
	for _, d := range res.Delete {
		b := byID[d.ID]
		reason := strings.Join(d.Reasons, "; ")
		if err := e.deleteBackup(ctx, b, false); err != nil {
			if errors.Is(err, storage.ErrLocked) {
				// Object Lock: not a failure; the next run after the date deletes it.
				e.log.Info("retention: backup kept: its object is locked", "schedule", name,
					"backup", b.ID, "created_at", b.CreatedAt, "reason", reason, "err", err)
				continue
			}
			e.metrics.retentionFail.Inc()
			e.log.Error("retention: delete failed; will retry at the next run", "schedule", name,
				"backup", b.ID, "created_at", b.CreatedAt, "reason", reason, "err", err)
			e.noteRetentionError(b.ID, err)
			continue
		}
		e.metrics.retentionDel.Inc()
		e.log.Info("retention: deleted backup", "schedule", name, "backup", b.ID, "created_at", b.CreatedAt, "reason", reason)
	}
	for _, d := range res.Keep {
		if byID[d.ID].RetentionError != "" {
			e.clearRetentionError(d.ID) // the policy keeps it now
		}
	}
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

// deleteBackup removes a backup's object and manifest, then its record. A
// missing object or record counts as deleted, so a retried deletion
// finishes what an earlier attempt started. When the backup's storage
// provider is gone, its object cannot be reached: with forgetUnreachable
// (an operator's explicit delete) only the record goes, and the log names
// the object left behind; otherwise (retention) it is an error, retried.
func (e *Engine) deleteBackup(ctx context.Context, b state.Backup, forgetUnreachable bool) error {
	if err := e.store.Writable(); err != nil {
		// The record could not be removed after the object: keep both.
		return fmt.Errorf("backup %s kept: %w", b.ID, err)
	}
	if b.StoragePath != "" && b.StorageProviderID != "" {
		var p state.Provider
		err := e.store.View(func(tx *state.Tx) error {
			var err error
			p, err = state.Get[state.Provider](tx, b.StorageProviderID)
			return err
		})
		switch {
		case errors.Is(err, state.ErrNotFound) && forgetUnreachable:
			e.log.Warn("backup deleted without its object: its storage provider no longer exists",
				"backup", b.ID, "provider_id", b.StorageProviderID, "object", b.StoragePath)
			return e.deleteRecord(b)
		case err != nil:
			return fmt.Errorf("storage provider of backup %s: %w", b.ID, err)
		}
		st, err := e.stores.open(p)
		if err != nil {
			return fmt.Errorf("open storage provider %q: %w", p.Name, err)
		}
		for _, k := range []string{b.StoragePath, b.StoragePath + objfmt.ManifestSuffix} {
			if err := st.Delete(ctx, k); err != nil {
				return fmt.Errorf("delete %s: %w", k, err)
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

package engine

import (
	"context"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/schedule"
	"github.com/jagad/jagad/state"
)

// Crash recovery at start (Engine.Start): jobs a crash left queued or
// running are failed and their leftovers removed. Not to be confused with
// the offline restore of disaster recovery (restore_offline.go).

// recoverInterrupted marks jobs that a crash interrupted as failed and
// removes what they may have left in storage: their object, if the upload
// completed before the crash, and the incomplete upload of their key.
func (e *Engine) recoverInterrupted(ctx context.Context) error {
	var stale []state.Backup
	var restores []state.Restore
	err := e.store.View(func(tx *state.Tx) error {
		all, err := tx.ListBackups(state.BackupQuery{})
		if err != nil {
			return err
		}
		for _, b := range all {
			if b.Status == state.StatusQueued || b.Status == state.StatusRunning || b.VerifyStatus == state.VerifyVerifying {
				stale = append(stale, b)
			}
		}
		rs, err := state.List[state.Restore](tx)
		for _, r := range rs {
			if r.Status == state.StatusRunning {
				restores = append(restores, r)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	now := e.now().UTC()
	partial := map[string][]string{} // provider id → object keys of interrupted uploads
	for _, b := range stale {
		if b.Status == state.StatusQueued || b.Status == state.StatusRunning {
			e.removeObject(b)
			b.Status = state.StatusFailed
			b.CompletedAt = &now
			b.LogOutput += crashedBackupLine
			failAllReplicas(&b, "the daemon stopped while this backup was in progress; nothing is kept on this destination")
			if b.StoragePath != "" {
				for _, r := range b.Copies() {
					partial[r.ProviderID] = append(partial[r.ProviderID], b.StoragePath)
				}
			}
			e.log.Warn("backup interrupted by a crash marked failed", "backup", b.ID, "schedule", b.ScheduleName)
		} else {
			b.VerifyStatus = state.VerifyFailed
			b.LogOutput += "RECOVERY: the daemon stopped during verification; verification marked failed (the backup itself is unchanged)\n"
		}
		if err := e.store.Update(func(tx *state.Tx) error { return state.Put(tx, b) }); err != nil {
			return err
		}
		if b.Status == state.StatusFailed {
			// Counted and notified like any failed backup: an operator
			// hears that the crash cost a backup. Notifying must not hold
			// up the start when a notification target is down.
			e.metrics.observeBackup(b)
			e.goJob(func(context.Context) { e.afterBackup(b) })
		}
	}
	for _, r := range restores {
		r.Status = state.StatusFailed
		r.CompletedAt = &now
		r.LogOutput += "RECOVERY: the daemon stopped during this restore; marked failed at start-up\n"
		if r.DropExisting && !r.Drill {
			r.LogOutput += "RECOVERY: drop_existing restores into a temporary database that replaces the target only at the end; " +
				"the target holds its previous content (or the restored one, if the swap had completed), and the temporary database is removed at start-up\n"
		}
		if err := e.store.Update(func(tx *state.Tx) error { return state.Put(tx, r) }); err != nil {
			return err
		}
		if r.Drill {
			e.goJob(func(ctx context.Context) { e.dropInterruptedDrill(ctx, r) })
		} else if r.DropExisting {
			e.goJob(func(ctx context.Context) { e.dropInterruptedSwap(ctx, r) })
		}
	}
	e.cleanupUploads(ctx, partial)
	// A daemon killed while a dump or restore tool ran leaves the tool's
	// private credentials dir behind; remove those of dead processes.
	if n, err := dump.SweepStaleCredentials(); err != nil {
		e.log.Warn("remove stale credentials dirs", "err", err)
	} else if n > 0 {
		e.log.Warn("removed credentials dirs left by an interrupted job", "count", n)
	}
	return nil
}

// dropInterruptedDrill drops the throwaway database of a drill that a crash
// interrupted (best effort: the server may be down; a later drill of the
// same backup drops it too).
func (e *Engine) dropInterruptedDrill(ctx context.Context, r state.Restore) {
	if !strings.HasPrefix(r.TargetDatabase, drillPrefix) {
		return
	}
	var c state.Connection
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		c, err = state.Get[state.Connection](tx, r.TargetConnection)
		return err
	})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := dbclient.DropDatabase(ctx, connTarget(c, ""), r.TargetDatabase); err != nil {
		e.log.Warn("drop database of an interrupted restore drill", "database", r.TargetDatabase, "connection", c.Name, "err", err)
		return
	}
	e.log.Info("dropped database of an interrupted restore drill", "database", r.TargetDatabase, "connection", c.Name)
}

// cleanupUploads removes the leftovers (local temp files, S3 incomplete
// multipart uploads) of the interrupted uploads of keys, per provider. It
// targets exactly those keys: another daemon writing to the same bucket or
// directory keeps its own uploads in flight.
func (e *Engine) cleanupUploads(ctx context.Context, keys map[string][]string) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for id, ks := range keys {
		var p state.Provider
		err := e.store.View(func(tx *state.Tx) (err error) { p, err = state.Get[state.Provider](tx, id); return err })
		if err != nil {
			continue // provider removed meanwhile: nothing to reach
		}
		st, err := e.stores.open(p)
		if err != nil {
			e.log.Warn("clean up interrupted uploads", "provider", p.Name, "err", err)
			continue
		}
		for _, k := range ks {
			if err := st.Cleanup(ctx, k); err != nil {
				e.log.Warn("clean up interrupted upload", "provider", p.Name, "key", k, "err", err)
			}
		}
	}
}

// crashedBackupLine ends the log of a backup that was running when the
// daemon stopped (marked failed at the next start).
const crashedBackupLine = "RECOVERY: the daemon stopped while this backup was in progress; marked failed at start-up and its partial object removed\n"

// Interrupted reports whether a backup failed because its run was cut
// short rather than by its own fault: cut off when its cluster claim was
// lost (schedule.ErrClaimLost), or running when the daemon stopped. Such a
// slot did not really run; a cluster's catch-up runs it again.
func Interrupted(b state.Backup) bool {
	return b.Status == state.StatusFailed &&
		(strings.Contains(b.LogOutput, claimLostClause) || strings.Contains(b.LogOutput, crashedBackupLine))
}

// claimLostClause is the part of schedule.ErrClaimLost's message that
// records made by every version carry (the explanation after it may be
// reworded).
var claimLostClause, _, _ = strings.Cut(schedule.ErrClaimLost.Error(), " (")

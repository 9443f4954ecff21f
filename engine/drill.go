package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/state"
)

// A restore drill proves that a schedule's backups restore: a schedule with
// restore_test {connection, every: N} restores its first successful backup
// and then every Nth one into a throwaway database jagad_drill_<short id>
// on that connection, compares table and row counts with those captured at
// backup time, and always drops the database again. A drill is recorded as
// a restore with drill=true, metered in jagad_restore_drills_total{result},
// and a failed drill sends verify.failed.
//
// "Every Nth" is counted on the schedule's backups that are still recorded:
// a drill is due when none of the N-1 successful backups before this one was
// drilled. When retention keeps fewer than N backups, drills therefore come
// more often than every N, never less.

const drillPrefix = "jagad_drill_"

// maxDrillMismatches bounds the mismatches listed in a drill's error.
const maxDrillMismatches = 10

// maybeDrill runs a schedule's restore drill when it is due.
func (e *Engine) maybeDrill(ctx context.Context, sch state.Schedule, b state.Backup) {
	rt := sch.RestoreTest
	if rt == nil || rt.ConnectionID == "" || b.Status != state.StatusSuccess {
		return
	}
	due, err := e.drillDue(sch.ID, b.ID, max(rt.Every, 1))
	if err != nil {
		e.log.Error("restore drill: check whether due", "schedule", sch.Name, "err", err)
		return
	}
	if due {
		e.runDrill(ctx, sch, b, rt.ConnectionID)
	}
}

// drillDue reports whether none of the every-1 successful backups of the
// schedule before backupID was drilled.
func (e *Engine) drillDue(scheduleID, backupID string, every int) (bool, error) {
	due := true
	err := e.store.View(func(tx *state.Tx) error {
		backups, err := tx.ListBackups(state.BackupQuery{ScheduleID: scheduleID})
		if err != nil {
			return err
		}
		var prev []string
		for _, b := range backups { // newest first
			if b.ID != backupID && b.Status == state.StatusSuccess && len(prev) < every-1 {
				prev = append(prev, b.ID)
			}
		}
		restores, err := state.List[state.Restore](tx)
		for _, r := range restores {
			if r.Drill && slices.Contains(prev, r.BackupID) {
				due = false
			}
		}
		return err
	})
	return due, err
}

// drillDatabase is the throwaway database of a backup's drill.
func drillDatabase(backupID string) string {
	id := backupID[strings.IndexByte(backupID, '_')+1:]
	return drillPrefix + strings.ToLower(id[:min(len(id), 12)])
}

// runDrill restores b into a throwaway database, compares the row counts
// and drops the database, then records and meters the drill.
func (e *Engine) runDrill(ctx context.Context, sch state.Schedule, b state.Backup, connID string) {
	now := e.now().UTC()
	rec := state.Restore{ID: state.NewID(state.KindRestore), BackupID: b.ID, TargetConnection: connID,
		TargetDatabase: drillDatabase(b.ID), DropExisting: true, Drill: true, Status: state.StatusRunning,
		StartedAt: &now, CreatedAt: now}
	if err := e.store.Update(func(tx *state.Tx) error { return state.Put(tx, rec) }); err != nil {
		e.log.Error("restore drill: record", "schedule", sch.Name, "err", err)
		return
	}
	p, err := e.drillPlan(b, connID, rec.TargetDatabase)
	e.progress.endRun(b.ID) // the backup's own run is done but for this drill
	p.progress = e.trackDrill(rec, b, sch.Name)
	defer e.progress.remove(rec.ID)
	log := newJobLog(e.now, p.secrets()...)
	log.Printf("DRILL: schedule %s, backup %s into throwaway database %s", sch.Name, b.ID, rec.TargetDatabase)
	ctx, cancel := context.WithTimeout(ctx, e.opts.DefaultTimeout)
	defer cancel()
	var counted drillCount
	if err == nil {
		if err = e.slots.acquire(ctx); err != nil {
			log.Printf("QUEUE: gave up waiting for a slot: %v", err)
		} else {
			counted, err = e.drill(ctx, p, log)
			e.slots.release()
		}
	}
	rec = e.finishRestore(rec, log, err)
	e.recordDrill(b, rec, counted, log, err)
	result := "passed"
	if err != nil {
		result = "failed"
	}
	e.metrics.drills.WithLabelValues(result).Inc()
	if err == nil {
		e.log.Info("restore drill passed", "schedule", sch.Name, "backup", b.ID, "restore", rec.ID)
		return
	}
	msg := log.scrub(err.Error())
	e.log.Error("restore drill failed", "schedule", sch.Name, "backup", b.ID, "restore", rec.ID, "err", msg)
	ev := backupEvent(notify.KindVerifyFailed, b)
	ev.Status, ev.Error, ev.Log = state.StatusFailed, "restore drill failed: "+msg, rec.LogOutput
	var listed []string
	if b.NotifyOnFailure {
		listed = b.NotifTargetIDs
	}
	e.dispatch(ev, listed)
}

// drillPlan resolves a drill's connection and the backup's provider.
func (e *Engine) drillPlan(b state.Backup, connID, database string) (restorePlan, error) {
	p := restorePlan{backup: b, database: database}
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		if p.conn, err = state.Get[state.Connection](tx, connID); err != nil {
			return fmt.Errorf("drill connection %s: %w", connID, err)
		}
		if p.sources, err = restoreSources(tx, b); err != nil {
			return fmt.Errorf("storage provider of backup %s: %w", b.ID, err)
		}
		p.provider = p.sources[0].provider
		return nil
	})
	if err == nil && p.conn.DBType != b.DBType {
		err = fmt.Errorf("drill connection %q is %s, the backup is %s", p.conn.Name, p.conn.DBType, b.DBType)
	}
	return p, err
}

// drill is the work of a drill; the database is dropped whatever happens.
// It returns what it counted in the restored database.
func (e *Engine) drill(ctx context.Context, p restorePlan, log *jobLog) (n drillCount, err error) {
	b, database := p.backup, p.database
	if isPGPhysical(b) {
		return e.drillPGPhysical(ctx, p, log) // restore_pgphysical.go
	}
	if isPhysical(b.BackupType) {
		return e.drillPhysical(ctx, b, log) // restore_physical.go
	}
	target := connTarget(p.conn, database)
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if derr := dbclient.DropDatabase(cctx, target, database); derr != nil {
			log.Printf("DRILL: could not drop %s: %v", database, derr)
			err = errors.Join(err, fmt.Errorf("drop drill database: %w", derr))
			return
		}
		log.Printf("DRILL: dropped database %s", database)
	}()
	// Single pass: the target is throwaway, and a corrupt object fails the
	// drill all the same.
	if err := e.restoreNow(ctx, p, false, true, log); err != nil {
		return n, err
	}
	if p.progress != nil {
		p.progress.setPhase(PhaseCheck)
	}
	got, err := dbclient.TableCounts(ctx, target, database)
	if err != nil {
		return n, err
	}
	n.counted, n.tables = true, len(got)
	for _, c := range got {
		n.rows += c
	}
	if err := compareCounts(b.Tables, got); err != nil {
		log.Printf("DRILL ERROR: %v", err)
		return n, err
	}
	n.match = true
	log.Printf("DRILL: %d tables, row counts match the backup", len(got))
	return n, nil
}

// compareCounts compares the row counts captured at backup time with the
// restored ones.
func compareCounts(want, got map[string]int64) error {
	var bad []string
	for t, n := range want {
		g, ok := got[t]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("table %s missing (expected %d rows)", t, n))
		case g != n:
			bad = append(bad, fmt.Sprintf("table %s has %d rows, the backup had %d", t, g, n))
		}
	}
	for t := range got {
		if _, ok := want[t]; !ok {
			bad = append(bad, fmt.Sprintf("table %s was not in the backup", t))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	if len(bad) > maxDrillMismatches {
		bad = append(bad[:maxDrillMismatches], fmt.Sprintf("and %d more", len(bad)-maxDrillMismatches))
	}
	return fmt.Errorf("row counts differ from the backup: %s", strings.Join(bad, "; "))
}

package engine

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

// drills returns the drill restores of a backup.
func (h *harness) drills(backupID string) []state.Restore {
	h.t.Helper()
	var out []state.Restore
	err := h.store.View(func(tx *state.Tx) error {
		all, err := state.List[state.Restore](tx)
		for _, r := range all {
			if r.Drill && r.BackupID == backupID {
				out = append(out, r)
			}
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// TestRestoreDrill runs a schedule with restore_test every 1: the drill
// after its backup restores into a throwaway database, passes, is metered and
// drops the database; a drill against a tampered row count fails, notifies
// nothing it should not, and drops the database too.
func TestRestoreDrill(t *testing.T) {
	srv := dbtest.Postgres(t)
	h := newHarness(t)
	h.addLocalProvider("local")
	c := h.addConnection("pg", srv, "")
	drillConn := h.addConnection("drills", srv, "")
	d := h.addDatabase(c, rsSmall(t, srv, "drill", 300))
	now := time.Now().UTC()
	sch := put(h, state.Schedule{Meta: state.Meta{ID: state.NewID(state.KindSchedule), CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: state.ScheduleSpec{Name: "drilled", ConnectionID: c.ID, DatabaseID: d.ID, BackupType: "full",
			CronExpr: "0 3 1 1 *", RetentionFull: 7, Enabled: false,
			RestoreTest: &state.RestoreTest{ConnectionID: drillConn.ID, Every: 1}}})
	if err := h.eng.RunSchedule(context.Background(), sch.ID); err != nil {
		t.Fatal(err)
	}
	var drill state.Restore
	var b state.Backup
	rsWaitFor(t, 2*time.Minute, func() bool {
		var list []state.Backup
		_ = h.store.View(func(tx *state.Tx) (err error) {
			list, err = tx.ListBackups(state.BackupQuery{ScheduleID: sch.ID})
			return err
		})
		if len(list) == 0 {
			return false
		}
		b = list[0]
		ds := h.drills(b.ID)
		if len(ds) == 1 && ds[0].Status != state.StatusRunning {
			drill = ds[0]
			return true
		}
		return b.Status == state.StatusFailed
	})
	if b.Status != state.StatusSuccess || drill.Status != state.StatusSuccess {
		t.Fatalf("backup %s, drill %s:\n%s\n%s", b.Status, drill.Status, b.LogOutput, drill.LogOutput)
	}
	if drill.TargetConnection != drillConn.ID || drill.TargetDatabase != drillDatabase(b.ID) ||
		!strings.HasPrefix(drill.TargetDatabase, "jagad_drill_") || !strings.Contains(drill.LogOutput, "row counts match") {
		t.Errorf("drill record %+v\n%s", drill, drill.LogOutput)
	}
	assertDropped(t, srv, drill.TargetDatabase)
	if n := testutil.ToFloat64(h.eng.metrics.drills.WithLabelValues("passed")); n != 1 {
		t.Errorf("jagad_restore_drills_total{result=passed} = %v, want 1", n)
	}

	tampered := b
	tampered.Tables = maps.Clone(b.Tables)
	tampered.Tables["public.items"]++
	h.eng.maybeDrill(context.Background(), sch, tampered)
	ds := h.drills(b.ID)
	if len(ds) != 2 {
		t.Fatalf("%d drills of %s, want 2", len(ds), b.ID)
	}
	failed := ds[0]
	if failed.ID == drill.ID {
		failed = ds[1]
	}
	if failed.Status != state.StatusFailed || !strings.Contains(failed.LogOutput, "public.items has 300 rows, the backup had 301") ||
		!strings.Contains(failed.LogOutput, "DRILL: dropped database") {
		t.Errorf("tampered drill %s:\n%s", failed.Status, failed.LogOutput)
	}
	assertDropped(t, srv, failed.TargetDatabase)
	if n := testutil.ToFloat64(h.eng.metrics.drills.WithLabelValues("failed")); n != 1 {
		t.Errorf("jagad_restore_drills_total{result=failed} = %v, want 1", n)
	}
	if got := h.backup(b.ID); got.Status != state.StatusSuccess {
		t.Errorf("a failed drill changed the backup's status to %s", got.Status)
	}
}

// rsWaitFor polls cond until it holds or d passes.
func rsWaitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func assertDropped(t *testing.T, srv *dbtest.Server, db string) {
	t.Helper()
	ok, err := dbclient.DatabaseExists(context.Background(), srv.Target(""), db)
	if err != nil || ok {
		t.Errorf("drill database %s still exists (err %v)", db, err)
	}
}

// TestDrillDue checks "every Nth successful backup" against recorded drills.
func TestDrillDue(t *testing.T) {
	h := newHarness(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 6 {
		b := put(h, state.Backup{ID: state.NewID(state.KindBackup), ScheduleID: "sch_x", Status: state.StatusSuccess,
			CreatedAt: base.Add(time.Duration(i) * time.Hour)})
		ids = append(ids, b.ID)
	}
	put(h, state.Backup{ID: state.NewID(state.KindBackup), ScheduleID: "sch_x", Status: state.StatusFailed, CreatedAt: base.Add(90 * time.Minute)})
	drill := func(id string) {
		put(h, state.Restore{ID: state.NewID(state.KindRestore), BackupID: id, Drill: true, Status: state.StatusSuccess, CreatedAt: time.Now()})
	}
	drill(ids[0])
	drill(ids[3])
	tests := []struct {
		latest int
		every  int
		want   bool
	}{
		{5, 1, true},  // every backup
		{5, 2, true},  // ids[4] was not drilled
		{5, 3, false}, // ids[3] was drilled
		{4, 2, false}, // ids[3] was drilled
		{3, 3, true},  // ids[1], ids[2] were not (only backups before the latest count)
		{2, 3, false}, // ids[0] was drilled
	}
	for _, tt := range tests {
		// Backups newer than "latest" would not exist yet; drillDue only
		// looks at backups created before it, so remove them from view.
		got, err := h.eng.drillDueAt(ids[:tt.latest+1], tt.every)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("latest=%d every=%d: due=%t, want %t", tt.latest, tt.every, got, tt.want)
		}
	}
	if got := drillDatabase("bck_0123456789ABCDEFabcd"); got != "jagad_drill_0123456789ab" {
		t.Errorf("drillDatabase = %q", got)
	}
}

// drillDueAt calls drillDue as if ids (oldest first) were the schedule's
// only backups.
func (e *Engine) drillDueAt(ids []string, every int) (bool, error) {
	keep := map[string]bool{}
	for _, id := range ids {
		keep[id] = true
	}
	var hidden []state.Backup
	err := e.store.Update(func(tx *state.Tx) error {
		all, err := tx.ListBackups(state.BackupQuery{ScheduleID: "sch_x"})
		for _, b := range all {
			if !keep[b.ID] && b.Status == state.StatusSuccess {
				hidden = append(hidden, b)
				if err := state.Delete[state.Backup](tx, b.ID); err != nil {
					return err
				}
			}
		}
		return err
	})
	if err != nil {
		return false, err
	}
	defer func() {
		_ = e.store.Update(func(tx *state.Tx) error {
			for _, b := range hidden {
				if err := state.Put(tx, b); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	return e.drillDue("sch_x", ids[len(ids)-1], every)
}

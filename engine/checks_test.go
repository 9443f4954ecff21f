package engine

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

// TestBackupCheckHistory verifies a backup deep, then quick, then drills it
// twice (once against a tampered row count), then corrupts its object and
// verifies again: every check lands in the backup's history, newest first,
// with its mode, result, duration, error and the drill's row-count check.
func TestBackupCheckHistory(t *testing.T) {
	srv := dbtest.Postgres(t)
	kr := rsKeyring(t, "k1", map[string]string{"k1": rsNewKey(t)}, nil)
	h := newHarness(t, withKeyring(kr))
	p := h.addLocalProvider("local")
	c := h.addConnection("pg", srv, "")
	drillConn := h.addConnection("drills", srv, "")
	d := h.addDatabase(c, rsSmall(t, srv, "history", 300))
	b := h.runBackup(c, d, rsEncrypt(true))
	if len(b.Checks) != 0 {
		t.Fatalf("a new backup has checks: %+v", b.Checks)
	}
	ctx := context.Background()

	h.eng.verifyNow(ctx, b.ID, true)
	h.keys = nil // only a quick verification is possible now
	h.eng.verifyNow(ctx, b.ID, true)
	h.keys = kr

	now := time.Now().UTC()
	sch := put(h, state.Schedule{Meta: state.Meta{ID: state.NewID(state.KindSchedule), CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: state.ScheduleSpec{Name: "drilled", ConnectionID: c.ID, DatabaseID: d.ID, BackupType: "full",
			CronExpr: "0 3 1 1 *", RetentionFull: 7, RestoreTest: &state.RestoreTest{ConnectionID: drillConn.ID, Every: 1}}})
	h.eng.runDrill(ctx, sch, h.backup(b.ID), drillConn.ID)
	tampered := h.backup(b.ID)
	tampered.Tables = maps.Clone(tampered.Tables)
	tampered.Tables["public.items"]++
	h.eng.runDrill(ctx, sch, tampered, drillConn.ID)

	rsDamage(t, objectPath(p, b), "flip")
	h.eng.verifyNow(ctx, b.ID, false)

	got := h.backup(b.ID).Checks
	if len(got) != 5 {
		t.Fatalf("%d checks recorded, want 5: %+v", len(got), got)
	}
	// Newest first.
	quickFail, badDrill, drill, quick, deep := got[0], got[1], got[2], got[3], got[4]
	for i := 1; i < len(got); i++ {
		if got[i].At.After(got[i-1].At) {
			t.Errorf("check %d (%s) is newer than check %d", i, got[i].At, i-1)
		}
	}
	if deep.Kind != state.CheckVerify || deep.Mode != VerifyDeep || deep.Result != state.VerifyPassed || deep.Error != "" {
		t.Errorf("deep verify entry: %+v", deep)
	}
	if quick.Kind != state.CheckVerify || quick.Mode != VerifyQuick || quick.Result != state.VerifyPassed {
		t.Errorf("quick verify entry: %+v", quick)
	}
	if deep.DurationMs <= 0 && quick.DurationMs <= 0 {
		t.Errorf("no verify entry has a duration: %+v %+v", deep, quick)
	}
	if drill.Kind != state.CheckDrill || drill.Result != state.VerifyPassed || drill.RowCounts != state.RowCountsMatch ||
		drill.Tables != 1 || drill.Rows != 300 || drill.RestoreID == "" || drill.DurationMs <= 0 {
		t.Errorf("drill entry: %+v", drill)
	}
	if badDrill.Kind != state.CheckDrill || badDrill.Result != state.VerifyFailed || badDrill.RowCounts != state.RowCountsDiffer ||
		!strings.Contains(badDrill.Error, "public.items has 300 rows, the backup had 301") || badDrill.RestoreID == drill.RestoreID {
		t.Errorf("failed drill entry: %+v", badDrill)
	}
	if quickFail.Kind != state.CheckVerify || quickFail.Mode != VerifyQuick || quickFail.Result != state.VerifyFailed || quickFail.Error == "" {
		t.Errorf("failed verify entry: %+v", quickFail)
	}
	for _, r := range []string{drill.RestoreID, badDrill.RestoreID} {
		var rec state.Restore
		if err := h.store.View(func(tx *state.Tx) (err error) { rec, err = state.Get[state.Restore](tx, r); return err }); err != nil || !rec.Drill {
			t.Errorf("drill entry names restore %s: %+v, %v", r, rec, err)
		}
	}
}

// TestDrillProgress holds every slot so a drill waits: it is listed among
// the running jobs as a drill of the backup's object, and leaves the list
// when it ends.
func TestDrillProgress(t *testing.T) {
	srv := dbtest.Postgres(t)
	h := newHarness(t)
	h.addLocalProvider("local")
	c := h.addConnection("pg", srv, "")
	d := h.addDatabase(c, rsSmall(t, srv, "dprog", 200))
	b := h.runBackup(c, d, rsEncrypt(false))
	now := time.Now().UTC()
	sch := put(h, state.Schedule{Meta: state.Meta{ID: state.NewID(state.KindSchedule), CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: state.ScheduleSpec{Name: "drilled", ConnectionID: c.ID, DatabaseID: d.ID, BackupType: "full",
			CronExpr: "0 3 1 1 *", RetentionFull: 7, RestoreTest: &state.RestoreTest{ConnectionID: c.ID, Every: 1}}})
	// The run that made the backup still shows while its drill starts.
	h.eng.trackBackup(b).setPhase(PhaseVerify)
	release := holdSlots(t, h.eng)
	done := make(chan struct{})
	go func() { defer close(done); h.eng.runDrill(context.Background(), sch, b, c.ID) }()
	var p Progress
	rsWaitFor(t, time.Minute, func() bool {
		for _, x := range h.eng.RunningProgress() {
			if x.Kind == "drill" {
				p = x
				return true
			}
		}
		return false
	})
	release()
	if p.Phase != PhaseQueued || p.EstimatedTotalBytes != b.StoredSizeBytes || !strings.Contains(p.Label, "drilled") ||
		!strings.HasPrefix(p.ID, "res_") {
		t.Errorf("drill progress while queued: %+v", p)
	}
	if got, ok := h.eng.Progress(p.ID); !ok || got.Kind != "drill" {
		t.Errorf("Progress(%s) = %+v, %v", p.ID, got, ok)
	}
	if run, ok := h.eng.Progress(b.ID); ok {
		t.Errorf("the backup's finished run still shows while its drill runs: %+v", run)
	}
	<-done
	if _, ok := h.eng.Progress(p.ID); ok {
		t.Error("a finished drill is still in progress")
	}
	if cs := h.backup(b.ID).Checks; len(cs) != 1 || cs[0].RestoreID != p.ID || cs[0].Result != state.VerifyPassed {
		t.Errorf("checks after the drill: %+v", cs)
	}
}

package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// TestRetentionOfRemovedSchedule: a schedule's backups record its policy,
// and after the schedule is removed that policy goes on applying to them;
// backups without a recorded policy, and those of live schedules, are not
// touched by the sweep.
func TestRetentionOfRemovedSchedule(t *testing.T) {
	env := newSchedEnv(t, time.Now().UTC().Truncate(time.Hour), "UTC")
	sc := env.addSchedule("nightly", "30 0 * * *", func(s *state.Schedule) { s.RetentionFull, s.KeepWithin = 1, state.Duration(time.Hour) })
	b, err := env.eng.StartBackup(context.Background(), BackupRequest{ConnectionID: env.conn.ID, DatabaseID: env.db.ID, ScheduleID: sc.ID})
	if err != nil {
		t.Fatal(err)
	}
	env.waitBackups(sc.ID, 1) // done, its retention pass too (the schedule's running flag is clear)
	got := env.backup(b.ID)
	if got.Retention == nil || *got.Retention != sc.Retention() {
		t.Fatalf("backup's recorded policy %+v, want the schedule's %+v", got.Retention, sc.Retention())
	}

	now := env.clk.Now()
	policy := &state.RetentionPolicy{Full: 2}
	group := func(scheduleID string, p *state.RetentionPolicy) []string {
		var ids []string
		for i := range 4 {
			id := fmt.Sprintf("bck_%s_%d", scheduleID, i)
			put(env.harness, state.Backup{ID: id, ScheduleID: scheduleID, ScheduleName: "gone", BackupType: "full",
				Status: state.StatusSuccess, CreatedAt: now.Add(-time.Duration(4-i) * time.Hour), Retention: p})
			ids = append(ids, id)
		}
		return ids
	}
	removed := group("sch_removed000000000001", policy)
	legacy := group("sch_removed000000000002", nil) // made before policies were recorded
	live := group(sc.ID, policy)                    // the live schedule's own retention decides these

	env.eng.sweepRemovedSchedules(context.Background())
	exists := func(id string) bool {
		err := env.store.View(func(tx *state.Tx) error { _, err := state.Get[state.Backup](tx, id); return err })
		return err == nil
	}
	for i, id := range removed {
		if want := i >= 2; exists(id) != want { // the two newest stay
			t.Errorf("removed schedule's backup %d exists=%t, want %t", i, !want, want)
		}
	}
	for _, id := range slices.Concat(legacy, live) {
		if !exists(id) {
			t.Errorf("backup %s was deleted by the sweep", id)
		}
	}
}

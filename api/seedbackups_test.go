package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// seedBackups stores n successful backups of the fixture's database, one
// minute apart, in batches.
func seedBackups(tb testing.TB, st *state.Store, f fixture, n int) {
	tb.Helper()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += 500 {
		err := st.Update(func(tx *state.Tx) error {
			for i := start; i < min(n, start+500); i++ {
				at := base.Add(time.Duration(i) * time.Minute)
				b := state.Backup{ID: fmt.Sprintf("bck_%020d", i), ConnectionID: f.conn, DatabaseID: f.db,
					ScheduleID: f.sched, BackupType: "full", Status: state.StatusSuccess, SizeBytes: 1000,
					StoragePath: fmt.Sprintf("backups/prod-pg/myapp/bck_%d.pgdump", i), LogOutput: "BACKUP: ok\n",
					StartedAt: &at, CompletedAt: &at, CreatedAt: at}
				if err := state.Put(tx, b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("seed backups: %v", err)
		}
	}
}

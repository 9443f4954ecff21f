package engine

import (
	"context"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

// TestRecoveryDropsInterruptedDrillDatabase: a drill left running by a crash
// is marked failed at start-up and its throwaway database is dropped.
func TestRecoveryDropsInterruptedDrillDatabase(t *testing.T) {
	srv := dbtest.Postgres(t)
	h := newHarness(t)
	c := h.addConnection("pg", srv, "")
	name := drillPrefix + "crashtest01"
	ctx := context.Background()
	if err := dbclient.CreateDatabase(ctx, srv.Target(""), name); err != nil {
		t.Fatalf("create drill db: %v", err)
	}
	t.Cleanup(func() { _ = dbclient.DropDatabase(ctx, srv.Target(""), name) })
	now := time.Now().UTC()
	r := put(h, state.Restore{ID: state.NewID(state.KindRestore), BackupID: "bck_gone", TargetConnection: c.ID,
		TargetDatabase: name, Drill: true, Status: state.StatusRunning, StartedAt: &now, CreatedAt: now})

	// A second engine on the same store plays the daemon after the crash.
	o := h.opts
	o.Registerer = nil
	eng, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := eng.Shutdown(sctx); err != nil { // waits for the drop job
		t.Fatal(err)
	}
	var got state.Restore
	_ = h.store.View(func(tx *state.Tx) error { got, _ = state.Get[state.Restore](tx, r.ID); return nil })
	if got.Status != state.StatusFailed {
		t.Errorf("restore status %q, want failed", got.Status)
	}
	exists, err := dbclient.DatabaseExists(ctx, srv.Target(""), name)
	if err != nil || exists {
		t.Fatalf("drill database still exists (%v, %v)", exists, err)
	}
}

package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

// TestLearnerRecordsOtherMembersBackups: two engines with their own
// stores share a storage (as two members of a group on one jagad.yaml):
// a backup made by one is recorded by the other's learner from its
// manifest, once, with its schedule's last-success gauge, and the maker's
// own learner adds nothing.
func TestLearnerRecordsOtherMembersBackups(t *testing.T) {
	srv := dbtest.Postgres(t)
	a, b := newHarness(t), newHarness(t)
	prov := a.addLocalProvider("shared")
	put(b, prov) // the same record on both, as file-managed records are
	conn := a.addConnection("pg", srv, "")
	put(b, conn)
	db := a.addDatabase(conn, srv.CreateDB(t, "learn"))
	put(b, db)

	made := a.runBackup(conn, db, nil)
	if made.Status != state.StatusSuccess {
		t.Fatalf("backup on a: %s", made.Status)
	}
	ctx := context.Background()
	if n, err := a.eng.NewLearner().Pass(ctx); err != nil || n != 0 {
		t.Fatalf("a's learner on its own backup: added %d, %v; want 0", n, err)
	}
	lb := b.eng.NewLearner()
	n, err := lb.Pass(ctx)
	if err != nil || n != 1 {
		t.Fatalf("b's learner: added %d, %v; want 1", n, err)
	}
	got := b.backup(made.ID)
	if got.Status != state.StatusSuccess || got.StoragePath != made.StoragePath || got.StorageProviderID != prov.ID ||
		got.Checksum != made.Checksum || !strings.HasPrefix(got.LogOutput, "CLUSTER: record learned from") {
		t.Errorf("learned record: %+v", got)
	}
	if n, err := lb.Pass(ctx); err != nil || n != 0 {
		t.Errorf("second pass: added %d, %v; want 0", n, err)
	}

	// a deletes the backup (object, manifest, record): b's next pass drops
	// its record too.
	if err := a.eng.DeleteBackup(ctx, made.ID); err != nil {
		t.Fatalf("delete on a: %v", err)
	}
	if _, err := lb.Pass(ctx); err != nil {
		t.Fatalf("pass after the deletion: %v", err)
	}
	err = b.store.View(func(tx *state.Tx) error {
		_, err := state.Get[state.Backup](tx, made.ID)
		return err
	})
	if !errors.Is(err, state.ErrNotFound) {
		t.Errorf("b still has the record of a deleted backup: %v", err)
	}
}

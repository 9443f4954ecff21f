package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// TestRetentionKeepsLockedBackups (versitygw, a bucket with Object Lock):
// a backup whose object is locked is kept by retention without a failure
// (no counter, no error on the record, nothing deleted, the record stays);
// an unlocked one of the same schedule is deleted as before.
func TestRetentionKeepsLockedBackups(t *testing.T) {
	h := newHarness(t)
	cfg := s3test.AddBucket(t, s3test.StartVersity(t), "jagad-locked", true)
	prov := h.addS3Provider("vault", cfg)
	prov.ObjectLock = state.ObjectLock{Mode: "governance", Days: 2}
	put(h, prov)
	locked, err := storage.Open(providerConfig(prov))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := storage.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sch := state.Schedule{Meta: state.Meta{ID: "sch_locked00000000000001"},
		ScheduleSpec: state.ScheduleSpec{Name: "nightly", RetentionFull: 1}}
	now := time.Now().UTC()
	var ids []string
	for i := range 3 {
		id := fmt.Sprintf("bck_locked%d", i)
		key := "backups/" + id + ".dump"
		st := plain
		if i == 0 {
			st = locked // the oldest is locked; the middle one is not; the newest is kept by the policy
		}
		for _, k := range []string{key, key + objfmt.ManifestSuffix} {
			if _, err := st.Put(ctx, k, strings.NewReader("backup "+id)); err != nil {
				t.Fatal(err)
			}
		}
		put(h, state.Backup{ID: id, ScheduleID: sch.ID, ScheduleName: sch.Name, BackupType: "full",
			Status: state.StatusSuccess, StorageProviderID: prov.ID, StoragePath: key,
			CreatedAt: now.Add(-time.Duration(3-i) * time.Hour)})
		ids = append(ids, id)
	}
	h.eng.applyRetention(ctx, sch)

	if b, err := h.eng.getBackup(ids[0]); err != nil || b.RetentionError != "" {
		t.Fatalf("locked backup: %+v, %v; want kept without a retention error", b, err)
	}
	if _, err := plain.Stat(ctx, "backups/"+ids[0]+".dump"); err != nil {
		t.Fatalf("the locked object: %v", err)
	}
	if _, err := h.eng.getBackup(ids[1]); err == nil {
		t.Fatal("the unlocked backup outlived retention_full 1")
	}
	if _, err := plain.Stat(ctx, "backups/"+ids[1]+".dump"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the unlocked object: %v, want deleted", err)
	}
	if _, err := h.eng.getBackup(ids[2]); err != nil {
		t.Fatalf("the newest backup: %v", err)
	}
	if got := metric(t, h.reg, "jagad_retention_failures_total", nil); got != 0 {
		t.Fatalf("retention failures = %v, want 0", got)
	}
	if got := metric(t, h.reg, "jagad_retention_deleted_total", nil); got != 1 {
		t.Fatalf("retention deleted = %v, want 1", got)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "retention: copy kept until its object lock expires") || !strings.Contains(logs, ids[0]) {
		t.Fatalf("the kept locked backup was not logged:\n%s", logs)
	}
	// Deleting the locked backup by hand is a conflict (409) naming the lock,
	// not a server error, and the record stays.
	err = h.eng.DeleteBackup(ctx, ids[0])
	if fault.CodeOf(err) != fault.CodeConflict || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("DeleteBackup of a locked backup = %v (code %v), want a conflict naming the lock", err, fault.CodeOf(err))
	}
	if _, err := h.eng.getBackup(ids[0]); err != nil {
		t.Fatalf("the locked backup's record after a refused delete: %v", err)
	}
}

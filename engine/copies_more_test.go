package engine

import (
	"context"
	"io"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/logbuf"
)

// TestCopiesRetentionPerDestination: the local primary keeps 2, the bucket
// copy keeps 5, over 6 runs; a record goes only with its last copy, and
// the records whose primary copy is gone keep their bucket copy.
func TestCopiesRetentionPerDestination(t *testing.T) {
	c := newCopiesEnv(t, 0)
	sc := c.addSchedule("keep", c.local, func(s *state.Schedule) { s.RetentionFull = 2 },
		state.CopyTarget{StorageProviderID: c.fake.ID, RetentionFull: 5})
	var runs []state.Backup
	for range 6 {
		b := c.runNow(sc)
		if b.Status != state.StatusSuccess {
			t.Fatalf("run %d: %s\n%s", len(runs)+1, b.Status, b.LogOutput)
		}
		runs = append(runs, b)
	}
	if c.hasBackup(runs[0].ID) {
		t.Fatal("run 1 kept: its copies are gone from both destinations")
	}
	onLocal, onFake := 0, 0
	for i, b := range runs[1:] {
		cur := c.backup(b.ID)
		_, local := cur.Replica(c.local.ID)
		_, fake := cur.Replica(c.fake.ID)
		wantLocal := i+1 >= 4 // runs 5 and 6
		if local != wantLocal || !fake {
			t.Errorf("run %d: local copy %v (want %v), bucket copy %v (want true): %+v", i+2, local, wantLocal, fake, cur.Replicas)
		}
		if local {
			onLocal++
		}
		if fake {
			onFake++
		}
		assertFiles(t, wantLocal, objectFiles(c.local, b)...)
	}
	if onLocal != 2 || onFake != 5 {
		t.Errorf("copies: %d local (want 2), %d bucket (want 5)", onLocal, onFake)
	}
	assertFiles(t, false, objectFiles(c.local, runs[0])...)
	if _, err := c.storeFor(c.fake).Stat(testCtx(t), runs[0].StoragePath); err == nil {
		t.Error("run 1's bucket copy outlived retention_full 5")
	}
	if _, err := c.storeFor(c.fake).Stat(testCtx(t), runs[1].StoragePath); err != nil {
		t.Errorf("run 2's bucket copy: %v", err)
	}
	if got := c.copiesMetric(c.local, "success"); got != 2 {
		t.Errorf("jagad_backup_copies{local,success} = %v, want 2", got)
	}
	if got := c.copiesMetric(c.fake, "success"); got != 5 {
		t.Errorf("jagad_backup_copies{fake,success} = %v, want 5", got)
	}
	// A backup whose primary is gone restores from its bucket copy.
	target := c.srv.CreateDB(t, "from_bucket")
	r := c.restore(runs[1].ID, RestoreRequest{TargetDatabase: target, DropExisting: true})
	if r.Status != state.StatusSuccess || !strings.Contains(r.LogOutput, "restoring from the copy on fake (copy)") {
		t.Fatalf("restore of run 2: %s\n%s", r.Status, r.LogOutput)
	}
}

// TestCopiesRestoreFallsBackFromCorruptPrimary: the primary object is
// corrupted; the restore finds it out in pass 1 without touching the target,
// falls back to the bucket copy, says so, and the restored database's
// content fingerprint is the source's. A download falls back too (the
// primary's size no longer matches). Verification marks the corrupt copy
// failed and repair brings it back from the healthy one.
func TestCopiesRestoreFallsBackFromCorruptPrimary(t *testing.T) {
	c := newCopiesEnv(t, 0)
	sc := c.addSchedule("fallback", c.local, nil, state.CopyTarget{StorageProviderID: c.fake.ID})
	b := c.runNow(sc)
	if b.Status != state.StatusSuccess {
		t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
	}
	obj := objectFiles(c.local, b)[0]
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(obj, data, 0o600); err != nil {
		t.Fatal(err)
	}

	target := c.srv.CreateDB(t, "fallback_target")
	r := c.restore(b.ID, RestoreRequest{TargetDatabase: target, DropExisting: true})
	if r.Status != state.StatusSuccess {
		t.Fatalf("restore %s:\n%s", r.Status, r.LogOutput)
	}
	for _, want := range []string{"the copy on local (primary) cannot be used; falling back", "restoring from the copy on fake (copy)"} {
		if !strings.Contains(r.LogOutput, want) {
			t.Errorf("restore log has no %q:\n%s", want, r.LogOutput)
		}
	}
	want, got := c.srv.Checksum(t, c.db.DBName), c.srv.Checksum(t, target)
	if len(want) != 2 || !maps.Equal(want, got) {
		t.Fatalf("restored fingerprint %v, want %v", got, want)
	}

	// Offline (jagad restore): the primary's copy fails its checks, the
	// bucket's is restored from.
	offline := c.srv.CreateDB(t, "fallback_offline")
	var out logbuf.Buffer
	m, err := RestoreOffline(testCtx(t), OfflineRestoreOptions{Store: c.storeFor(c.local), Fallbacks: []storage.Store{c.storeFor(c.fake)},
		Key: b.StoragePath, EncryptionKey: c.key, Target: c.srv.Target(offline), DropExisting: true, Log: &out})
	if err != nil || m.BackupID != b.ID || !strings.Contains(out.String(), "restoring from the copy on "+c.storeFor(c.fake).String()) {
		t.Fatalf("offline restore: %v\n%s", err, out.String())
	}
	if got := c.srv.Checksum(t, offline); !maps.Equal(want, got) {
		t.Fatalf("offline restored fingerprint %v, want %v", got, want)
	}

	// Download: the corrupt primary ends in an error, not in clean bytes,
	// when it is the one read (same size: only the checksum tells).
	rc, _, err := c.eng.OpenBackup(testCtx(t), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, rerr := io.ReadAll(rc)
	rc.Close()
	if rerr == nil {
		t.Fatal("a download of the corrupt primary ended cleanly")
	}

	// Verify: the primary fails, is marked failed; the copy passes.
	if err := c.eng.Verify(context.Background(), b.ID, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, func() bool { return c.backup(b.ID).VerifyStatus != state.VerifyVerifying })
	v := c.backup(b.ID)
	p, _ := v.Replica(c.local.ID)
	f, _ := v.Replica(c.fake.ID)
	if p.Status != state.ReplicaFailed || p.VerifyStatus != state.VerifyFailed || f.VerifyStatus != state.VerifyPassed || f.VerifiedAt == nil {
		t.Fatalf("after verify: primary %+v, copy %+v", p, f)
	}
	// The download now skips the failed primary and is clean.
	rc, _, err = c.eng.OpenBackup(testCtx(t), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	got2, rerr := io.ReadAll(rc)
	rc.Close()
	if rerr != nil || sha(got2) != b.EncryptedChecksum {
		t.Fatalf("download after verify: %v, sha %s want %s", rerr, sha(got2), b.EncryptedChecksum)
	}
	if repaired, failed := c.eng.RepairCopies(testCtx(t)); repaired != 1 || failed != 0 {
		t.Fatalf("repair: %d repaired, %d failed", repaired, failed)
	}
	c.assertCopy(c.backup(b.ID), c.local)
}

// TestCopiesBackfill: three backups made before the bucket existed (records
// without replicas, as older versions wrote them) are copied to it through
// CopyBackup; each copy is the stored object, recorded on its replica.
func TestCopiesBackfill(t *testing.T) {
	c := newCopiesEnv(t, 0)
	var old []state.Backup
	for range 3 {
		b := c.runBackup(c.conn, c.db, nil)
		if b.Status != state.StatusSuccess {
			t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
		}
		b.Replicas = nil // as an older version recorded it
		old = append(old, put(c.harness, b))
	}
	for _, b := range old {
		r, err := c.eng.CopyBackup(context.Background(), b.ID, c.fake.ID)
		if err != nil || r.Status != state.ReplicaPending {
			t.Fatalf("backfill %s: %+v, %v", b.ID, r, err)
		}
	}
	for _, b := range old {
		waitFor(t, time.Minute, func() bool {
			r, _ := c.backup(b.ID).Replica(c.fake.ID)
			return r.Status != state.ReplicaPending
		})
		cur := c.backup(b.ID)
		c.assertCopy(cur, c.fake)
		c.assertCopy(cur, c.local)
		if len(cur.Replicas) != 2 || !cur.Replicas[0].Primary {
			t.Errorf("replicas after backfill: %+v", cur.Replicas)
		}
	}
	if _, err := c.eng.CopyBackup(context.Background(), old[0].ID, c.fake.ID); err == nil || !strings.Contains(err.Error(), "already has a success copy") {
		t.Errorf("a second backfill to the same provider: %v", err)
	}
	// The gauge is refreshed just after each copy is recorded.
	deadline := time.Now().Add(time.Minute)
	for c.copiesMetric(c.fake, "success") != 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := c.copiesMetric(c.fake, "success"); got != 3 {
		t.Errorf("jagad_backup_copies{fake,success} = %v, want 3", got)
	}
}

// TestCatalogRebuildFromTwoDestinations: with the data dir lost, rebuilding
// the catalog from the local primary and then from the bucket finds every
// backup and both of its copies, and a restore of the rebuilt catalog works.
func TestCatalogRebuildFromTwoDestinations(t *testing.T) {
	c := newCopiesEnv(t, 0)
	sc := c.addSchedule("rebuild", c.local, nil, state.CopyTarget{StorageProviderID: c.fake.ID})
	orig := []state.Backup{c.runNow(sc), c.runNow(sc)}
	for _, b := range orig {
		if b.Status != state.StatusSuccess {
			t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
		}
	}
	h2 := newHarness(t, withKeyring(c.keys), withOptions(func(o *Options) { o.RepairEvery = -1 }))
	res1, err := RebuildCatalog(testCtx(t), h2.store, c.storeFor(c.local), c.local.ProviderSpec, time.Now())
	if err != nil || len(res1.Added) != 2 || len(res1.Copies) != 0 {
		t.Fatalf("rebuild from local: %+v, %v", res1, err)
	}
	spec := c.fake.ProviderSpec
	spec.IsDefault = false
	res2, err := RebuildCatalog(testCtx(t), h2.store, c.storeFor(c.fake), spec, time.Now())
	if err != nil || len(res2.Added) != 0 || len(res2.Copies) != 2 {
		t.Fatalf("rebuild from the bucket: %+v, %v", res2, err)
	}
	for _, o := range orig {
		got := h2.backup(o.ID)
		cp := got.Copies()
		if len(cp) != 2 || !cp[0].Primary || cp[0].ProviderID != res1.Provider.ID || cp[1].ProviderID != res2.Provider.ID {
			t.Fatalf("rebuilt %s copies: %+v", o.ID, cp)
		}
		for _, r := range cp {
			if r.Status != state.ReplicaSuccess || r.StoragePath != o.StoragePath || r.SizeBytes != o.StoredSizeBytes ||
				r.EncryptedChecksum != o.EncryptedChecksum {
				t.Errorf("rebuilt copy %+v of %s", r, o.ID)
			}
		}
	}
	again, err := RebuildCatalog(testCtx(t), h2.store, c.storeFor(c.fake), spec, time.Now())
	if err != nil || len(again.Existing) != 2 || len(again.Copies) != 0 {
		t.Errorf("a second rebuild from the bucket: %+v, %v", again, err)
	}
}

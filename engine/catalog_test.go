package engine

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// TestCatalogRebuild writes backups, loses the data dir and rebuilds the
// records from the manifests in storage into a new store, whose engine
// then restores one of them.
func TestCatalogRebuild(t *testing.T) {
	pg, my := dbtest.Postgres(t), dbtest.MariaDB(t)
	kr := rsKeyring(t, "k1", map[string]string{"k1": rsNewKey(t)}, nil)
	h := newHarness(t, withKeyring(kr))
	p := h.addLocalProvider("local")
	pc, mc := h.addConnection("pg", pg, ""), h.addConnection("my", my, "")
	pgDB := rsSmall(t, pg, "cat", 300)
	want := pg.Checksum(t, pgDB)
	pd, md := h.addDatabase(pc, pgDB), h.addDatabase(mc, rsSmall(t, my, "cat", 300))
	orig := map[string]state.Backup{}
	for _, run := range []struct {
		c   state.Connection
		d   state.Database
		enc bool
	}{{pc, pd, true}, {pc, pd, false}, {mc, md, false}} {
		b := h.runBackup(run.c, run.d, rsEncrypt(run.enc))
		if b.Status != state.StatusSuccess {
			t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
		}
		orig[b.ID] = b
	}
	lost := h.runBackup(mc, md, rsEncrypt(false))
	if err := os.Remove(objectPath(p, lost)); err != nil {
		t.Fatal(err)
	}

	st, err := storage.Open(storage.Config{Type: "local", Path: p.Path})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ReadCatalog(context.Background(), st)
	if err != nil || len(entries) != 4 {
		t.Fatalf("catalog: %d entries, err %v", len(entries), err)
	}
	h2 := newHarness(t, withKeyring(kr))
	spec := state.ProviderSpec{Name: "recovered", ProviderType: "local", Path: p.Path}
	res, err := RebuildCatalog(context.Background(), h2.store, st, spec, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !res.ProviderCreated || !res.Provider.IsDefault || res.Provider.Path != p.Path {
		t.Errorf("provider %+v created=%t", res.Provider, res.ProviderCreated)
	}
	if !slices.Equal(slices.Sorted(slices.Values(res.Added)), slices.Sorted(maps.Keys(orig))) {
		t.Errorf("added %v, want %v", res.Added, slices.Collect(maps.Keys(orig)))
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Manifest.BackupID != lost.ID || !strings.Contains(res.Skipped[0].Err.Error(), "missing") {
		t.Errorf("skipped %+v, want the backup whose object is gone", res.Skipped)
	}
	for id, o := range orig {
		got := h2.backup(id)
		if got.Status != state.StatusSuccess || got.StorageProviderID != res.Provider.ID || got.StoragePath != o.StoragePath ||
			got.Checksum != o.Checksum || got.EncryptedChecksum != o.EncryptedChecksum || got.SizeBytes != o.SizeBytes ||
			got.StoredSizeBytes != o.StoredSizeBytes || got.EncryptionKeyID != o.EncryptionKeyID || got.DBType != o.DBType ||
			got.Compression != o.Compression || got.DatabaseName != o.DatabaseName || !maps.Equal(got.Tables, o.Tables) {
			t.Errorf("rebuilt %s:\n got %+v\nwant %+v", id, got, o)
		}
	}

	again, err := RebuildCatalog(context.Background(), h2.store, st, spec, time.Now())
	if err != nil || again.ProviderCreated || len(again.Added) != 0 || len(again.Existing) != len(orig) {
		t.Errorf("second rebuild: %+v, %v", again, err)
	}
	elsewhere := spec
	elsewhere.Path = t.TempDir()
	if _, err := RebuildCatalog(context.Background(), h2.store, st, elsewhere, time.Now()); err == nil {
		t.Error("a provider name that points elsewhere was accepted")
	}

	var enc state.Backup
	for _, b := range orig {
		if b.DBType == "postgresql" && b.EncryptionKeyID != "" {
			enc = b
		}
	}
	target := h2.addConnection("pg-new", pg, "")
	restored := pgDB + "_catalog"
	t.Cleanup(func() { pg.DropDB(t, restored) })
	r := h2.restore(enc.ID, RestoreRequest{TargetConnection: target.ID, TargetDatabase: restored})
	if r.Status != state.StatusSuccess {
		t.Fatalf("restore from the rebuilt catalog: %s\n%s", r.Status, r.LogOutput)
	}
	rsSameTables(t, "restored from rebuilt catalog", want, pg.Checksum(t, restored))
}

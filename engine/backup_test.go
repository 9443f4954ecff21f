package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// newKeyring returns a one-key keyring and the key in a file for
// `jagad decrypt --key-file`.
func newKeyring(t *testing.T) (*crypt.Keyring, string) {
	t.Helper()
	key, err := crypt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.NewKeyring("k1", map[string]string{"k1": key}, "")
	if err != nil {
		t.Fatal(err)
	}
	return kr, keyFile(t, key)
}

var compressionExt = map[string]string{"zstd": ".zst", "gzip": ".gz", "none": ""}

// TestBackupRoundTrip backs a database with several tables, thousands of
// rows, unicode and a 3 MB value up with every compression, with and without
// encryption, for postgresql, mysql and mariadb, to local (every combination)
// and to gofakes3 and versitygw (zstd + encrypted), then downloads each,
// decrypts it with `jagad decrypt`, decompresses and reads it, and checks
// every checksum and size against the record and the manifest.
func TestBackupRoundTrip(t *testing.T) {
	kr, keyPath := newKeyring(t)
	h := newHarness(t, withKeyring(kr))
	local := h.addLocalProvider("local")
	fake := h.addS3Provider("fake", s3test.StartFake(t))
	versity := h.addS3Provider("versity", s3test.StartVersity(t))
	pgFx := newFixture(t, dbtest.Postgres(t))
	myFx := newFixture(t, dbtest.MariaDB(t))

	type target struct {
		p    state.Provider
		comp string
		enc  bool
	}
	var targets []target
	for _, comp := range []string{"zstd", "gzip", "none"} {
		for _, enc := range []bool{false, true} {
			targets = append(targets, target{local, comp, enc})
		}
	}
	targets = append(targets, target{fake, "zstd", true}, target{versity, "zstd", true})

	for _, src := range []struct {
		name, dbType, ext string
		fx                *fixture
	}{
		{"postgresql", "postgresql", ".pgdump", pgFx},
		{"mysql", "mysql", ".sql", myFx},
		{"mariadb", "mariadb", ".sql", myFx},
	} {
		conn := h.addConnection(src.name, src.fx.srv, src.dbType)
		db := h.addDatabase(conn, src.fx.db)
		for _, tg := range targets {
			name := src.name + "/" + tg.p.Name + "/" + tg.comp
			if tg.enc {
				name += "+enc"
			}
			t.Run(name, func(t *testing.T) {
				h.setSetting("compression", tg.comp)
				enc := tg.enc
				q := h.start(BackupRequest{ConnectionID: conn.ID, DatabaseID: db.ID, StorageProviderID: tg.p.ID, Encrypt: &enc})
				b := h.waitBackup(q.ID, 2*time.Minute)
				if b.Status != state.StatusSuccess {
					t.Fatalf("status %s; log:\n%s", b.Status, b.LogOutput)
				}
				ext := src.ext + compressionExt[tg.comp]
				if enc {
					ext += ".jgd"
				}
				assertRecord(t, b, conn, db, tg.p, tg.comp, enc)
				assertKey(t, b, ext)
				stored := download(t, h, b)
				if sha(stored) != b.EncryptedChecksum {
					t.Fatalf("sha256 of stored bytes %s, encrypted_checksum %s", sha(stored), b.EncryptedChecksum)
				}
				comp := unseal(t, b, stored, keyPath)
				if sha(comp) != b.Checksum {
					t.Fatalf("sha256 of the compressed stream %s, checksum %s", sha(comp), b.Checksum)
				}
				if enc && bytes.Contains(stored, []byte(src.fx.big[:64])) {
					t.Error("encrypted object contains plaintext")
				}
				raw := decompress(t, comp, tg.comp)
				assertReadable(t, b, raw, src.fx)
				assertManifest(t, h.storeFor(tg.p), b)
				if strings.Contains(b.LogOutput, src.fx.srv.Password) {
					t.Error("log_output contains the connection password")
				}
			})
		}
	}
	if pw := pgFx.srv.Password; strings.Contains(h.logs.String(), pw) || strings.Contains(h.logs.String(), myFx.srv.Password) {
		t.Error("engine log contains a connection password")
	}
}

// assertRecord checks the fields of a successful backup record.
func assertRecord(t *testing.T, b state.Backup, c state.Connection, d state.Database, p state.Provider, comp string, enc bool) {
	t.Helper()
	if b.ConnectionID != c.ID || b.ConnectionName != c.Name || b.DatabaseID != d.ID || b.DatabaseName != d.DBName ||
		b.DBType != c.DBType || b.StorageProviderID != p.ID || b.Compression != comp || b.BackupType != "full" {
		t.Errorf("record names/ids: %+v", b)
	}
	if b.StartedAt == nil || b.CompletedAt == nil || b.QueuedAt == nil || b.CompletedAt.Before(*b.StartedAt) ||
		b.StartedAt.Before(*b.QueuedAt) {
		t.Errorf("times: queued %v started %v completed %v", b.QueuedAt, b.StartedAt, b.CompletedAt)
	} else if want := b.CompletedAt.Sub(*b.StartedAt).Milliseconds(); b.DurationMs != want {
		t.Errorf("duration_ms %d, want %d", b.DurationMs, want)
	}
	if b.SizeBytes < 3<<20 || b.StoredSizeBytes <= 0 || len(b.Checksum) != 64 || len(b.EncryptedChecksum) != 64 {
		t.Errorf("sizes/checksums: size %d stored %d checksum %q encrypted %q", b.SizeBytes, b.StoredSizeBytes, b.Checksum, b.EncryptedChecksum)
	}
	if comp != "none" && b.StoredSizeBytes >= b.SizeBytes {
		t.Errorf("%s: stored %d bytes of a %d-byte dump", comp, b.StoredSizeBytes, b.SizeBytes)
	}
	if enc {
		if b.EncryptionAlgo != crypt.Algo || b.EncryptionKeyID != "k1" || b.EncryptedSizeBytes != b.StoredSizeBytes ||
			b.EncryptedChecksum == b.Checksum {
			t.Errorf("encryption fields: algo %q key %q encrypted size %d stored %d", b.EncryptionAlgo, b.EncryptionKeyID, b.EncryptedSizeBytes, b.StoredSizeBytes)
		}
	} else if b.EncryptionAlgo != "" || b.EncryptionKeyID != "" || b.EncryptedSizeBytes != 0 || b.EncryptedChecksum != b.Checksum {
		t.Errorf("unencrypted backup has encryption fields: %q %q %d, checksums %s/%s", b.EncryptionAlgo, b.EncryptionKeyID, b.EncryptedSizeBytes, b.Checksum, b.EncryptedChecksum)
	}
	for _, w := range []string{"BACKUP: streaming", "DUMP:", "UPLOAD:", "BACKUP COMPLETE"} {
		if !strings.Contains(b.LogOutput, w) {
			t.Errorf("log has no %q:\n%s", w, b.LogOutput)
		}
	}
}

// TestBackupDeleteDownloadStats: a failed backup cannot be downloaded,
// stats count successes and failures, and DELETE removes object, manifest
// and record.
func TestBackupDeleteDownloadStats(t *testing.T) {
	srv := dbtest.Postgres(t)
	h := newHarness(t)
	p := h.addLocalProvider("local")
	st := h.storeFor(p)
	conn := h.addConnection("pg", srv, "")
	db := h.addDatabase(conn, bulkDB(t, srv, 1))
	h.setSetting("compression", "zstd")

	ok := h.runBackup(conn, db, nil)
	if ok.Status != state.StatusSuccess {
		t.Fatalf("status %s; log:\n%s", ok.Status, ok.LogOutput)
	}
	h.setSetting("pg_dump_path", wrapTool(t, "pg_dump", `"$REAL" "$@"; exit 2`))
	bad := h.runBackup(conn, db, nil)
	assertFailed(t, h, st, bad, "exited with status 2")

	stats := func() state.BackupStats {
		t.Helper()
		var s state.BackupStats
		if err := h.store.View(func(tx *state.Tx) (err error) { s, err = tx.BackupStats(); return err }); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := stats(); s.TotalBackups != 2 || s.ByStatus[state.StatusSuccess] != 1 || s.ByStatus[state.StatusFailed] != 1 || s.SuccessRate != 50 {
		t.Fatalf("stats = %+v, want 1 success and 1 failure", s)
	}

	for _, k := range []string{ok.StoragePath, ok.StoragePath + objfmt.ManifestSuffix} {
		if _, err := st.Stat(testCtx(t), k); err != nil {
			t.Fatalf("before delete: %s: %v", k, err)
		}
	}
	if err := h.eng.DeleteBackup(context.Background(), ok.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for _, k := range []string{ok.StoragePath, ok.StoragePath + objfmt.ManifestSuffix} {
		if _, err := st.Stat(testCtx(t), k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("after delete: stat %s = %v, want not found", k, err)
		}
	}
	if _, err := h.eng.getBackup(ok.ID); fault.CodeOf(err) != fault.CodeNotFound {
		t.Errorf("record after delete: %v, want not found", err)
	}
	if _, _, err := h.eng.OpenBackup(context.Background(), ok.ID); fault.CodeOf(err) != fault.CodeNotFound {
		t.Errorf("download after delete: %v, want not found", err)
	}
	if s := stats(); s.TotalBackups != 1 || s.ByStatus[state.StatusSuccess] != 0 || s.ByStatus[state.StatusFailed] != 1 {
		t.Errorf("stats after delete = %+v", s)
	}
	if err := h.eng.DeleteBackup(context.Background(), bad.ID); err != nil {
		t.Fatalf("delete failed backup: %v", err)
	}
	if s := stats(); s.TotalBackups != 0 {
		t.Errorf("stats after deleting all = %+v", s)
	}
}

// TestDeleteBackupOfRemovedProvider: when a backup's storage provider no
// longer exists, an operator's delete removes the record (the log names the
// object left behind) instead of failing forever; retention keeps failing,
// so that nothing is forgotten silently.
func TestDeleteBackupOfRemovedProvider(t *testing.T) {
	srv := dbtest.Postgres(t)
	h := newHarness(t)
	p := h.addLocalProvider("local")
	c := h.addConnection("pg", srv, "")
	db := h.addDatabase(c, srv.CreateDB(t, "gone"))
	b1, b2 := h.runBackup(c, db, nil), h.runBackup(c, db, nil)
	if b1.Status != state.StatusSuccess || b2.Status != state.StatusSuccess {
		t.Fatalf("backups: %s, %s", b1.Status, b2.Status)
	}
	if err := h.store.Update(func(tx *state.Tx) error { return state.Delete[state.Provider](tx, p.ID) }); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.deleteBackup(context.Background(), b2, false); err == nil {
		t.Fatal("retention's delete of an unreachable object succeeded")
	}
	if err := h.eng.DeleteBackup(context.Background(), b1.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := h.eng.getBackup(b1.ID); fault.CodeOf(err) != fault.CodeNotFound {
		t.Errorf("record after delete: %v, want not found", err)
	}
	if !strings.Contains(h.logs.String(), "backup deleted without its object") || !strings.Contains(h.logs.String(), b1.StoragePath) {
		t.Errorf("the object left behind is not logged:\n%s", h.logs.String())
	}
}

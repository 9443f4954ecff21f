package engine

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"
)

// copiesEnv is a PostgreSQL database backed up by a schedule to a local
// primary, a versitygw bucket and a gofakes3 bucket.
type copiesEnv struct {
	*harness
	srv                  *dbtest.Server
	local, versity, fake state.Provider
	faults               *s3test.Faults // in front of versitygw (newCopiesEnv)
	conn                 state.Connection
	db                   state.Database
	hook                 *recorder
	key                  string // the keyring's one key, id k1
}

// newCopiesEnv is newCopiesEnvOn with versitygw behind a fault proxy
// (c.faults) and gofakes3 as it is.
func newCopiesEnv(t *testing.T, mb int) *copiesEnv {
	t.Helper()
	faults := &s3test.Faults{}
	c := newCopiesEnvOn(t, mb, s3test.StartVersityWithFaults(t, faults), s3test.StartFake(t))
	c.faults = faults
	return c
}

// newCopiesEnvOn sets up the env with the versitygw and gofakes3 buckets
// of versity and fake (a zero Config: no such provider), and a database of
// about mb MB (0: a small one).
func newCopiesEnvOn(t *testing.T, mb int, versity, fake storage.Config) *copiesEnv {
	t.Helper()
	srv := dbtest.Postgres(t)
	key, err := crypt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.NewKeyring("k1", map[string]string{"k1": key}, "")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, withKeyring(kr), withOptions(func(o *Options) { o.RepairEvery = -1 }))
	env := &copiesEnv{harness: h, srv: srv, key: key}
	env.local = h.addLocalProvider("local")
	if versity.Endpoint != "" {
		env.versity = h.addS3Provider("versity", versity)
	}
	if fake.Endpoint != "" {
		env.fake = h.addS3Provider("fake", fake)
	}
	// Uncompressed, so the object is several multipart parts.
	h.setSetting("compression", "none")
	env.conn = h.addConnection("pg", srv, "")
	name := ""
	if mb > 0 {
		name = bulkDB(t, srv, mb)
	} else {
		name = srv.CreateDB(t, "copies")
		srv.Exec(t, name, `CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL);
INSERT INTO items SELECT g, 'item-' || g FROM generate_series(1, 500) g;
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(1, 200) g;`)
	}
	env.db = h.addDatabase(env.conn, name)
	env.hook = newRecorder(t, http.StatusOK, "ok")
	h.addTarget("copies", "webhook", map[string]any{"url": env.hook.srv.URL + "/hook"}, []string{"backup.copy_failed"})
	return env
}

// addSchedule stores a schedule of the env's database on primary with copies.
func (c *copiesEnv) addSchedule(name string, primary state.Provider, edit func(*state.Schedule), copies ...state.CopyTarget) state.Schedule {
	c.t.Helper()
	now := time.Now().UTC()
	return put(c.harness, state.Schedule{
		Meta: state.Meta{ID: state.NewID(state.KindSchedule), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: func() state.ScheduleSpec {
			s := state.ScheduleSpec{Name: name, ConnectionID: c.conn.ID, DatabaseID: c.db.ID, BackupType: "full",
				CronExpr: "0 0 1 1 *", StorageProviderID: primary.ID, EncryptionEnabled: true, RetentionFull: 100,
				Enabled: true, NotifyOnFailure: true, CopiesTo: copies}
			if edit != nil {
				sch := state.Schedule{ScheduleSpec: s}
				edit(&sch)
				s = sch.ScheduleSpec
			}
			return s
		}(),
	})
}

// runNow runs a schedule and waits for its new backup to finish (verify
// and retention included).
func (h *harness) runNow(sc state.Schedule) state.Backup {
	h.t.Helper()
	return h.waitRun(sc, h.startRun(sc))
}

// startRun runs a schedule and returns the ID of its new backup as soon as
// the backup is recorded (running).
func (h *harness) startRun(sc state.Schedule) string {
	h.t.Helper()
	before := map[string]bool{}
	for _, b := range h.listBackups(sc.ID) {
		before[b.ID] = true
	}
	if err := h.eng.RunSchedule(context.Background(), sc.ID); err != nil {
		h.t.Fatalf("run schedule: %v", err)
	}
	var id string
	waitFor(h.t, time.Minute, func() bool {
		for _, b := range h.listBackups(sc.ID) {
			if !before[b.ID] {
				id = b.ID
				return true
			}
		}
		return false
	})
	return id
}

// waitRun waits until the schedule's backup id finished (afterBackup:
// notifications, verify and retention included).
func (h *harness) waitRun(sc state.Schedule, id string) state.Backup {
	h.t.Helper()
	b := h.waitBackup(id, 3*time.Minute)
	waitFor(h.t, time.Minute, func() bool { return !h.eng.isRunning(sc.ID) })
	return h.backup(b.ID)
}

func (h *harness) listBackups(scheduleID string) []state.Backup {
	h.t.Helper()
	var out []state.Backup
	err := h.store.View(func(tx *state.Tx) (err error) {
		out, err = tx.ListBackups(state.BackupQuery{ScheduleID: scheduleID})
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// readObject reads a whole stored object.
func readObject(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	rc, err := st.Get(testCtx(t), key)
	if err != nil {
		t.Fatalf("get %s from %s: %v", key, st, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s from %s: %v", key, st, err)
	}
	return b
}

// assertCopy checks that b's copy on p is recorded as stored and that the
// object there is the backup's stored bytes, with its manifest beside it.
func (c *copiesEnv) assertCopy(b state.Backup, p state.Provider) {
	c.t.Helper()
	r, ok := b.Replica(p.ID)
	if !ok || r.Status != state.ReplicaSuccess || r.SizeBytes != b.StoredSizeBytes || r.EncryptedChecksum != b.EncryptedChecksum ||
		r.UploadedAt == nil || r.StoragePath != b.StoragePath || r.Error != "" {
		c.t.Fatalf("replica on %s = %+v (ok %v); backup log:\n%s", p.Name, r, ok, b.LogOutput)
	}
	st := c.storeFor(p)
	if got := readObject(c.t, st, b.StoragePath); int64(len(got)) != b.StoredSizeBytes || sha(got) != b.EncryptedChecksum {
		c.t.Fatalf("object on %s: %d bytes sha %s, want %d sha %s", p.Name, len(got), sha(got), b.StoredSizeBytes, b.EncryptedChecksum)
	}
	m, err := objfmt.ReadManifest(testCtx(c.t), st, b.StoragePath+objfmt.ManifestSuffix)
	if err != nil || m.BackupID != b.ID || m.EncryptedChecksum != b.EncryptedChecksum {
		c.t.Fatalf("manifest on %s: %+v, %v", p.Name, m, err)
	}
}

func (c *copiesEnv) copiesMetric(p state.Provider, status string) float64 {
	return metric(c.t, c.reg, "jagad_backup_copies", map[string]string{"provider": p.Name, "status": status})
}

// TestCopiesCutConnectionLeavesNothing: versitygw's connections are cut
// in the middle of every part (a broken network; the server itself stays
// up, TestCopiesOnePassThreeDestinations kills it). The backup succeeds on
// its other two destinations, the versitygw replica is failed, and the
// failed multipart upload was aborted: nothing of it is left in that
// bucket. Repair then brings the copy in on the second attempt.
func TestCopiesCutConnectionLeavesNothing(t *testing.T) {
	c := newCopiesEnv(t, 20)
	sc := c.addSchedule("cut", c.local, nil,
		state.CopyTarget{StorageProviderID: c.versity.ID}, state.CopyTarget{StorageProviderID: c.fake.ID})

	// Every part is cut off after 1 MiB.
	c.faults.Mode.Store(int32(s3test.Reset))
	c.faults.CutAfter.Store(1 << 20)
	c.faults.FailAllParts.Store(true)
	b := c.runNow(sc)
	if b.Status != state.StatusSuccess {
		t.Fatalf("a copy's failure failed the backup: %s\n%s", b.Status, b.LogOutput)
	}
	if b.StoredSizeBytes < 12<<20 {
		t.Fatalf("stored %d bytes: too small for a multipart upload", b.StoredSizeBytes)
	}
	if c.faults.Failed() == 0 {
		t.Fatal("the fault never fired: the copy did not reach versitygw's parts")
	}
	c.assertCopy(b, c.local)
	c.assertCopy(b, c.fake)
	r, _ := b.Replica(c.versity.ID)
	if r.Status != state.ReplicaFailed || r.Error == "" || r.UploadedAt != nil {
		t.Fatalf("versitygw replica = %+v, want failed with its error", r)
	}
	if !strings.Contains(b.LogOutput, "COPY FAILED: versity") {
		t.Errorf("the job log does not name the failed copy:\n%s", b.LogOutput)
	}
	c.faults.FailAllParts.Store(false)
	assertNoLeftovers(t, c.storeFor(c.versity), b)
	if got := c.hook.wait(t, 1); got[0].Body["event"] != "backup.copy_failed" || got[0].Body["backup_id"] != b.ID {
		t.Fatalf("notification = %+v", got[0].Body)
	}

	repaired, failed := c.eng.RepairCopies(testCtx(t))
	if repaired != 1 || failed != 0 {
		t.Fatalf("repair: %d repaired, %d failed", repaired, failed)
	}
	b = c.backup(b.ID)
	c.assertCopy(b, c.versity)
	if r, _ := b.Replica(c.versity.ID); r.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (the upload and the repair)", r.Attempts)
	}
}

func (e *Engine) isRunning(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running[id]
}

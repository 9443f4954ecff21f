package engine

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"
)

// partGate sits in front of an S3 server. Once held, it lets limit more
// bytes of UploadPart bodies through and then stops them until released:
// that destination stops reading, the fan-out's queue for it fills, and
// the whole backup stream waits, in the middle of every upload.
type partGate struct {
	mu      sync.Mutex
	holding bool
	left    int64         // bytes still let through while holding
	waiting chan struct{} // closed once a body waits at the gate
	open    chan struct{} // closed by release
}

func newPartGate() *partGate {
	return &partGate{waiting: make(chan struct{}), open: make(chan struct{})}
}

// hold makes the gate stop part bodies after limit more bytes.
func (g *partGate) hold(limit int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holding, g.left = true, limit
}

// release lets every held body go on, and the ones after it.
func (g *partGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.holding {
		g.holding = false
		close(g.open)
	}
}

// admit returns how many of n bytes a body may read now, waiting at the
// gate when it is held and spent.
func (g *partGate) admit(n int) int {
	g.mu.Lock()
	if !g.holding {
		g.mu.Unlock()
		return n
	}
	if g.left > 0 {
		n = int(min(int64(n), g.left))
		g.left -= int64(n)
		g.mu.Unlock()
		return n
	}
	select {
	case <-g.waiting:
	default:
		close(g.waiting)
	}
	open := g.open
	g.mu.Unlock()
	<-open
	return n
}

func (g *partGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method == http.MethodPut && q.Get("uploadId") != "" && q.Get("partNumber") != "" {
			r.Body = gatedBody{g, r.Body}
		}
		h.ServeHTTP(w, r)
	})
}

type gatedBody struct {
	g  *partGate
	rc io.ReadCloser
}

func (b gatedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return b.rc.Read(p)
	}
	return b.rc.Read(p[:b.g.admit(len(p))])
}

func (b gatedBody) Close() error { return b.rc.Close() }

// startGatedFake starts gofakes3 (bucket s3test.Bucket) behind g.
func startGatedFake(t *testing.T, g *partGate) storage.Config {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(s3test.Bucket); err != nil {
		t.Fatalf("gofakes3: create bucket: %v", err)
	}
	srv := httptest.NewServer(g.wrap(gofakes3.New(backend).Server()))
	t.Cleanup(srv.Close)
	t.Cleanup(g.release) // before srv.Close, which waits for held requests
	return storage.Config{Type: storage.TypeS3Compat, Endpoint: srv.URL, Region: "us-east-1",
		Bucket: s3test.Bucket, AccessKey: "fake-access-key", SecretKey: "fake-secret-key", PathStyle: true}
}

// TestCopiesOnePassThreeDestinations: one schedule, a local primary, a
// versitygw bucket and a gofakes3 bucket: the three objects are
// byte-identical. Then the versitygw server is killed (SIGKILL) in the
// middle of the next backup's upload: the other two copies succeed and so
// does the backup, the versitygw replica is failed with its error, a
// backup.copy_failed webhook and the metrics say so, and repair fails
// while the server is down. versitygw is started again on the same port
// and data directory: repair brings the copy in, byte-identical, the
// replica turns success, and the sweep removes the upload the dead server
// left incomplete.
func TestCopiesOnePassThreeDestinations(t *testing.T) {
	proc, versityCfg := s3test.StartVersityProcess(t)
	gate := newPartGate()
	c := newCopiesEnvOn(t, 40, versityCfg, startGatedFake(t, gate))
	sc := c.addSchedule("three", c.local, nil,
		state.CopyTarget{StorageProviderID: c.versity.ID}, state.CopyTarget{StorageProviderID: c.fake.ID})

	b := c.runNow(sc)
	if b.Status != state.StatusSuccess {
		t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
	}
	if len(b.Replicas) != 3 || !b.Replicas[0].Primary || b.Replicas[0].ProviderID != c.local.ID {
		t.Fatalf("replicas = %+v, want the local primary first and two copies", b.Replicas)
	}
	// The gate below holds the stream once gofakes3 has taken at most 3
	// parts of 8 MiB (its Concurrency+1 buffers) and the fan-out queue: the
	// object must be larger, so that no upload can finish while it is held.
	if b.StoredSizeBytes < 32<<20 {
		t.Fatalf("stored %d bytes: too small to be held in the middle of its upload", b.StoredSizeBytes)
	}
	for _, p := range []state.Provider{c.local, c.versity, c.fake} {
		c.assertCopy(b, p)
	}
	if got := c.copiesMetric(c.versity, "success"); got != 1 {
		t.Errorf("jagad_backup_copies{versity,success} = %v, want 1", got)
	}

	// The next backup is held in the middle of its upload: gofakes3 stops
	// taking part bytes after 1 MiB, and versitygw has an upload in flight.
	versity := c.storeFor(c.versity)
	gate.hold(1 << 20)
	id := c.startRun(sc)
	select {
	case <-gate.waiting:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the backup never reached gofakes3's parts:\n%s", c.backup(id).LogOutput)
	}
	waitFor(t, time.Minute, func() bool {
		inc, err := versity.(storage.IncompleteLister).Incomplete(testCtx(t), "backups/")
		return err == nil && len(inc) == 1 && strings.Contains(inc[0], id)
	})
	if cur := c.backup(id); cur.Status != state.StatusRunning {
		t.Fatalf("backup %s while held at the gate:\n%s", cur.Status, cur.LogOutput)
	}
	proc.Kill()
	gate.release()

	b2 := c.waitRun(sc, id)
	if b2.Status != state.StatusSuccess {
		t.Fatalf("a copy's failure failed the backup: %s\n%s", b2.Status, b2.LogOutput)
	}
	c.assertCopy(b2, c.local)
	c.assertCopy(b2, c.fake)
	r, _ := b2.Replica(c.versity.ID)
	if r.Status != state.ReplicaFailed || r.Error == "" || r.UploadedAt != nil || r.Attempts != 1 {
		t.Fatalf("versitygw replica = %+v, want failed with its error", r)
	}
	if !strings.Contains(b2.LogOutput, "COPY FAILED: versity") {
		t.Errorf("the job log does not name the failed copy:\n%s", b2.LogOutput)
	}
	got := c.hook.wait(t, 1)
	if len(got) != 1 || got[0].Path != "/hook" || got[0].Body["event"] != "backup.copy_failed" ||
		got[0].Body["backup_id"] != b2.ID || !strings.Contains(got[0].Body["error"].(string), "copy to versity failed") {
		t.Fatalf("notifications = %+v", got)
	}
	if n := metric(t, c.reg, "jagad_backup_copy_uploads_total", map[string]string{"provider": "versity", "result": "failed"}); n != 1 {
		t.Errorf("copy uploads failed on versity = %v, want 1", n)
	}
	if got := c.copiesMetric(c.versity, "failed"); got != 1 {
		t.Errorf("jagad_backup_copies{versity,failed} = %v, want 1", got)
	}
	if got := c.copiesMetric(c.fake, "success"); got != 2 {
		t.Errorf("jagad_backup_copies{fake,success} = %v, want 2", got)
	}
	var stats state.BackupStats
	_ = c.store.View(func(tx *state.Tx) (err error) { stats, err = tx.BackupStats(); return err })
	if stats.StoredByProvider[c.versity.ID] != b.StoredSizeBytes || stats.StoredByProvider[c.fake.ID] != b.StoredSizeBytes+b2.StoredSizeBytes {
		t.Errorf("stored bytes per provider %v count a copy that is not there", stats.StoredByProvider)
	}

	// While versitygw is down, repair fails and says so.
	if repaired, failed := c.eng.RepairCopies(testCtx(t)); repaired != 0 || failed != 1 {
		t.Fatalf("repair with versitygw down: %d repaired, %d failed", repaired, failed)
	}
	if r, _ := c.backup(b2.ID).Replica(c.versity.ID); r.Status != state.ReplicaFailed || r.Attempts != 2 {
		t.Fatalf("versitygw replica after a failed repair = %+v", r)
	}

	// versitygw is back on its port and data: repair stores the copy.
	proc.Restart()
	if repaired, failed := c.eng.RepairCopies(testCtx(t)); repaired != 1 || failed != 0 {
		t.Fatalf("repair: %d repaired, %d failed\n%s", repaired, failed, c.backup(b2.ID).LogOutput)
	}
	b2 = c.backup(b2.ID)
	c.assertCopy(b2, c.versity)
	c.assertCopy(b, c.versity) // the first backup's copy outlived the crash
	if r, _ := b2.Replica(c.versity.ID); r.Attempts != 3 {
		t.Errorf("attempts = %d, want 3 (the upload and two repairs)", r.Attempts)
	}
	if got := c.copiesMetric(c.versity, "failed"); got != 0 {
		t.Errorf("jagad_backup_copies{versity,failed} = %v after repair, want 0", got)
	}
	if got := c.copiesMetric(c.versity, "success"); got != 2 {
		t.Errorf("jagad_backup_copies{versity,success} = %v after repair, want 2", got)
	}

	// The killed server could not abort the upload it was receiving; the
	// sweep (storage.SweepLoop, hourly) does, and nothing incomplete stays.
	sweeper, ok := versity.(interface {
		Sweep(context.Context, time.Duration, time.Time) (storage.SweepResult, error)
	})
	if !ok {
		t.Fatalf("%T has no Sweep", versity)
	}
	if res, err := sweeper.Sweep(testCtx(t), time.Nanosecond, time.Now()); err != nil || res.Aborted != 1 {
		t.Fatalf("sweep: %+v, %v", res, err)
	}
	if inc, err := versity.(storage.IncompleteLister).Incomplete(testCtx(t), "backups/"); err != nil || len(inc) != 0 {
		t.Errorf("incomplete uploads on versitygw after the sweep: %q, %v", inc, err)
	}
}

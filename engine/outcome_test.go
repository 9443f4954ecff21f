package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/state"
)

// lowDisk is a settable free-space reading for the store's guard.
type lowDisk struct{ free atomic.Uint64 }

func (d *lowDisk) read(string) (uint64, error) { return d.free.Load(), nil }

// outcomeHarness is an engine whose store reads its free space from disk and
// refuses writes below 1 MiB.
func outcomeHarness(t *testing.T, disk *lowDisk, retryFor time.Duration) *harness {
	t.Helper()
	disk.free.Store(1 << 30)
	h := newHarness(t,
		withStoreOptions(func(o *state.Options) { o.MinFreeBytes, o.FreeSpace = 1<<20, disk.read }),
		withOptions(func(o *Options) { o.OutcomeRetryEvery, o.OutcomeRetryFor = 5*time.Millisecond, retryFor }))
	// Space comes back before the harness closes the store: below the floor
	// the store leaves Badger open on purpose (it cannot flush its memtable).
	t.Cleanup(func() { disk.free.Store(1 << 30) })
	return h
}

func runningBackup(h *harness) state.Backup {
	now := time.Now().UTC()
	return put(h, state.Backup{
		ID: state.NewID(state.KindBackup), CreatedAt: now, DBType: "postgresql", BackupType: "full",
		Status: state.StatusRunning, StartedAt: &now, DatabaseName: "app",
	})
}

func storedStatus(t *testing.T, h *harness, id string) string {
	t.Helper()
	var b state.Backup
	err := h.store.View(func(tx *state.Tx) error {
		var err error
		b, err = state.Get[state.Backup](tx, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Status
}

// TestBackupOutcomeRefusedIsNotSuccess: a backup that finished while the
// data dir is below its free-space floor cannot record its outcome. It must
// not be counted, logged or treated as a success while its record says
// running (the next start marks it failed).
func TestBackupOutcomeRefusedIsNotSuccess(t *testing.T) {
	disk := &lowDisk{}
	h := outcomeHarness(t, disk, 50*time.Millisecond)
	b := runningBackup(h)
	disk.free.Store(1 << 10)
	h.eng.finishBackup(b, newJobLog(time.Now), nil, nil)

	if got := storedStatus(t, h, b.ID); got != state.StatusRunning {
		t.Fatalf("stored status %q, want running (the write was refused)", got)
	}
	if n := testutil.ToFloat64(h.eng.metrics.backups.WithLabelValues("oneshot", "postgresql", "full", state.StatusSuccess)); n != 0 {
		t.Errorf("counted %v successes of a backup whose outcome was never recorded", n)
	}
	if n := testutil.ToFloat64(h.eng.metrics.backups.WithLabelValues("oneshot", "postgresql", "full", state.StatusFailed)); n != 1 {
		t.Errorf("failed count %v, want 1", n)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "outcome could not be recorded") || strings.Contains(logs, "outcome=success\n") {
		t.Errorf("log does not say the outcome was lost:\n%s", logs)
	}
}

// TestBackupOutcomeWaitsForSpace: when space comes back while the outcome
// waits, the success is recorded.
func TestBackupOutcomeWaitsForSpace(t *testing.T) {
	disk := &lowDisk{}
	h := outcomeHarness(t, disk, time.Minute)
	b := runningBackup(h)
	disk.free.Store(1 << 10)
	time.AfterFunc(100*time.Millisecond, func() { disk.free.Store(1 << 30) })
	h.eng.finishBackup(b, newJobLog(time.Now), nil, nil)
	if got := storedStatus(t, h, b.ID); got != state.StatusSuccess {
		t.Fatalf("stored status %q, want success once space was freed", got)
	}
}

// TestDeleteRefusedWhileStoreIsFull: deleting a backup removes its object
// and then its record; while the store refuses writes the object must stay,
// or the record would point at nothing.
func TestDeleteRefusedWhileStoreIsFull(t *testing.T) {
	disk := &lowDisk{}
	h := outcomeHarness(t, disk, time.Millisecond)
	p := h.addLocalProvider("local")
	b := runningBackup(h)
	b.Status, b.StorageProviderID, b.StoragePath = state.StatusSuccess, p.ID, "backups/c/app/x.pgdump"
	put(h, b)
	obj := filepath.Join(p.Path, "backups", "c", "app", "x.pgdump")
	if err := os.MkdirAll(filepath.Dir(obj), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obj, []byte("dump"), 0o600); err != nil {
		t.Fatal(err)
	}
	disk.free.Store(1 << 10)
	err := h.eng.DeleteBackup(context.Background(), b.ID)
	if !errors.Is(err, state.ErrNoSpace) {
		t.Fatalf("delete while full: %v, want ErrNoSpace", err)
	}
	if _, err := os.Stat(obj); err != nil {
		t.Fatalf("object removed although its record could not be: %v", err)
	}
	disk.free.Store(1 << 30)
	if err := h.eng.DeleteBackup(context.Background(), b.ID); err != nil {
		t.Fatalf("delete once space is back: %v", err)
	}
	if _, err := os.Stat(obj); !os.IsNotExist(err) {
		t.Fatalf("object still there after delete: %v", err)
	}
}

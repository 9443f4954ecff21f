package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// summingStore reports an object's size and whole-object SHA-256 without a
// read, as an S3 store does for objects uploaded with a checksum
// (storage.Info.SHA256), or "" when it has none.
type summingStore struct {
	storage.Store
	size  int64
	sum   string
	err   error
	stats int
}

func (s *summingStore) Stat(context.Context, string) (storage.Info, error) {
	s.stats++
	return storage.Info{Size: s.size, SHA256: s.sum}, s.err
}

// Quick verification takes the store's size and checksum when it has them,
// and reads the object when it has none or cannot say.
func TestQuickVerifyFromStoreChecksum(t *testing.T) {
	b := state.Backup{StoredSizeBytes: 10, EncryptedChecksum: "ab"}
	log := newJobLog(time.Now)
	for _, tt := range []struct {
		name     string
		st       *summingStore
		done, ok bool
	}{
		{"match", &summingStore{size: 10, sum: "ab"}, true, true},
		{"other checksum", &summingStore{size: 10, sum: "cd"}, true, false},
		{"other size", &summingStore{size: 9, sum: "ab"}, true, false},
		{"none for this object", &summingStore{size: 10}, false, true},
		{"stat fails", &summingStore{err: errors.New("unreachable")}, false, true},
	} {
		done, err := quickFromStore(context.Background(), tt.st, b, "k", log)
		if done != tt.done || (err == nil) != tt.ok || tt.st.stats != 1 {
			t.Errorf("%s: done %v err %v (stats %d)", tt.name, done, err, tt.st.stats)
		}
		if err != nil && !errors.Is(err, objfmt.ErrIntegrity) {
			t.Errorf("%s: %v is not an integrity error", tt.name, err)
		}
	}
}

// A copy left pending by a stop is failed at the next start, so repair
// retries it; a stored copy is left alone.
func TestInterruptedCopiesFailAtStart(t *testing.T) {
	h := newHarness(t, withOptions(func(o *Options) { o.RepairEvery = -1 }))
	b := put(h, state.Backup{ID: "bck_pending0000000000001", Status: state.StatusSuccess, BackupType: "full",
		StorageProviderID: "prov_a", StoragePath: "backups/x", CreatedAt: time.Now().UTC(),
		Replicas: []state.Replica{{ProviderID: "prov_a", Primary: true, Status: state.ReplicaSuccess},
			{ProviderID: "prov_b", Status: state.ReplicaPending}}})
	if err := h.eng.failInterruptedCopies(); err != nil {
		t.Fatal(err)
	}
	got := h.backup(b.ID)
	if got.Replicas[0].Status != state.ReplicaSuccess || got.Replicas[1].Status != state.ReplicaFailed || got.Replicas[1].Error == "" {
		t.Fatalf("replicas after start: %+v", got.Replicas)
	}
}

// A failed copy whose provider was deleted is dropped by repair, not
// retried forever (and not counted as repaired or failed).
func TestRepairDropsCopyOfRemovedProvider(t *testing.T) {
	h := newHarness(t, withOptions(func(o *Options) { o.RepairEvery = -1 }))
	p := h.addLocalProvider("local")
	b := put(h, state.Backup{ID: "bck_orphan00000000000001", Status: state.StatusSuccess, BackupType: "full",
		StorageProviderID: p.ID, StoragePath: "backups/x", CreatedAt: time.Now().UTC(),
		Replicas: []state.Replica{{ProviderID: p.ID, Primary: true, Status: state.ReplicaSuccess},
			{ProviderID: "prov_gone", Status: state.ReplicaFailed, Error: "boom"}}})
	repaired, failed := h.eng.RepairCopies(context.Background())
	if repaired != 0 || failed != 0 {
		t.Errorf("repair: %d repaired, %d failed; want neither", repaired, failed)
	}
	if got := h.backup(b.ID); len(got.Replicas) != 1 || got.Replicas[0].ProviderID != p.ID {
		t.Fatalf("replicas: %+v", got.Replicas)
	}
}

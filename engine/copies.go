package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// Several destinations per backup (3-2-1). A schedule's copies_to adds
// destinations to its primary storage; every backup lists its copies in
// Replicas, the primary first (state/replicas.go). The dump is read,
// compressed, hashed and encrypted once and the stored stream fans out to
// every destination (objfmt.StartFanout). The backup's status is about the
// primary only, checked as with a single destination; each other copy is
// checked the same way (size on the store, manifest beside it) and
// recorded on its replica: success, or failed with its error, counted in
// jagad_backup_copy_uploads_total and jagad_backup_copies, and notified as
// backup.copy_failed. Repair (repair.go) retries failed copies later.

// copyTarget is one extra destination of a job.
type copyTarget struct {
	provider state.Provider
	policy   state.RetentionPolicy
}

// resolveCopies reads the providers of a schedule's copies_to. A provider
// that no longer exists is left out (the API refuses to delete one a
// schedule copies to; the file prunes the reference with the provider).
func resolveCopies(tx *state.Tx, s *state.Schedule, primary string) ([]copyTarget, error) {
	if s == nil {
		return nil, nil
	}
	var out []copyTarget
	for _, c := range s.CopiesTo {
		if c.StorageProviderID == primary {
			continue
		}
		p, err := state.Get[state.Provider](tx, c.StorageProviderID)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, copyTarget{provider: p, policy: s.CopyRetention(c)})
	}
	return out, nil
}

// initialReplicas lists a new backup's copies, all pending: the primary
// first, then the job's copy targets.
func initialReplicas(b state.Backup, primary state.Provider, copies []copyTarget) []state.Replica {
	out := []state.Replica{{ProviderID: primary.ID, ProviderName: primary.Name, Primary: true,
		Status: state.ReplicaPending, Retention: b.Retention}}
	for _, c := range copies {
		policy := c.policy
		r := state.Replica{ProviderID: c.provider.ID, ProviderName: c.provider.Name, Status: state.ReplicaPending}
		if b.Retention != nil {
			r.Retention = &policy
		}
		out = append(out, r)
	}
	return out
}

// openCopy is a copy destination whose store is open for this backup.
type openCopy struct {
	provider state.Provider
	store    storage.Store
}

// openCopies opens every copy destination of a job; one that cannot be
// opened is marked failed on b and left out.
func (e *Engine) openCopies(b *state.Backup, j *job, log *jobLog) []openCopy {
	var out []openCopy
	for _, c := range j.copies {
		st, err := e.stores.open(c.provider)
		if err != nil {
			log.Printf("COPY: %s: storage provider error: %v", c.provider.Name, err)
			e.failReplica(b, c.provider.ID, log.scrub(err.Error()))
			continue
		}
		out = append(out, openCopy{provider: c.provider, store: st})
	}
	return out
}

// finishCopies checks each copy the fan-out stored, as the primary was
// checked (stored size, manifest beside it), and records it on b. A copy
// that fails any check is removed from its destination.
func (e *Engine) finishCopies(ctx context.Context, b *state.Backup, copies []openCopy, results []objfmt.PutResult, log *jobLog) {
	for i, c := range copies {
		err := results[i].Err
		if err == nil {
			err = e.checkCopy(ctx, c.store, *b)
		}
		if err != nil {
			msg := log.scrub(err.Error())
			log.Printf("COPY FAILED: %s: %s", c.provider.Name, msg)
			removeKeys(context.WithoutCancel(ctx), c.store, b.StoragePath)
			e.failReplica(b, c.provider.ID, msg)
			continue
		}
		now := e.now().UTC()
		r, _ := b.Replica(c.provider.ID)
		r.StoragePath, r.Status, r.SizeBytes, r.EncryptedChecksum = b.StoragePath, state.ReplicaSuccess, b.StoredSizeBytes, b.EncryptedChecksum
		r.UploadedAt, r.Error, r.Attempts = &now, "", r.Attempts+1
		b.SetReplica(r)
		log.Printf("COPY: %d bytes stored on %s (sha256 %s)", b.StoredSizeBytes, c.provider.Name, b.EncryptedChecksum)
	}
}

// checkCopy checks a stored copy's size and writes its manifest.
func (e *Engine) checkCopy(ctx context.Context, st storage.Store, b state.Backup) error {
	info, err := st.Stat(ctx, b.StoragePath)
	if err != nil {
		return fmt.Errorf("stored object check: %w", err)
	}
	if info.Size != b.StoredSizeBytes {
		return fmt.Errorf("stored object check: size %d, expected %d", info.Size, b.StoredSizeBytes)
	}
	return e.writeManifest(ctx, st, b)
}

// failReplica marks b's copy on providerID failed.
func (e *Engine) failReplica(b *state.Backup, providerID, msg string) {
	r, _ := b.Replica(providerID)
	r.ProviderID, r.Status, r.Error, r.Attempts = providerID, state.ReplicaFailed, msg, r.Attempts+1
	if r.StoragePath == "" {
		r.StoragePath = b.StoragePath
	}
	b.SetReplica(r)
}

// markPrimaryStored records the checked primary copy on b.
func markPrimaryStored(b *state.Backup, now time.Time) {
	r, _ := b.Replica(b.StorageProviderID)
	now = now.UTC()
	r.ProviderID, r.Primary, r.StoragePath, r.Status = b.StorageProviderID, true, b.StoragePath, state.ReplicaSuccess
	r.SizeBytes, r.EncryptedChecksum, r.UploadedAt, r.Error, r.Attempts = b.StoredSizeBytes, b.EncryptedChecksum, &now, "", r.Attempts+1
	b.SetReplica(r)
}

// failAllReplicas marks every copy of a failed backup failed: its objects
// are removed, none of them may count as a copy.
func failAllReplicas(b *state.Backup, why string) {
	if len(b.Replicas) == 0 {
		return
	}
	for i := range b.Replicas {
		r := &b.Replicas[i]
		if r.Status != state.ReplicaFailed {
			r.Status, r.Error = state.ReplicaFailed, why
		}
	}
}

// removeKeys deletes an object and its manifest, ignoring errors (the
// object of a failed upload; Put already removed what it had).
func removeKeys(ctx context.Context, st storage.Store, key string) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, k := range []string{key, key + objfmt.ManifestSuffix} {
		_ = st.Delete(ctx, k)
	}
}

// afterCopies meters the copies of a finished successful backup and tells
// the subscribers of backup.copy_failed about each failed one.
func (e *Engine) afterCopies(b state.Backup) {
	if b.Status != state.StatusSuccess {
		return
	}
	for _, r := range b.Copies() {
		if r.Primary {
			continue
		}
		e.metrics.copies.upload(r.ProviderName, r.Status == state.ReplicaSuccess)
		if r.Status == state.ReplicaFailed {
			e.notifyCopyFailed(b, r)
		}
	}
	e.refreshCopies()
}

// notifyCopyFailed sends backup.copy_failed for one copy.
func (e *Engine) notifyCopyFailed(b state.Backup, r state.Replica) {
	ev := backupEvent(notify.KindBackupCopyFailed, b)
	ev.Status, ev.Log = state.StatusFailed, ""
	ev.Error = fmt.Sprintf("copy to %s failed (the backup is stored on its primary storage; the copy is retried by repair): %s",
		replicaName(r), r.Error)
	var listed []string
	if b.NotifyOnFailure {
		listed = b.NotifTargetIDs
	}
	e.dispatch(ev, listed)
}

func replicaName(r state.Replica) string {
	if r.ProviderName != "" {
		return r.ProviderName
	}
	return r.ProviderID
}

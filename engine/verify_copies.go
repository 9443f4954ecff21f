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

// Verification of every copy. Quick and deep verification check each
// stored copy of a backup, the primary first; each replica records its own
// verify_status and verified_at. The backup's verify_status is the result
// of its first stored copy (the primary while it exists), as with a single
// destination. When a backup has several stored copies, one that fails is
// marked failed (restores and downloads skip it, repair re-copies it from
// a healthy one) and verify.failed names it.

// copyCheck is the verification result of one copy.
type copyCheck struct {
	providerID, name string
	err              error
}

// verifyCopies verifies every stored copy of b.
func (e *Engine) verifyCopies(ctx context.Context, b state.Backup, deep bool, log *jobLog) (string, []copyCheck, error) {
	mode, kr := e.verifyMode(b, deep, log)
	var sources []restoreSource
	err := e.store.View(func(tx *state.Tx) (err error) {
		sources, err = restoreSources(tx, b)
		return err
	})
	if err != nil {
		log.Printf("STORAGE PROVIDER ERROR: %v", err)
		return mode, nil, err
	}
	var checks []copyCheck
	for _, src := range sources {
		if len(sources) > 1 {
			log.Printf("VERIFY: copy on %s", src.label())
		}
		c := copyCheck{providerID: src.provider.ID, name: src.provider.Name}
		st, err := e.stores.open(src.provider)
		if err != nil {
			log.Printf("STORAGE PROVIDER ERROR: %s: %v", src.provider.Name, err)
			c.err = err
		} else {
			key := src.replica.StoragePath
			if key == "" {
				key = b.StoragePath
			}
			c.err = e.verifyObject(ctx, b, st, key, mode, kr, log)
		}
		if c.err != nil && len(sources) > 1 {
			log.Printf("VERIFY: the copy on %s FAILED: %v", src.label(), c.err)
		}
		checks = append(checks, c)
	}
	return mode, checks, checks[0].err
}

// recordChecks writes each copy's result on its replica.
func recordChecks(b *state.Backup, checks []copyCheck, now time.Time) {
	stored := 0
	for _, r := range b.Copies() {
		if r.Status == state.ReplicaSuccess {
			stored++
		}
	}
	for _, c := range checks {
		r, ok := b.Replica(c.providerID)
		if !ok {
			continue
		}
		r.VerifiedAt, r.VerifyStatus = &now, state.VerifyPassed
		if c.err != nil {
			r.VerifyStatus = state.VerifyFailed
			if stored > 1 {
				r.Status, r.Error = state.ReplicaFailed, "verification failed: "+c.err.Error()
			}
		}
		b.SetReplica(r)
	}
}

// notifyCopyChecks sends verify.failed for each failed copy after the
// first (the first one's failure is the backup's own verify.failed).
func (e *Engine) notifyCopyChecks(b state.Backup, checks []copyCheck, log *jobLog) {
	for i, c := range checks {
		if i == 0 || c.err == nil {
			continue
		}
		e.log.Error("verification of a copy failed", "backup", b.ID, "provider", c.name, "err", log.scrub(c.err.Error()))
		ev := backupEvent(notify.KindVerifyFailed, b)
		ev.Status, ev.Log = state.StatusFailed, ""
		ev.Error = fmt.Sprintf("verification of the copy on %s failed: %s", c.name, log.scrub(c.err.Error()))
		var listed []string
		if b.NotifyOnFailure {
			listed = b.NotifTargetIDs
		}
		e.dispatch(ev, listed)
	}
	if len(checks) > 1 {
		e.refreshCopies()
	}
}

// quickFromStore is a quick verification from the store's own size and
// SHA-256 (an S3 HEAD of an object uploaded with a full-object checksum),
// when it has them: done false means read the object instead.
func quickFromStore(ctx context.Context, st storage.Store, b state.Backup, key string, log *jobLog) (bool, error) {
	if b.EncryptedChecksum == "" {
		return false, nil
	}
	info, checked, err := storage.QuickCheck(ctx, st, key, storage.Expect{Size: b.StoredSizeBytes, SHA256: b.EncryptedChecksum})
	switch {
	case errors.Is(err, storage.ErrChecksum):
		log.Printf("CHECKSUM ERROR: the store reports %s as %d bytes, sha256=%s; recorded %d bytes, sha256=%s",
			key, info.Size, info.SHA256, b.StoredSizeBytes, b.EncryptedChecksum)
		return true, fmt.Errorf("%w: stored object differs from the record (size or sha256, as the store reports them)", objfmt.ErrIntegrity)
	case err != nil || !checked:
		return false, nil // no usable answer: read it
	}
	log.Printf("CHECKSUM: stored object sha256=%s MATCH (size and checksum from the store, no read)", info.SHA256)
	return true, nil
}
